//! Parquet footers and page headers, read before the parquet crate reads them, the way it
//! reads them.
//!
//! The crate sizes its buffers from what a page header declares: a dictionary page's
//! `num_values` becomes `Vec::resize(num_values)` of 24-byte values, a page's
//! `uncompressed_page_size` a `Vec::with_capacity`, before anything checks that the page can
//! back the claim (a 4.5 KB file asked for 47 GB). And its Thrift decoder spends seconds on a
//! few footer bytes: it skips a boolean element of a container without reading a byte, so a
//! list of two billion booleans, or nested lists of them, costs it seconds to hours.
//!
//! This module walks the footer (`FileMetaData`) and every page header of every column chunk
//! with a bounded Thrift compact-protocol reader that models the crate's decoder (parquet
//! 60.1, `parquet_thrift.rs` and `file/metadata/thrift`):
//! - a field the crate knows is read with the type the crate reads it as, whatever type the
//!   field header declares; so a known field whose declared type is framed differently on the
//!   wire (a "double" where the crate reads a varint) is refused: the two readings of the same
//!   bytes would part;
//! - field ids are computed as the crate computes them (an `i16`; a full id truncated to it);
//! - a field the crate does not know is skipped as the crate skips it, and refused when the
//!   skip could cost it more than the bytes (containers of booleans or of containers, which
//!   parquet's structures never hold);
//! - no list may declare more elements than the bytes left could hold, no schema element more
//!   children than the schema has, and pages must tile their chunk exactly within the limits
//!   below. Page bodies are skipped, never read.

use std::io::{self, Read, Seek, SeekFrom};

/// Largest page, uncompressed, that is read (writers default to 1 MiB pages).
pub const MAX_PAGE_BYTES: i64 = 256 << 20;
/// Most values one page (or one dictionary) may declare.
pub const MAX_PAGE_VALUES: i64 = 1 << 24;
/// Largest page header (statistics included).
const MAX_HEADER_BYTES: u64 = 16 << 20;
/// Deepest nesting of Thrift structs and containers in a header or footer.
const MAX_DEPTH: u32 = 32;

/// What a page header declares, as far as the limits need it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageHeader {
    pub kind: i64,
    pub uncompressed: i64,
    pub compressed: i64,
    /// `num_values` of a data (v1 or v2) or dictionary page header.
    pub num_values: i64,
    /// Bytes of the header itself.
    pub header_len: u64,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// How the crate reads a field it knows.
