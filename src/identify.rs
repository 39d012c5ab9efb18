//! Identify a file's format from its bytes. Extensions never decide; they are only compared.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every format modelgate tells apart. Dispatch over it is an exhaustive `match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A pickle stream that starts with a PROTO opcode.
    Pickle,
    /// A PyTorch checkpoint of the legacy (pre-1.6) stacked-pickle format.
    TorchLegacy,
    /// A zip archive (PyTorch checkpoints, TorchScript, .npz and .keras are refined from this).
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    /// The legacy `.lzma` ("alone") format, as joblib writes it.
    Lzma,
    Zstd,
    Zlib,
    Lz4,
    /// joblib < 0.10 compressed pickle: `ZF` + hex length + zlib stream.
    JoblibZfile,
    Npy,
    Safetensors,
    LfsPointer,
    Hdf5,
    Gguf,
    Empty,
    /// Anything else. Still sniffed for protocol-0/1 pickles, which have no magic.
    Unknown,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::TorchLegacy => "torch-legacy",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Zstd => "zstd",
            Format::Zlib => "zlib",
            Format::Lz4 => "lz4",
            Format::JoblibZfile => "joblib-zfile",
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
            Format::LfsPointer => "lfs-pointer",
            Format::Hdf5 => "hdf5",
            Format::Gguf => "gguf",
            Format::Empty => "empty",
            Format::Unknown => "unknown",
        }
    }

    /// Report labels (the `format` of a file entry) of artifacts whose usual loader runs code:
    /// pickle and everything that wraps one.
    pub const CODE_LABELS: &'static [&'static str] = &[
        "pickle",
        "pickle-compressed",
        "joblib",
        "joblib-compressed",
        "joblib-zfile",
        "torch-zip",
        "torch-legacy",
        "torch-legacy-tar",
        "torchscript",
    ];

    /// Report labels of model artifacts that hold data only (weights, or a model whose
    /// loader does not unpickle).
    pub const WEIGHT_LABELS: &'static [&'static str] = &[
        "npy",
        "npz",
        "safetensors",
        "keras",
        "keras-h5",
        "hdf5",
        "gguf",
    ];

    /// A report label of a model artifact (weights or a whole model), for the ML-BOM.
    pub fn is_model_label(label: &str) -> bool {
        Self::CODE_LABELS.contains(&label) || Self::WEIGHT_LABELS.contains(&label)
    }

    pub fn is_compression(self) -> bool {
        matches!(
            self,
            Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::Lzma
                | Format::Zstd
                | Format::Zlib
                | Format::Lz4
                | Format::JoblibZfile
        )
    }
}

/// The magic of the legacy PyTorch format: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
pub const TORCH_LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

const LFS_PREFIX: &[u8] = b"version https://git-lfs.github.com/spec/";

