//! Pickle inspector: runs the symbolic machine over every pickle in a stream and turns what it
//! saw into findings.

pub mod globals;
pub use modelgate_pickle as machine;

use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use globals::{classify, Verdict};
pub use machine::PickleLimits;
use machine::{Divergence, End, Events, Reader, Src};
use std::collections::HashSet;
use std::io::Read;

/// How the stream is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Starts with PROTO: pickle.load / joblib.load / torch.load.
    Plain,
    /// Legacy torch.load: exactly five stacked pickles, then raw storage bytes.
    TorchLegacy,
    /// No magic: report only if it behaves like a pickle (imports, or a clean STOP).
    Sniff,
    /// The pickle after an object-dtype .npy header.
    NpyObject,
}

/// What a whole stream turned out to be.
#[derive(Debug, Default)]
pub struct StreamSummary {
    pub is_pickle: bool,
    pub pickles: u32,
    pub joblib: bool,
    /// joblib arrays were written inline: another reading of the same bytes exists.
    pub joblib_arrays: bool,
    /// Imports already judged for good: reported, or allowed by their pair. An import allowed
    /// only by how this reading used it (getattr lookups, `_ufunc_reconstruct` of constants,
    /// joblib companion names) is not here: another reading may use it otherwise.
    pub reported: HashSet<(String, String)>,
    /// Whether any import was reached at all (allowed or not).
    pub any_import: bool,
    /// Where the reader paths part (offset, what), over every pickle of the stream.
    pub frames: Vec<(u64, Divergence)>,
}

/// Whether calling the global can return an exact str (what STACK_GLOBAL accepts): anything
/// not on the allowlist may; of the allowed, only the str constructors do.
fn may_return_str(module: &str, name: &str) -> bool {
    matches!(
        (module, name),
        ("builtins", "str") | ("__builtin__", "str") | ("__builtin__", "unicode")
    ) || classify(module, name, false) != Verdict::Allowed
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>, kind: Kind) -> Identified {
    let len = input.len;
    let Some(s) = analyse_input(input, cx, kind, 0) else {
        return Format::Pickle.into();
    };
    if s.joblib_arrays && input.is_seekable() {
        let mut seen = s.reported.clone();
        let mut parted: Vec<(u64, Divergence)> = Vec::new();
        for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
            // Where joblib's own reading parts, pickle.load's may too, from another point.
            if reader != Reader::Loads && parted.is_empty() && s.frames.is_empty() {
                break;
            }
            if let Ok(mut r) = input.reader() {
                let p = plain_reading(&mut r, len, cx, &mut seen, reader);
                if reader == Reader::Loads {
                    parted = p;
                }
            }
        }
        // pickle.load's reading of the file parts too: say so, whatever joblib's reading did.
        if !parted.is_empty() && s.frames.is_empty() {
            divergence(cx, &parted, Reread::All);
        }
    }
    if kind == Kind::TorchLegacy {
        cx.report(
            Code::TorchLegacyFormat,
            None,
            format!(
                "legacy PyTorch checkpoint; {} stacked pickles analysed",
                s.pickles
            ),
            ev! {"pickles" => s.pickles},
        );
        return Format::TorchLegacy.into();
    }
    match (s.is_pickle, s.joblib) {
        (true, true) => Identified {
            format: Format::Pickle,
            label: "joblib",
        },
        (true, false) => Format::Pickle.into(),
        (false, _) => Format::Unknown.into(),
    }
}

