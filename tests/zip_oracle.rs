//! The zip oracle: Python's zipfile (tests/oracle/zip_oracle.py, standard library) on generated
//! and mutated archives (prepended data, comments, duplicate and mismatched names, flag bits,
//! CRCs, truncations, byte flips). Every member zipfile reads whose bytes are a pickle must be
//! analysed by modelgate under that name.
//!
//! Judged by the loader's own branch coverage (coverage.py over zipfile's reading code:
//! _EndRecData, _EndRecData64, ZipFile._RealGetContents and open, ZipInfo._decodeExtra and
//! ZipExtFile, each member read whole and the way pickle.load and h5py read a file object):
//! archives from a grammar (stored, deflated, bzip2 and LZMA members, encrypted and flagged
//! ones, data descriptors, zip64 extras and end records, extra fields, comments, cp437 and
//! UTF-8 names, names holding NUL, prepended data), byte mutations of them and of the zip
//! fixtures under testdata/. The 90 % floor is asserted whenever coverage.py is available; the
//! branches no loader takes (passwords, writing, debug output) are named in `UNREACHABLE`.

mod common;
mod loader_coverage;

use common::Rng;
use modelgate::finding::Code;
use std::path::Path;

const PAYLOAD: &[u8] = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R.";

/// zipfile branches no input can take through a loader, each with its reason.
const UNREACHABLE: &[loader_coverage::Unreachable] = &[
    (
        "ZipFile._RealGetContents",
        "if self.debug > 1:",
        "",
        "debug output: no loader sets ZipFile.debug",
    ),
    (
        "ZipFile._RealGetContents",
        "if self.debug > 2:",
        "",
        "debug output: no loader sets ZipFile.debug",
    ),
    (
        "_EndRecData64",
        "if len(data) != sizeEndCentDir64Locator:",
        "return endrec",
        "the 20 bytes before an end record found in the file are always there",
    ),
    (
        "_EndRecData64",
        "if len(data) != sizeEndCentDir64:",
        "return endrec",
        "a seek that succeeds lands 76 bytes before the end record: 56 bytes are there",
    ),
    (
        "ZipFile.open",
        "if mode not in {\"r\", \"w\"}:",
        "raise ValueError('open() requires mode \"r\" or \"w\"')",
        "loaders open members for reading",
    ),
    (
        "ZipFile.open",
        "if pwd and (mode == \"w\"):",
        "raise ValueError(\"pwd is only supported for reading files\")",
        "loaders pass no password",
    ),
    (
        "ZipFile.open",
        "if not self.fp:",
        "raise ValueError(",
        "loaders read open archives",
    ),
    (
        "ZipFile.open",
        "elif mode == 'w':",
        "",
        "loaders open members for reading",
    ),
    (
        "ZipFile.open",
        "if mode == 'w':",
        "return self._open_to_write(zinfo, force_zip64=force_zip64)",
        "loaders open members for reading",
    ),
    (
        "ZipFile.open",
        "if self._writing:",
        "raise ValueError(\"Can't read from the ZIP file while there \"",
        "loaders do not write while reading",
    ),
    (
        "ZipFile.open",
        "if not pwd:",
        "if pwd and not isinstance(pwd, bytes):",
        "loaders pass no password (and set none)",
    ),
    (
        "ZipFile.open",
        "if pwd and not isinstance(pwd, bytes):",
        "raise TypeError(\"pwd: expected bytes, got %s\" % type(pwd).__name__)",
        "loaders pass no password",
    ),
    (
        "ZipFile.open",
        "if not pwd:",
        "",
        "loaders pass no password",
    ),
    (
        "ZipExtFile.__init__",
        "if hasattr(zipinfo, 'CRC'):",
        "self._expected_crc = None",
        "every ZipInfo read from a central directory has a CRC",
    ),
    (
        "ZipExtFile.__init__",
        "if fileobj.seekable():",
        "self._decrypter = None",
        "loaders read archives from seekable files",
    ),
    (
        "ZipExtFile.__init__",
        "if pwd:",
        "if zipinfo.flag_bits & _MASK_USE_DATA_DESCRIPTOR:",
        "loaders pass no password (decryption)",
    ),
    (
        "ZipExtFile.__init__",
        "if zipinfo.flag_bits & _MASK_USE_DATA_DESCRIPTOR:",
        "",
        "loaders pass no password (decryption)",
    ),
    (
        "ZipExtFile.__init__",
        "if h != check_byte:",
        "",
        "loaders pass no password (decryption)",
    ),
    (
        "ZipExtFile._read2",
        "if self._decrypter is not None:",
        "data = self._decrypter(data)",
        "loaders pass no password (decryption)",
    ),
    (
        "ZipExtFile.seek",
        "if self._decrypter is not None:",
        "self._init_decrypter()",
        "loaders pass no password (decryption)",
    ),
    (
        "ZipExtFile.readable",
        "if self.closed:",
        "raise ValueError(\"I/O operation on closed file.\")",
        "loaders read open members",
    ),
    (
        "ZipExtFile.seekable",
        "if self.closed:",
        "raise ValueError(\"I/O operation on closed file.\")",
        "loaders read open members",
    ),
    (
        "ZipExtFile.read",
        "if self.closed:",
        "raise ValueError(\"read from closed file.\")",
        "loaders read open members",
    ),
    (
        "ZipExtFile.seek",
        "if self.closed:",
        "raise ValueError(\"seek on closed file.\")",
        "loaders read open members",
    ),
    (
        "ZipExtFile.tell",
        "if self.closed:",
        "raise ValueError(\"tell on closed file.\")",
        "loaders read open members",
    ),
    (
        "ZipExtFile.seek",
        "if not self._seekable:",
        "raise io.UnsupportedOperation(\"underlying stream is not seekable\")",
        "loaders read archives from seekable files",
    ),
    (
        "ZipExtFile.tell",
        "if not self._seekable:",
        "raise io.UnsupportedOperation(\"underlying stream is not seekable\")",
        "loaders read archives from seekable files",
    ),
    (
        "ZipExtFile.seek",
        "else:",
        "raise ValueError(\"whence must be os.SEEK_SET (0), \"",
        "whence is 0, 1 or 2 in every reader",
    ),
    (
        "ZipExtFile.close",
        "if self._close_fileobj:",
        "",
        "ZipFile.open always passes close_fileobj=True",
    ),
    (
        "ZipExtFile._update_crc",
        "if self._expected_crc is None:",
        "return",
        "every ZipInfo read from a central directory has a CRC",
    ),
];