/// Identify from the first bytes of the content and its total length, when known.
pub fn identify(head: &[u8], len: Option<u64>) -> Format {
    if head.is_empty() {
        return Format::Empty;
    }
    if head.starts_with(TORCH_LEGACY_MAGIC) {
        return Format::TorchLegacy;
    }
    match head {
        [0x80, p, ..] if *p <= 5 => return Format::Pickle,
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => return Format::Zip,
        [0x1f, 0x8b, ..] => return Format::Gzip,
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => return Format::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => return Format::Xz,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => return Format::Zstd,
        [0x04, 0x22, 0x4d, 0x18, ..] => return Format::Lz4,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => return Format::Npy,
        [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n', ..] => return Format::Hdf5,
        [b'G', b'G', b'U', b'F', ..] => return Format::Gguf,
        [b'Z', b'F', ..] if is_zfile(head) => return Format::JoblibZfile,
        _ => {}
    }
    if head.starts_with(LFS_PREFIX) {
        return Format::LfsPointer;
    }
    if is_tar(head) {
        return Format::Tar;
    }
    if is_safetensors(head, len) {
        return Format::Safetensors;
    }
    if is_zlib(head) {
        return Format::Zlib;
    }
    if is_lzma_alone(head) {
        return Format::Lzma;
    }
    if hdf5_after_user_block(head) {
        return Format::Hdf5;
    }
    Format::Unknown
}

/// An HDF5 superblock after a user block (the library looks at 512, 1024, 2048, ... bytes).
pub fn hdf5_after_user_block(head: &[u8]) -> bool {
    [512usize, 1024, 2048].iter().any(|at| {
        head.get(*at..at.saturating_add(8))
            .is_some_and(|s| s == crate::inspect::hdf5::SIGNATURE)
    })
}

fn is_zfile(head: &[u8]) -> bool {
    // "ZF", a 19-byte length joblib reads with int(..., 16) (with or without 0x, padded with
    // spaces), one more space in files of joblib <= 0.8.4 (read_zfile skips it), then what
    // zlib.decompress(data, 15) takes: any zlib header with a window up to 32 KiB.
    let at: usize = if head.get(21) == Some(&b' ') { 22 } else { 21 };
    match head.get(at..at.saturating_add(2)) {
        Some([cmf, flg]) => {
            cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && u16::from_be_bytes([*cmf, *flg]).is_multiple_of(31)
                && flg & 0x20 == 0
        }
        _ => false,
    }
}

fn is_tar(head: &[u8]) -> bool {
    let Some(block) = head.get(..512) else {
        return false;
    };
    if block.get(257..262) == Some(b"ustar") {
        return true;
    }
    // Old v7 tar: no magic. Python's tarfile (which torch's legacy loader tries first) accepts
    // any header whose checksum is right, so that is all that is asked here.
    block.iter().any(|b| *b != 0) && tar_checksum_ok(block)
}

/// A tar header's checksum as Python's `tarfile` checks it: the stored value (read as `nti`
/// reads a number) equals the byte sum with the checksum field read as spaces, summing the
/// bytes as unsigned or as signed (old tars did the latter).
pub fn tar_checksum_ok(block: &[u8]) -> bool {
    let Some(stored) = block.get(148..156).and_then(tar_number) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, b) in block.iter().enumerate().take(512) {
        let (u, s) = if (148..156).contains(&i) {
            (32, 32)
        } else {
            (i64::from(*b), i64::from(*b as i8))
        };
        unsigned = unsigned.saturating_add(u);
        signed = signed.saturating_add(s);
    }
    stored == unsigned || stored == signed
}

/// A numeric header field as `tarfile.nti` reads it: base-256 when the first byte is 0x80 or
/// 0xff; otherwise the text up to the first NUL, stripped, as Python's `int(text or "0", 8)`
/// (a sign, a `0o` prefix and underscores between digits allowed). `None` where tarfile
/// raises.
pub fn tar_number(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(0x80) | Some(0xff) => {
            let mut n: i128 = 0;
            for b in field.get(1..)? {
                n = n.checked_mul(256)?.checked_add(i128::from(*b))?;
            }
            if field.first() == Some(&0xff) {
                let span =
                    256i128.checked_pow(u32::try_from(field.len().saturating_sub(1)).ok()?)?;
                n = n.checked_sub(span)?;
            }
            i64::try_from(n).ok()
        }
        _ => {
            let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
            let text = std::str::from_utf8(field.get(..end)?).ok()?;
            if !text.is_ascii() {
                return None;
            }
            let t = text.trim_matches(|c: char| {
                c.is_ascii_whitespace() || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f'
            });
            if t.is_empty() {
                return Some(0);
            }
            let (neg, body) = match t.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let digits = match body.get(..2) {
                Some("0o" | "0O") => body
                    .get(2..)?
                    .strip_prefix('_')
                    .map_or(body.get(2..)?, |r| r),
                _ => body,
            };
            let v = modelgate_pickle::python_digits(digits, 8)?;
            Some(if neg { v.checked_neg()? } else { v })
        }
    }
}

fn is_safetensors(head: &[u8], len: Option<u64>) -> bool {
    let Some(n) = head.get(..8) else {
        return false;
    };
    let mut b = [0u8; 8];
    b.copy_from_slice(n);
    let n = u64::from_le_bytes(b);
    // The header starts with '{' (after optional whitespace the format forbids); a length that
    // could not fit in a file of any plausible size is not safetensors.
    head.get(8) == Some(&b'{') && (2..(1 << 40)).contains(&n) && len.is_none_or(|l| l >= 10)
}