/// Analyse the pickle stream that starts at `offset` of `input` as every reader path reads it:
/// `pickle.loads`' reading first; where the paths could part (see [`Divergence`]), the
/// stream is read again as `load(file)` without peek and as the pure-Python unpickler, and
/// the divergence is reported. `None` when the input cannot be read (a finding says so).
pub fn analyse_input(
    input: &mut Input<'_>,
    cx: &mut Cx<'_>,
    kind: Kind,
    offset: u64,
) -> Option<StreamSummary> {
    let len = input.len.map(|l| l.saturating_sub(offset));
    let s = match input.reader_at(offset) {
        Ok(mut r) => analyse(&mut r, len, cx, kind),
        Err(e) => {
            cx.io_error(Code::ReadError, "reading pickle", &e);
            return None;
        }
    };
    if !s.frames.is_empty() {
        let mut again = input.is_seekable();
        let mut seen = s.reported.clone();
        let judged_before = seen.len();
        let mut found: usize = 0;
        for reader in [Reader::File, Reader::PurePython] {
            // A stream read once cannot be read again (and must not be touched trying).
            if !again {
                break;
            }
            match input.reader_at(offset) {
                Ok(mut r) => {
                    found = found
                        .saturating_add(other_reading(&mut r, len, cx, kind, &mut seen, reader));
                }
                Err(_) => again = false,
            }
        }
        // Sniffed bytes are a pickle only if some reading shows it (an import or a complete
        // stream); then the parting matters.
        if kind != Kind::Sniff || s.is_pickle || found > 0 {
            let how = if again {
                Reread::All
            } else {
                Reread::LoadsOnly
            };
            // Every reading was analysed and none imports anything (raw bytes after pickle
            // magic whose last line lacks its newline): the readers part without reaching code.
            let imports = s.any_import || seen.len() > judged_before;
            if how == Reread::All && !imports {
                divergence_as(cx, &s.frames, how, crate::finding::Severity::Info);
            } else {
                divergence(cx, &s.frames, how);
            }
        }
    }
    Some(s)
}

/// The element size of a legacy torch storage class (`torch.FloatStorage`, ...).
fn storage_element_size(module: &str, name: &str) -> Option<u64> {
    if module != "torch" && module != "torch.cuda" {
        return None;
    }
    Some(match name.strip_suffix("Storage")? {
        "Double" | "Long" | "ComplexFloat" => 8,
        "Float" | "Int" | "QInt32" => 4,
        "Half" | "BFloat16" | "Short" => 2,
        "Char" | "Byte" | "Bool" | "QInt8" | "QUInt8" | "QUInt4x2" | "QUInt2x4" => 1,
        "ComplexDouble" => 16,
        _ => return None,
    })
}

/// The `storages` or `tensors` member of a legacy tar checkpoint (torch before 0.4), read as
/// `torch.load`'s `legacy_load` reads it, from an unbuffered file (no `peek`): a pickle with a
/// count, then per entry a pickle and raw bytes whose length the pickle and a header give,
/// then (storages) one more pickle. Every pickle is analysed; the raw bytes are skipped.
pub fn torch_tar_member(input: &mut Input<'_>, cx: &mut Cx<'_>, member: &str) -> Identified {
    let len = input.len;
    let mut r = match input.reader() {
        Ok(r) => r,
        Err(e) => {
            cx.io_error(Code::ReadError, "reading legacy torch tar member", &e);
            return Format::TorchLegacy.into();
        }
    };
    let mut lim = cx.limits.pickle.clone();
    lim.may_return_str = Some(may_return_str);
    let mut src = Src::with_reader(&mut r, len, Reader::File);
    let mut index = 0u32;
    let mut divergences = Vec::new();
    let mut next = |src: &mut Src<'_>, cx: &mut Cx<'_>| -> Option<Option<machine::Value>> {
        index = index.saturating_add(1);
        let mut ev = Events::default();
        let end = machine::run(src, &lim, &mut ev);
        divergences.extend(ev.frames.iter().copied());
        report_events(cx, &ev, &end, index);
        (end == End::Stop).then_some(ev.result)
    };
    let stop = |cx: &mut Cx<'_>, at: u64, why: String| {
        cx.report(
            Code::PickleParseError,
            Some(at),
            format!("legacy torch '{member}' cannot be followed as torch.load reads it: {why}"),
            ev! {"error" => why},
        );
    };
    let Some(count) = next(&mut src, cx) else {
        return Format::TorchLegacy.into();
    };
    let count = match count {
        Some(machine::Value::Int(n)) if n >= 0 => n,
        other => {
            stop(
                cx,
                0,
                format!("the first pickle is not a count ({other:?})"),
            );
            return Format::TorchLegacy.into();
        }
    };
    for _ in 0..count {
        let at = src.offset();
        let Some(args) = next(&mut src, cx) else {
            return Format::TorchLegacy.into();
        };
        let at_raw = src.offset();
        let skip = if member == "storages" {
            // (key, location, storage_type), then an int64 element count and the elements.
            let size = match &args {
                Some(machine::Value::Tuple(t)) => match t.get(2) {
                    Some(machine::Value::Global(m, n)) => storage_element_size(m, n),
                    _ => None,
                },
                _ => None,
            };
            let Some(size) = size else {
                stop(
                    cx,
                    at,
                    format!("entry {args:?} names no known storage type"),
                );
                return Format::TorchLegacy.into();
            };
            let mut n = [0u8; 8];
            match src.read_raw(&mut n) {
                Ok(true) => {}
                _ => {
                    stop(cx, at_raw, "storage size truncated".into());
                    return Format::TorchLegacy.into();
                }
            }
            u64::try_from(i64::from_le_bytes(n))
                .ok()
                .and_then(|n| n.checked_mul(size))
        } else {
            // int32 ndim, 4 bytes, ndim sizes and ndim strides (int64), an int64 offset.
            let mut h = [0u8; 8];
            match src.read_raw(&mut h) {
                Ok(true) => {}
                _ => {
                    stop(cx, at_raw, "tensor header truncated".into());
                    return Format::TorchLegacy.into();
                }
            }
            let ndim = i32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            u64::try_from(ndim)
                .ok()
                .and_then(|d| d.checked_mul(16))
                .and_then(|d| d.checked_add(8))
        };
        let Some(skip) = skip else {
            stop(
                cx,
                at_raw,
                "raw data length is negative or overflows".into(),
            );
            return Format::TorchLegacy.into();
        };
        match src.skip_raw(skip) {
            Ok(true) => {}
            _ => {
                stop(
                    cx,
                    at_raw,
                    format!("{skip} bytes of raw data are truncated"),
                );
                return Format::TorchLegacy.into();
            }
        }
    }
    if member == "storages" && next(&mut src, cx).is_none() {
        return Format::TorchLegacy.into();
    }
    if !matches!(src.peek(), Ok(None)) {
        trailing(cx, src.offset());
    }
    if !divergences.is_empty() {
        divergence(cx, &divergences, Reread::Loader);
    }
    Identified {
        format: Format::TorchLegacy,
        label: "torch-legacy-tar",
    }
}