/// The payload compressed by zipfile's LZMA writer (version, properties, raw LZMA with an end
/// marker: flag bit 1).
const PAYLOAD_LZMA: &[u8] = b"\x09\x04\x05\x00\x5d\x00\x00\x80\x00\x00\x40\x00\x88\x03\xcb\x87\xe6\x0e\x3f\xc6\xdb\xa6\x62\x3a\xd0\xe0\x17\xa4\x13\x4d\x8b\xa6\x66\x9b\xb9\x1e\x0e\x4f\x99\xa0\x83\xe8\x7f\xff\xd9\x62\x00\x00";

/// One member as the generator writes it.
#[derive(Clone)]
struct M {
    name: Vec<u8>,
    /// The local header's name, when it differs.
    lname: Option<Vec<u8>>,
    data: Vec<u8>,
    method: u16,
    flags: u16,
    lflags: Option<u16>,
    cextra: Vec<u8>,
    lextra: Vec<u8>,
    /// A data descriptor after the data (with its signature or not).
    descriptor: Option<bool>,
    /// Which of (size, compressed size, offset) the central entry saturates to 0xffffffff and
    /// puts in a zip64 extra; `cut` leaves the extra short.
    zip64: [bool; 3],
    zip64_cut: bool,
    crc: Option<u32>,
    version: u16,
    /// The uncompressed size the central entry states, when it lies.
    usize_lie: Option<u32>,
    comment: Vec<u8>,
}

impl M {
    fn new(name: &str, data: &[u8]) -> Self {
        M {
            name: name.as_bytes().to_vec(),
            lname: None,
            data: data.to_vec(),
            method: 0,
            flags: 0,
            lflags: None,
            cextra: Vec::new(),
            lextra: Vec::new(),
            descriptor: None,
            zip64: [false; 3],
            zip64_cut: false,
            crc: None,
            version: 20,
            usize_lie: None,
            comment: Vec::new(),
        }
    }
}

/// How the archive ends.
#[derive(Clone, Copy, PartialEq)]
enum End64 {
    None,
    Good,
    BadLocatorSig,
    MultiDisk,
    BadRecordSig,
    /// A locator and no room for a record before it.
    NoRoom,
}

