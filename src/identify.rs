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
    /// This format's row of [`FORMATS`].
    pub fn info(self) -> &'static FormatInfo {
        // Every variant has one row (a test checks it); the fallback cannot be reached.
        FORMATS
            .iter()
            .find(|r| r.format == self)
            .unwrap_or(&UNKNOWN_ROW)
    }

    pub fn label(self) -> &'static str {
        self.info().label
    }

    /// Report labels (the `format` of a file entry) of artifacts whose usual loader runs code:
    /// pickle and everything that wraps one.
    pub fn code_labels() -> impl Iterator<Item = &'static str> {
        all_labels()
            .filter(|(_, l)| *l == Loader::RunsCode)
            .map(|(n, _)| n)
    }

    /// A report label of a model artifact (weights or a whole model), for the ML-BOM.
    pub fn is_model_label(label: &str) -> bool {
        all_labels().any(|(n, l)| n == label && matches!(l, Loader::RunsCode | Loader::Data))
    }

    /// A report label whose usual loader runs code (see [`Loader::RunsCode`]).
    pub fn is_code_label(label: &str) -> bool {
        all_labels().any(|(n, l)| n == label && l == Loader::RunsCode)
    }

    pub fn is_compression(self) -> bool {
        self.info().loader == Loader::Stream
    }
}

/// What a format's usual loader does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loader {
    /// A model artifact whose loader can run code: pickle and everything that wraps one.
    RunsCode,
    /// A model artifact whose loader reads data (weights, a graph of operators).
    Data,
    /// A compressed stream around other content.
    Stream,
    /// A container of other files, or not a model artifact.
    Other,
}

/// The content test of a format: the first bytes (up to 4 KiB) and the total length if known.
pub type Magic = fn(&[u8], Option<u64>) -> bool;