/// Read the start of an input identified as another format as a pickle too. Only plausible
/// imports are reported. A stream already consumed is sniffed from its kept head.
pub fn sniff_start(input: &mut Input<'_>, cx: &mut Cx<'_>) {
    if !input
        .head
        .first()
        .is_some_and(|b| machine::starts_pickle(*b))
    {
        return;
    }
    if input.is_seekable() {
        // As any other pickle: where the reader paths part, every reading is analysed.
        analyse_input(input, cx, Kind::Sniff, 0);
    } else {
        let head = input.head.clone();
        let hlen = Some(head.len() as u64);
        analyse(&mut &head[..], hlen, cx, Kind::Sniff);
    }
}

/// Whether the file or member being read is named as a text format its loader reads as text.
fn text_named(cx: &Cx<'_>) -> bool {
    let name = cx.member.last().unwrap_or(&cx.path);
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some(
            "txt"
                | "csv"
                | "tsv"
                | "json"
                | "jsonl"
                | "md"
                | "yaml"
                | "yml"
                | "vocab"
                | "labels"
                | "names"
                | "cfg"
                | "ini"
                | "toml"
        )
    )
}

/// The machine's limits for a stream of `kind`.
fn limits(cx: &Cx<'_>, kind: Kind) -> machine::PickleLimits {
    let mut lim = cx.limits.pickle.clone();
    lim.stop_at_implausible = kind == Kind::Sniff;
    lim.may_return_str = Some(may_return_str);
    // Bytes without pickle magic at a file's start are unpickled only by loaders without a
    // persistent_load (pickle.load, joblib, numpy's and pandas' fallbacks, the magic-number
    // pickle of torch's legacy format), and so is an object array's data (numpy's
    // pickle.load): there a persistent id raises. Torch archives' pickles (Plain, TorchLegacy)
    // have one.
    lim.persistent_load = matches!(kind, Kind::Plain | Kind::TorchLegacy);
    lim
}

/// The limits for the pickles after a stream's first: a loader that reads several stacked
/// pickles from one file (torch's legacy format, whatever its protocol) gives a later one a
/// `persistent_load` (the fourth, the object itself), so a persistent id there goes on.
fn later_pickles(first: &machine::PickleLimits) -> machine::PickleLimits {
    machine::PickleLimits {
        persistent_load: true,
        ..first.clone()
    }
}

