//! File digests: SHA-256, BLAKE2b-512 and BLAKE3, over whole files or byte ranges, read with a
//! plain `read()` loop and a large buffer. BLAKE3 spreads large inputs over every core.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Read buffer: large enough for SHA-NI and BLAKE3's SIMD to run at full speed.
const BUF: usize = 1 << 20;
/// Above this, BLAKE3 hashes each buffer with rayon.
const BLAKE3_PARALLEL: usize = 1 << 20;

/// A digest algorithm; on the command line, `--hash`/`--digest` take these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum HashAlg {
    /// SHA-256 (the default; what CycloneDX BOMs list)
    Sha256,
    /// BLAKE2b-512
    #[value(aliases = ["blake2", "blake2b_512"])]
    Blake2b,
    /// BLAKE3
    Blake3,
}

impl HashAlg {
    /// The name model_signing writes (`hash_type`, resource `algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Blake2b => "blake2b",
            HashAlg::Blake3 => "blake3",
        }
    }

    pub fn from_name(s: &str) -> Option<HashAlg> {
        match s {
            "sha256" => Some(HashAlg::Sha256),
            "blake2b" | "blake2" | "blake2b_512" => Some(HashAlg::Blake2b),
            "blake3" => Some(HashAlg::Blake3),
            _ => None,
        }
    }
}

/// An incremental hasher over any of the algorithms.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Blake2b(Box<blake2::Blake2b512>),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn new(alg: HashAlg) -> Hasher {
        use sha2::Digest;
        match alg {
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Blake2b => Hasher::Blake2b(Box::new(blake2::Blake2b512::new())),
            HashAlg::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake2b(h) => h.update(data),
            Hasher::Blake3(h) => {
                if data.len() >= BLAKE3_PARALLEL {
                    h.update_rayon(data);
                } else {
                    h.update(data);
                }
            }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Blake2b(h) => h.finalize().to_vec(),
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// Hash everything `r` yields.
pub fn hash_reader(alg: HashAlg, r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut h = Hasher::new(alg);
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finish())
}

pub fn hash_file(alg: HashAlg, path: &Path) -> io::Result<Vec<u8>> {
    hash_reader(alg, &mut File::open(path)?)
}

/// Hash bytes `[start, end)` of a file; fails if the file is shorter.
pub fn hash_range(alg: HashAlg, path: &Path, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let want = end.saturating_sub(start);
    let mut take = f.take(want);
    let mut h = Hasher::new(alg);
    let mut buf = vec![0u8; BUF.min(usize::try_from(want).unwrap_or(BUF).max(1))];
    let mut got = 0u64;
    loop {
        let n = take.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got = got.saturating_add(n as u64);
        h.update(buf.get(..n).unwrap_or_default());
    }
    if got != want {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file shorter than the range",
        ));
    }
    Ok(h.finish())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let empty: &[u8] = b"";
        let abc: &[u8] = b"abc";
        assert_eq!(
            hex(&hash_reader(HashAlg::Sha256, &mut &*abc).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&hash_reader(HashAlg::Blake3, &mut &*empty).unwrap()),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(hash_reader(HashAlg::Blake2b, &mut &*abc).unwrap().len(), 64);
        // Large inputs take BLAKE3's parallel path and must agree with the serial one.
        let big = vec![7u8; 3 << 20];
        let mut serial = blake3::Hasher::new();
        serial.update(&big);
        assert_eq!(
            hash_reader(HashAlg::Blake3, &mut &big[..]).unwrap(),
            serial.finalize().as_bytes()
        );
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0"), None);
    }
}