/// One row per [`Format`]: the format registry. To add a format: a variant, a row here (in
/// the order content tests run), an arm in `inspect::inspect`; see CONTRIBUTING.md.
pub struct FormatInfo {
    pub format: Format,
    /// The name reports use.
    pub label: &'static str,
    /// The content test; `None` for formats decided otherwise (empty, unknown).
    pub magic: Option<Magic>,
    /// Extensions whose files should hold this format (compared, never deciding).
    pub extensions: &'static [&'static [&'static str]],
    pub loader: Loader,
}

/// Names under which pickles (and what wraps them) are saved.
const PICKLE_EXTS: &[&str] = &[
    "pkl", "pickle", "joblib", "dill", "pt", "pth", "ckpt", "sav", "jl",
];
/// Names of text and other files that hold no binary model format.
const TEXT_EXTS: &[&str] = &[
    "json", "txt", "md", "yaml", "yml", "csv", "tsv", "jsonl", "py", "cfg", "toml", "model", "spm",
    "vocab", "png", "jpg", "jpeg",
];

const UNKNOWN_ROW: FormatInfo = FormatInfo {
    format: Format::Unknown,
    label: "unknown",
    magic: None,
    extensions: &[PICKLE_EXTS, TEXT_EXTS],
    loader: Loader::Other,
};

/// The registry, in the order content tests run (the first match decides): the legacy torch
/// magic before the pickle it starts with, magics before the looser checks (tar checksum,
/// safetensors header, zlib, lzma), and HDF5 last: its superblock may follow a user block of
/// any content (a tar, a pickle), which is then read as what it starts with.
pub const FORMATS: &[FormatInfo] = &[
    FormatInfo {
        format: Format::Empty,
        label: "empty",
        magic: Some(|h, _| h.is_empty()),
        extensions: &[PICKLE_EXTS, TEXT_EXTS],
        loader: Loader::Other,
    },
    FormatInfo {
        format: Format::TorchLegacy,
        label: "torch-legacy",
        magic: Some(|h, _| h.starts_with(TORCH_LEGACY_MAGIC)),
        extensions: &[PICKLE_EXTS],
        loader: Loader::RunsCode,
    },
    FormatInfo {
        format: Format::Pickle,
        label: "pickle",
        magic: Some(|h, _| matches!(h, [0x80, p, ..] if *p <= 5)),
        extensions: &[PICKLE_EXTS],
        loader: Loader::RunsCode,
    },
    FormatInfo {
        format: Format::Zip,
        label: "zip",
        magic: Some(|h, _| h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06")),
        extensions: &[PICKLE_EXTS, &["npz", "zip", "keras", "mar", "pt2"]],
        loader: Loader::Other,
    },
    FormatInfo {
        format: Format::Gzip,
        label: "gzip",
        magic: Some(|h, _| h.starts_with(&[0x1f, 0x8b])),
        extensions: &[PICKLE_EXTS, &["gz", "tgz", "nemo"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Bzip2,
        label: "bzip2",
        magic: Some(|h, _| matches!(h, [b'B', b'Z', b'h', b'1'..=b'9', ..])),
        extensions: &[PICKLE_EXTS, &["bz2"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Xz,
        label: "xz",
        magic: Some(|h, _| h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])),
        extensions: &[PICKLE_EXTS, &["xz", "lzma"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Zstd,
        label: "zstd",
        magic: Some(|h, _| h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])),
        extensions: &[PICKLE_EXTS, &["zst", "zstd"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Lz4,
        label: "lz4",
        magic: Some(|h, _| h.starts_with(&[0x04, 0x22, 0x4d, 0x18])),
        extensions: &[PICKLE_EXTS, &["lz4"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Npy,
        label: "npy",
        magic: Some(|h, _| h.starts_with(b"\x93NUMPY")),
        extensions: &[&["npy"]],
        loader: Loader::Data,
    },
    FormatInfo {
        format: Format::Gguf,
        label: "gguf",
        magic: Some(|h, _| h.starts_with(b"GGUF")),
        extensions: &[&["gguf"]],
        loader: Loader::Data,
    },
    FormatInfo {
        format: Format::JoblibZfile,
        label: "joblib-zfile",
        magic: Some(|h, _| h.starts_with(b"ZF") && is_zfile(h)),
        extensions: &[PICKLE_EXTS],
        loader: Loader::RunsCode,
    },
    FormatInfo {
        format: Format::LfsPointer,
        label: "lfs-pointer",
        magic: Some(|h, _| h.starts_with(LFS_PREFIX)),
        extensions: &[TEXT_EXTS],
        loader: Loader::Other,
    },
    FormatInfo {
        format: Format::Tar,
        label: "tar",
        magic: Some(|h, _| is_tar(h)),
        extensions: &[&["tar", "nemo"]],
        loader: Loader::Other,
    },
    FormatInfo {
        format: Format::Safetensors,
        label: "safetensors",
        magic: Some(is_safetensors),
        extensions: &[&["safetensors"]],
        loader: Loader::Data,
    },
    FormatInfo {
        format: Format::Zlib,
        label: "zlib",
        magic: Some(|h, _| is_zlib(h)),
        extensions: &[PICKLE_EXTS],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Lzma,
        label: "lzma",
        magic: Some(|h, _| is_lzma_alone(h)),
        extensions: &[PICKLE_EXTS, &["lzma"]],
        loader: Loader::Stream,
    },
    FormatInfo {
        format: Format::Hdf5,
        label: "hdf5",
        magic: Some(|h, _| h.starts_with(b"\x89HDF\r\n\x1a\n") || hdf5_after_user_block(h)),
        extensions: &[&["h5", "hdf5"]],
        loader: Loader::Data,
    },
    UNKNOWN_ROW,
];

/// Labels inspectors give on top of a format's (a zip that is a PyTorch checkpoint, a pickle
/// that joblib wrote, an unknown file that is an ONNX model...), with what their loaders do.
pub const REFINED_LABELS: &[(&str, Loader)] = &[
    ("pickle-compressed", Loader::RunsCode),
    ("joblib", Loader::RunsCode),
    ("joblib-compressed", Loader::RunsCode),
    ("torch-zip", Loader::RunsCode),
    ("torch-legacy-tar", Loader::RunsCode),
    ("torchscript", Loader::RunsCode),
    ("npz", Loader::Data),
    ("keras", Loader::Data),
    ("keras-h5", Loader::Data),
    ("onnx", Loader::Data),
    ("tf-saved-model", Loader::Data),
    ("tf-graph", Loader::Data),
    ("tf-meta-graph", Loader::Data),
    ("tf-graph-text", Loader::Data),
    ("tflite", Loader::Data),
    ("executorch", Loader::Data),
    ("keras-metadata", Loader::Other),
    ("keras-config", Loader::Other),
    ("native-code", Loader::Other),
];

/// Formats identified (by content, or by name where the content has no magic) that no
/// inspector reads: reported as `not-inspected`, an error where the format holds other files
/// that could not be checked.
pub struct Uninspected {
    pub label: &'static str,
    /// The content test; `None`: the extension identifies it (content otherwise unknown).
    pub magic: Option<fn(&[u8]) -> bool>,
    pub extensions: &'static [&'static str],
    /// Whether the finding fails the gate (archives whose members went unchecked).
    pub fails: bool,
    pub what: &'static str,
    pub loader: Loader,
}

pub const UNINSPECTED: &[Uninspected] = &[
    Uninspected {
        label: "7z",
        magic: Some(|h| h.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c])),
        extensions: &["7z"],
        fails: true,
        what: "a 7z archive: its members cannot be read here, so they were not checked",
        loader: Loader::Other,
    },
    Uninspected {
        label: "rar",
        magic: Some(|h| h.starts_with(b"Rar!\x1a\x07")),
        extensions: &["rar"],
        fails: true,
        what: "a RAR archive: its members cannot be read here, so they were not checked",
        loader: Loader::Other,
    },
    Uninspected {
        label: "openvino-ir",
        magic: Some(|h| {
            let t = h.get(..h.len().min(1024)).unwrap_or(h);
            t.starts_with(b"<?xml") && memchr::memmem::find(t, b"<net ").is_some()
        }),
        extensions: &[],
        fails: false,
        what: "an OpenVINO IR: its layer types are not inspected (custom layers need an extension library, reported as native-code where it ships with the model)",
        loader: Loader::Data,
    },
    Uninspected {
        label: "coreml",
        magic: None,
        extensions: &["mlmodel"],
        fails: false,
        what: "a Core ML model: not inspected",
        loader: Loader::Data,
    },
    Uninspected {
        label: "paddle",
        magic: None,
        extensions: &["pdmodel"],
        fails: false,
        what: "a PaddlePaddle program: not inspected",
        loader: Loader::Data,
    },
    Uninspected {
        label: "flax-msgpack",
        magic: None,
        extensions: &["msgpack"],
        fails: false,
        what: "a Flax msgpack checkpoint: not inspected",
        loader: Loader::Data,
    },
];

/// The uninspected format `head` (content otherwise unknown) and `name` identify.
pub fn uninspected(head: &[u8], name: Option<&str>) -> Option<&'static Uninspected> {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    UNINSPECTED
        .iter()
        .find(|u| u.magic.is_some_and(|m| m(head)))
        .or_else(|| {
            UNINSPECTED
                .iter()
                .find(|u| u.magic.is_none() && u.extensions.contains(&ext.as_str()))
        })
}

/// Every report label with what its loader does: the formats', the refined ones, the
/// uninspected ones.
fn all_labels() -> impl Iterator<Item = (&'static str, Loader)> {
    FORMATS
        .iter()
        .map(|r| (r.label, r.loader))
        .chain(REFINED_LABELS.iter().copied())
        .chain(UNINSPECTED.iter().map(|u| (u.label, u.loader)))
}

/// The magic of the legacy PyTorch format: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
pub const TORCH_LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

const LFS_PREFIX: &[u8] = b"version https://git-lfs.github.com/spec/";

/// Identify from the first bytes of the content and its total length, when known: the first
/// row of [`FORMATS`] whose content test matches.
pub fn identify(head: &[u8], len: Option<u64>) -> Format {
    FORMATS
        .iter()
        .find(|r| r.magic.is_some_and(|m| m(head, len)))
        .map_or(Format::Unknown, |r| r.format)
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

/// Formats an extension promises, for the `format-mismatch` check: every row that lists it.
/// `None`: no expectation.
/// The formats named by the suffixes before the last one (`pth` in `checkpoint.pth.tar`), each
/// read as [`expected_formats`] reads a last suffix.
pub fn inner_suffix_formats(name: &str) -> Vec<Format> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let mut parts: Vec<&str> = base.split('.').skip(1).collect();
    parts.pop();
    parts
        .iter()
        .filter_map(|ext| expected_formats(&format!("x.{ext}")))
        .flatten()
        .collect()
}

pub fn expected_formats(name: &str) -> Option<Vec<Format>> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let v: Vec<Format> = FORMATS
        .iter()
        .filter(|r| r.extensions.iter().any(|g| g.contains(&ext.as_str())))
        .map(|r| r.format)
        .collect();
    (!v.is_empty()).then_some(v)
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

    /// Every variant, once: the compiler makes `index` list each (no wildcard arm).
    const ALL: [Format; 19] = [
        Format::Pickle,
        Format::TorchLegacy,
        Format::Zip,
        Format::Tar,
        Format::Gzip,
        Format::Bzip2,
        Format::Xz,
        Format::Lzma,
        Format::Zstd,
        Format::Zlib,
        Format::Lz4,
        Format::JoblibZfile,
        Format::Npy,
        Format::Safetensors,
        Format::LfsPointer,
        Format::Hdf5,
        Format::Gguf,
        Format::Empty,
        Format::Unknown,
    ];

    fn index(f: Format) -> usize {
        match f {
            Format::Pickle => 0,
            Format::TorchLegacy => 1,
            Format::Zip => 2,
            Format::Tar => 3,
            Format::Gzip => 4,
            Format::Bzip2 => 5,
            Format::Xz => 6,
            Format::Lzma => 7,
            Format::Zstd => 8,
            Format::Zlib => 9,
            Format::Lz4 => 10,
            Format::JoblibZfile => 11,
            Format::Npy => 12,
            Format::Safetensors => 13,
            Format::LfsPointer => 14,
            Format::Hdf5 => 15,
            Format::Gguf => 16,
            Format::Empty => 17,
            Format::Unknown => 18,
        }
    }

    #[test]
    fn every_format_has_one_row_and_every_label_one_meaning() {
        for (i, f) in ALL.iter().enumerate() {
            assert_eq!(index(*f), i);
            assert_eq!(
                FORMATS.iter().filter(|r| r.format == *f).count(),
                1,
                "{f:?}"
            );
        }
        assert_eq!(FORMATS.len(), ALL.len());
        let mut labels: Vec<&str> = all_labels().map(|(l, _)| l).collect();
        let n = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), n, "a label is listed twice");
        assert_eq!(
            Format::code_labels().collect::<Vec<_>>(),
            vec![
                "torch-legacy",
                "pickle",
                "joblib-zfile",
                "pickle-compressed",
                "joblib",
                "joblib-compressed",
                "torch-zip",
                "torch-legacy-tar",
                "torchscript"
            ]
        );
    }

    #[test]
    fn uninspected_formats() {
        assert_eq!(
            uninspected(b"7z\xbc\xaf\x27\x1c\0\x04", Some("x.bin")).map(|u| u.label),
            Some("7z")
        );
        assert_eq!(
            uninspected(b"....", Some("m.PDMODEL")).map(|u| u.label),
            Some("paddle")
        );
        assert!(uninspected(b"....", Some("m.bin")).is_none());
        let ir = b"<?xml version=\"1.0\"?>\n<net name=\"m\" version=\"11\">";
        assert_eq!(
            uninspected(ir, Some("m.xml")).map(|u| u.label),
            Some("openvino-ir")
        );
        assert!(uninspected(b"<?xml version=\"1.0\"?><svg/>", Some("a.xml")).is_none());
    }

    #[test]
    fn extension_expectations() {
        assert_eq!(
            expected_formats("a.SafeTensors"),
            Some(vec![Format::Safetensors])
        );
        assert!(expected_formats("noext").is_none());
        assert!(expected_formats("x.bin").is_none());
    }
}