/// Analyse every pickle in `r` (from its first byte) and report findings.
pub fn analyse(r: &mut dyn Read, len: Option<u64>, cx: &mut Cx<'_>, kind: Kind) -> StreamSummary {
    let first_lim = limits(cx, kind);
    let later_lim = later_pickles(&first_lim);
    let mut src = Src::new(r, len);
    let mut summary = StreamSummary::default();
    loop {
        let start = src.offset();
        let mut ev = Events::default();
        let lim = if summary.pickles == 0 {
            &first_lim
        } else {
            &later_lim
        };
        let end = machine::run(&mut src, lim, &mut ev);
        let first = summary.pickles == 0;
        // Without pickle magic, text can read as opcodes ("class Foo:" is a GLOBAL). An import
        // whose names are not dotted identifiers cannot be resolved by find_class without code
        // the attacker already ran, so only plausible imports make sniffed data a pickle.
        // A limit hit before anything else is no proof that the bytes are not a pickle.
        let stopped = end == End::Stop;
        // A file named as text (labels.txt, vocab.json) is read by its loader as text: its
        // bytes are a pickle only if they are a complete one, or import something denylisted.
        let text = kind == Kind::Sniff && text_named(cx);
        let suspicious = !ev.ext_codes.is_empty()
            || matches!(end, End::Limit { .. })
            || ev.imports.iter().any(|i| {
                kind != Kind::Sniff
                    || machine::plausible(&i.module)
                        && (!text
                            || stopped
                            || matches!(verdict(i, cx.torchscript), Verdict::Dangerous(_)))
            });
        summary.frames.extend(ev.frames.iter().copied());
        if end == End::Empty {
            if first && kind != Kind::Sniff {
                cx.report(
                    Code::PickleParseError,
                    Some(start),
                    "empty pickle stream",
                    ev! {},
                );
            }
            break;
        }
        if !stopped && !suspicious && (kind == Kind::Sniff || !first) {
            // Not a pickle after all (sniffed data), or data after the last pickle.
            if !first {
                trailing(cx, start);
            }
            break;
        }
        summary.is_pickle = true;
        summary.pickles = summary.pickles.saturating_add(1);
        summary.joblib |=
            ev.joblib_arrays > 0 || ev.imports.iter().any(|i| i.module.starts_with("joblib."));
        summary.joblib_arrays |= ev.joblib_arrays > 0;
        summary.any_import |= !ev.imports.is_empty();
        summary.reported.extend(
            ev.imports
                .iter()
                .filter(|i| !allowed_by_use(i))
                .map(|i| (i.module.clone(), i.name.clone())),
        );
        report_events(cx, &ev, &end, summary.pickles);
        if !stopped {
            break;
        }
        if kind == Kind::TorchLegacy && summary.pickles == 5 {
            break;
        }
        match src.peek() {
            Ok(None) => break,
            Ok(Some(b)) if machine::starts_pickle(b) => continue,
            Ok(Some(_)) => {
                if kind != Kind::TorchLegacy {
                    trailing(cx, src.offset());
                }
                break;
            }
            Err(e) => {
                cx.io_error(Code::ReadError, "reading after pickle", &e);
                break;
            }
        }
    }
    summary
}

/// joblib.load skips the raw array bytes after each NumpyArrayWrapper; pickle.load (and the
/// legacy path of torch.load) runs the same bytes as opcodes. Read the stream that way too and
/// report imports only that reading reaches.
/// Returns where the reader paths part on this reading (then the caller reads it again as the
/// other paths do).
fn plain_reading(
    r: &mut dyn Read,
    len: Option<u64>,
    cx: &mut Cx<'_>,
    seen: &mut HashSet<(String, String)>,
    reader: Reader,
) -> Vec<(u64, Divergence)> {
    let mut lim = cx.limits.pickle.clone();
    lim.joblib_inline = false;
    lim.stop_at_implausible = true;
    lim.may_return_str = Some(may_return_str);
    let mut src = Src::with_reader(r, len, reader);
    let mut ev = Events::default();
    machine::run(&mut src, &lim, &mut ev);
    let confused = ev.mid_proto.unwrap_or(u64::MAX);
    for imp in &ev.imports {
        let Some((code, why)) = unseen_verdict(imp, seen, cx.torchscript) else {
            continue;
        };
        // After an object array's pickle starts inline, its memo indices point into the outer
        // pickle's memo, so its imports pair names that exist nowhere (find_class fails there
        // and the load stops): unknown names from that point on are shown, as info.
        let shared_memo = code == Code::PickleUnknownImport && imp.offset > confused;
        let note = if shared_memo {
            "; after an inline object-array pickle, whose memo references resolve into the outer pickle's memo"
        } else {
            ""
        };
        let how = format!(
            "pickle.load instead of joblib.load: hidden in joblib array data ({why}){note}"
        );
        let severity = if shared_memo {
            crate::finding::Severity::Info
        } else {
            code.default_severity()
        };
        let what = (why, how.as_str(), "pickle.load");
        reading_import(cx, imp, code, severity, what, None);
    }
    ev.frames
}