#[derive(Clone, Copy)]
enum Ty {
    /// A struct field whose value is its header's type (1 or 2).
    Bool,
    Byte,
    /// i16, i32, i64 and enums: a zigzag varint, recorded as `Tag` says.
    Int(Tag),
    Double,
    Binary,
    List(&'static Ty, Tag),
    Struct(&'static Schema),
}

/// A value the checks need.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    None,
    PageKind,
    Uncompressed,
    Compressed,
    NumValues,
    /// `SchemaElement.num_children`, at most the schema's length.
    Children,
    /// `FileMetaData.schema`: its length bounds `Children`.
    Schema,
}

/// A Thrift struct (or union: the crate reads one field and the stop, or fails) as the crate
/// reads it: its name, and the type of each field id it knows.
struct Schema {
    name: &'static str,
    fields: &'static [(i16, Ty)],
}

const INT: Ty = Ty::Int(Tag::None);
const EMPTY: Ty = Ty::Struct(&Schema {
    name: "an empty struct",
    fields: &[],
});
const KEY_VALUE: Schema = Schema {
    name: "KeyValue",
    fields: &[(1, Ty::Binary), (2, Ty::Binary)],
};
const TIME_UNIT: Schema = Schema {
    name: "TimeUnit",
    fields: &[(1, EMPTY), (2, EMPTY), (3, EMPTY)],
};
const TIMESTAMP: Schema = Schema {
    name: "TimestampType",
    fields: &[(1, Ty::Bool), (2, Ty::Struct(&TIME_UNIT))],
};
const LOGICAL_TYPE: Schema = Schema {
    name: "LogicalType",
    fields: &[
        (1, EMPTY),
        (2, EMPTY),
        (3, EMPTY),
        (4, EMPTY),
        (
            5,
            Ty::Struct(&Schema {
                name: "DecimalType",
                fields: &[(1, INT), (2, INT)],
            }),
        ),
        (6, EMPTY),
        (7, Ty::Struct(&TIMESTAMP)),
        (8, Ty::Struct(&TIMESTAMP)),
        (
            10,
            Ty::Struct(&Schema {
                name: "IntType",
                fields: &[(1, Ty::Byte), (2, Ty::Bool)],
            }),
        ),
        (11, EMPTY),
        (12, EMPTY),
        (13, EMPTY),
        (14, EMPTY),
        (15, EMPTY),
        (
            16,
            Ty::Struct(&Schema {
                name: "VariantType",
                fields: &[(1, Ty::Byte)],
            }),
        ),
        (
            17,
            Ty::Struct(&Schema {
                name: "GeometryType",
                fields: &[(1, Ty::Binary)],
            }),
        ),
        (
            18,
            Ty::Struct(&Schema {
                name: "GeographyType",
                fields: &[(1, Ty::Binary), (2, INT)],
            }),
        ),
        (19, EMPTY),
    ],
};
const SCHEMA_ELEMENT: Schema = Schema {
    name: "SchemaElement",
    fields: &[
        (1, INT),
        (2, INT),
        (3, INT),
        (4, Ty::Binary),
        (5, Ty::Int(Tag::Children)),
        (6, INT),
        (7, INT),
        (8, INT),
        (9, INT),
        (10, Ty::Struct(&LOGICAL_TYPE)),
    ],
};
const STATISTICS: Schema = Schema {
    name: "Statistics",
    fields: &[
        (1, Ty::Binary),
        (2, Ty::Binary),
        (3, INT),
        (4, INT),
        (5, Ty::Binary),
        (6, Ty::Binary),
        (7, Ty::Bool),
        (8, Ty::Bool),
        (9, INT),
    ],
};
const AES: Schema = Schema {
    name: "AesGcmV1",
    fields: &[(1, Ty::Binary), (2, Ty::Binary), (3, Ty::Bool)],
};
const COLUMN_META: Schema = Schema {
    name: "ColumnMetaData",
    fields: &[
        (1, INT),
        (2, Ty::List(&INT, Tag::None)),
        (3, Ty::List(&Ty::Binary, Tag::None)),
        (4, INT),
        (5, INT),
        (6, INT),
        (7, INT),
        (8, Ty::List(&Ty::Struct(&KEY_VALUE), Tag::None)),
        (9, INT),
        (10, INT),
        (11, INT),
        (12, Ty::Struct(&STATISTICS)),
        (
            13,
            Ty::List(
                &Ty::Struct(&Schema {
                    name: "PageEncodingStats",
                    fields: &[(1, INT), (2, INT), (3, INT)],
                }),
                Tag::None,
            ),
        ),
        (14, INT),
        (15, INT),
        (
            16,
            Ty::Struct(&Schema {
                name: "SizeStatistics",
                fields: &[
                    (1, INT),
                    (2, Ty::List(&INT, Tag::None)),
                    (3, Ty::List(&INT, Tag::None)),
                ],
            }),
        ),
        (
            17,
            Ty::Struct(&Schema {
                name: "GeospatialStatistics",
                fields: &[
                    (
                        1,
                        Ty::Struct(&Schema {
                            name: "BoundingBox",
                            fields: &[
                                (1, Ty::Double),
                                (2, Ty::Double),
                                (3, Ty::Double),
                                (4, Ty::Double),
                                (5, Ty::Double),
                                (6, Ty::Double),
                                (7, Ty::Double),
                                (8, Ty::Double),
                            ],
                        }),
                    ),
                    (2, Ty::List(&INT, Tag::None)),
                ],
            }),
        ),
    ],
};
const COLUMN_CHUNK: Schema = Schema {
    name: "ColumnChunk",
    fields: &[
        (1, Ty::Binary),
        (2, INT),
        (3, Ty::Struct(&COLUMN_META)),
        (4, INT),
        (5, INT),
        (6, INT),
        (7, INT),
        (
            8,
            Ty::Struct(&Schema {
                name: "ColumnCryptoMetaData",
                fields: &[
                    (1, EMPTY),
                    (
                        2,
                        Ty::Struct(&Schema {
                            name: "EncryptionWithColumnKey",
                            fields: &[(1, Ty::List(&Ty::Binary, Tag::None)), (2, Ty::Binary)],
                        }),
                    ),
                ],
            }),
        ),
        (9, Ty::Binary),
    ],
};
const ROW_GROUP: Schema = Schema {
    name: "RowGroup",
    fields: &[
        (1, Ty::List(&Ty::Struct(&COLUMN_CHUNK), Tag::None)),
        (2, INT),
        (3, INT),
        (
            4,
            Ty::List(
                &Ty::Struct(&Schema {
                    name: "SortingColumn",
                    fields: &[(1, INT), (2, Ty::Bool), (3, Ty::Bool)],
                }),
                Tag::None,
            ),
        ),
        (5, INT),
        (6, INT),
        (7, INT),
    ],
};
/// parquet.thrift's `FileMetaData`, the footer.
const FILE_META: Schema = Schema {
    name: "FileMetaData",
    fields: &[
        (1, INT),
        (2, Ty::List(&Ty::Struct(&SCHEMA_ELEMENT), Tag::Schema)),
        (3, INT),
        (4, Ty::List(&Ty::Struct(&ROW_GROUP), Tag::None)),
        (5, Ty::List(&Ty::Struct(&KEY_VALUE), Tag::None)),
        (6, Ty::Binary),
        (
            7,
            Ty::List(
                &Ty::Struct(&Schema {
                    name: "ColumnOrder",
                    fields: &[(1, EMPTY), (2, EMPTY), (3, EMPTY)],
                }),
                Tag::None,
            ),
        ),
        (
            8,
            Ty::Struct(&Schema {
                name: "EncryptionAlgorithm",
                fields: &[(1, Ty::Struct(&AES)), (2, Ty::Struct(&AES))],
            }),
        ),
        (9, Ty::Binary),
    ],
};
const NUM_VALUES: Ty = Ty::Int(Tag::NumValues);
const PAGE_STATISTICS: Ty = Ty::Struct(&STATISTICS);
/// parquet.thrift's `PageHeader`.
const PAGE_HEADER: Schema = Schema {
    name: "PageHeader",
    fields: &[
        (1, Ty::Int(Tag::PageKind)),
        (2, Ty::Int(Tag::Uncompressed)),
        (3, Ty::Int(Tag::Compressed)),
        (4, INT),
        (
            5,
            Ty::Struct(&Schema {
                name: "DataPageHeader",
                fields: &[
                    (1, NUM_VALUES),
                    (2, INT),
                    (3, INT),
                    (4, INT),
                    (5, PAGE_STATISTICS),
                ],
            }),
        ),
        (6, EMPTY),
        (
            7,
            Ty::Struct(&Schema {
                name: "DictionaryPageHeader",
                fields: &[(1, NUM_VALUES), (2, INT), (3, Ty::Bool)],
            }),
        ),
        (
            8,
            Ty::Struct(&Schema {
                name: "DataPageHeaderV2",
                fields: &[
                    (1, NUM_VALUES),
                    (2, INT),
                    (3, INT),
                    (4, INT),
                    (5, INT),
                    (6, INT),
                    (7, Ty::Bool),
                    (8, PAGE_STATISTICS),
                ],
            }),
        ),
    ],
};

/// The compact protocol's wire types, by how their values are framed.
fn framing(wire: u8) -> Option<&'static str> {
    Some(match wire {
        1 | 2 => "bool",
        3 => "byte",
        4..=6 => "varint",
        7 => "double",
        8 => "binary",
        9 | 10 => "list",
        11 => "map",
        12 => "struct",
        13 => "uuid",
        _ => return None,
    })
}