fn compress(method: u16, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match method {
        8 => {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        12 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        14 if data == PAYLOAD => PAYLOAD_LZMA.to_vec(),
        14 => b"\x09\x04\x05\x00\x5d\x00\x00\x80\x00junk".to_vec(),
        _ => data.to_vec(),
    }
}

/// ZipCrypto over `data` with password "pw" (an encryption header first).
fn encrypt(data: &[u8], check: u8) -> Vec<u8> {
    let table: Vec<u32> = (0..256u32)
        .map(|mut c| {
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
            c
        })
        .collect();
    let crc = |c: u32, b: u8| (c >> 8) ^ table[((c ^ u32::from(b)) & 0xff) as usize];
    let mut k = [0x1234_5678u32, 0x2345_6789, 0x3456_7890];
    let update = |k: &mut [u32; 3], b: u8| {
        k[0] = crc(k[0], b);
        k[1] = k[1]
            .wrapping_add(k[0] & 0xff)
            .wrapping_mul(134_775_813)
            .wrapping_add(1);
        k[2] = crc(k[2], (k[1] >> 24) as u8);
    };
    for b in b"pw" {
        update(&mut k, *b);
    }
    let mut head = vec![0x42u8; 11];
    head.push(check);
    head.extend(data);
    head.into_iter()
        .map(|p| {
            let t = (k[2] | 2) as u16;
            let c = p ^ (t.wrapping_mul(t ^ 1) >> 8) as u8;
            update(&mut k, p);
            c
        })
        .collect()
}

/// Write an archive: `prefix` before it, `comment` after (its length declared or not).
fn build(members: &[M], prefix: &[u8], comment: &[u8], declare: bool, end64: End64) -> Vec<u8> {
    let mut out = prefix.to_vec();
    let mut cen = Vec::new();
    for m in members {
        let off = (out.len() - prefix.len()) as u32;
        let crc = m.crc.unwrap_or_else(|| common::crc32(&m.data));
        let mut body = compress(m.method, &m.data);
        if m.flags & 1 != 0 {
            body = encrypt(&body, (crc >> 24) as u8);
        }
        let (csize, usize_) = (
            body.len() as u32,
            m.usize_lie.unwrap_or(m.data.len() as u32),
        );
        let lname = m.lname.as_ref().unwrap_or(&m.name);
        let lflags = m.lflags.unwrap_or(m.flags);
        out.extend(b"PK\x03\x04");
        out.extend(m.version.to_le_bytes());
        out.extend(lflags.to_le_bytes());
        out.extend(m.method.to_le_bytes());
        out.extend([0u8; 4]);
        if m.descriptor.is_some() {
            out.extend([0u8; 12]);
        } else {
            out.extend(crc.to_le_bytes());
            out.extend(csize.to_le_bytes());
            out.extend(usize_.to_le_bytes());
        }
        out.extend((lname.len() as u16).to_le_bytes());
        out.extend((m.lextra.len() as u16).to_le_bytes());
        out.extend(lname);
        out.extend(&m.lextra);
        out.extend(&body);
        if let Some(sig) = m.descriptor {
            if sig {
                out.extend(b"PK\x07\x08");
            }
            out.extend(crc.to_le_bytes());
            out.extend(csize.to_le_bytes());
            out.extend(usize_.to_le_bytes());
        }
        let mut extra = Vec::new();
        let mut z = Vec::new();
        let sat = |on: bool, v: u32| if on { 0xffff_ffffu32 } else { v };
        for (on, v) in m
            .zip64
            .iter()
            .zip([u64::from(usize_), u64::from(csize), u64::from(off)])
        {
            if *on {
                z.extend(v.to_le_bytes());
            }
        }
        if m.zip64.iter().any(|x| *x) {
            if m.zip64_cut {
                z.truncate(z.len() - 3);
            }
            extra.extend(1u16.to_le_bytes());
            extra.extend((z.len() as u16).to_le_bytes());
            extra.extend(&z);
        }
        extra.extend(&m.cextra);
        cen.extend(b"PK\x01\x02");
        cen.extend(m.version.to_le_bytes());
        cen.extend(m.version.to_le_bytes());
        cen.extend(m.flags.to_le_bytes());
        cen.extend(m.method.to_le_bytes());
        cen.extend([0u8; 4]);
        cen.extend(crc.to_le_bytes());
        cen.extend(sat(m.zip64[1], csize).to_le_bytes());
        cen.extend(sat(m.zip64[0], usize_).to_le_bytes());
        cen.extend((m.name.len() as u16).to_le_bytes());
        cen.extend((extra.len() as u16).to_le_bytes());
        cen.extend((m.comment.len() as u16).to_le_bytes());
        cen.extend([0u8; 8]);
        cen.extend(sat(m.zip64[2], off).to_le_bytes());
        cen.extend(&m.name);
        cen.extend(&extra);
        cen.extend(&m.comment);
    }
    let cd_off = (out.len() - prefix.len()) as u64;
    out.extend(&cen);
    let n = members.len() as u64;
    if end64 != End64::None {
        let rec_at = (out.len() - prefix.len()) as u64;
        let mut rec = Vec::new();
        rec.extend(if end64 == End64::BadRecordSig {
            b"PK\x06\x05"
        } else {
            b"PK\x06\x06"
        });
        rec.extend(44u64.to_le_bytes());
        rec.extend([45, 0, 45, 0]);
        rec.extend([0u8; 8]);
        rec.extend(n.to_le_bytes());
        rec.extend(n.to_le_bytes());
        rec.extend((cen.len() as u64).to_le_bytes());
        rec.extend(cd_off.to_le_bytes());
        if end64 != End64::NoRoom {
            out.extend(rec);
        }
        out.extend(if end64 == End64::BadLocatorSig {
            b"PK\x06\x08"
        } else {
            b"PK\x06\x07"
        });
        out.extend(u32::from(end64 == End64::MultiDisk).to_le_bytes());
        out.extend(rec_at.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    let n16 = if end64 == End64::Good {
        0xffff
    } else {
        n as u16
    };
    out.extend(n16.to_le_bytes());
    out.extend(n16.to_le_bytes());
    out.extend((cen.len() as u32).to_le_bytes());
    out.extend((cd_off as u32).to_le_bytes());
    out.extend((if declare { comment.len() as u16 } else { 0 }).to_le_bytes());
    out.extend(comment);
    out
}

/// An archive from the grammar: members compressed every way zipfile reads, flags, extra
/// fields, zip64 extras and end records, data descriptors, comments, prepended data.
fn generated(rng: &mut Rng) -> Vec<u8> {
    let names: [&[u8]; 8] = [
        b"archive/data.pkl",
        b"data.pkl",
        b"arr_0.npy",
        b"sub/x.bin",
        b"caf\x82.pkl",
        b"\xe4\xb8\xad.pkl",
        b"model.pkl\0.txt",
        b"dir/",
    ];
    let mut ms = Vec::new();
    for i in 0..1 + rng.below(3) {
        let data: Vec<u8> = match (i, rng.below(3)) {
            (0, _) => PAYLOAD.to_vec(),
            (_, 0) => {
                // Large enough that zipfile reads it in several chunks.
                let n = 20_000 + rng.below(40_000);
                let seed = rng.next();
                (0..n as u64)
                    .map(|k| ((k.wrapping_mul(seed) >> 7) % 97) as u8)
                    .collect()
            }
            _ => b"hello hello hello\n".repeat(1 + rng.below(50)),
        };
        let mut m = M::new("", &data);
        m.name = names[rng.below(names.len())].to_vec();
        m.method = [0, 0, 8, 8, 12, 14][rng.below(6)];
        if rng.below(4) == 0 {
            m.flags |= [0x800, 0x08, 0x01, 0x20, 0x40, 0x02][rng.below(6)];
        }
        if m.name.iter().any(|b| *b >= 0x80) && rng.below(2) == 0 {
            m.flags |= 0x800;
        }
        if rng.below(5) == 0 {
            m.lflags = Some(m.flags ^ 0x800);
        }
        if m.flags & 0x08 != 0 || rng.below(6) == 0 {
            m.descriptor = Some(rng.below(2) == 0);
        }
        if rng.below(4) == 0 {
            for z in &mut m.zip64 {
                *z = rng.below(2) == 0;
            }
            m.zip64_cut = rng.below(5) == 0;
        }
        match rng.below(6) {
            0 => m.cextra.extend(b"UT\x05\x00\x01\x00\x00\x00\x00"),
            1 => m.cextra.extend(b"\x99\x99\x40\x00"),
            2 => m.lextra.extend(b"UT\x05\x00\x01\x00\x00\x00\x00xx"),
            3 => m.cextra.extend(b"\x01\x00\x00\x00"),
            _ => {}
        }
        match rng.below(12) {
            0 => m.crc = Some(0x1234_5678),
            1 => m.version = 64,
            2 => m.usize_lie = Some((m.data.len() / 2) as u32),
            3 => m.usize_lie = Some(m.data.len() as u32 + 40),
            4 => m.comment = b"member comment".to_vec(),
            5 => {
                let mut l = m.name.clone();
                l[0] ^= 0x20;
                m.lname = Some(l);
            }
            6 => m.method = [1, 93, 98, 99][rng.below(4)],
            _ => {}
        }
        ms.push(m);
    }
    if rng.below(2) == 0 {
        let last = ms.len() - 1;
        ms.swap(0, last);
    }
    let prefix = if rng.below(6) == 0 {
        vec![b'P'; 1 + rng.below(64)]
    } else {
        Vec::new()
    };
    let comment: Vec<u8> = match rng.below(6) {
        0 => b"an archive comment".to_vec(),
        1 => b"PK\x05\x06 in a comment".to_vec(),
        2 => vec![b'c'; 300],
        _ => Vec::new(),
    };
    let end64 = [
        End64::None,
        End64::None,
        End64::None,
        End64::Good,
        End64::BadLocatorSig,
        End64::MultiDisk,
        End64::BadRecordSig,
        End64::NoRoom,
    ][rng.below(8)];
    build(&ms, &prefix, &comment, rng.below(4) != 0, end64)
}

/// Byte-level mutations of an archive (real fixtures or generated): flips, header fields,
/// cuts.
fn mutated(rng: &mut Rng, z: &[u8]) -> Vec<u8> {
    let mut z = z.to_vec();
    for _ in 0..1 + rng.below(3) {
        if z.is_empty() {
            break;
        }
        match rng.below(5) {
            0 => {
                let at = rng.below(z.len());
                z[at] ^= 1 << rng.below(8);
            }
            1 => {
                // A field of a header rewritten: flags, method, sizes, lengths.
                let sigs: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x01\x02"];
                let sig = sigs[rng.below(2)];
                let hits: Vec<usize> = z
                    .windows(4)
                    .enumerate()
                    .filter(|(_, w)| *w == sig)
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&p) = hits.get(rng.below(hits.len().max(1))) {
                    let at = p + [6, 8, 10, 18, 22, 26, 28][rng.below(7)];
                    if at + 2 <= z.len() {
                        let v: u16 = [0, 1, 8, 0xffff, 0x800, 12, 14][rng.below(7)];
                        z[at..at + 2].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            2 => {
                let at = rng.below(z.len());
                z.truncate(at);
            }
            _ => {}
        }
    }
    z
}

/// The zip archives under testdata/ (torch checkpoints, .npz, nested zips).
fn fixtures() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in [
        "testdata/benign/torch",
        "testdata/benign/numpy",
        "testdata/malicious/torch",
        "testdata/malicious/nested",
        "testdata/malicious/numpy",
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        paths.sort();
        for p in paths {
            let d = std::fs::read(&p).unwrap();
            if d.len() < 200_000 && d.windows(4).any(|w| w == b"PK\x05\x06") {
                out.push(d);
            }
        }
    }
    out
}

/// A mutation of a small archive holding the payload among harmless members.
fn case(rng: &mut Rng) -> Vec<u8> {
    let names = [
        "archive/data.pkl",
        "a.txt",
        "w.npy",
        "sub/x.bin",
        "data.pkl",
    ];
    let mut members: Vec<(String, Vec<u8>)> = vec![
        (names[rng.below(names.len())].to_string(), PAYLOAD.to_vec()),
        ("notes.txt".to_string(), b"hello".to_vec()),
    ];
    if rng.below(3) == 0 {
        // A duplicate name: zipfile keeps both entries.
        members.push((members[0].0.clone(), b"decoy".to_vec()));
    }
    if rng.below(2) == 0 {
        members.swap(0, 1);
    }
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let mut z = common::zip(&refs);
    match rng.below(7) {
        0 => {
            // Prepended data (zipfile shifts offsets by it).
            let mut p = vec![b'P'; 1 + rng.below(300)];
            p.extend(z);
            z = p;
        }
        1 => {
            // A comment after the end record (declared or not).
            let eocd = z.len() - 22;
            let comment = b"a comment PK".to_vec();
            if rng.below(2) == 0 {
                z[eocd + 20..eocd + 22].copy_from_slice(&(comment.len() as u16).to_le_bytes());
            }
            z.extend(comment);
        }
        2 => {
            // Flag bits in the local headers only.
            let mut i = 0;
            while let Some(p) = z[i..].windows(4).position(|w| w == b"PK\x03\x04") {
                z[i + p + 6] |= [0x08, 0x01, 0x40][rng.below(3)];
                i += p + 4;
            }
        }
        3 => {
            // A wrong CRC in the central directory.
            if let Some(p) = z.windows(4).position(|w| w == b"PK\x01\x02") {
                z[p + 16] ^= 0xff;
            }
        }
        4 => {
            // A local name that differs from the central one.
            if let Some(p) = z.windows(4).position(|w| w == b"PK\x03\x04") {
                z[p + 30] ^= 0x20;
            }
        }
        5 => {
            // Random byte flips away from the payload's own bytes.
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(z.len());
                z[at] ^= 1 << rng.below(8);
            }
        }
        _ => {}
    }
    z
}

#[test]
fn modelgate_inspects_every_member_zipfile_reads() {
    let cases = common::oracle_cases(600);
    let mut rng = Rng(0x7a69_705f_6f72_6163);
    // Every differential found so far first (a truncated extra field, a stored member whose
    // compressed size runs past the file), then the generated cases.
    let mut regs: Vec<_> = std::fs::read_dir("tests/oracle/zip-regressions")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    regs.sort();
    let mut all: Vec<Vec<u8>> = regs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    all.extend((0..cases).map(|_| case(&mut rng)));
    // An end record 65,536 bytes before the end of the file: zipfile's search reaches it.
    let mut far = common::zip(&[("data.pkl", PAYLOAD)]);
    far.extend(vec![b'x'; 65_536]);
    all.push(far);
    let gen: Vec<Vec<u8>> = (0..common::oracle_cases(1200))
        .map(|_| generated(&mut rng))
        .collect();
    let fx = fixtures();
    assert!(!fx.is_empty(), "zip fixtures under testdata/");
    for i in 0..common::oracle_cases(600) {
        let base = if i % 2 == 0 {
            &gen[rng.below(gen.len())]
        } else {
            &fx[rng.below(fx.len())]
        };
        all.push(mutated(&mut rng, base));
    }
    all.extend(fx);
    all.extend(gen);
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = all
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = dir.path().join(format!("{i}.zip"));
            std::fs::write(&p, d).unwrap();
            p.display().to_string()
        })
        .collect();
    let (python, measure) = match common::oracle_python(
        "measuring the loader's branch coverage",
        "oracle-venv",
        "tests/oracle/coverage_requirements.txt",
    ) {
        Some(p) => (p, true),
        None => ("python3".into(), false),
    };
    let (lines, cov) = loader_coverage::run_oracle_measured_excluding(
        &python,
        "tests/oracle/zip_oracle.py",
        paths,
        measure,
        UNREACHABLE,
    );
    let payload_hex: String = PAYLOAD.iter().map(|b| format!("{b:02x}")).collect();
    let (mut read, mut misses) = (0, Vec::new());
    for (i, (data, v)) in all.iter().zip(&lines).enumerate() {
        let Some(members) = v["members"].as_array() else {
            continue;
        };
        let findings = common::inspect_bytes("x.zip", data);
        for m in members {
            if m["data_hex"].as_str() != Some(payload_hex.as_str()) {
                continue;
            }
            read += 1;
            let name = m["name"].as_str().unwrap();
            let found = findings.iter().any(|f| {
                f.code == Code::PickleDangerousImport
                    && f.member.iter().any(|x| x == name || x.ends_with(name))
            });
            if !found {
                let keep = Path::new("target/oracle-misses");
                std::fs::create_dir_all(keep).unwrap();
                std::fs::write(keep.join(format!("zip-{i}.zip")), data).unwrap();
                misses.push(format!(
                    "case {i}: zipfile reads the payload as '{name}', modelgate: {findings:#?}"
                ));
            }
        }
    }
    eprintln!(
        "zip oracle: {} archives, zipfile read the payload {read} times",
        all.len()
    );
    assert!(
        read > all.len() / 5,
        "a good share of the cases should carry a payload zipfile reads"
    );
    const WHAT: &str = "zip oracle (zipfile)";
    let ratio = cov.as_ref().map(|c| loader_coverage::report(WHAT, c));
    common::assert_no_misses(&misses, 3);
    if let Some(r) = ratio {
        loader_coverage::assert_floor(WHAT, r);
    }
}