/// The stream as another reader path reads it: `_pickle.c`'s `load(file)` when a frame's bytes
/// come from `read()` (no `peek`: torch.load's BytesIO, an unbuffered file, a frame past the
/// prefetch size), which skips the rest of a frame an argument crosses; or the pure-Python
/// unpickler (joblib's), which runs a truncated frame's bytes. Imports only this reading
/// reaches are reported.
fn other_reading(
    r: &mut dyn Read,
    len: Option<u64>,
    cx: &mut Cx<'_>,
    kind: Kind,
    seen: &mut HashSet<(String, String)>,
    reader: Reader,
) -> usize {
    let mut found: usize = 0;
    let mut lim = limits(cx, kind);
    // The C readers are pickle.load, which knows nothing of joblib's inline arrays; the
    // pure-Python one stands for joblib.load.
    lim.joblib_inline = reader == Reader::PurePython;
    let (how, reading) = match reader {
        Reader::PurePython => (
            "the pure-Python unpickler (joblib's), which runs the bytes of a frame that claims more than there is",
            "pickle._Unpickler",
        ),
        _ => (
            "pickle.load(file) without peek (as torch.load reads data.pkl), which skips the rest of a frame that an argument crosses",
            "pickle.load(file)",
        ),
    };
    let mut src = Src::with_reader(r, len, reader);
    let later_lim = later_pickles(&lim);
    for index in 1..=u32::MAX {
        let mut ev = Events::default();
        let lim = if index == 1 { &lim } else { &later_lim };
        let end = machine::run(&mut src, lim, &mut ev);
        // Any import (allowed or not) shows the bytes are a pickle to this reader.
        if !ev.imports.is_empty() {
            found = found.saturating_add(1);
        }
        for imp in &ev.imports {
            let Some((code, why)) = unseen_verdict(imp, seen, cx.torchscript) else {
                continue;
            };
            let how = format!("{how} ({why})");
            let severity = code.default_severity();
            reading_import(
                cx,
                imp,
                code,
                severity,
                (why, how.as_str(), reading),
                Some(index),
            );
            found = found.saturating_add(1);
        }
        // A complete stream is a pickle to this reader, imports or not.
        if end == End::Stop && index == 1 {
            found = found.saturating_add(1);
        }
        if end != End::Stop || matches!(src.peek(), Ok(None) | Err(_)) {
            break;
        }
        if kind == Kind::TorchLegacy && index >= 5 {
            break;
        }
    }
    found
}

/// The finding code for an import another reading reaches: `None` when it was already seen
/// (by any reading) or is allowed.
fn unseen_verdict(
    imp: &machine::Import,
    seen: &mut HashSet<(String, String)>,
    torchscript: bool,
) -> Option<(Code, &'static str)> {
    let pair = (imp.module.clone(), imp.name.clone());
    if seen.contains(&pair) {
        return None;
    }
    // Allowed by its use in this reading only: a later reading may use it otherwise.
    if !allowed_by_use(imp) {
        seen.insert(pair);
    }
    match verdict(imp, torchscript) {
        Verdict::Allowed => None,
        Verdict::Dangerous(why) => Some((Code::PickleDangerousImport, why)),
        Verdict::Unknown => Some((Code::PickleUnknownImport, "not on the allowlist")),
    }
}

/// Allowed only by how the reading used it, not by its pair (see [`verdict`]).
fn allowed_by_use(imp: &machine::Import) -> bool {
    (imp.only_attribute_lookups() || imp.only_companion_reads())
        && classify(&imp.module, &imp.name, false) != Verdict::Allowed
}

