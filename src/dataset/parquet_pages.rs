//! Parquet page headers, read before the parquet crate reads them.
//!
//! The crate sizes its buffers from what a page header declares: a dictionary page's
//! `num_values` becomes `Vec::resize(num_values)` of 24-byte values, a page's
//! `uncompressed_page_size` a `Vec::with_capacity`, before anything checks that the page can
//! back the claim (a 4.5 KB file asked for 47 GB). This walker reads every page header of a
//! column chunk with a bounded Thrift compact-protocol reader (the encoding `parquet.thrift`
//! specifies for `PageHeader`) and refuses a chunk whose pages do not tile it exactly or that
//! declares more than the limits below. Page bodies are skipped, never read.

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

/// A Thrift compact-protocol reader that counts and bounds what it reads.
struct Compact<'a, R: Read> {
    r: &'a mut R,
    read: u64,
    /// Bytes the message may take at most.
    limit: u64,
    /// Refuse containers of booleans and containers of containers: parquet's footer has none,
    /// and the parquet crate skips a boolean element without reading a byte, so nested
    /// containers of them cost it exponential time (3 elements a level, 64 levels).
    footer: bool,
}

impl<R: Read> Compact<'_, R> {
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
        Err(bad("varint longer than 10 bytes in a page header".into()))
    }

    fn zigzag(&mut self) -> io::Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip_bytes(&mut self, n: u64) -> io::Result<()> {
        if n > self.limit.saturating_sub(self.read) {
            return Err(bad(format!("message longer than {} bytes", self.limit)));
        }
        let got = io::copy(&mut (&mut *self.r).take(n), &mut io::sink())?;
        self.read += got;
        if got != n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Skips one value of compact type `ty`.
    fn skip(&mut self, ty: u8, depth: u32) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad(format!(
                "page header nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match ty {
            1 | 2 => Ok(()),
            3 => self.byte().map(drop),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.skip_elements(n, &[h & 0x0f], depth)
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                self.skip_elements(n, &[kv >> 4, kv & 0x0f], depth)
            }
            12 => self.fields(depth + 1, |_, _, _| Ok(false)),
            t => Err(bad(format!("unknown Thrift type {t} in a page header"))),
        }
    }

    fn skip_elements(&mut self, n: u64, types: &[u8], depth: u32) -> io::Result<()> {
        if self.footer && n > 0 && types.iter().any(|t| matches!(t, 1 | 2 | 9 | 10 | 11)) {
            return Err(bad(
                "a container of booleans or of containers, which parquet footers never hold".into(),
            ));
        }
        // Every element takes at least one byte: a count the message cannot hold is refused
        // before it is iterated (the parquet crate spends seconds on such counts).
        if n > self.limit.saturating_sub(self.read) {
            return Err(bad(format!(
                "a list of {n} elements in a message of {} bytes",
                self.limit
            )));
        }
        for _ in 0..n {
            for &t in types {
                // A boolean element of a container is one byte.
                if t == 1 || t == 2 {
                    self.byte()?;
                } else {
                    self.skip(t, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Reads a struct's fields up to its stop byte; `each(self, id, type)` reads a field it
    /// wants and returns true, or returns false to have it skipped.
    fn fields(
        &mut self,
        depth: u32,
        mut each: impl FnMut(&mut Self, i64, u8) -> io::Result<bool>,
    ) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad(format!(
                "page header nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let mut id = 0i64;
        loop {
            let h = self.byte()?;
            let ty = h & 0x0f;
            if ty == 0 {
                return Ok(());
            }
            id = match h >> 4 {
                0 => self.zigzag()?,
                d => id + i64::from(d),
            };
            if !each(self, id, ty)? {
                self.skip(ty, depth)?;
            }
        }
    }

    /// An i32 or i64 field; any other type is an error.
    fn int(&mut self, ty: u8, what: &str) -> io::Result<i64> {
        match ty {
            5 | 6 => self.zigzag(),
            3 => self.byte().map(|b| i64::from(b as i8)),
            t => Err(bad(format!("page header field {what} has Thrift type {t}"))),
        }
    }
}

/// Reads one `PageHeader` from `r`.
pub fn read_header(r: &mut impl Read) -> io::Result<PageHeader> {
    let mut c = Compact {
        r,
        read: 0,
        limit: MAX_HEADER_BYTES,
        footer: false,
    };
    let mut h = PageHeader::default();
    c.fields(0, |c, id, ty| {
        match (id, ty) {
            (1, _) => h.kind = c.int(ty, "type")?,
            (2, _) => h.uncompressed = c.int(ty, "uncompressed_page_size")?,
            (3, _) => h.compressed = c.int(ty, "compressed_page_size")?,
            // data_page_header, dictionary_page_header, data_page_header_v2: field 1 of
            // each is num_values.
            (5 | 7 | 8, 12) => c.fields(1, |c, id, ty| {
                if id == 1 {
                    h.num_values = h.num_values.max(c.int(ty, "num_values")?);
                    Ok(true)
                } else {
                    Ok(false)
                }
            })?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    h.header_len = c.read;
    Ok(h)
}

/// Checks the file's footer (the Thrift `FileMetaData` before the trailing length and `PAR1`)
/// by structure before the parquet crate decodes it: every field within the footer's bytes,
/// nesting bounded, and no list declaring more elements than the bytes left could hold.
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
    let mut c = Compact {
        r: &mut limited,
        read: 0,
        limit: footer_len,
        footer: true,
    };
    // FileMetaData.schema (field 2, a list of SchemaElement): the crate reserves room for each
    // element's num_children (field 5) before reading them, so a count larger than the schema
    // asks for gigabytes (13 GB from a few bytes, found by fuzzing).
    c.fields(0, |c, id, ty| {
        if id != 2 || ty != 9 {
            return Ok(false);
        }
        let h = c.byte()?;
        let n = match h >> 4 {
            15 => c.varint()?,
            n => u64::from(n),
        };
        if h & 0x0f != 12 {
            return Err(bad("the schema is not a list of structs".into()));
        }
        if n > c.limit.saturating_sub(c.read) {
            return Err(bad(format!("a schema of {n} elements in a footer of {} bytes", c.limit)));
        }
        for _ in 0..n {
            c.fields(2, |c, id, ty| {
                if id == 5 && ty == 5 {
                    let children = c.zigzag()?;
                    if children < 0 || children as u64 > n {
                        return Err(bad(format!(
                            "a schema element declares {children} children in a schema of {n} elements"
                        )));
                    }
                    Ok(true)
                } else {
                    Ok(false)
                }
            })?;
        }
        Ok(true)
    })
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