fn ty_framing(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "bool",
        Ty::Byte => "byte",
        Ty::Int(_) => "varint",
        Ty::Double => "double",
        Ty::Binary => "binary",
        Ty::List(..) => "list",
        Ty::Struct(_) => "struct",
    }
}

/// A Thrift compact-protocol reader that counts and bounds what it reads.
struct Compact<'a, R: Read> {
    r: &'a mut R,
    read: u64,
    /// Bytes the message may take at most.
    limit: u64,
    /// Length of the last schema list read (bounds `num_children`).
    schema_len: u64,
    header: PageHeader,
}

impl<R: Read> Compact<'_, R> {
    fn new(r: &mut R, limit: u64) -> Compact<'_, R> {
        Compact {
            r,
            read: 0,
            limit,
            schema_len: 0,
            header: PageHeader::default(),
        }
    }

    fn left(&self) -> u64 {
        self.limit.saturating_sub(self.read)
    }

    fn byte(&mut self) -> io::Result<u8> {
        if self.read >= self.limit {
            return Err(bad(format!("message longer than {} bytes", self.limit)));
        }
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b)?;
        self.read += 1;
        Ok(b[0])
    }

    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint longer than 10 bytes".into()))
    }

    fn zigzag(&mut self) -> io::Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip_bytes(&mut self, n: u64) -> io::Result<()> {
        if n > self.left() {
            return Err(bad(format!("message longer than {} bytes", self.limit)));
        }
        let got = io::copy(&mut (&mut *self.r).take(n), &mut io::sink())?;
        self.read += got;
        if got != n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    fn depth(depth: u32) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// A list or set header: (element wire type, count); a count the bytes left cannot hold
    /// is refused before it is iterated (every element the checks let through takes a byte).
    fn list_header(&mut self) -> io::Result<(u8, u64)> {
        let h = self.byte()?;
        // The crate reads a zero header as an empty list (some writers write one).
        if h == 0 {
            return Ok((0, 0));
        }
        let n = match h >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        if n > self.left() {
            return Err(bad(format!(
                "a list of {n} elements in a message of {} bytes",
                self.limit
            )));
        }
        Ok((h & 0x0f, n))
    }

    /// Skips one value of wire type `wire` in a field the crate does not know, as the crate
    /// skips it. The crate skips a boolean element without reading a byte, so a container of
    /// booleans, or nested containers, cost it time the bytes do not bound; parquet's
    /// structures hold neither, so they are refused.
    fn skip(&mut self, wire: u8, depth: u32) -> io::Result<()> {
        Self::depth(depth)?;
        match wire {
            1 | 2 => Ok(()),
            3 => self.byte().map(drop),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            9 | 10 => {
                let (t, n) = self.list_header()?;
                self.skip_elements(n, &[t], depth)
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                if n > self.left() {
                    return Err(bad(format!(
                        "a map of {n} entries in a message of {} bytes",
                        self.limit
                    )));
                }
                let kv = self.byte()?;
                self.skip_elements(n, &[kv >> 4, kv & 0x0f], depth)
            }
            12 => self.skip_struct(depth + 1),
            t => Err(bad(format!("Thrift type {t}, which parquet never writes"))),
        }
    }

    fn skip_elements(&mut self, n: u64, types: &[u8], depth: u32) -> io::Result<()> {
        if n > 0 && types.iter().any(|t| matches!(t, 1 | 2 | 9 | 10 | 11)) {
            return Err(bad(
                "a container of booleans or of containers, which parquet never writes".into(),
            ));
        }
        for _ in 0..n {
            for &t in types {
                self.skip(t, depth + 1)?;
            }
        }
        Ok(())
    }

    fn skip_struct(&mut self, depth: u32) -> io::Result<()> {
        Self::depth(depth)?;
        loop {
            let h = self.byte()?;
            let wire = h & 0x0f;
            if wire == 0 {
                return Ok(());
            }
            if h >> 4 == 0 {
                self.zigzag()?;
            }
            self.skip(wire, depth)?;
        }
    }

    /// Reads a struct the crate knows: each field it knows with the type it reads it as, each
    /// other field skipped.
    fn read_struct(&mut self, schema: &Schema, depth: u32) -> io::Result<()> {
        Self::depth(depth)?;
        let mut last: i16 = 0;
        loop {
            let h = self.byte()?;
            let wire = h & 0x0f;
            // The crate ends a struct on a zero type, whatever the delta.
            if wire == 0 {
                return Ok(());
            }
            // Field ids as the crate computes them: a delta added to the last id (an error on
            // overflow), or a full id truncated to i16.
            let id = match h >> 4 {
                0 => self.zigzag()? as i16,
                d => last
                    .checked_add(i16::from(d))
                    .ok_or_else(|| bad(format!("{}: field id past {}", schema.name, i16::MAX)))?,
            };
            let Some(declared) = framing(wire) else {
                return Err(bad(format!(
                    "{}: field {id} has Thrift type {wire}, which does not exist",
                    schema.name
                )));
            };
            match schema.fields.iter().find(|f| f.0 == id) {
                Some(&(_, ty)) => {
                    let read_as = ty_framing(ty);
                    if declared != read_as {
                        return Err(bad(format!(
                            "{}: field {id} is declared a {declared}, but parquet reads it as a {read_as}: the bytes after it would be read two ways",
                            schema.name
                        )));
                    }
                    self.value(ty, schema, id, depth)?;
                }
                None => self.skip(wire, depth)?,
            }
            last = id;
        }
    }

    /// Reads one value of a known field.
    fn value(&mut self, ty: Ty, schema: &Schema, id: i16, depth: u32) -> io::Result<()> {
        match ty {
            Ty::Bool => Ok(()),
            Ty::Byte => self.byte().map(drop),
            Ty::Int(tag) => {
                let v = self.zigzag()?;
                self.record(tag, v)
            }
            Ty::Double => self.skip_bytes(8),
            Ty::Binary => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            Ty::List(elem, tag) => {
                let (wire, n) = self.list_header()?;
                if n > 0 {
                    let declared = framing(wire).unwrap_or("nothing");
                    let read_as = ty_framing(*elem);
                    if declared != read_as || matches!(elem, Ty::Bool) {
                        return Err(bad(format!(
                            "{}: field {id} is a list of {declared}, but parquet reads a list of {read_as}",
                            schema.name
                        )));
                    }
                }
                if tag == Tag::Schema {
                    self.schema_len = n;
                }
                for _ in 0..n {
                    self.value(*elem, schema, id, depth + 1)?;
                }
                Ok(())
            }
            Ty::Struct(s) => self.read_struct(s, depth + 1),
        }
    }

    fn record(&mut self, tag: Tag, v: i64) -> io::Result<()> {
        let h = &mut self.header;
        match tag {
            Tag::None | Tag::Schema => {}
            Tag::PageKind => h.kind = v,
            Tag::Uncompressed => h.uncompressed = v,
            Tag::Compressed => h.compressed = v,
            Tag::NumValues => h.num_values = h.num_values.max(v),
            Tag::Children => {
                if v < 0 || v as u64 > self.schema_len {
                    return Err(bad(format!(
                        "a schema element declares {v} children in a schema of {} elements",
                        self.schema_len
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Reads one `PageHeader` from `r`, as the parquet crate reads it.
pub fn read_header(r: &mut impl Read) -> io::Result<PageHeader> {
    let mut c = Compact::new(r, MAX_HEADER_BYTES);
    c.read_struct(&PAGE_HEADER, 0)?;
    let mut h = c.header;
    h.header_len = c.read;
    Ok(h)
}

/// Checks the file's footer (the Thrift `FileMetaData` before the trailing length and `PAR1`)
/// before the parquet crate decodes it, reading it as the crate does: every field within the
/// footer's bytes and of the type the crate reads, nesting bounded, no list declaring more
/// elements than the bytes left could hold, and nothing the crate would skip at a cost the
/// bytes do not bound.
pub fn check_footer<R: Read + Seek>(r: &mut R, file_len: u64) -> io::Result<()> {
    if file_len < 12 {
        return Err(bad(format!("{file_len} bytes is too short for parquet")));
    }
    r.seek(SeekFrom::Start(file_len - 8))?;
    let mut tail = [0u8; 8];
    r.read_exact(&mut tail)?;
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if &tail[4..] != b"PAR1" {
        return Err(bad("the file does not end with PAR1".into()));
    }
    let start = (file_len - 8)
        .checked_sub(footer_len)
        .filter(|s| *s >= 4)
        .ok_or_else(|| {
            bad(format!(
                "a footer of {footer_len} bytes in a file of {file_len}"
            ))
        })?;
    r.seek(SeekFrom::Start(start))?;
    let mut limited = r.take(footer_len);
    Compact::new(&mut limited, footer_len)
        .read_struct(&FILE_META, 0)
        .map_err(|e| bad(format!("footer: {e}")))
}

/// Walks the pages of the column chunk at `start..start+len`: each header is read and
/// checked, each body skipped; the pages must tile the chunk exactly.
pub fn check_chunk<R: Read + Seek>(r: &mut R, start: u64, len: u64) -> io::Result<usize> {
    r.seek(SeekFrom::Start(start))?;
    let mut at = 0u64;
    let mut pages = 0usize;
    while at < len {
        let h = read_header(r).map_err(|e| bad(format!("page at byte {}: {e}", start + at)))?;
        let here = start + at;
        if h.compressed < 0 || h.uncompressed < 0 || h.num_values < 0 {
            return Err(bad(format!(
                "page at byte {here} declares a negative size or count"
            )));
        }
        if h.uncompressed > MAX_PAGE_BYTES {
            return Err(bad(format!(
                "page at byte {here} declares {} bytes uncompressed; modelgate reads pages of at most {MAX_PAGE_BYTES}",
                h.uncompressed
            )));
        }
        if h.num_values > MAX_PAGE_VALUES {
            return Err(bad(format!(
                "page at byte {here} declares {} values; modelgate reads at most {MAX_PAGE_VALUES} per page",
                h.num_values
            )));
        }
        let next = at
            .checked_add(h.header_len)
            .and_then(|a| a.checked_add(h.compressed as u64))
            .filter(|&n| n <= len)
            .ok_or_else(|| {
                bad(format!(
                    "page at byte {here} ({} bytes) runs past its column chunk ({len} bytes at {start})",
                    h.compressed
                ))
            })?;
        r.seek(SeekFrom::Current(h.compressed))?;
        at = next;
        pages += 1;
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header in the compact protocol: type, sizes, and a data page header whose
    /// field 1 is `num_values`.
    fn header(kind: u8, uncompressed: i64, compressed: i64, values: i64, sub: u8) -> Vec<u8> {
        fn zz(v: i64, out: &mut Vec<u8>) {
            let mut u = ((v << 1) ^ (v >> 63)) as u64;
            loop {
                let b = (u & 0x7f) as u8;
                u >>= 7;
                if u == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
        let mut o = vec![0x15];
        zz(i64::from(kind), &mut o);
        o.push(0x15);
        zz(uncompressed, &mut o);
        o.push(0x15);
        zz(compressed, &mut o);
        // Field `sub` (5, 7 or 8) as a struct: delta from 3.
        o.push(((sub - 3) << 4) | 12);
        o.push(0x15);
        zz(values, &mut o);
        o.push(0); // stop of the sub-struct
        o.push(0); // stop of the header
        o
    }

    #[test]
    fn reads_the_declared_sizes() {
        let h = read_header(&mut &header(2, 100, 40, 7, 7)[..]).unwrap();
        assert_eq!(
            (h.kind, h.uncompressed, h.compressed, h.num_values),
            (2, 100, 40, 7)
        );
    }

    #[test]
    fn refuses_a_dictionary_too_large_to_hold() {
        let mut f = header(2, 100, 4, 1 << 30, 7);
        f.extend_from_slice(&[0; 4]);
        let len = f.len() as u64;
        let e = check_chunk(&mut io::Cursor::new(f), 0, len).unwrap_err();
        assert!(e.to_string().contains("1073741824 values"), "{e}");
    }

    #[test]
    fn refuses_a_page_past_its_chunk_and_a_huge_page() {
        let f = header(0, 100, 50, 1, 5);
        let len = f.len() as u64;
        let e = check_chunk(&mut io::Cursor::new(f), 0, len).unwrap_err();
        assert!(e.to_string().contains("runs past"), "{e}");
        let mut f = header(0, i64::from(i32::MAX), 0, 1, 8);
        let len = f.len() as u64;
        f.push(0);
        let e = check_chunk(&mut io::Cursor::new(f), 0, len).unwrap_err();
        assert!(e.to_string().contains("uncompressed"), "{e}");
    }

    #[test]
    fn pages_that_tile_their_chunk_pass() {
        let mut f = header(2, 4, 4, 1, 7);
        f.extend_from_slice(&[1; 4]);
        f.extend(header(0, 3, 3, 3, 5));
        f.extend_from_slice(&[2; 3]);
        let len = f.len() as u64;
        assert_eq!(check_chunk(&mut io::Cursor::new(f), 0, len).unwrap(), 2);
    }

    /// What `check_footer` says of a file holding `footer`.
    fn footer_error(footer: &[u8]) -> io::Error {
        let mut f = b"PAR1".to_vec();
        f.extend(footer);
        f.extend((footer.len() as u32).to_le_bytes());
        f.extend(b"PAR1");
        let len = f.len() as u64;
        check_footer(&mut io::Cursor::new(f), len).unwrap_err()
    }

    #[test]
    fn footers_whose_lists_cannot_fit_are_refused() {
        // FileMetaData { 1: version i32 = 1, 2: schema list of 2^28 structs }: 9 bytes.
        let e = footer_error(&[0x15, 0x02, 0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert!(e.to_string().contains("268435456 elements"), "{e}");
    }

    #[test]
    fn schema_elements_cannot_declare_more_children_than_the_schema_has() {
        // FileMetaData { 2: schema [ SchemaElement { 5: num_children = 2^30 } ] }.
        let e = footer_error(&[0x29, 0x1c, 0x55, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x00]);
        assert!(e.to_string().contains("1073741824 children"), "{e}");
    }

    #[test]
    fn known_fields_are_read_with_the_type_parquet_reads_them_as() {
        // FileMetaData { 3: num_rows declared a double }: the crate reads a varint there.
        let e = footer_error(&[0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
        assert!(
            e.to_string().contains("field 3 is declared a double"),
            "{e}"
        );
        // A full field id of 65538 is field 2 to the crate (an i16): declared a double, it is
        // the schema list to the crate.
        let e = footer_error(&[0x07, 0x84, 0x80, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
        assert!(
            e.to_string()
                .contains("field 2 is declared a double, but parquet reads it as a list"),
            "{e}"
        );
        // The schema as a list of i32.
        let e = footer_error(&[0x29, 0x15, 0x02, 0x00]);
        assert!(e.to_string().contains("a list of varint"), "{e}");
        // A page header whose compressed size is declared a byte (the crate reads a varint).
        let f = [0x15, 0x00, 0x15, 0x08, 0x13, 0x85, 0x01, 0x00];
        let e = read_header(&mut &f[..]).unwrap_err();
        assert!(
            e.to_string()
                .contains("PageHeader: field 3 is declared a byte"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_the_crate_would_skip_slowly_are_refused() {
        // FileMetaData { 20: list of 2^31-1 booleans }: the crate iterates them reading
        // nothing; and { 20: map of booleans }, { 20: list of lists }.
        for f in [
            &[0x09, 0x28, 0xf1, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00][..],
            &[0x0b, 0x28, 0x03, 0x11, 0x00, 0x00, 0x00, 0x00],
            &[0x09, 0x28, 0x19, 0x00, 0x00],
            &[0x09, 0x28, 0x1a, 0x00, 0x00],
        ] {
            let e = footer_error(f);
            let m = e.to_string();
            assert!(
                m.contains("which parquet never writes") || m.contains("in a message of"),
                "{m}"
            );
        }
        // The same in a page header.
        let f = [
            0x15, 0x00, 0x15, 0x00, 0x15, 0x00, 0x99, 0x31, 0x01, 0x01, 0x01, 0x00,
        ];
        let e = read_header(&mut &f[..]).unwrap_err();
        assert!(e.to_string().contains("which parquet never writes"), "{e}");
    }

    #[test]
    fn deep_or_long_headers_end_with_an_error() {
        // A list of lists of ... nested past the limit, inside field 9 (unknown).
        let mut f = vec![0x99];
        f.extend(std::iter::repeat_n(0x19, 100));
        assert!(read_header(&mut &f[..]).is_err());
        // A binary field declaring more than the header limit.
        let f = [0x98, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(read_header(&mut &f[..]).is_err());
    }
}