/// The verdict on one import: its pair's, except `getattr` used only for
/// `getattr(<imported class>, '<name>')`, whose reach is the `module.Class.name` import each
/// such call recorded (and judged).
fn verdict(imp: &machine::Import, torchscript: bool) -> Verdict {
    // joblib < 0.10's wrappers built only with a plain companion file name read a file beside
    // the pickle, which the scan inspects on its own (numpy.load of it, allow_pickle or not).
    if imp.only_attribute_lookups() || imp.only_companion_reads() {
        return Verdict::Allowed;
    }
    classify(&imp.module, &imp.name, torchscript)
}

/// The evidence of an import finding; an unknown import that a framework profile accepts
/// names it (`profile`), so that the report can say which policy line would pass it.
fn import_evidence(imp: &machine::Import, why: &str) -> super::Evidence {
    let mut e = ev! {
        "module" => imp.module,
        "name" => imp.name,
        "opcode" => imp.opcode,
        "invoked" => imp.invoked,
        "count" => imp.count,
        "reason" => why,
    };
    let unknown = classify(&imp.module, &imp.name, false) == Verdict::Unknown;
    if let Some(p) = crate::policy::covering_profile(&imp.module, &imp.name).filter(|_| unknown) {
        e.insert("profile".into(), serde_json::json!(p));
    }
    e
}

/// Report an import that only another reading of the stream reaches.
/// `what`: why the import is reported, how the reading reaches it, and the reading's name.
fn reading_import(
    cx: &mut Cx<'_>,
    imp: &machine::Import,
    code: Code,
    severity: crate::finding::Severity,
    what: (&str, &str, &str),
    pickle: Option<u32>,
) {
    let (why, how, reading) = what;
    let mut e = import_evidence(imp, why);
    e.insert("reading".into(), serde_json::json!(reading));
    if let Some(i) = pickle {
        e.insert("pickle".into(), serde_json::json!(i));
    }
    cx.report_as(
        code,
        severity,
        Some(imp.offset),
        format!("imports {}.{} when read by {how}", imp.module, imp.name),
        e,
    );
}

/// Which readings of a parting stream were analysed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reread {
    All,
    LoadsOnly,
    Loader,
}

/// The reader paths part: CPython's pickler never writes such a stream.
fn divergence(cx: &mut Cx<'_>, frames: &[(u64, Divergence)], reread: Reread) {
    let severity = Code::PickleReaderDivergence.default_severity();
    divergence_as(cx, frames, reread, severity);
}

/// [`divergence`] at `severity`; information when no reading imports anything.
fn divergence_as(
    cx: &mut Cx<'_>,
    frames: &[(u64, Divergence)],
    reread: Reread,
    severity: crate::finding::Severity,
) {
    let Some(&(offset, first)) = frames.first() else {
        return;
    };
    let what: Vec<&str> = frames.iter().map(|(_, a)| a.describe()).collect();
    let mut kinds = what.clone();
    kinds.dedup();
    let tail = match reread {
        Reread::All => "; every reading was analysed",
        Reread::LoadsOnly => {
            "; only pickle.loads' reading could be analysed (the stream cannot be re-read)"
        }
        Reread::Loader => "; the reading of the loader (an unbuffered file) was analysed",
    };
    let nothing = if severity < Code::PickleReaderDivergence.default_severity() {
        "; no reading imports anything"
    } else {
        ""
    };
    cx.report_as(
        Code::PickleReaderDivergence,
        severity,
        Some(offset),
        format!(
            "{}: pickle.loads, pickle.load(file) with and without peek, and the pure-Python unpickler read these bytes differently{tail}{nothing}",
            first.describe()
        ),
        ev! {"anomalies" => frames.len(), "kinds" => kinds, "reread" => reread == Reread::All},
    );
}

fn trailing(cx: &mut Cx<'_>, offset: u64) {
    cx.report(
        Code::PickleTrailingData,
        Some(offset),
        "data follows the last complete pickle",
        ev! {},
    );
}