fn is_zlib(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => {
            *cmf == 0x78 && u16::from_be_bytes([*cmf, *flg]).is_multiple_of(31) && flg & 0x20 == 0
        }
        _ => false,
    }
}

fn is_lzma_alone(head: &[u8]) -> bool {
    // joblib decides "lzma" from these two bytes alone (props 0x5d, then the low byte of the
    // dictionary size); Python's lzma then accepts any dictionary size. A pickle cannot start
    // this way (0x00 is no opcode), so nothing else is lost.
    head.starts_with(&[0x5d, 0x00])
}

/// Formats an extension promises, for the `format-mismatch` check. `None`: no expectation.
pub fn expected_formats(name: &str) -> Option<&'static [Format]> {
    use Format::*;
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    const PICKLE_LIKE: &[Format] = &[
        Pickle,
        TorchLegacy,
        Zip,
        Gzip,
        Bzip2,
        Xz,
        Lzma,
        Zstd,
        Zlib,
        Lz4,
        JoblibZfile,
        Unknown,
        Empty,
    ];
    Some(match ext.as_str() {
        "safetensors" => &[Safetensors],
        "npy" => &[Npy],
        "npz" => &[Zip],
        "pkl" | "pickle" | "joblib" | "dill" | "pt" | "pth" | "ckpt" | "sav" | "jl" => PICKLE_LIKE,
        "zip" | "keras" => &[Zip],
        "tar" => &[Tar],
        "gz" | "tgz" => &[Gzip],
        "bz2" => &[Bzip2],
        "xz" => &[Xz],
        "lzma" => &[Lzma, Xz],
        "zst" | "zstd" => &[Zstd],
        "lz4" => &[Lz4],
        "h5" | "hdf5" => &[Hdf5],
        "gguf" => &[Gguf],
        "json" | "txt" | "md" | "yaml" | "yml" | "csv" | "tsv" | "jsonl" | "py" | "cfg"
        | "toml" | "model" | "spm" | "vocab" | "png" | "jpg" | "jpeg" => {
            &[Unknown, Empty, LfsPointer]
        }
        _ => return None,
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    #[test]
    fn identifies_magics() {
        assert_eq!(identify(b"\x80\x04\x95", None), Format::Pickle);
        assert_eq!(identify(b"\x80\x06", None), Format::Unknown);
        assert_eq!(identify(TORCH_LEGACY_MAGIC, None), Format::TorchLegacy);
        assert_eq!(identify(b"PK\x03\x04rest", None), Format::Zip);
        assert_eq!(identify(b"\x1f\x8b\x08", None), Format::Gzip);
        assert_eq!(identify(b"BZh91AY", None), Format::Bzip2);
        assert_eq!(identify(b"\xfd7zXZ\x00\x00", None), Format::Xz);
        assert_eq!(identify(b"\x28\xb5\x2f\xfd", None), Format::Zstd);
        assert_eq!(identify(b"\x78\x9c\x01", None), Format::Zlib);
        assert_eq!(identify(b"\x5d\x00\x00\x80\x00\xff", None), Format::Lzma);
        assert_eq!(
            identify(b"\x5d\x00\x56\x34\x12\x00", None),
            Format::Lzma,
            "any dictionary size"
        );
        assert_eq!(identify(b"\x93NUMPY\x01\x00", None), Format::Npy);
        assert_eq!(
            identify(b"\x02\x00\x00\x00\x00\x00\x00\x00{}", Some(10)),
            Format::Safetensors
        );
        assert_eq!(
            identify(b"version https://git-lfs.github.com/spec/v1\noid", None),
            Format::LfsPointer
        );
        assert_eq!(identify(b"", None), Format::Empty);
        assert_eq!(identify(b"cos\nsystem\n", None), Format::Unknown);
    }

    #[test]
    fn octal_fields() {
        assert_eq!(tar_number(b"0000644\0"), Some(0o644));
        assert_eq!(tar_number(b"   12 \0"), Some(0o12));
        assert_eq!(tar_number(b"89"), None);
    }

    #[test]
    fn extension_expectations() {
        assert_eq!(
            expected_formats("a.SafeTensors"),
            Some(&[Format::Safetensors][..])
        );
        assert!(expected_formats("noext").is_none());
        assert!(expected_formats("x.bin").is_none());
    }
}