fn report_events(cx: &mut Cx<'_>, ev: &Events, end: &End, index: u32) {
    let mut dangerous_before_break = false;
    for imp in &ev.imports {
        let (code, why) = match verdict(imp, cx.torchscript) {
            Verdict::Allowed => continue,
            Verdict::Dangerous(why) => {
                dangerous_before_break = true;
                (Code::PickleDangerousImport, why)
            }
            Verdict::Unknown => (Code::PickleUnknownImport, "not on the allowlist"),
        };
        let called = if imp.invoked { " and calls it" } else { "" };
        let mut e = import_evidence(imp, why);
        if index > 1 {
            e.insert("pickle".into(), serde_json::json!(index));
        }
        cx.report(
            code,
            Some(imp.offset),
            format!("imports {}.{}{called} ({why})", imp.module, imp.name),
            e,
        );
    }
    for (off, code) in &ev.ext_codes {
        // The extension registry of a standard Python is empty (copyreg.add_extension is
        // called by no library in the loader inventory): there the load raises. Only a program
        // that registered the code first reaches an object through it; the rest of the
        // stream is read on either way.
        cx.report_as(
            Code::PickleExtensionCode,
            crate::finding::Severity::Warning,
            Some(*off),
            format!("imports an object through copyreg extension code {code}, which a standard Python has not registered (the load raises there unless the program registered it)"),
            ev! {"extension_code" => code},
        );
    }
    for (off, i) in &ev.build_on_global {
        let (m, n) = ev
            .imports
            .get(*i)
            .map(|imp| (imp.module.as_str(), imp.name.as_str()))
            .unwrap_or(("?", "?"));
        cx.report(
            Code::PickleBuildOnGlobal,
            Some(*off),
            format!("BUILD sets attributes on the imported object {m}.{n}"),
            ev! {"module" => m, "name" => n},
        );
    }
    match end {
        End::Error { offset, reject } => {
            let message = reject.to_string();
            // The machine stops only where the unpickler raises (it reads at least as leniently
            // as _pickle.c). When nothing was imported before that point, the loader fails
            // without having reached any code: raw bytes (weights, external data) that merely
            // start like a pickle. Errors of modelgate's own reading stay errors.
            let reached = !ev.imports.is_empty();
            let loader_refuses = !matches!(
                reject,
                machine::Reject::Read(_)
                    | machine::Reject::JoblibArray(_)
                    | machine::Reject::InJoblibObjectArray(_)
            );
            let (severity, tail) = if dangerous_before_break {
                (
                    Code::PickleParseError.default_severity(),
                    "; a dangerous import ran before the break, so treat the file as malicious",
                )
            } else if !reached && loader_refuses {
                (
                    crate::finding::Severity::Info,
                    "; every unpickler raises there before importing or calling anything",
                )
            } else {
                (Code::PickleParseError.default_severity(), "")
            };
            cx.report_as(
                Code::PickleParseError,
                severity,
                Some(*offset),
                format!("pickle cannot be parsed to its end: {message}{tail}"),
                ev! {"error" => message, "after_dangerous_import" => dangerous_before_break, "reached_import" => reached},
            );
        }
        End::Limit { offset, message } => {
            cx.report(
                Code::LimitExceeded,
                Some(*offset),
                format!("pickle analysis stopped: {message}"),
                ev! {"limit" => "pickle", "error" => message},
            );
        }
        End::Stop | End::Empty => {}
    }
    for (off, what) in &ev.odd {
        cx.report(
            Code::PickleOddStructure,
            Some(*off),
            format!("{what}: no pickler writes this; it is aimed at a loader's bugs"),
            ev! {"structure" => what},
        );
    }
    for (off, bytes, consumer) in &ev.nested {
        // Bytes handed to an allowlisted callable are its data (a numpy scalar's, an array's
        // state): no loader unpickles them. Loaders (pickle.loads, torch.load, ...) are not
        // on the allowlist.
        let data_only = consumer.and_then(|i| ev.imports.get(i)).is_some_and(|imp| {
            classify(&imp.module, &imp.name, cx.torchscript) == Verdict::Allowed
        });
        if data_only {
            continue;
        }
        let mut r: &[u8] = bytes;
        let len = Some(bytes.len() as u64);
        let found = cx.nest("<nested pickle>", |cx| {
            analyse(&mut r, len, cx, Kind::Sniff)
        });
        if found.is_some_and(|s| s.is_pickle) {
            cx.report(
                Code::PickleNested,
                Some(*off),
                format!(
                    "a {}-byte bytes argument is itself a pickle; analysed as '<nested pickle>'",
                    bytes.len()
                ),
                ev! {"bytes" => bytes.len()},
            );
        }
    }
}
