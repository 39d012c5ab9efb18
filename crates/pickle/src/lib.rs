//! A symbolic pickle machine that follows CPython's `_pickle.c` unpickler: a real stack with
//! mark fences, a memo, every opcode of protocols 0-5. Nothing is ever imported or called:
//! globals are recorded, calls are noted.
//!
//! The same bytes are read differently by the reader paths of CPython (see [`Reader`]): the
//! machine runs one path at a time and records every place where the paths could part (an
//! argument that crosses the end of its FRAME, a FRAME inside an unfinished one, a STOP before
//! the end of its frame), so that a caller can run the other paths and report the divergence.
//!
//! This crate depends on nothing else of modelgate.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

/// Opcodes, named as `_pickle.c` names them.
pub mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const FLOAT: u8 = b'F';
    pub const INT: u8 = b'I';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const LONG: u8 = b'L';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const PERSID: u8 = b'P';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const STRING: u8 = b'S';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const UNICODE: u8 = b'V';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const GET: u8 = b'g';
    pub const BINGET: u8 = b'h';
    pub const INST: u8 = b'i';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const OBJ: u8 = b'o';
    pub const PUT: u8 = b'p';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const EXT1: u8 = 0x82;
    pub const EXT2: u8 = 0x83;
    pub const EXT4: u8 = 0x84;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const EMPTY_SET: u8 = 0x8f;
    pub const ADDITEMS: u8 = 0x90;
    pub const FROZENSET: u8 = 0x91;
    pub const NEWOBJ_EX: u8 = 0x92;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

/// How the loader feeds bytes to the unpickler. The paths differ only around FRAMEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// `pickle.loads(bytes)`, and `load(file)` whenever `peek()` covered each frame: the input
    /// is read front to back, frames are only checked to be complete.
    Loads,
    /// `_pickle.c`'s `load(file)` where a frame's bytes come from `read()`: no `peek` (an
    /// `io.BytesIO`, as `torch.load` unpickles `data.pkl`; an unbuffered file), or a frame of
    /// 128 KiB or more, or larger than what `peek()` returned. An argument or line that
    /// crosses the end of the frame drops the rest of the frame and is read from after it.
    File,
    /// The pure-Python `pickle._Unpickler` (joblib's): crossing a frame's end, or starting a
    /// frame inside an unfinished one, raises.
    PurePython,
}

/// Where the reader paths can part: around FRAMEs, and at the end of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    /// An opcode's argument or line crosses the end of its FRAME.
    Crossed,
    /// A FRAME starts before the current frame ends.
    FrameInFrame,
    /// STOP comes before the end of its frame: the next pickle in the file starts at the
    /// frame's end for a file reader, right after STOP for `loads`.
    StopInFrame,
    /// joblib's array data starts before the end of the frame (joblib reads it from the file,
    /// after the frame).
    ArrayInFrame,
    /// A FRAME claims more bytes than the stream holds: the C unpickler raises before running
    /// any of it, the pure-Python one runs what there is.
    Truncated,
    /// The stream ends inside a text line: the C unpickler raises, the pure-Python one takes
    /// the line without its last byte (and imports the module a GLOBAL names).
    UnterminatedLine,
    /// A call's arguments are an iterable but not a tuple: the C unpickler raises, the
    /// pure-Python one calls.
    ArgsNotTuple,
    /// A memo index too large for `Py_ssize_t`: the C unpickler raises, the pure-Python one's
    /// dict memo takes it.
    BigIndex,
}

impl Divergence {
    pub fn describe(self) -> &'static str {
        match self {
            Divergence::Crossed => "an opcode's argument crosses the end of its FRAME",
            Divergence::FrameInFrame => "a FRAME starts before the current frame ends",
            Divergence::StopInFrame => "STOP comes before the end of its FRAME",
            Divergence::ArrayInFrame => "joblib array data starts inside a FRAME",
            Divergence::Truncated => "a FRAME claims more bytes than the stream holds",
            Divergence::UnterminatedLine => "the stream ends inside a text line",
            Divergence::ArgsNotTuple => "a call's arguments are not a tuple",
            Divergence::BigIndex => "a memo index is too large for the C unpickler",
        }
    }
}

/// Hard limits for one pickle stream.
#[derive(Clone, Debug)]
pub struct PickleLimits {
    pub max_stack: usize,
    pub max_memo: usize,
    /// Bytes of a text line kept (the rest of a longer line is read and dropped: a long line
    /// is legal, and never ends the analysis).
    pub max_line: usize,
    /// Total bytes of strings and bytes objects kept whole; beyond it only a prefix is kept.
    pub max_retained: usize,
    /// Largest bytes object kept whole (nested pickles are analysed from these).
    pub max_bytes_object: usize,
    /// Items kept per dict/tuple (more are counted, not kept).
    pub max_items: usize,
    /// Depth of pickles nested inline in a stream (joblib object arrays).
    pub max_inline_depth: u32,
    /// Opcodes executed per stream.
    pub max_opcodes: u64,
    /// Stop at an import whose names are not dotted identifiers, where `find_class` fails, and
    /// at EXT opcodes (the extension registry of a standard Python is empty). Used when
    /// sniffing data without pickle magic, so that text and binary headers read as opcodes
    /// stop where CPython would.
    pub stop_at_implausible: bool,
    /// Follow joblib's inline array data after a NumpyArrayWrapper (joblib.load's reading).
    /// Off: read those bytes as opcodes, as pickle.load does on the same file.
    pub joblib_inline: bool,
    /// Whether calling the global (module, name) can return an exact `str` (which STACK_GLOBAL
    /// accepts). `None`: any call result may be a str.
    pub may_return_str: Option<fn(&str, &str) -> bool>,
    /// Whether the reader has a `persistent_load` (torch's loaders do). Without one, PERSID and
    /// BINPERSID raise `UnpicklingError` as `_pickle.c` and `pickle.py` do: plain
    /// `pickle.load`, joblib, numpy's and pandas' pickle fallbacks, and the first pickle
    /// (the magic number) of a legacy torch file.
    pub persistent_load: bool,
}

impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_stack: 1 << 20,
            max_memo: 1 << 22,
            max_line: 1 << 20,
            max_retained: 64 << 20,
            max_bytes_object: 16 << 20,
            max_items: 256,
            max_inline_depth: 8,
            max_opcodes: 1 << 32,
            stop_at_implausible: false,
            joblib_inline: true,
            may_return_str: None,
            persistent_load: true,
        }
    }
}

/// The value a pickle returned, as far as a loader's next step depends on it (a count, a
/// tuple of keys and a storage class): small and shallow, the rest [`Value::Other`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    None,
    Int(i64),
    Str(String),
    /// An imported global: (module, name).
    Global(String, String),
    Tuple(Vec<Value>),
    Other,
}

impl Value {
    fn of(v: &V, ev: &Events, depth: u32) -> Value {
        match v {
            V::None => Value::None,
            V::Int(i) => Value::Int(*i),
            V::Str(_) | V::SmallStr(..) => match v.as_str() {
                Some(s) if s.len() <= 1024 => Value::Str(s.into_owned()),
                _ => Value::Other,
            },
            V::Global(i) => ev.imports.get(*i).map_or(Value::Other, |imp| {
                Value::Global(imp.module.clone(), imp.name.clone())
            }),
            V::Tuple(t) if depth < 4 && t.len() <= 16 => Value::Tuple(
                t.iter()
                    .map(|x| Value::of(x, ev, depth.saturating_add(1)))
                    .collect(),
            ),
            _ => Value::Other,
        }
    }
}

/// One imported global.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub opcode: &'static str,
    pub offset: u64,
    pub count: u64,
    /// Called (REDUCE, NEWOBJ, OBJ, INST) or given state by BUILD.
    pub invoked: bool,
    /// Times the imported object was put on the stack (by its import, `GET`, `DUP`).
    pub pushes: u64,
    /// Times it was called as `getattr(<imported class>, '<name>')`, the form pickle writes
    /// for a classmethod under protocols before 4 (each such call is reported as an import of
    /// `module.Class.name` of its own), or as numpy's `_ufunc_reconstruct('<module>',
    /// '<name>')`, the form numpy <= 1.19 writes for a ufunc (each such call is reported as an
    /// import of `module.name`).
    pub attribute_calls: u64,
    /// joblib < 0.10's `NDArrayWrapper`/`ZNDArrayWrapper` built with a `filename` that is a
    /// plain file name (joblib then reads that file beside the pickle, which a scan of the
    /// tree inspects as a file of its own); `companion_other`: built any other way.
    pub companion_reads: u64,
    pub companion_other: u64,
}

/// joblib < 0.10's wrappers, which read a companion file named by their `filename` state
/// (`NDArrayWrapper`: `np.load(..., allow_pickle=True)`; `ZNDArrayWrapper`: a zlib file).
fn is_companion_wrapper(module: &str, name: &str) -> bool {
    matches!(
        module,
        "joblib.numpy_pickle"
            | "joblib.numpy_pickle_compat"
            | "sklearn.externals.joblib.numpy_pickle"
            | "sklearn.externals.joblib.numpy_pickle_compat"
    ) && matches!(name, "NDArrayWrapper" | "ZNDArrayWrapper")
}

/// A file name that `os.path.join(dirname, name)` keeps in `dirname`, on every platform.
fn plain_file_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\\', ':', '\0'])
}

/// numpy's `_ufunc_reconstruct(module, name)`: `getattr(__import__(module, fromlist=[name]),
/// name)`, an import by name (numpy <= 1.19 pickles every ufunc through it).
fn is_ufunc_reconstruct(module: &str, name: &str) -> bool {
    matches!(module, "numpy.core" | "numpy._core") && name == "_ufunc_reconstruct"
}

impl Import {
    /// `builtins.getattr` used for nothing but `getattr(<imported class>, '<name>')`, or
    /// numpy's `_ufunc_reconstruct` used for nothing but `_ufunc_reconstruct('<module>',
    /// '<name>')`: every time it reached the stack it was called that way, so what it reached
    /// is exactly the imports those calls recorded (`module.Class.name`, `module.name`).
    /// A joblib < 0.10 wrapper that, every time it reached the stack, was built with a plain
    /// companion file name, and never any other way (see [`Import::companion_reads`]).
    pub fn only_companion_reads(&self) -> bool {
        is_companion_wrapper(&self.module, &self.name)
            && self.companion_other == 0
            && self.companion_reads >= self.pushes.max(1)
    }

    pub fn only_attribute_lookups(&self) -> bool {
        (matches!(self.module.as_str(), "builtins" | "__builtin__") && self.name == "getattr"
            || is_ufunc_reconstruct(&self.module, &self.name))
            && self.attribute_calls > 0
            && self.pushes == self.attribute_calls
    }
}

/// Why the unpickler raises: one variant per rejection, displayed as CPython words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    Truncated,
    UnsupportedProtocol(u8),
    SizeTooLarge(&'static str),
    NegativeByteCount(&'static str),
    StackUnderflow,
    MarkNotFound,
    OddItems(&'static str),
    StringNotQuoted,
    BadEscape,
    /// A PUT/GET/LONG index that `PyLong_FromString` refuses.
    BadIndex(&'static str),
    NegativeIndex(&'static str),
    MemoMissing(u64),
    StackGlobalNotStr,
    ArgsNotTuple(&'static str),
    ExtCodeNotPositive,
    /// EXT with a code the (empty, standard) extension registry does not hold.
    UnregisteredExtension(i64),
    InvalidLoadKey(u8),
    /// `find_class` cannot import a module that is not a dotted identifier.
    NoModule(String),
    /// The module was imported; it has no attribute by a name that is not an identifier.
    NoAttribute(String),
    /// Pure-Python unpickler: a read crosses the end of the frame.
    FrameExhausted,
    /// Pure-Python unpickler: a FRAME inside an unfinished one.
    FrameInFrame,
    JoblibArray(&'static str),
    InJoblibObjectArray(Box<Reject>),
    Read(String),
    /// PERSID/BINPERSID read by an unpickler without `persistent_load`.
    NoPersistentLoad,
    /// A GLOBAL or INST line that is not UTF-8.
    NotUtf8,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Truncated => f.write_str("pickle data was truncated"),
            Reject::UnsupportedProtocol(p) => write!(f, "unsupported pickle protocol: {p}"),
            Reject::SizeTooLarge(op) => write!(f, "{op} exceeds system's maximum size"),
            Reject::NegativeByteCount(op) => write!(f, "{op} pickle has negative byte count"),
            Reject::StackUnderflow => f.write_str("unpickling stack underflow"),
            Reject::MarkNotFound => f.write_str("could not find MARK"),
            Reject::OddItems(op) => write!(f, "odd number of items for {op}"),
            Reject::StringNotQuoted => f.write_str("the STRING opcode argument must be quoted"),
            Reject::BadEscape => f.write_str("invalid escape in STRING"),
            Reject::BadIndex(op) => write!(f, "invalid {op} index"),
            Reject::NegativeIndex(op) => write!(f, "negative {op} argument"),
            Reject::MemoMissing(i) => write!(f, "Memo value not found at index {i}"),
            Reject::StackGlobalNotStr => f.write_str("STACK_GLOBAL requires str"),
            Reject::ArgsNotTuple(op) => write!(f, "{op} argument list must be a tuple"),
            Reject::ExtCodeNotPositive => f.write_str("EXT specifies code <= 0"),
            Reject::UnregisteredExtension(c) => write!(f, "unregistered extension code {c}"),
            Reject::InvalidLoadKey(b) => write!(f, "invalid load key, '\\x{b:02x}'"),
            Reject::NoModule(m) => write!(f, "No module named {m:?}"),
            Reject::NoAttribute(n) => write!(f, "Can't get attribute {n:?}"),
            Reject::FrameExhausted => f.write_str("pickle exhausted before end of frame"),
            Reject::FrameInFrame => {
                f.write_str("beginning of a new frame before end of current frame")
            }
            Reject::JoblibArray(m) => write!(f, "joblib {m}"),
            Reject::InJoblibObjectArray(r) => write!(f, "in joblib object array: {r}"),
            Reject::NotUtf8 => f.write_str("'utf-8' codec can't decode a GLOBAL or INST line"),
            Reject::NoPersistentLoad => f.write_str(
                "a load persistent id instruction was encountered, but no persistent_load function was specified",
            ),
            Reject::Read(e) => write!(f, "read error: {e}"),
        }
    }
}

/// Why a stream stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    /// A STOP opcode was executed.
    Stop,
    /// No byte at all where a pickle should start.
    Empty,
    /// The unpickler would raise here. Everything before was executed.
    Error { offset: u64, reject: Reject },
    /// A safety limit was hit.
    Limit { offset: u64, message: String },
}

/// What one simulated pickle did.
#[derive(Debug, Default)]
pub struct Events {
    pub imports: Vec<Import>,
    index: HashMap<(String, String), usize>,
    /// Bytes arguments that look like pickles or were passed to a call (offset, content, the
    /// import index of the callee or of the class whose state they are).
    pub nested: Vec<(u64, Rc<[u8]>, Option<usize>)>,
    /// BUILD applied to an imported global (offset, import index).
    pub build_on_global: Vec<(u64, usize)>,
    /// EXT1/2/4 codes used (offset, code).
    pub ext_codes: Vec<(u64, u32)>,
    /// Structures no pickler writes, aimed at loader bugs (offset, what).
    pub odd: Vec<(u64, &'static str)>,
    /// Where the reader paths could part (offset, what).
    pub frames: Vec<(u64, Divergence)>,
    /// Bytes a [`Reader::File`] reading dropped at frame ends.
    pub dropped: u64,
    /// Calls of objects that are not imported globals (results of other calls).
    pub computed_calls: u64,
    /// joblib arrays whose raw data followed inline.
    pub joblib_arrays: u64,
    pub opcodes: u64,
    /// What the pickle returned (see [`Value`]).
    pub result: Option<Value>,
    /// Highest PROTO seen.
    pub proto: u8,
    /// Offset of the first PROTO after the stream's first opcode: another pickle read inline,
    /// whose memo indices now point into the outer pickle's memo.
    pub mid_proto: Option<u64>,
    pub uses_persid: bool,
}

impl Events {
    fn import(&mut self, module: String, name: String, opcode: &'static str, offset: u64) -> usize {
        let key = (module, name);
        if let Some(&i) = self.index.get(&key) {
            if let Some(imp) = self.imports.get_mut(i) {
                imp.count = imp.count.saturating_add(1);
            }
            return i;
        }
        let i = self.imports.len();
        self.imports.push(Import {
            module: key.0.clone(),
            name: key.1.clone(),
            opcode,
            offset,
            count: 1,
            invoked: false,
            pushes: 0,
            attribute_calls: 0,
            companion_reads: 0,
            companion_other: 0,
        });
        self.index.insert(key, i);
        i
    }

    fn invoked(&mut self, i: usize) {
        if let Some(imp) = self.imports.get_mut(i) {
            imp.invoked = true;
        }
    }

    pub fn is(&self, i: usize, module: &str, name: &str) -> bool {
        self.imports
            .get(i)
            .is_some_and(|imp| imp.module == module && imp.name == name)
    }

    fn odd(&mut self, off: u64, what: &'static str) {
        if self.odd.len() < 64 {
            self.odd.push((off, what));
        }
    }
}

#[derive(Debug)]
struct Inst {
    class: Option<usize>,
    args: Rc<[V]>,
    state: RefCell<Option<V>>,
}

#[derive(Clone, Debug)]
struct DictV {
    items: Vec<(V, V)>,
}

/// Bytes of a str kept inline in a [`V`] (no allocation): most names and data strings fit.
const INLINE: usize = 22;

/// A value on the stack or in the memo. Strs are kept as the bytes the pickle holds (UTF-8,
/// read lossily, as every reading of them here always did) and decoded only where their text
/// matters: an import's operands, a call's arguments, a state's keys.
#[derive(Clone, Debug)]
enum V {
    None,
    Bool,
    Int(i64),
    BigInt,
    Float,
    /// A str of at most [`INLINE`] bytes: its length, its bytes.
    SmallStr(u8, [u8; INLINE]),
    Str(Rc<[u8]>),
    Bytes(Rc<[u8]>),
    /// A bytes object too large to keep.
    BigBytes,
    Tuple(Rc<[V]>),
    List,
    Dict(Rc<RefCell<DictV>>),
    Set,
    Global(usize),
    /// The result of a call; `str_ok`: it may be an exact str.
    Inst(Rc<Inst>, bool),
    Opaque,
}

/// The name recorded for a global whose module or name is only known at load time.
pub const COMPUTED: &str = "<computed at load time>";

// Values are moved and copied by the million: they stay three words.
const _: () = assert!(std::mem::size_of::<V>() <= 24);

impl V {
    /// A str of these bytes (UTF-8, read lossily when its text is wanted).
    #[inline]
    fn str_of(b: &[u8]) -> V {
        let mut a = [0u8; INLINE];
        match (a.get_mut(..b.len()), u8::try_from(b.len())) {
            (Some(d), Ok(n)) => {
                d.copy_from_slice(b);
                V::SmallStr(n, a)
            }
            _ => V::Str(Rc::from(b)),
        }
    }

    /// A str's bytes, undecoded.
    fn str_bytes(&self) -> Option<&[u8]> {
        match self {
            V::SmallStr(n, a) => a.get(..usize::from(*n)),
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A str's text (invalid UTF-8 replaced).
    fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.str_bytes().map(String::from_utf8_lossy)
    }

    fn is_str(&self) -> bool {
        matches!(self, V::Str(_) | V::SmallStr(..))
    }

    /// Whether dropping it may recurse (it holds other values): see [`release`].
    #[inline]
    fn nests(&self) -> bool {
        matches!(self, V::Tuple(_) | V::Dict(_) | V::Inst(..))
    }

    /// Certainly not an exact str when loaded.
    fn not_str(&self) -> bool {
        match self {
            V::Str(_) | V::SmallStr(..) | V::Opaque => false,
            V::Inst(_, str_ok) => !str_ok,
            _ => true,
        }
    }
}

/// The arguments of a call: a tuple, or a value that may be one at load time (a call result).
fn call_args(v: V) -> Option<Rc<[V]>> {
    match v {
        V::Tuple(t) => Some(t),
        V::Inst(..) | V::Opaque => Some(Rc::from(Vec::new())),
        _ => None,
    }
}

enum Fail {
    Reject(Reject),
    Truncated,
    Limit(String),
    Io(io::Error),
}

type R<T> = Result<T, Fail>;

/// A buffered reader that tracks absolute offsets, gives contiguous slices, and models how
/// each [`Reader`] path consumes frames.
pub struct Src<'r> {
    r: &'r mut dyn Read,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Reads that end at or before this position need no check: the bytes are buffered and
    /// inside the current frame, if any (recomputed by [`Src::refresh`] whenever the buffer or
    /// the frame changes; a read that would pass it takes the checked path).
    fast_end: usize,
    base: u64,
    eof: bool,
    /// Total length, when known, for FRAME checks.
    len: Option<u64>,
    reader: Reader,
    /// Absolute end of the bytes the C unpickler holds in its buffer after a FRAME (0: none).
    frame_end: u64,
    frames: Vec<(u64, Divergence)>,
    dropped: u64,
    /// The bytes of a line the stream ended in.
    partial: Vec<u8>,
}

/// Bytes read from the input at a time.
const CHUNK: usize = 256 * 1024;

// Invariant: pos <= end <= buf.len(), and base + end is the number of bytes read so far, so
// none of this bookkeeping can overflow; lengths coming from the input are checked by callers.
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
impl<'r> Src<'r> {
    pub fn new(r: &'r mut dyn Read, len: Option<u64>) -> Self {
        Self::with_reader(r, len, Reader::Loads)
    }

    pub fn with_reader(r: &'r mut dyn Read, len: Option<u64>, reader: Reader) -> Self {
        Src {
            r,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            fast_end: 0,
            base: 0,
            eof: false,
            len,
            reader,
            frame_end: 0,
            frames: Vec::new(),
            dropped: 0,
            partial: Vec::new(),
        }
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Recompute [`Src::fast_end`].
    fn refresh(&mut self) {
        let off = self.offset();
        self.fast_end = if self.frame_end > off {
            let in_buf = (self.frame_end - self.base).min(self.end as u64);
            in_buf as usize
        } else {
            self.end
        };
    }

    /// Ensure `need` bytes are buffered; false when the input ends first.
    #[inline]
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.pos >= need {
            return Ok(true);
        }
        let r = self.fill_slow(need);
        self.refresh();
        r
    }

    #[cold]
    fn fill_slow(&mut self, need: usize) -> io::Result<bool> {
        while self.end - self.pos < need {
            if self.eof {
                return Ok(false);
            }
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            }
            if self.buf.len() < need {
                self.buf.resize(need.max(CHUNK), 0);
            }
            let n = loop {
                match self.r.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(true)
    }

    /// True when no byte is left.
    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(!self.fill(1)?)
    }

    #[inline]
    pub fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(if self.fill(1)? {
            self.buf.get(self.pos).copied()
        } else {
            None
        })
    }

    fn note(&mut self, at: u64, what: Divergence) {
        if self.frames.len() < 64 {
            self.frames.push((at, what));
        }
    }

    /// Bytes left in the current frame buffer.
    fn in_frame(&self) -> u64 {
        self.frame_end.saturating_sub(self.offset())
    }

    /// Before reading `n` bytes: apply the reader's rule for a read that crosses the frame end.
    /// `into`: the C unpickler reads the argument with `_Unpickler_ReadInto` (the data of
    /// BINBYTES, SHORT_BINBYTES, BINBYTES8 and BYTEARRAY8 since Python 3.8), which takes what
    /// is left in the buffer and the rest from the file: no bytes are dropped.
    fn cross(&mut self, n: u64, into: bool) -> R<()> {
        let left = self.in_frame();
        if left == 0 || n <= left {
            return Ok(());
        }
        let at = self.offset();
        self.note(at, Divergence::Crossed);
        match self.reader {
            Reader::Loads => {}
            Reader::File if into => self.frame_end = 0,
            Reader::PurePython => return Err(Fail::Reject(Reject::FrameExhausted)),
            Reader::File => {
                // The rest of the buffer is dropped; the read comes from the file.
                if !self.skip_raw(left).map_err(Fail::Io)? {
                    return Err(Fail::Truncated);
                }
                self.dropped = self.dropped.saturating_add(left);
                self.frame_end = 0;
            }
        }
        self.refresh();
        Ok(())
    }

    /// The next `n` bytes when they need no check (see [`Src::fast_end`]).
    #[inline]
    fn fast(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.pos;
        let e = s.checked_add(n).filter(|e| *e <= self.fast_end)?;
        self.pos = e;
        self.buf.get(s..e)
    }

    /// The bytes that need no check, from the current position (see [`Src::fast_end`]).
    #[inline]
    fn fast_rest(&self) -> &[u8] {
        self.buf.get(self.pos..self.fast_end).unwrap_or_default()
    }

    /// A str of `n` <= [`INLINE`] bytes that need no check, copied as one fixed-size block
    /// (the bytes after the str in that block are never read).
    #[inline]
    fn small_str(&mut self, n: u64) -> Option<V> {
        let n = u8::try_from(n).ok().filter(|n| usize::from(*n) <= INLINE)?;
        let w: &[u8; INLINE] = self.fast_rest().first_chunk()?;
        let v = V::SmallStr(n, *w);
        self.pos += usize::from(n);
        Some(v)
    }

    /// Consume `n` bytes of [`Src::fast_rest`].
    #[inline]
    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.fast_end.max(self.pos));
    }

    #[inline]
    fn byte(&mut self) -> R<Option<u8>> {
        if let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) {
            self.pos += 1;
            return Ok(Some(b));
        }
        let b = self.peek().map_err(Fail::Io)?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }

    #[inline]
    fn take(&mut self, n: usize) -> R<&[u8]> {
        if self.pos.saturating_add(n) <= self.fast_end {
            return self.fast(n).ok_or(Fail::Truncated);
        }
        self.take_slow(n, false)
    }

    /// Bytes data, read as `_Unpickler_ReadInto` reads it (see [`Src::cross`]).
    #[inline]
    fn take_into(&mut self, n: usize) -> R<&[u8]> {
        if self.pos.saturating_add(n) <= self.fast_end {
            return self.fast(n).ok_or(Fail::Truncated);
        }
        self.take_slow(n, true)
    }

    #[cold]
    fn take_slow(&mut self, n: usize, into: bool) -> R<&[u8]> {
        self.cross(n as u64, into)?;
        if !self.fill(n).map_err(Fail::Io)? {
            return Err(Fail::Truncated);
        }
        self.refresh();
        let s = self.pos;
        self.pos += n;
        self.buf.get(s..s + n).ok_or(Fail::Truncated)
    }

    #[inline]
    fn fixed<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Discard `n` bytes of an argument (`into`: see [`Src::cross`]).
    #[inline]
    fn skip(&mut self, n: u64, into: bool) -> R<()> {
        if let Some(n) = usize::try_from(n)
            .ok()
            .filter(|n| self.pos.saturating_add(*n) <= self.fast_end)
        {
            self.pos += n;
            return Ok(());
        }
        self.cross(n, into)?;
        if !self.skip_raw(n).map_err(Fail::Io)? {
            return Err(Fail::Truncated);
        }
        self.refresh();
        Ok(())
    }

    /// Read `buf.len()` bytes outside any pickle (a loader's own data between pickles); false
    /// when the input ends first.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        if !self.fill(buf.len())? {
            return Ok(false);
        }
        buf.copy_from_slice(&self.buf[self.pos..self.pos + buf.len()]);
        self.pos += buf.len();
        Ok(true)
    }

    /// Discard `n` bytes.
    pub fn skip_raw(&mut self, mut n: u64) -> io::Result<bool> {
        while n > 0 {
            if !self.fill(1)? {
                return Ok(false);
            }
            let avail = (self.end - self.pos) as u64;
            let k = avail.min(n);
            self.pos += k as usize;
            n -= k;
        }
        Ok(true)
    }

    /// Consume bytes up to and including the next newline, but not past absolute offset
    /// `stop`. Keeps the first `max` bytes. `Ok(None)` when `stop` (or the end) came first.
    fn scan_line(&mut self, stop: Option<u64>, max: usize) -> R<Option<Vec<u8>>> {
        let mut kept = Vec::new();
        let mut long = false;
        loop {
            if !self.fill(1).map_err(Fail::Io)? {
                self.partial = kept;
                return Ok(None);
            }
            let room = match stop {
                Some(s) => s.saturating_sub(self.offset()),
                None => u64::MAX,
            };
            if room == 0 {
                return Ok(None);
            }
            let avail = (self.end - self.pos).min(usize::try_from(room).unwrap_or(usize::MAX));
            let chunk = &self.buf[self.pos..self.pos + avail];
            let (upto, found) = match memchr_nl(chunk) {
                Some(i) => (i, true),
                None => (avail, false),
            };
            let want = max.saturating_sub(kept.len()).min(upto);
            kept.extend_from_slice(&chunk[..want]);
            long |= want < upto;
            let last = upto.checked_sub(1).and_then(|i| chunk.get(i)).copied();
            self.pos += upto + usize::from(found);
            if found {
                // A line longer than kept: its last byte stands in for the dropped middle's
                // end, so that a closing quote is still seen.
                if let (true, Some(b), Some(k)) = (long, last, kept.last_mut()) {
                    *k = b;
                }
                return Ok(Some(kept));
            }
        }
    }

    /// A line without its trailing newline, at most `max` bytes kept (a longer line is read to
    /// its end). End of input before a newline: truncated.
    fn line(&mut self, max: usize) -> R<Vec<u8>> {
        let left = self.in_frame();
        if left > 0 {
            let stop = self.frame_end;
            let at = self.offset();
            match self.reader {
                Reader::Loads => {
                    let l = self.scan_line(None, max)?.ok_or(Fail::Truncated)?;
                    if self.offset() > stop {
                        self.note(at, Divergence::Crossed);
                    }
                    return Ok(l);
                }
                Reader::PurePython => {
                    return match self.scan_line(Some(stop), max)? {
                        Some(l) => Ok(l),
                        // An empty rest of the frame and an empty file: readline() is b"".
                        None if self.offset() == at && self.at_eof().map_err(Fail::Io)? => {
                            Ok(Vec::new())
                        }
                        None => Err(Fail::Reject(Reject::FrameExhausted)),
                    };
                }
                Reader::File => {
                    if let Some(l) = self.scan_line(Some(stop), max)? {
                        return Ok(l);
                    }
                    // The partial line in the buffer is dropped; readline() reads from the file.
                    self.note(at, Divergence::Crossed);
                    self.dropped = self.dropped.saturating_add(left);
                    self.frame_end = 0;
                    self.refresh();
                }
            }
        }
        let at = self.offset();
        match self.scan_line(None, max)? {
            Some(l) => Ok(l),
            // At the very end, readline() returns b"" and `[:-1]` keeps it empty: a GLOBAL
            // whose name line is missing still imports its module.
            None if self.offset() == at => {
                self.note(at, Divergence::UnterminatedLine);
                if self.reader == Reader::PurePython {
                    Ok(Vec::new())
                } else {
                    Err(Fail::Truncated)
                }
            }
            None => {
                self.note(at, Divergence::UnterminatedLine);
                if self.reader != Reader::PurePython {
                    return Err(Fail::Truncated);
                }
                // readline() returns the partial line; `[:-1]` drops its last byte.
                let mut l = std::mem::take(&mut self.partial);
                l.pop();
                Ok(l)
            }
        }
    }

    /// FRAME of `n` bytes, its length just read.
    fn frame(&mut self, n: u64) -> R<()> {
        let left = self.in_frame();
        let at = self.offset();
        if left > 0 {
            self.note(at, Divergence::FrameInFrame);
            match self.reader {
                Reader::PurePython => return Err(Fail::Reject(Reject::FrameInFrame)),
                // The frame fits in what is buffered: the C unpickler only rewinds.
                _ if n <= left => return Ok(()),
                Reader::Loads => {}
                Reader::File => {
                    if !self.skip_raw(left).map_err(Fail::Io)? {
                        return Err(Fail::Truncated);
                    }
                    self.dropped = self.dropped.saturating_add(left);
                }
            }
        }
        let at = self.offset();
        if self.reader != Reader::PurePython {
            // The C unpickler reads the whole frame before running any of it.
            if let Some(len) = self.len {
                if at.saturating_add(n) > len {
                    self.note(at, Divergence::Truncated);
                    return Err(Fail::Truncated);
                }
            }
        }
        // The pure-Python frame is what read(n) returned: at most the rest of the stream.
        self.frame_end = match self.len {
            Some(len) => at.saturating_add(n).min(len),
            None => at.saturating_add(n),
        };
        self.refresh();
        Ok(())
    }

    /// After STOP: where a file reader leaves the file.
    fn stopped(&mut self) -> io::Result<()> {
        let left = self.in_frame();
        if left > 0 {
            let at = self.offset();
            self.note(at, Divergence::StopInFrame);
            if self.reader != Reader::Loads {
                // The whole frame was read from the file; the next load starts after it.
                self.skip_raw(left)?;
            }
        }
        self.frame_end = 0;
        self.refresh();
        Ok(())
    }

    /// In a bulk run from buffer position `from`, at `from + at`, the end of what needs no
    /// check: when a FRAME starts there that its arm would run without a trace (the last
    /// frame ended there, the FRAME and its length are buffered, the length is a valid one
    /// within the input), run it and let the run go on in the new frame (the run's bytes up
    /// to here stay where they are: nothing is read). The position stays at `from`.
    fn frame_after(&mut self, from: usize, at: usize) -> bool {
        let Some(p) = from.checked_add(at).filter(|p| *p == self.fast_end) else {
            return false;
        };
        let Some((&op::FRAME, h)) = self.buf.get(p..self.end).and_then(<[u8]>::split_first) else {
            return false;
        };
        let Some(n) = h.first_chunk::<8>().map(|n| u64::from_le_bytes(*n)) else {
            return false;
        };
        let here = self.base + p as u64;
        let after = here + 9;
        let past_input = self.reader != Reader::PurePython
            && self.len.is_some_and(|len| after.saturating_add(n) > len);
        if n > i64::MAX as u64 || self.frame_end > here || past_input {
            return false;
        }
        self.pos = p + 9;
        let ran = self.frame(n).is_ok();
        self.pos = from;
        ran
    }

    /// Before joblib reads array data from the file object itself.
    fn raw_data(&mut self) {
        if self.in_frame() > 0 {
            let at = self.offset();
            self.note(at, Divergence::ArrayInFrame);
        }
    }
}

/// A memo entry: an inline str is kept in place (a list's strs are memoized one by one, and
/// dropping them then costs nothing); any other value is kept in the machine's memo heap.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Empty,
    Str(u8, [u8; INLINE]),
    Heap(usize),
}

/// The last value a bulk run pushed and has not put on the stack (see [`Machine::data_run`]).
#[derive(Clone, Copy)]
enum Pend {
    Float,
    Int(i64),
    Str(u8, [u8; INLINE]),
}

impl Pend {
    #[inline]
    fn value(self) -> V {
        match self {
            Pend::Float => V::Float,
            Pend::Int(i) => V::Int(i),
            Pend::Str(n, w) => V::SmallStr(n, w),
        }
    }
}

/// How a bulk run's pass over the bytes that need no check ended.
enum Step {
    /// Before an opcode it leaves to its arm (or an error).
    Stop(R<()>),
    /// At the end of those bytes.
    End,
}

/// The str of the BINUNICODE or SHORT_BINUNICODE (`op`, its arguments `args`) at `at` in
/// `rest`, when it is kept inline and its fixed-size block is there too (the bytes after the
/// str in that block are never read): its length, where it starts, the block.
#[inline]
fn inline_str<'b>(
    rest: &'b [u8],
    at: usize,
    op: u8,
    args: &[u8],
) -> Option<(usize, usize, &'b [u8; INLINE])> {
    let (n, head) = if op == op::BINUNICODE {
        (u32::from_le_bytes(*args.first_chunk::<4>()?) as usize, 5)
    } else {
        (usize::from(*args.first()?), 2)
    };
    if n > INLINE {
        return None;
    }
    let body = at.checked_add(head)?;
    let w = rest
        .get(body..)
        .filter(|r| r.len() >= n)?
        .first_chunk::<INLINE>()?;
    Some((n, body, w))
}

fn memchr_nl(s: &[u8]) -> Option<usize> {
    s.iter().position(|b| *b == b'\n')
}

fn is_opcode(b: u8) -> bool {
    matches!(
        b,
        b'(' | b'.'
            | b'0'
            | b'1'
            | b'2'
            | b'F'
            | b'I'
            | b'J'
            | b'K'
            | b'L'
            | b'M'
            | b'N'
            | b'P'
            | b'Q'
            | b'R'
            | b'S'
            | b'T'
            | b'U'
            | b'V'
            | b'X'
            | b'a'
            | b'b'
            | b'c'
            | b'd'
            | b'}'
            | b'e'
            | b'g'
            | b'h'
            | b'i'
            | b'j'
            | b'l'
            | b']'
            | b'o'
            | b'p'
            | b'q'
            | b'r'
            | b's'
            | b't'
            | b')'
            | b'u'
            | b'G'
            | b'B'
            | b'C'
            | 0x80..=0x98
    )
}

/// A dotted Python identifier (Unicode letters allowed, as in Python 3), or a name computed at
/// load time.
pub fn plausible(s: &str) -> bool {
    s == COMPUTED
        || !s.is_empty()
            && s.split('.').all(|part| {
                let mut c = part.chars();
                c.next().is_some_and(|f| f == '_' || f.is_alphabetic())
                    && c.all(|x| x == '_' || x.is_alphanumeric())
            })
}

/// Whether a byte can start a pickle at all.
pub fn starts_pickle(b: u8) -> bool {
    is_opcode(b)
}

struct Machine<'a> {
    stack: Vec<V>,
    marks: Vec<usize>,
    /// The memo's dense part (see [`Slot`]), and its values other than inline strs.
    memo: Vec<Slot>,
    memo_heap: Vec<V>,
    memo_sparse: HashMap<u64, V>,
    memo_count: usize,
    retained: usize,
    proto: u8,
    lim: &'a PickleLimits,
    depth: u32,
    /// Times each imported global was put on the stack (see [`Import::pushes`]).
    pushes: HashMap<usize, u64>,
    /// Every dict and object this machine made, to empty at teardown.
    dicts: Vec<std::rc::Weak<RefCell<DictV>>>,
    insts: Vec<std::rc::Weak<Inst>>,
}

/// Simulate one pickle from the current position of `src`, up to and including STOP.
/// Simulate one pickle from the current position of `src`, up to and including STOP.
pub fn run(src: &mut Src<'_>, lim: &PickleLimits, ev: &mut Events) -> End {
    let end = run_at_depth(src, lim, ev, 0);
    ev.frames.append(&mut src.frames);
    ev.dropped = ev.dropped.saturating_add(std::mem::take(&mut src.dropped));
    end
}

fn run_at_depth(src: &mut Src<'_>, lim: &PickleLimits, ev: &mut Events, depth: u32) -> End {
    let mut m = Machine {
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        memo_heap: Vec::new(),
        memo_sparse: HashMap::new(),
        memo_count: 0,
        retained: 0,
        proto: 0,
        lim,
        depth,
        pushes: HashMap::new(),
        dicts: Vec::new(),
        insts: Vec::new(),
    };
    let mut op_offset = src.offset();
    let start = op_offset;
    let r = m.exec(src, ev, &mut op_offset);
    for (i, n) in m.pushes.drain() {
        if let Some(imp) = ev.imports.get_mut(i) {
            imp.pushes = imp.pushes.saturating_add(n);
        }
    }
    // Drop the values iteratively: a deeply nested value must not overflow the stack on drop.
    m.teardown();
    match r {
        Ok(()) => End::Stop,
        Err(Fail::Truncated) if op_offset == start && src.offset() == start => End::Empty,
        Err(Fail::Truncated) => End::Error {
            offset: op_offset,
            reject: Reject::Truncated,
        },
        Err(Fail::Reject(reject)) => End::Error {
            offset: op_offset,
            reject,
        },
        Err(Fail::Io(e))
            if matches!(
                e.kind(),
                io::ErrorKind::FileTooLarge | io::ErrorKind::TimedOut
            ) =>
        {
            End::Limit {
                offset: op_offset,
                message: e.to_string(),
            }
        }
        Err(Fail::Io(e)) => End::Error {
            offset: op_offset,
            reject: Reject::Read(e.to_string()),
        },
        Err(Fail::Limit(message)) => End::Limit {
            offset: op_offset,
            message,
        },
    }
}

/// Drop values without recursion: a value nested a million levels deep must not overflow the
/// stack when dropped. `cycles`: also empty shared dicts and object states (only once nothing
/// will read them again), which breaks reference cycles.
fn release(mut work: Vec<V>, cycles: bool) {
    // With `cycles`, shared tuples and argument lists are walked too (each once: a DAG of
    // shared tuples has exponentially many paths), so that every dict and object state below
    // them is emptied, whatever else still holds them.
    let mut seen: std::collections::HashSet<usize> = std::collections::HashSet::new();
    while let Some(v) = work.pop() {
        match v {
            V::Tuple(mut t) => {
                if let Some(items) = Rc::get_mut(&mut t) {
                    work.extend(items.iter_mut().map(|x| std::mem::replace(x, V::None)));
                } else if cycles && seen.insert(t.as_ptr() as usize) {
                    work.extend(t.iter().cloned());
                }
            }
            V::Dict(d) if cycles || Rc::strong_count(&d) == 1 => {
                if let Ok(mut d) = d.try_borrow_mut() {
                    for (k, x) in d.items.drain(..) {
                        work.push(k);
                        work.push(x);
                    }
                }
            }
            V::Inst(mut inst, _) => {
                if cycles || Rc::strong_count(&inst) == 1 {
                    if let Ok(mut st) = inst.state.try_borrow_mut() {
                        if let Some(x) = st.take() {
                            work.push(x);
                        }
                    }
                }
                if let Some(inst) = Rc::get_mut(&mut inst) {
                    let mut args = std::mem::replace(&mut inst.args, Rc::from(Vec::new()));
                    if let Some(items) = Rc::get_mut(&mut args) {
                        work.extend(items.iter_mut().map(|x| std::mem::replace(x, V::None)));
                    } else if cycles && seen.insert(args.as_ptr() as usize) {
                        work.extend(args.iter().cloned());
                    }
                } else if cycles && seen.insert(Rc::as_ptr(&inst) as usize) {
                    work.extend(inst.args.iter().cloned());
                }
            }
            _ => {}
        }
    }
}

/// Drop values that hold others without recursion (see [`release`]); scalars are dropped as
/// they come, without collecting them first.
fn release_all(items: impl IntoIterator<Item = V>) {
    let mut work = Vec::new();
    for v in items {
        if v.nests() {
            work.push(v);
        }
    }
    if !work.is_empty() {
        release(work, false);
    }
}

/// [`release_all`] of one value.
#[inline]
fn release_one(v: V) {
    if v.nests() {
        release(vec![v], false);
    }
}

/// A GLOBAL or INST line as both unpicklers decode it: strict UTF-8 (`_pickle.c`'s
/// `PyUnicode_DecodeUTF8(..., "strict")`, `pickle.py`'s `.decode("utf-8")`), whatever the
/// `encoding` argument; anything else raises before `find_class` imports anything.
fn global_line(b: &[u8]) -> R<String> {
    std::str::from_utf8(b)
        .map(str::to_string)
        .map_err(|_| Fail::Reject(Reject::NotUtf8))
}

/// An integer line as INT/LONG write it. Never fails: the C unpickler accepts more forms
/// (base prefixes, underscores) than worth mirroring, and stopping where it would go on
/// would hide what follows. Unparsed values are opaque.
fn parse_int_line(l: &[u8]) -> V {
    c_long(l, true).map_or(V::BigInt, V::Int)
}

/// An integer as `_pickle.c` reads a PUT/GET line: the line is a C string, so it ends at the
/// first NUL, then `PyLong_FromString(s, NULL, 10)`: surrounding whitespace, a sign, and
/// underscores between digits. `any_base` also takes `0x`/`0o`/`0b` prefixes and a trailing
/// `L` (INT and LONG lines, read more leniently still: see [`parse_int_line`]).
fn c_long(l: &[u8], any_base: bool) -> Option<i64> {
    let l = l.split(|b| *b == 0).next().unwrap_or_default();
    let s = std::str::from_utf8(l).ok()?;
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let s = if any_base {
        s.strip_suffix('L').unwrap_or(s)
    } else {
        s
    };
    let (neg, body) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") if any_base => (16, body.get(2..)?),
        Some("0o") if any_base => (8, body.get(2..)?),
        Some("0b") if any_base => (2, body.get(2..)?),
        _ => (10, body),
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| radix != 10)
        .unwrap_or(digits);
    let v = python_digits(digits, radix)?;
    if neg {
        v.checked_neg()
    } else {
        Some(v)
    }
}

/// The digits of a Python integer literal as `int(text, radix)` takes them, its prefix and
/// sign already removed: underscores only singly and between digits.
pub fn python_digits(digits: &str, radix: u32) -> Option<i64> {
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    i64::from_str_radix(&clean, radix).ok()
}

/// Python's `codecs.escape_decode` as the STRING opcode uses it (latin-1 result).
// Indices only advance within `s` (checked by `get`); octal digits are < 8.
#[allow(clippy::arithmetic_side_effects)]
fn escape_decode(s: &[u8]) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            return Err(Fail::Reject(Reject::BadEscape));
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let h = s.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                let v = h.and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => return Err(Fail::Reject(Reject::BadEscape)),
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Python's `raw-unicode-escape` decoding, as the UNICODE opcode uses it.
#[allow(clippy::arithmetic_side_effects)] // indices advance within `s`, checked by `get`
fn raw_unicode_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let n = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            // Python decides by the parity of the backslash run; a bad escape here is kept as
            // text rather than treated as an error, so the analysis never stops before Python's.
            if n > 0 {
                let h = s
                    .get(i + 2..i + 2 + n)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if let Some(ch) = h.and_then(char::from_u32) {
                    out.push(ch);
                    i += 2 + n;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

/// The itemsize of a numpy dtype string such as `f8`, `<U5`, `V64`; `None` for object dtypes.
pub(crate) fn dtype_itemsize(descr: &str) -> Result<Option<u64>, ()> {
    let d = descr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = d.chars();
    let kind = chars.next().ok_or(())?;
    let rest: String = chars.take_while(|c| c.is_ascii_digit()).collect();
    if kind == 'O' {
        return Ok(None);
    }
    let n: u64 = if rest.is_empty() {
        match kind {
            '?' | 'b' | 'B' => 1,
            'h' | 'H' | 'e' => 2,
            'i' | 'I' | 'f' | 'l' | 'L' => 4,
            'q' | 'Q' | 'd' | 'g' | 'M' | 'm' => 8,
            'D' => 16,
            _ => return Err(()),
        }
    } else {
        rest.parse().map_err(|_| ())?
    };
    match kind {
        'U' => n.checked_mul(4).map(Some).ok_or(()),
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'a' | 'V' | 'M' | 'm' | '?' | 'B' | 'h' | 'H' | 'e'
        | 'I' | 'l' | 'L' | 'q' | 'Q' | 'd' | 'g' | 'D' => Ok(Some(n)),
        _ => Err(()),
    }
}

impl Machine<'_> {
    /// Drop every value without recursion, breaking reference cycles (a dict that holds
    /// itself, an object whose state is itself) on the way.
    fn teardown(&mut self) {
        let mut work: Vec<V> = std::mem::take(&mut self.stack);
        work.retain(V::nests);
        work.extend(
            std::mem::take(&mut self.memo_heap)
                .into_iter()
                .filter(V::nests),
        );
        work.extend(
            std::mem::take(&mut self.memo_sparse)
                .into_values()
                .filter(V::nests),
        );
        release(work, true);
        // Values an opcode had popped when the stream failed are held by nothing the walk
        // above reaches: every dict and object state this machine made is emptied, so no
        // reference cycle outlives it (LeakSanitizer found such cycles through the fuzzers).
        for w in std::mem::take(&mut self.dicts) {
            if let Some(d) = w.upgrade() {
                let items = d
                    .try_borrow_mut()
                    .map(|mut d| std::mem::take(&mut d.items))
                    .unwrap_or_default();
                release(items.into_iter().flat_map(|(k, v)| [k, v]).collect(), true);
            }
        }
        for w in std::mem::take(&mut self.insts) {
            if let Some(i) = w.upgrade() {
                let state = i.state.try_borrow_mut().ok().and_then(|mut s| s.take());
                release(state.into_iter().collect(), true);
            }
        }
    }

    fn track_dict(&mut self, d: DictV) -> Rc<RefCell<DictV>> {
        let rc = Rc::new(RefCell::new(d));
        // Dropped ones are pruned as the list doubles: it holds about what is alive.
        if self.dicts.len() >= 1024 && self.dicts.len().is_power_of_two() {
            self.dicts.retain(|w| w.strong_count() > 0);
        }
        self.dicts.push(Rc::downgrade(&rc));
        rc
    }

    fn track_inst(&mut self, i: Inst) -> Rc<Inst> {
        let rc = Rc::new(i);
        if self.insts.len() >= 1024 && self.insts.len().is_power_of_two() {
            self.insts.retain(|w| w.strong_count() > 0);
        }
        self.insts.push(Rc::downgrade(&rc));
        rc
    }

    /// A call's arguments: `_pickle.c` requires a tuple; the pure-Python unpickler calls
    /// `f(*args)`, which takes any iterable (a list, a dict, a str...), so there the paths
    /// part.
    fn args_of(&self, src: &mut Src<'_>, args: V) -> Option<Rc<[V]>> {
        let iterable = matches!(
            args,
            V::List | V::Dict(_) | V::Set | V::Str(_) | V::SmallStr(..) | V::Bytes(_) | V::BigBytes
        );
        if iterable {
            let at = src.offset();
            src.note(at, Divergence::ArgsNotTuple);
            if src.reader == Reader::PurePython {
                return Some(Rc::from(Vec::new()));
            }
        }
        call_args(args)
    }

    /// A PUT/GET line's index. `_pickle.c` raises when it does not fit a `Py_ssize_t`; the
    /// pure-Python unpickler's memo is a dict, so any integer is a key there (all such keys
    /// are taken as one here, an over-approximation).
    fn memo_index(&self, src: &mut Src<'_>, l: &[u8], op: &'static str) -> R<u64> {
        let idx = match c_long(l, false) {
            Some(i) => i,
            None => {
                let digits = l.split(|b| *b == 0).next().unwrap_or_default();
                let t = std::str::from_utf8(digits).unwrap_or("").trim();
                let t = t.strip_prefix('+').unwrap_or(t);
                let big = t.len() > 18
                    && t.bytes().all(|b| b.is_ascii_digit() || b == b'_')
                    && !t.starts_with('_')
                    && !t.ends_with('_')
                    && !t.contains("__");
                if !big {
                    return Err(Fail::Reject(Reject::BadIndex(op)));
                }
                let at = src.offset();
                src.note(at, Divergence::BigIndex);
                if src.reader != Reader::PurePython {
                    return Err(Fail::Reject(Reject::BadIndex(op)));
                }
                i64::MAX
            }
        };
        u64::try_from(idx).map_err(|_| Fail::Reject(Reject::NegativeIndex(op)))
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline]
    fn push(&mut self, v: V) -> R<()> {
        if self.stack.len() >= self.lim.max_stack {
            return Err(Fail::Limit(format!(
                "pickle stack deeper than {} entries",
                self.lim.max_stack
            )));
        }
        if let V::Global(i) = v {
            let n = self.pushes.entry(i).or_insert(0);
            *n = n.saturating_add(1);
        }
        self.stack.push(v);
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> R<V> {
        if self.stack.len() <= self.fence() {
            return Err(Fail::Reject(Reject::StackUnderflow));
        }
        self.stack.pop().ok_or(Fail::Reject(Reject::StackUnderflow))
    }

    #[inline]
    fn top(&self) -> R<&V> {
        if self.stack.len() <= self.fence() {
            return Err(Fail::Reject(Reject::StackUnderflow));
        }
        self.stack
            .last()
            .ok_or(Fail::Reject(Reject::StackUnderflow))
    }

    fn pop_mark(&mut self) -> R<Vec<V>> {
        let m = self.marks.pop().ok_or(Fail::Reject(Reject::MarkNotFound))?;
        if m > self.stack.len() {
            return Err(Fail::Reject(Reject::MarkNotFound));
        }
        Ok(self.stack.split_off(m))
    }

    /// Drop what is above the last MARK, and the MARK.
    fn discard_mark(&mut self) -> R<()> {
        let m = self.marks.pop().ok_or(Fail::Reject(Reject::MarkNotFound))?;
        if m > self.stack.len() {
            return Err(Fail::Reject(Reject::MarkNotFound));
        }
        self.drop_from(m);
        Ok(())
    }

    fn tuple(&self, items: Vec<V>) -> V {
        let mut items = items;
        if items.len() > self.lim.max_items {
            release_all(items.drain(self.lim.max_items..));
        }
        V::Tuple(items.into())
    }

    fn mk_str(&mut self, s: String) -> V {
        self.retained = self.retained.saturating_add(s.len());
        self.kept_str(&s)
    }

    /// A decoded str, `retained` already counted: past the limit, a long one keeps a prefix.
    fn kept_str(&self, s: &str) -> V {
        if self.retained > self.lim.max_retained && s.len() > 256 {
            let mut cut = 256;
            while !s.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            return V::str_of(format!("{}…", &s[..cut]).as_bytes());
        }
        V::str_of(s.as_bytes())
    }

    fn read_bytes(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        let keep = n <= self.lim.max_bytes_object as u64
            && self.retained.saturating_add(n as usize) <= self.lim.max_retained;
        if keep {
            let b: Rc<[u8]> = Rc::from(src.take_into(n as usize)?);
            self.retained = self.retained.saturating_add(b.len());
            Ok(V::Bytes(b))
        } else {
            src.skip(n, true)?;
            Ok(V::BigBytes)
        }
    }

    fn read_text(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        if n > self.lim.max_bytes_object as u64 {
            src.skip(n, false)?;
            return Ok(V::Opaque);
        }
        // Kept undecoded (counted as read): the text is decoded only where it is used.
        if let Some(v) = src.small_str(n) {
            self.retained = self.retained.saturating_add(n as usize);
            return Ok(v);
        }
        let b = src.take(n as usize)?;
        self.retained = self.retained.saturating_add(b.len());
        if self.retained > self.lim.max_retained && b.len() > 256 {
            return Ok(self.kept_str(&String::from_utf8_lossy(b)));
        }
        Ok(V::str_of(b))
    }

    #[inline]
    fn memo_put(&mut self, idx: u64, v: V) -> R<()> {
        // The common case: the next index, in dense storage, below the limit.
        if idx == self.memo.len() as u64
            && idx
                < (self.memo_count as u64)
                    .saturating_mul(2)
                    .saturating_add(1024)
            && self.memo_count < self.lim.max_memo
        {
            let slot = self.slot(v);
            self.memo.push(slot);
            self.memo_count = self.memo_count.saturating_add(1);
            return Ok(());
        }
        self.memo_put_slow(idx, v)
    }

    /// A fresh memo slot for `v`.
    #[inline]
    fn slot(&mut self, v: V) -> Slot {
        match v {
            V::SmallStr(n, w) => Slot::Str(n, w),
            v => {
                self.memo_heap.push(v);
                Slot::Heap(self.memo_heap.len().saturating_sub(1))
            }
        }
    }

    #[inline(never)]
    fn memo_put_slow(&mut self, idx: u64, v: V) -> R<()> {
        // Dense storage only while indices stay near the number of entries: sparse indices
        // (BINPUT 2n+1023 again and again) must not grow the vector exponentially.
        let dense_ok = idx
            < (self.memo_count as u64)
                .saturating_mul(2)
                .saturating_add(1024);
        let fresh = if dense_ok {
            let i = idx as usize;
            if i == self.memo.len() {
                self.memo.push(Slot::Empty);
            } else if i > self.memo.len() {
                self.memo.resize(i.saturating_add(1), Slot::Empty);
            }
            let old = *self.memo.get(i).ok_or(Fail::Truncated)?;
            // A slot that once held a value of the heap keeps its place there: overwriting
            // it again and again does not grow the heap.
            let new = match (old, v) {
                (Slot::Heap(h), v) => {
                    let held = self.memo_heap.get_mut(h).ok_or(Fail::Truncated)?;
                    release_one(std::mem::replace(held, v));
                    Slot::Heap(h)
                }
                (_, v) => self.slot(v),
            };
            *self.memo.get_mut(i).ok_or(Fail::Truncated)? = new;
            matches!(old, Slot::Empty)
        } else {
            let old = self.memo_sparse.insert(idx, v);
            let fresh = old.is_none();
            if let Some(old) = old {
                release_one(old);
            }
            fresh
        };
        if fresh {
            self.memo_count = self.memo_count.saturating_add(1);
            if self.memo_count > self.lim.max_memo {
                return Err(Fail::Limit(format!(
                    "pickle memo larger than {} entries",
                    self.lim.max_memo
                )));
            }
        }
        Ok(())
    }

    fn memo_get(&self, idx: u64) -> R<V> {
        let v = usize::try_from(idx)
            .ok()
            .and_then(|i| self.memo.get(i))
            .and_then(|s| match *s {
                Slot::Empty => None,
                Slot::Str(n, w) => Some(V::SmallStr(n, w)),
                Slot::Heap(h) => self.memo_heap.get(h).cloned(),
            })
            .or_else(|| self.memo_sparse.get(&idx).cloned());
        v.ok_or(Fail::Reject(Reject::MemoMissing(idx)))
    }

    fn import(
        &mut self,
        ev: &mut Events,
        module: String,
        name: String,
        op: &'static str,
        off: u64,
    ) -> R<()> {
        self.check_importable(&module)?;
        let bad = self.check_attribute(&name);
        let i = ev.import(module, name, op, off);
        bad?;
        self.push(V::Global(i))
    }

    /// `find_class` imports the module first (its import runs its code), then looks the name
    /// up: a module that cannot exist stops before any import, a name that cannot exist after.
    fn check_importable(&self, module: &str) -> R<()> {
        if self.lim.stop_at_implausible && !plausible(module) {
            return Err(Fail::Reject(Reject::NoModule(
                module.chars().take(200).collect(),
            )));
        }
        Ok(())
    }

    fn check_attribute(&self, name: &str) -> R<()> {
        if self.lim.stop_at_implausible && !plausible(name) {
            return Err(Fail::Reject(Reject::NoAttribute(
                name.chars().take(200).collect(),
            )));
        }
        Ok(())
    }

    /// A call of `callee(*args)`: note who is invoked, look for pickles in the arguments.
    fn call(&mut self, ev: &mut Events, callee: &V, args: Rc<[V]>, off: u64) -> V {
        for a in args.iter() {
            let inner: &[V] = match a {
                V::Tuple(t) => t,
                other => std::slice::from_ref(other),
            };
            for v in inner {
                if let V::Bytes(b) = v {
                    let looks = matches!(&b[..], [0x80, 2..=5, ..]);
                    let to_loader = matches!(callee, V::Global(_)) && b.len() >= 2;
                    let candidate =
                        looks || (to_loader && b.first().is_some_and(|x| starts_pickle(*x)));
                    if candidate && !ev.nested.iter().any(|(_, n, _)| Rc::ptr_eq(n, b)) {
                        let callee = match callee {
                            V::Global(i) => Some(*i),
                            _ => None,
                        };
                        ev.nested.push((off, b.clone(), callee));
                    }
                }
            }
        }
        match callee {
            V::Global(i) => {
                let i = *i;
                ev.invoked(i);
                if ev.is(i, "_codecs", "encode") {
                    if let Some(s) = args.first().and_then(V::as_str) {
                        // Protocol-2 pickles write bytes as _codecs.encode(text, 'latin1').
                        let b: Vec<u8> = s.chars().map(|c| (c as u32 & 0xff) as u8).collect();
                        // Its consumer (the call that receives these bytes) decides whether
                        // they are unpickled.
                        return V::Bytes(b.into());
                    }
                }
                let is_getattr =
                    ev.is(i, "builtins", "getattr") || ev.is(i, "__builtin__", "getattr");
                if let (true, [V::Global(c), attr]) = (is_getattr, &args[..]) {
                    let Some(attr) = attr.as_str() else {
                        return self.instance(ev, i, args);
                    };
                    // getattr(Class, 'name'): what it reaches is `module.Class.name`, an
                    // import of its own (as protocol 4 writes it).
                    if let Some((m, n)) = ev
                        .imports
                        .get(*c)
                        .map(|x| (x.module.clone(), x.name.clone()))
                    {
                        if let Some(imp) = ev.imports.get_mut(i) {
                            imp.attribute_calls = imp.attribute_calls.saturating_add(1);
                        }
                        let j = ev.import(m, format!("{n}.{attr}"), "getattr", off);
                        return V::Global(j);
                    }
                }
                let reconstruct = ev
                    .imports
                    .get(i)
                    .is_some_and(|imp| is_ufunc_reconstruct(&imp.module, &imp.name));
                if let (true, [m, n]) = (reconstruct, &args[..]) {
                    let (Some(m), Some(n)) = (m.as_str(), n.as_str()) else {
                        return self.instance(ev, i, args);
                    };
                    // _ufunc_reconstruct('numpy', 'add'): what it reaches is `numpy.add`, an
                    // import of its own (as numpy >= 1.20 writes it).
                    if let Some(imp) = ev.imports.get_mut(i) {
                        imp.attribute_calls = imp.attribute_calls.saturating_add(1);
                    }
                    let j = ev.import(m.to_string(), n.to_string(), "_ufunc_reconstruct", off);
                    return V::Global(j);
                }
                let is_str_ctor = ev.is(i, "builtins", "str") || ev.is(i, "__builtin__", "str");
                if let (true, Some(s)) = (is_str_ctor, args.first()) {
                    if s.is_str() {
                        return s.clone();
                    }
                }
                self.instance(ev, i, args)
            }
            V::Inst(..) | V::Opaque => {
                ev.computed_calls = ev.computed_calls.saturating_add(1);
                V::Inst(
                    self.track_inst(Inst {
                        class: None,
                        args,
                        state: RefCell::new(None),
                    }),
                    true,
                )
            }
            _ => V::Opaque,
        }
    }

    /// The data opcodes that follow a data opcode, run in bulk while their arguments need no
    /// check (buffered, inside the frame): BINFLOAT, BININT, BININT1, BININT2, BINUNICODE and
    /// SHORT_BINUNICODE of a str kept inline, BINPUT, LONG_BINPUT and MEMOIZE (the bodies of
    /// lists, arrays and dicts of numbers and strs), the MARK and APPENDS that cut a list's
    /// items into batches, and a FRAME that starts right where the last one ended. Each does
    /// exactly what its own arm does; the run stops before any other opcode, before one that
    /// would reach the opcode, stack or mark limit, and before one that would raise or leave a
    /// trace (a FRAME crossed or nested, a length past the input), so that those are run (and
    /// reported) by their own arms. A memo that outgrows its limit stops the run here, at that
    /// opcode.
    ///
    /// The values the run pushes are not put on the stack as they are read: the run counts
    /// them (`virt`, read from the buffer from `vstart` on, the last one `top`, which is all a
    /// memo op reads of them). An APPENDS drops them unseen, as its arm would drop them;
    /// whatever is still pending when the run stops is read again from the same bytes onto
    /// the stack (see [`Machine::materialize`]), so that the opcode arms find the stack they
    /// would have.
    fn data_run(&mut self, src: &mut Src<'_>, ev: &mut Events, op_off: &mut u64) -> R<()> {
        #[cfg(test)]
        if tests::NO_BULK.with(std::cell::Cell::get) {
            return Ok(());
        }
        let start = src.offset();
        // The run's bytes are `src.buf[from..src.fast_end]` (a FRAME it runs moves the end);
        // `at` and `vstart` are offsets from `from`.
        let from = src.pos;
        let max_ops = self.lim.max_opcodes.saturating_sub(ev.opcodes);
        let small_ok = self.lim.max_bytes_object >= INLINE;
        let mut at = 0usize;
        let mut ops = 0u64;
        // Values pushed but not on the stack yet: how many, where the first one's opcode
        // starts, and the last one.
        let mut virt = 0usize;
        let mut vstart = 0usize;
        let mut top = Pend::Float;
        let result = loop {
            let rest = src.buf.get(from..src.fast_end).unwrap_or_default();
            let step = loop {
                // The stack as the opcode arms would have it.
                let len = self.stack.len().saturating_add(virt);
                if ops >= max_ops || len >= self.lim.max_stack {
                    break Step::Stop(Ok(()));
                }
                let Some((&op, args)) = rest.get(at..).and_then(<[u8]>::split_first) else {
                    break Step::End;
                };
                // How many more opcodes and pushes the limits leave room for.
                let ops_room = usize::try_from(max_ops.saturating_sub(ops)).unwrap_or(usize::MAX);
                let stack_room = self.lim.max_stack.saturating_sub(len);
                match op {
                    op::BINFLOAT => {
                        let k = rest
                            .get(at..)
                            .unwrap_or_default()
                            .chunks_exact(9)
                            .take(ops_room.min(stack_room))
                            .take_while(|c| c.first() == Some(&op::BINFLOAT))
                            .count();
                        if k == 0 {
                            break Step::Stop(Ok(()));
                        }
                        if virt == 0 {
                            vstart = at;
                        }
                        virt = virt.saturating_add(k);
                        top = Pend::Float;
                        at = at.saturating_add(k.saturating_mul(9));
                        ops = ops.saturating_add(k as u64);
                    }
                    op::BININT => {
                        let ints = rest.get(at..).unwrap_or_default();
                        let k = ints
                            .chunks_exact(5)
                            .take(ops_room.min(stack_room))
                            .take_while(|c| c.first() == Some(&op::BININT))
                            .count();
                        let last = k
                            .checked_sub(1)
                            .and_then(|i| ints.get(i.saturating_mul(5).saturating_add(1)..))
                            .and_then(<[u8]>::first_chunk::<4>);
                        let Some(a) = last else {
                            break Step::Stop(Ok(()));
                        };
                        if virt == 0 {
                            vstart = at;
                        }
                        virt = virt.saturating_add(k);
                        top = Pend::Int(i64::from(i32::from_le_bytes(*a)));
                        at = at.saturating_add(k.saturating_mul(5));
                        ops = ops.saturating_add(k as u64);
                    }
                    op::BININT1 | op::BININT2 => {
                        let (v, n) = if op == op::BININT1 {
                            match args.first() {
                                Some(a) => (i64::from(*a), 2),
                                None => break Step::Stop(Ok(())),
                            }
                        } else {
                            match args.first_chunk::<2>() {
                                Some(a) => (i64::from(u16::from_le_bytes(*a)), 3),
                                None => break Step::Stop(Ok(())),
                            }
                        };
                        if virt == 0 {
                            vstart = at;
                        }
                        virt = virt.saturating_add(1);
                        top = Pend::Int(v);
                        at = at.saturating_add(n);
                        ops = ops.saturating_add(1);
                    }
                    op::BINUNICODE | op::SHORT_BINUNICODE => {
                        if !small_ok {
                            break Step::Stop(Ok(()));
                        }
                        // A run of strs, each maybe memoized right away (a list of strs),
                        // read in a loop of its own. A memo op needs the stack above the
                        // mark: more than `fenced` strs of this loop on it.
                        let fenced = self.fence().saturating_sub(len);
                        let max_memo = self.lim.max_memo;
                        let mut k = 0usize;
                        let mut n_ops = 0usize;
                        let mut pos = at;
                        let mut last = None;
                        let mut failed = None;
                        let mut retained = 0usize;
                        while n_ops < ops_room && k < stack_room {
                            let Some((&op, args)) = rest.get(pos..).and_then(<[u8]>::split_first)
                            else {
                                break;
                            };
                            if op != op::BINUNICODE && op != op::SHORT_BINUNICODE {
                                break;
                            }
                            let Some((n, body, w)) = inline_str(rest, pos, op, args) else {
                                break;
                            };
                            let Ok(n8) = u8::try_from(n) else {
                                break;
                            };
                            retained = retained.saturating_add(n);
                            k = k.saturating_add(1);
                            n_ops = n_ops.saturating_add(1);
                            pos = body.saturating_add(n);
                            last = Some((n8, w));
                            // The memo op that follows it, if any.
                            let Some((&op, args)) = rest.get(pos..).and_then(<[u8]>::split_first)
                            else {
                                break;
                            };
                            let (idx, len) = match op {
                                op::BINPUT => match args.first() {
                                    Some(a) => (u64::from(*a), 2),
                                    None => break,
                                },
                                op::LONG_BINPUT => match args.first_chunk::<4>() {
                                    Some(a) => (u64::from(u32::from_le_bytes(*a)), 5),
                                    None => break,
                                },
                                op::MEMOIZE => (self.memo_count as u64, 1),
                                _ => continue,
                            };
                            if n_ops >= ops_room || k <= fenced {
                                break;
                            }
                            let memo_at = pos;
                            n_ops = n_ops.saturating_add(1);
                            pos = pos.saturating_add(len);
                            // memo_put's common case, where no index was left out before.
                            let next = self.memo.len();
                            if idx == next as u64 && next == self.memo_count && next < max_memo {
                                self.memo.push(Slot::Str(n8, *w));
                                self.memo_count = next.saturating_add(1);
                            } else if let Err(e) = self.memo_put(idx, V::SmallStr(n8, *w)) {
                                *op_off = start.saturating_add(memo_at as u64);
                                failed = Some(e);
                                break;
                            }
                        }
                        self.retained = self.retained.saturating_add(retained);
                        let Some((n8, w)) = last else {
                            break Step::Stop(Ok(()));
                        };
                        if virt == 0 {
                            vstart = at;
                        }
                        virt = virt.saturating_add(k);
                        top = Pend::Str(n8, *w);
                        at = pos;
                        ops = ops.saturating_add(n_ops as u64);
                        if let Some(e) = failed {
                            break Step::Stop(Err(e));
                        }
                    }
                    op::BINPUT | op::LONG_BINPUT | op::MEMOIZE => {
                        let (idx, n) = match op {
                            op::BINPUT => match args.first() {
                                Some(a) => (u64::from(*a), 2),
                                None => break Step::Stop(Ok(())),
                            },
                            op::LONG_BINPUT => match args.first_chunk::<4>() {
                                Some(a) => (u64::from(u32::from_le_bytes(*a)), 5),
                                None => break Step::Stop(Ok(())),
                            },
                            _ => (self.memo_count as u64, 1),
                        };
                        if len <= self.fence() {
                            break Step::Stop(Ok(()));
                        }
                        let v = if virt > 0 {
                            top.value()
                        } else {
                            match self.stack.last() {
                                // The usual top: a str just read, copied without a clone's
                                // dispatch.
                                Some(V::SmallStr(n, w)) => V::SmallStr(*n, *w),
                                Some(v) => v.clone(),
                                None => break Step::Stop(Ok(())),
                            }
                        };
                        let memo_at = at;
                        at = at.saturating_add(n);
                        ops = ops.saturating_add(1);
                        if let Err(e) = self.memo_put(idx, v) {
                            *op_off = start.saturating_add(memo_at as u64);
                            break Step::Stop(Err(e));
                        }
                    }
                    // Only on the stack itself: a mark among pending values would be one they
                    // pass over.
                    op::MARK if virt == 0 && self.marks.len() < self.lim.max_stack => {
                        self.marks.push(self.stack.len());
                        at = at.saturating_add(1);
                        ops = ops.saturating_add(1);
                    }
                    // Its arm drops everything from the mark on (the target, below it, is not
                    // looked at): here only a mark on the stack itself, below every pending
                    // value.
                    op::APPENDS => {
                        let Some(&x) = self.marks.last() else {
                            break Step::Stop(Ok(()));
                        };
                        if x == 0 || x > self.stack.len() {
                            break Step::Stop(Ok(()));
                        }
                        self.marks.pop();
                        self.drop_from(x);
                        virt = 0;
                        at = at.saturating_add(1);
                        ops = ops.saturating_add(1);
                    }
                    _ => break Step::Stop(Ok(())),
                }
            };
            match step {
                Step::Stop(r) => break r,
                Step::End => {
                    if ops >= max_ops || !src.frame_after(from, at) {
                        break Ok(());
                    }
                    at = at.saturating_add(9);
                    ops = ops.saturating_add(1);
                }
            }
        };
        if virt > 0 {
            let b = src
                .buf
                .get(from.saturating_add(vstart)..)
                .unwrap_or_default();
            let n = self.materialize(b, virt);
            debug_assert_eq!(n, virt, "pending values not read again");
        }
        src.advance(at);
        ev.opcodes = ev.opcodes.saturating_add(ops);
        result
    }

    /// Put on the stack the `n` values pending in a bulk run (see [`Machine::data_run`]),
    /// read again from the opcodes that pushed them, which start `b`; memo ops and FRAMEs
    /// among them are passed over (they were run). How many were put.
    #[cold]
    #[inline(never)]
    fn materialize(&mut self, b: &[u8], n: usize) -> usize {
        self.stack.reserve(n);
        let mut at = 0usize;
        let mut done = 0;
        while done < n {
            let Some((&op, args)) = b.get(at..).and_then(<[u8]>::split_first) else {
                break;
            };
            let (v, len) = match op {
                op::BINFLOAT => (Some(V::Float), 9),
                op::BININT => match args.first_chunk::<4>() {
                    Some(a) => (Some(V::Int(i64::from(i32::from_le_bytes(*a)))), 5),
                    None => break,
                },
                op::BININT1 => match args.first() {
                    Some(a) => (Some(V::Int(i64::from(*a))), 2),
                    None => break,
                },
                op::BININT2 => match args.first_chunk::<2>() {
                    Some(a) => (Some(V::Int(i64::from(u16::from_le_bytes(*a)))), 3),
                    None => break,
                },
                op::BINUNICODE | op::SHORT_BINUNICODE => match inline_str(b, at, op, args) {
                    Some((n, body, w)) => match u8::try_from(n) {
                        Ok(n8) => (
                            Some(V::SmallStr(n8, *w)),
                            body.saturating_sub(at).saturating_add(n),
                        ),
                        Err(_) => break,
                    },
                    None => break,
                },
                op::BINPUT => (None, 2),
                op::LONG_BINPUT => (None, 5),
                op::MEMOIZE => (None, 1),
                op::FRAME => (None, 9),
                _ => break,
            };
            if let Some(v) = v {
                self.stack.push(v);
                done = done.saturating_add(1);
            }
            at = at.saturating_add(len);
        }
        done
    }

    /// The object a call of the imported global `i` returns.
    fn instance(&mut self, ev: &mut Events, i: usize, args: Rc<[V]>) -> V {
        let mut class = Some(i);
        if ev.is(i, "copyreg", "_reconstructor") || ev.is(i, "copy_reg", "_reconstructor") {
            if let Some(V::Global(c)) = args.first() {
                ev.invoked(*c);
                class = Some(*c);
            }
        }
        let str_ok = match (
            self.lim.may_return_str,
            class.and_then(|c| ev.imports.get(c)),
        ) {
            (Some(f), Some(imp)) => f(&imp.module, &imp.name),
            _ => true,
        };
        V::Inst(
            self.track_inst(Inst {
                class,
                args,
                state: RefCell::new(None),
            }),
            str_ok,
        )
    }

    fn exec(&mut self, src: &mut Src<'_>, ev: &mut Events, op_off: &mut u64) -> R<()> {
        loop {
            *op_off = src.offset();
            let off = *op_off;
            let Some(op) = src.byte()? else {
                return Err(Fail::Truncated);
            };
            ev.opcodes = ev.opcodes.saturating_add(1);
            if ev.opcodes > self.lim.max_opcodes {
                return Err(Fail::Limit(format!(
                    "more than {} opcodes",
                    self.lim.max_opcodes
                )));
            }
            match op {
                // --- control ---
                op::PROTO => {
                    let p = src.fixed::<1>()?[0];
                    if p > 5 {
                        return Err(Fail::Reject(Reject::UnsupportedProtocol(p)));
                    }
                    self.proto = p;
                    ev.proto = ev.proto.max(p);
                    if ev.opcodes > 1 && ev.mid_proto.is_none() {
                        ev.mid_proto = Some(off);
                    }
                }
                op::FRAME => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return Err(Fail::Reject(Reject::SizeTooLarge("FRAME")));
                    }
                    src.frame(n)?;
                }
                op::STOP => {
                    let v = self.pop()?;
                    if self.depth == 0 {
                        ev.result = Some(Value::of(&v, ev, 0));
                    }
                    release_one(v);
                    if self.depth == 0 {
                        src.stopped().map_err(Fail::Io)?;
                    }
                    return Ok(());
                }
                op::MARK => {
                    if self.marks.len() >= self.lim.max_stack {
                        return Err(Fail::Limit("too many MARKs".into()));
                    }
                    self.marks.push(self.stack.len());
                }
                op::POP => {
                    if self.stack.len() > self.fence() {
                        if let Some(v) = self.stack.pop() {
                            release_one(v);
                        }
                    } else if self.marks.pop().is_none() {
                        return Err(Fail::Reject(Reject::StackUnderflow));
                    }
                }
                op::POP_MARK => self.discard_mark()?,
                op::DUP => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                // --- numbers ---
                op::INT => {
                    let l = src.line(self.lim.max_line)?;
                    let v = match &l[..] {
                        b"01" => V::Bool,
                        b"00" => V::Bool,
                        _ => parse_int_line(&l),
                    };
                    self.push(v)?;
                }
                op::LONG => {
                    let v = parse_int_line(&src.line(self.lim.max_line)?);
                    self.push(v)?;
                }
                op::BININT => {
                    let v = i32::from_le_bytes(src.fixed::<4>()?);
                    self.push(V::Int(i64::from(v)))?;
                    self.data_run(src, ev, op_off)?;
                }
                op::BININT1 => {
                    let v = src.fixed::<1>()?[0];
                    self.push(V::Int(i64::from(v)))?;
                    self.data_run(src, ev, op_off)?;
                }
                op::BININT2 => {
                    let v = u16::from_le_bytes(src.fixed::<2>()?);
                    self.push(V::Int(i64::from(v)))?;
                    self.data_run(src, ev, op_off)?;
                }
                op::LONG1 => {
                    let n = src.fixed::<1>()?[0] as usize;
                    let b = src.take(n)?;
                    let v = if n <= 8 {
                        let mut a = if b.last().is_some_and(|x| x & 0x80 != 0) {
                            [0xffu8; 8]
                        } else {
                            [0u8; 8]
                        };
                        a.get_mut(..n).ok_or(Fail::Truncated)?.copy_from_slice(b);
                        V::Int(i64::from_le_bytes(a))
                    } else {
                        V::BigInt
                    };
                    self.push(v)?;
                }
                op::LONG4 => {
                    let n = i32::from_le_bytes(src.fixed::<4>()?);
                    if n < 0 {
                        return Err(Fail::Reject(Reject::NegativeByteCount("LONG4")));
                    }
                    src.skip(n as u64, false)?;
                    self.push(V::BigInt)?;
                }
                op::FLOAT => {
                    // Never an error here: see parse_int_line.
                    src.line(self.lim.max_line)?;
                    self.push(V::Float)?;
                }
                op::BINFLOAT => {
                    src.fixed::<8>()?;
                    self.push(V::Float)?;
                    self.data_run(src, ev, op_off)?;
                }
                // --- strings and bytes ---
                op::STRING => {
                    let l = src.line(self.lim.max_line)?;
                    let body = match &l[..] {
                        [q @ (b'\'' | b'"'), mid @ .., e] if q == e => mid,
                        _ => return Err(Fail::Reject(Reject::StringNotQuoted)),
                    };
                    let b = escape_decode(body)?;
                    let s: String = b.iter().map(|&c| char::from(c)).collect();
                    let v = self.mk_str(s);
                    self.push(v)?;
                }
                op::BINSTRING => {
                    let n = i32::from_le_bytes(src.fixed::<4>()?);
                    if n < 0 {
                        return Err(Fail::Reject(Reject::NegativeByteCount("BINSTRING")));
                    }
                    let v = self.read_latin1(src, n as u64)?;
                    self.push(v)?;
                }
                op::SHORT_BINSTRING => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_latin1(src, u64::from(n))?;
                    self.push(v)?;
                }
                op::UNICODE => {
                    let l = src.line(self.lim.max_line)?;
                    let s = raw_unicode_decode(&l);
                    let v = self.mk_str(s);
                    self.push(v)?;
                }
                op::BINUNICODE => {
                    let n = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.read_text(src, u64::from(n))?;
                    self.push(v)?;
                    self.data_run(src, ev, op_off)?;
                }
                op::SHORT_BINUNICODE => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_text(src, u64::from(n))?;
                    self.push(v)?;
                    self.data_run(src, ev, op_off)?;
                }
                op::BINUNICODE8 => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return Err(Fail::Reject(Reject::SizeTooLarge("BINUNICODE8")));
                    }
                    let v = self.read_text(src, n)?;
                    self.push(v)?;
                }
                op::BINBYTES => {
                    let n = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.read_bytes(src, u64::from(n))?;
                    self.push(v)?;
                }
                op::SHORT_BINBYTES => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_bytes(src, u64::from(n))?;
                    self.push(v)?;
                }
                op::BINBYTES8 | op::BYTEARRAY8 => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return Err(Fail::Reject(Reject::SizeTooLarge("BINBYTES8")));
                    }
                    let v = self.read_bytes(src, n)?;
                    self.push(v)?;
                }
                op::NEXT_BUFFER => {
                    // NEXT_BUFFER needs out-of-band buffers passed to the loader.
                    self.push(V::Opaque)?;
                }
                op::READONLY_BUFFER => {
                    self.top()?;
                }
                // --- constants ---
                op::NONE => self.push(V::None)?,
                op::NEWTRUE => self.push(V::Bool)?,
                op::NEWFALSE => self.push(V::Bool)?,
                // --- containers ---
                op::EMPTY_TUPLE => self.push(V::Tuple(Rc::from(Vec::new())))?,
                op::TUPLE => {
                    let items = self.pop_mark()?;
                    let t = self.tuple(items);
                    self.push(t)?;
                }
                op::TUPLE1..=op::TUPLE3 => {
                    let n = usize::from(op.saturating_sub(0x84));
                    let Some(start) = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .filter(|s| *s >= self.fence())
                    else {
                        return Err(Fail::Reject(Reject::StackUnderflow));
                    };
                    let items = self.stack.split_off(start);
                    let t = self.tuple(items);
                    self.push(t)?;
                }
                op::EMPTY_LIST => self.push(V::List)?,
                op::LIST => {
                    self.discard_mark()?;
                    self.push(V::List)?;
                }
                op::APPEND => {
                    let x = self.stack.len().saturating_sub(1);
                    self.extend_at(x)?;
                }
                op::APPENDS => {
                    let x = self.marks.pop().ok_or(Fail::Reject(Reject::MarkNotFound))?;
                    self.extend_at(x)?;
                }
                op::EMPTY_DICT => {
                    let d = self.track_dict(DictV { items: Vec::new() });
                    self.push(V::Dict(d))?
                }
                op::DICT => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(Fail::Reject(Reject::OddItems("DICT")));
                    }
                    let mut d = DictV { items: Vec::new() };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        if d.items.len() < self.lim.max_items {
                            d.items.push((k, v));
                        } else {
                            release_all([k, v]);
                        }
                    }
                    let d = self.track_dict(d);
                    self.push(V::Dict(d))?;
                }
                op::SETITEM => {
                    let x = self.stack.len().saturating_sub(2);
                    self.set_items_at(ev, off, x)?;
                }
                op::SETITEMS => {
                    let x = self.marks.pop().ok_or(Fail::Reject(Reject::MarkNotFound))?;
                    self.set_items_at(ev, off, x)?;
                }
                op::EMPTY_SET => self.push(V::Set)?,
                op::ADDITEMS => {
                    let x = self.marks.pop().ok_or(Fail::Reject(Reject::MarkNotFound))?;
                    self.extend_at(x)?;
                }
                op::FROZENSET => {
                    self.discard_mark()?;
                    self.push(V::Set)?;
                }
                // --- memo ---
                op::GET => {
                    let l = src.line(self.lim.max_line)?;
                    let idx = self.memo_index(src, &l, "GET")?;
                    let v = self.memo_get(idx)?;
                    self.push(v)?;
                }
                op::BINGET => {
                    let i = src.fixed::<1>()?[0];
                    let v = self.memo_get(u64::from(i))?;
                    self.push(v)?;
                }
                op::LONG_BINGET => {
                    let i = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.memo_get(u64::from(i))?;
                    self.push(v)?;
                }
                op::PUT => {
                    let l = src.line(self.lim.max_line)?;
                    let idx = self.memo_index(src, &l, "PUT")?;
                    let v = self.top()?.clone();
                    self.memo_put(idx, v)?;
                }
                op::BINPUT => {
                    let i = src.fixed::<1>()?[0];
                    let v = self.top()?.clone();
                    self.memo_put(u64::from(i), v)?;
                    self.data_run(src, ev, op_off)?;
                }
                op::LONG_BINPUT => {
                    let i = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.top()?.clone();
                    self.memo_put(u64::from(i), v)?;
                    self.data_run(src, ev, op_off)?;
                }
                op::MEMOIZE => {
                    let v = self.top()?.clone();
                    let idx = self.memo_count as u64;
                    self.memo_put(idx, v)?;
                    self.data_run(src, ev, op_off)?;
                }
                // --- globals and calls ---
                op::GLOBAL => {
                    let module = global_line(&src.line(self.lim.max_line)?)?;
                    let name = global_line(&src.line(self.lim.max_line)?)?;
                    self.import(ev, module, name, "GLOBAL", off)?;
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    if module.not_str() || name.not_str() {
                        return Err(Fail::Reject(Reject::StackGlobalNotStr));
                    }
                    // An operand computed by a call (e.g. builtins.str) is a str only at load
                    // time: the import happens, with a name this analysis cannot know.
                    let text = |v: &V| {
                        v.as_str()
                            .map_or_else(|| COMPUTED.to_string(), |s| s.into_owned())
                    };
                    let (m, n) = (text(&module), text(&name));
                    self.import(ev, m, n, "STACK_GLOBAL", off)?;
                }
                op::INST => {
                    let module = global_line(&src.line(self.lim.max_line)?)?;
                    let name = global_line(&src.line(self.lim.max_line)?)?;
                    self.check_importable(&module)?;
                    let bad = self.check_attribute(&name);
                    // _pickle.c looks for the MARK first; the pure-Python unpickler imports
                    // first (a module's import runs its code) and fails on the MARK after.
                    let i = ev.import(module, name, "INST", off);
                    bad?;
                    let args = self.pop_mark()?;
                    let args: Rc<[V]> = args.into();
                    let v = self.call(ev, &V::Global(i), args, off);
                    self.push(v)?;
                }
                op::OBJ => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(Fail::Reject(Reject::StackUnderflow));
                    }
                    let cls = items.remove(0);
                    let v = self.call(ev, &cls, items.into(), off);
                    self.push(v)?;
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let callee = self.pop()?;
                    let Some(args) = self.args_of(src, args) else {
                        return Err(Fail::Reject(Reject::ArgsNotTuple("REDUCE")));
                    };
                    let v = self.call(ev, &callee, args, off);
                    self.push(v)?;
                }
                op::NEWOBJ => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let Some(args) = self.args_of(src, args) else {
                        return Err(Fail::Reject(Reject::ArgsNotTuple("NEWOBJ")));
                    };
                    let v = self.call(ev, &cls, args, off);
                    self.push(v)?;
                }
                op::NEWOBJ_EX => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let Some(args) = self.args_of(src, args) else {
                        return Err(Fail::Reject(Reject::ArgsNotTuple("NEWOBJ_EX")));
                    };
                    let mut all: Vec<V> = args.to_vec();
                    all.push(kwargs);
                    let v = self.call(ev, &cls, all.into(), off);
                    self.push(v)?;
                }
                op::BUILD => {
                    let state = self.pop()?;
                    let target = self.top()?.clone();
                    match target {
                        V::Global(i) => ev.build_on_global.push((off, i)),
                        V::Inst(inst, _) => {
                            if let Some(c) = inst.class {
                                ev.invoked(c);
                            }
                            if let V::Dict(d) = &state {
                                for (_, v) in &d.borrow().items {
                                    if let V::Bytes(b) = v {
                                        if matches!(&b[..], [0x80, 2..=5, ..]) {
                                            ev.nested.push((off, b.clone(), inst.class));
                                        }
                                    }
                                }
                            }
                            if let Some(c) = inst.class.filter(|c| {
                                ev.imports
                                    .get(*c)
                                    .is_some_and(|i| is_companion_wrapper(&i.module, &i.name))
                            }) {
                                // joblib reads the file right after this BUILD: judged by the
                                // name the state gives it (the last `filename` key wins).
                                let plain = match &state {
                                    V::Dict(d) => d
                                        .borrow()
                                        .items
                                        .iter()
                                        .rev()
                                        .find(|(k, _)| {
                                            k.str_bytes() == Some(b"filename".as_slice())
                                        })
                                        .and_then(|(_, v)| v.as_str().map(|n| plain_file_name(&n)))
                                        .unwrap_or(false),
                                    _ => false,
                                };
                                if let Some(imp) = ev.imports.get_mut(c) {
                                    if plain {
                                        imp.companion_reads = imp.companion_reads.saturating_add(1);
                                    } else {
                                        imp.companion_other = imp.companion_other.saturating_add(1);
                                    }
                                }
                            }
                            *inst.state.borrow_mut() = Some(state);
                            let wrapper = inst.class.is_some_and(|c| {
                                ev.is(c, "joblib.numpy_pickle", "NumpyArrayWrapper")
                                    || ev.is(
                                        c,
                                        "sklearn.externals.joblib.numpy_pickle",
                                        "NumpyArrayWrapper",
                                    )
                            });
                            if wrapper {
                                ev.joblib_arrays = ev.joblib_arrays.saturating_add(1);
                                if self.lim.joblib_inline {
                                    self.joblib_array(src, ev, &inst)?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                op::PERSID => {
                    src.line(self.lim.max_line)?;
                    if !self.lim.persistent_load {
                        return Err(Fail::Reject(Reject::NoPersistentLoad));
                    }
                    ev.uses_persid = true;
                    self.push(V::Opaque)?;
                }
                op::BINPERSID => {
                    self.pop()?;
                    if !self.lim.persistent_load {
                        return Err(Fail::Reject(Reject::NoPersistentLoad));
                    }
                    ev.uses_persid = true;
                    self.push(V::Opaque)?;
                }
                op::EXT1 => {
                    let c = src.fixed::<1>()?[0];
                    self.ext(ev, i64::from(c), off)?;
                }
                op::EXT2 => {
                    let c = u16::from_le_bytes(src.fixed::<2>()?);
                    self.ext(ev, i64::from(c), off)?;
                }
                op::EXT4 => {
                    // calc_binint sign-extends: a code with the top bit set is negative.
                    let c = i32::from_le_bytes(src.fixed::<4>()?);
                    self.ext(ev, i64::from(c), off)?;
                }
                other => {
                    return Err(Fail::Reject(Reject::InvalidLoadKey(other)));
                }
            }
        }
    }

    fn read_latin1(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        if n > self.lim.max_bytes_object as u64 {
            src.skip(n, false)?;
            return Ok(V::Opaque);
        }
        let b = src.take(n as usize)?;
        // Loaders decode py2 strings with an encoding (ASCII, latin1, utf-8) or keep bytes;
        // keep the text reading for STACK_GLOBAL and the bytes for nested pickles.
        if b.first() == Some(&0x80) {
            let v: Rc<[u8]> = Rc::from(b);
            self.retained = self.retained.saturating_add(v.len());
            return Ok(V::Bytes(v));
        }
        let s: String = b.iter().map(|&c| char::from(c)).collect();
        Ok(self.mk_str(s))
    }

    /// APPEND, APPENDS, ADDITEMS as `_pickle.c`'s do_append: the target sits at `x - 1`, the
    /// items above it; the mark fence is not consulted.
    fn extend_at(&mut self, x: usize) -> R<()> {
        if x == 0 || x > self.stack.len() {
            return Err(Fail::Reject(Reject::StackUnderflow));
        }
        self.drop_from(x);
        Ok(())
    }

    /// Drop the stack from `x` on (see [`release`]).
    fn drop_from(&mut self, x: usize) {
        if self.stack.get(x..).unwrap_or_default().iter().any(V::nests) {
            release_all(self.stack.drain(x..));
        } else {
            self.stack.truncate(x);
        }
    }

    /// SETITEM, SETITEMS as `_pickle.c`'s do_setitems.
    fn set_items_at(&mut self, ev: &mut Events, off: u64, x: usize) -> R<()> {
        let len = self.stack.len();
        if x == 0 || x > len {
            return Err(Fail::Reject(Reject::StackUnderflow));
        }
        if !len.saturating_sub(x).is_multiple_of(2) {
            return Err(Fail::Reject(Reject::OddItems("SETITEMS")));
        }
        let target = x.checked_sub(1).and_then(|t| self.stack.get(t));
        if let Some(V::List) = target {
            // list.__setitem__ runs; no pickler writes this (CVE-2026-24747's pattern).
            ev.odd(off, "SETITEMS on a list");
            release_all(self.stack.drain(x..));
            return Ok(());
        }
        if let Some(V::Dict(d)) = target {
            let d = d.clone();
            let mut d = d.borrow_mut();
            let mut it = self.stack.drain(x..);
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if d.items.len() < self.lim.max_items {
                    d.items.push((k, v));
                } else {
                    release_all([k, v]);
                }
            }
        } else {
            release_all(self.stack.drain(x..));
        }
        Ok(())
    }

    fn ext(&mut self, ev: &mut Events, code: i64, off: u64) -> R<()> {
        if code <= 0 {
            return Err(Fail::Reject(Reject::ExtCodeNotPositive));
        }
        let code = u32::try_from(code).unwrap_or(u32::MAX);
        if self.lim.stop_at_implausible {
            return Err(Fail::Reject(Reject::UnregisteredExtension(i64::from(code))));
        }
        if ev.ext_codes.len() < 64 {
            ev.ext_codes.push((off, code));
        }
        self.push(V::Opaque)
    }

    /// joblib writes a NumpyArrayWrapper, then the array's raw bytes (or, for object arrays,
    /// a whole pickle) straight into the stream; its unpickler reads them right after BUILD.
    fn joblib_array(&mut self, src: &mut Src<'_>, ev: &mut Events, inst: &Inst) -> R<()> {
        let state = inst.state.borrow();
        let Some(V::Dict(d)) = state.as_ref() else {
            return Err(Fail::Reject(Reject::JoblibArray(
                "NumpyArrayWrapper without a state dict",
            )));
        };
        let d = d.borrow();
        let get = |key: &str| {
            d.items
                .iter()
                .find(|(k, _)| k.str_bytes() == Some(key.as_bytes()))
                .map(|(_, v)| v.clone())
        };
        let (descr, flags) = match get("dtype") {
            Some(V::Inst(dt, _)) => {
                // dtype.__setstate__ takes the flags from the state's 8th item: NPY_ITEM_HASOBJECT
                // (bit 0) there makes joblib read the array as a pickle, whatever the descr.
                let flags = match dt.state.borrow().as_ref() {
                    Some(V::Tuple(t)) => match t.get(7) {
                        Some(V::Int(f)) => Some(*f),
                        None => Some(0),
                        _ => None,
                    },
                    None => Some(0),
                    _ => None,
                };
                (
                    dt.args
                        .first()
                        .and_then(|a| a.as_str().map(|s| s.into_owned())),
                    flags,
                )
            }
            _ => (None, None),
        };
        let (Some(descr), Some(flags)) = (descr, flags) else {
            return Err(Fail::Reject(Reject::JoblibArray(
                "array without a readable dtype",
            )));
        };
        let itemsize = dtype_itemsize(&descr)
            .map_err(|_| Fail::Reject(Reject::JoblibArray("array with an unsupported dtype")))?;
        let itemsize = if flags & 1 != 0 { None } else { itemsize };
        let count = match get("shape") {
            Some(V::Tuple(t)) => {
                let mut c: u64 = 1;
                for x in t.iter() {
                    match x {
                        V::Int(n) if *n >= 0 => {
                            c = c
                                .checked_mul(*n as u64)
                                .ok_or(Fail::Reject(Reject::JoblibArray("array size overflows")))?
                        }
                        _ => {
                            return Err(Fail::Reject(Reject::JoblibArray(
                                "array shape is not a tuple of sizes",
                            )))
                        }
                    }
                }
                c
            }
            _ => return Err(Fail::Reject(Reject::JoblibArray("array without a shape"))),
        };
        // safe_get_numpy_array_alignment_bytes(): getattr(self, ..., None) is not None.
        let aligned = !matches!(get("numpy_array_alignment_bytes"), None | Some(V::None));
        drop(d);
        drop(state);
        match itemsize {
            None => {
                // Object array: joblib calls pickle.load on the same stream.
                if self.depth >= self.lim.max_inline_depth {
                    return Err(Fail::Limit("joblib object arrays nested too deeply".into()));
                }
                match run_at_depth(src, self.lim, ev, self.depth.saturating_add(1)) {
                    End::Stop => {}
                    End::Empty => return Err(Fail::Truncated),
                    End::Error { reject, .. } => {
                        return Err(Fail::Reject(Reject::InJoblibObjectArray(Box::new(reject))))
                    }
                    End::Limit { message, .. } => return Err(Fail::Limit(message)),
                }
            }
            Some(size) => {
                src.raw_data();
                if aligned {
                    let pad = src.byte()?.ok_or(Fail::Truncated)?;
                    if !src.skip_raw(u64::from(pad)).map_err(Fail::Io)? {
                        return Err(Fail::Truncated);
                    }
                }
                let n = count
                    .checked_mul(size)
                    .ok_or(Fail::Reject(Reject::JoblibArray("array size overflows")))?;
                if !src.skip_raw(n).map_err(Fail::Io)? {
                    return Err(Fail::Truncated);
                }
            }
        }
        // The unpickler replaces the wrapper with the array.
        self.pop()?;
        self.push(V::Opaque)
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    thread_local! {
        /// Run every opcode by its own arm (see [`Machine::data_run`]).
        pub(crate) static NO_BULK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    pub(crate) fn sim(bytes: &[u8]) -> (Events, End) {
        sim_as(bytes, Reader::Loads)
    }

    fn sim_as(bytes: &[u8], reader: Reader) -> (Events, End) {
        let mut r = bytes;
        let mut src = Src::with_reader(&mut r, Some(bytes.len() as u64), reader);
        let mut ev = Events::default();
        let end = run(&mut src, &PickleLimits::default(), &mut ev);
        (ev, end)
    }

    /// A SHORT_BINUNICODE whose data crosses the end of a 4-byte frame: `loads` reads a harmless
    /// stream, `load(file)` without peek drops the rest of the frame and runs os.system.
    pub(crate) fn frame_crossing_attack() -> Vec<u8> {
        let mut p = b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00N\x8c\x0eA".to_vec();
        p.extend_from_slice(&[b'A'; 13]);
        p.extend_from_slice(b"Cc");
        let mut hidden = b"os\nsystem\n(S'echo hi'\ntR.".to_vec();
        hidden.resize(99, b'N');
        p.extend_from_slice(&hidden);
        p.extend_from_slice(b"00.");
        p
    }

    #[test]
    fn frame_crossing_reads_differ_by_reader() {
        let p = frame_crossing_attack();
        let (ev, end) = sim_as(&p, Reader::Loads);
        assert_eq!(end, End::Stop);
        assert!(ev.imports.is_empty());
        assert_eq!(ev.frames, vec![(14, Divergence::Crossed)]);
        let (ev, end) = sim_as(&p, Reader::File);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
        assert_eq!(ev.dropped, 1);
        let (ev, end) = sim_as(&p, Reader::PurePython);
        assert_eq!(
            end,
            End::Error {
                offset: 12,
                reject: Reject::FrameExhausted
            }
        );
        assert!(ev.imports.is_empty());
    }

    #[test]
    fn frame_in_frame_and_stop_in_frame() {
        // FRAME(3) holding FRAME(1): C rewinds and goes on; pure Python refuses.
        let p =
            b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00N.";
        let (ev, end) = sim_as(p, Reader::Loads);
        assert_eq!(end, End::Stop);
        assert_eq!(ev.frames, vec![(20, Divergence::FrameInFrame)]);
        let (_, end) = sim_as(p, Reader::PurePython);
        assert!(matches!(
            end,
            End::Error {
                reject: Reject::FrameInFrame,
                ..
            }
        ));
        // STOP with frame bytes left.
        let p = b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00N.NN";
        let (ev, end) = sim_as(p, Reader::File);
        assert_eq!(end, End::Stop);
        assert_eq!(ev.frames, vec![(13, Divergence::StopInFrame)]);
    }

    #[test]
    fn frames_at_opcode_boundaries_read_alike() {
        // As CPython's pickler writes them: two frames, each ending between opcodes.
        let p = b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n\x95\x01\x00\x00\x00\x00\x00\x00\x00.";
        for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
            let (ev, end) = sim_as(p, reader);
            assert_eq!(end, End::Stop, "{reader:?}");
            assert!(ev.frames.is_empty(), "{reader:?}");
            assert_eq!(names(&ev), vec![imp("os", "system", false)]);
        }
    }

    #[test]
    fn bytes_data_crossing_a_frame_is_read_on_from_the_file() {
        // SHORT_BINBYTES is read with _Unpickler_ReadInto: no bytes are dropped, every reader
        // but the pure-Python one sees the same stream.
        let mut p = frame_crossing_attack();
        p[12] = b'C';
        for reader in [Reader::Loads, Reader::File] {
            let (ev, end) = sim_as(&p, reader);
            assert_eq!(end, End::Stop, "{reader:?}");
            assert!(ev.imports.is_empty(), "{reader:?}");
            assert_eq!(ev.frames, vec![(14, Divergence::Crossed)]);
        }
    }

    #[test]
    fn a_line_that_crosses_a_frame_is_read_from_after_it() {
        // GLOBAL's module line starts in the frame; load(file) drops "xx" and reads "os\n".
        let mut p = b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00cxx".to_vec();
        p.extend_from_slice(b"os\nsystem\n.");
        let (ev, _) = sim_as(&p, Reader::Loads);
        assert_eq!(names(&ev), vec![imp("xxos", "system", false)]);
        let (ev, _) = sim_as(&p, Reader::File);
        assert_eq!(names(&ev), vec![imp("os", "system", false)]);
    }

    #[test]
    fn ext4_code_is_signed_and_sniffing_refuses_ext() {
        let (ev, end) = sim(b"\x80\x02\x84\xff\xff\xff\xff.");
        assert!(matches!(
            end,
            End::Error {
                reject: Reject::ExtCodeNotPositive,
                ..
            }
        ));
        assert!(ev.ext_codes.is_empty());
        let mut r: &[u8] = b"\x82\x46\r\r\r";
        let mut src = Src::new(&mut r, Some(5));
        let lim = PickleLimits {
            stop_at_implausible: true,
            ..PickleLimits::default()
        };
        let mut ev = Events::default();
        let end = run(&mut src, &lim, &mut ev);
        assert!(matches!(
            end,
            End::Error {
                reject: Reject::UnregisteredExtension(0x46),
                ..
            }
        ));
        assert!(ev.ext_codes.is_empty());
    }

    #[test]
    fn setitems_on_a_list_is_odd() {
        let (ev, end) = sim(b"\x80\x02]K\x00K\x01s.");
        assert_eq!(end, End::Stop);
        assert_eq!(ev.odd, vec![(7, "SETITEMS on a list")]);
    }

    #[test]
    fn memo_lines_read_as_c_strings() {
        // _pickle.c parses the line as a C string: it ends at the first NUL.
        let (ev, end) = sim(b"cos\nsystem\np0\x00junk\n0g0\x00\n(S'x'\ntR.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
        assert_eq!(c_long(b" 1_0 ", false), Some(10));
        assert_eq!(c_long(b"0x10", false), None);
        assert_eq!(c_long(b"0x10", true), Some(16));
        assert_eq!(c_long(b"1__0", false), None);
    }

    #[test]
    fn long_lines_do_not_end_the_analysis() {
        let mut p = b"S'".to_vec();
        p.extend(std::iter::repeat_n(b'a', 3 << 20));
        p.extend_from_slice(b"'\n0cos\nsystem\n.");
        let (ev, end) = sim(&p);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", false)]);
    }

    #[test]
    fn deep_nesting_and_cycles_tear_down() {
        // 300k nested 1-tuples, then a dict that holds itself; dropping must not recurse.
        let mut p = b"\x80\x02N".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 300_000));
        p.extend_from_slice(b"}q\x00h\x00h\x00s0.");
        let (_, end) = sim(&p);
        assert_eq!(end, End::Stop);
    }

    #[test]
    fn stack_global_of_a_class_instance_is_refused() {
        // numpy.dtype(...) is never a str: CPython raises, so no import is computed.
        let p = b"\x80\x04\x8c\x05numpy\x8c\x05dtype\x93)R\x8c\x01x\x93.";
        let mut r: &[u8] = p;
        let mut src = Src::new(&mut r, Some(p.len() as u64));
        let lim = PickleLimits {
            may_return_str: Some(|m, _| m != "numpy"),
            ..PickleLimits::default()
        };
        let mut ev = Events::default();
        let end = run(&mut src, &lim, &mut ev);
        assert!(matches!(
            end,
            End::Error {
                reject: Reject::StackGlobalNotStr,
                ..
            }
        ));
        assert_eq!(names(&ev), vec![imp("numpy", "dtype", true)]);
        let (ev, _) = sim(p);
        assert_eq!(
            ev.imports.len(),
            2,
            "without the hint any call result may be a str"
        );
    }

    fn names(ev: &Events) -> Vec<(String, String, bool)> {
        ev.imports
            .iter()
            .map(|i| (i.module.clone(), i.name.clone(), i.invoked))
            .collect()
    }

    fn imp(m: &str, n: &str, inv: bool) -> (String, String, bool) {
        (m.into(), n.into(), inv)
    }

    #[test]
    fn protocol0_global_reduce() {
        let (ev, end) = sim(b"cos\nsystem\n(S'echo hi'\ntR.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    #[test]
    fn stack_global_from_memo_and_string_kinds() {
        // module via SHORT_BINUNICODE memoized, name via STRING (protocol 0 opcode in a proto 4 stream)
        let p = b"\x80\x04\x8c\x02os\x94S'system'\n\x93\x94h\x00\x85R.";
        let (ev, end) = sim(p);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    /// A memo index overwritten with values of each kind (inline strs, a list, a long str)
    /// gives back the last one; a slot overwritten again and again keeps one place.
    #[test]
    fn memo_slots_give_back_the_last_value() {
        let mut p = b"\x80\x04".to_vec();
        for _ in 0..3 {
            p.extend(b"\x8c\x02xxq\x000]q\x000");
        }
        p.extend(b"X\x1e\x00\x00\x00");
        p.extend([b'y'; 30]);
        p.extend(b"q\x010\x8c\x02osq\x000\x8c\x06systemq\x010h\x00h\x01\x93.");
        for bulk in [true, false] {
            NO_BULK.with(|b| b.set(!bulk));
            let (ev, end) = sim(&p);
            NO_BULK.with(|b| b.set(false));
            assert_eq!(end, End::Stop);
            assert_eq!(names(&ev), vec![imp("os", "system", false)]);
        }
    }

    #[test]
    fn broken_tail_keeps_imports() {
        let (ev, end) = sim(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R\xff");
        assert!(matches!(end, End::Error { offset: 27, .. }), "{end:?}");
        assert_eq!(names(&ev), vec![imp("posix", "system", true)]);
    }

    #[test]
    fn frame_beyond_data_stops_like_c() {
        // FRAME claims 1000 bytes; the C unpickler fails before running anything after it.
        let (ev, end) = sim(b"\x80\x04\x95\xe8\x03\x00\x00\x00\x00\x00\x00cos\nsystem\n.");
        assert!(matches!(end, End::Error { offset: 2, .. }), "{end:?}");
        assert!(ev.imports.is_empty());
        // Opcodes may cross frame boundaries in the C unpickler.
        let (ev, end) = sim(b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n\x95\x01\x00\x00\x00\x00\x00\x00\x00N.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", false)]);
    }

    #[test]
    fn mark_fence_underflow() {
        let (_, end) = sim(b"N(R.");
        assert!(matches!(end, End::Error { ref reject, .. } if *reject == Reject::StackUnderflow));
        let (_, end) = sim(b"t.");
        assert!(matches!(end, End::Error { ref reject, .. } if *reject == Reject::MarkNotFound));
    }

    #[test]
    fn memo_miss_is_an_error() {
        let (_, end) = sim(b"\x80\x02h\x05.");
        assert!(matches!(end, End::Error { ref reject, .. } if *reject == Reject::MemoMissing(5)));
    }

    #[test]
    fn protocol_too_high() {
        let (_, end) = sim(b"\x80\x06N.");
        assert!(matches!(end, End::Error { offset: 0, .. }));
    }

    #[test]
    fn inst_and_obj_are_calls() {
        let (ev, end) = sim(b"(S'ls'\nios\nsystem\n.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
        let (ev, end) = sim(b"(cos\nsystem\nS'ls'\no.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    #[test]
    fn newobj_ex_and_build() {
        let p = b"\x80\x04\x8c\x08__main__\x8c\x01A\x93)}\x92}b.";
        let (ev, end) = sim(p);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("__main__", "A", true)]);
    }

    #[test]
    fn build_on_global_recorded() {
        let (ev, end) = sim(b"ccollections\nOrderedDict\n}b.");
        assert_eq!(end, End::Stop);
        assert_eq!(ev.build_on_global.len(), 1);
    }

    #[test]
    fn ext_codes_recorded() {
        let (ev, _) = sim(b"\x80\x02\x82\x01.");
        assert_eq!(ev.ext_codes, vec![(2, 1)]);
    }

    #[test]
    fn codecs_encode_nested_pickle() {
        // pickle.loads(_codecs.encode('\x80\x02cos\nsystem\n...', 'latin1'))
        let inner = "\u{80}\u{2}cos\nsystem\n.";
        let mut p = b"\x80\x02cpickle\nloads\nc_codecs\nencode\nX".to_vec();
        let utf8 = inner.as_bytes();
        p.extend_from_slice(&(utf8.len() as u32).to_le_bytes());
        p.extend_from_slice(utf8);
        p.extend_from_slice(b"X\x06\x00\x00\x00latin1\x86R\x85R.");
        let (ev, end) = sim(&p);
        assert_eq!(end, End::Stop);
        assert_eq!(ev.nested.len(), 1);
        assert_eq!(&ev.nested[0].1[..], b"\x80\x02cos\nsystem\n.");
    }

    #[test]
    fn escape_decoding() {
        assert_eq!(escape_decode(br"a\x41\n\101\\").ok().unwrap(), b"aA\nA\\");
        assert_eq!(raw_unicode_decode(br"os\u0073"), "oss");
        assert_eq!(raw_unicode_decode(br"a\uZZ"), "a\\uZZ");
    }

    #[test]
    fn dtype_sizes() {
        assert_eq!(dtype_itemsize("<f8"), Ok(Some(8)));
        assert_eq!(dtype_itemsize("U5"), Ok(Some(20)));
        assert_eq!(dtype_itemsize("V64"), Ok(Some(64)));
        assert_eq!(dtype_itemsize("|O"), Ok(None));
        assert_eq!(dtype_itemsize("O8"), Ok(None));
        assert_eq!(dtype_itemsize("b1"), Ok(Some(1)));
        assert!(dtype_itemsize("Z3").is_err());
    }

    #[test]
    fn sparse_memo_indices_stay_small() {
        let mut p = b"\x80\x02N".to_vec();
        for i in 0..40u32 {
            p.push(b'r');
            p.extend(((i + 1) * 3000).to_le_bytes());
        }
        p.push(b'.');
        let (_, end) = sim(&p);
        assert_eq!(end, End::Stop);
    }

    #[test]
    fn stack_limit() {
        let mut p = vec![b'N'; 5000];
        p.push(b'.');
        let mut r = &p[..];
        let mut src = Src::new(&mut r, None);
        let lim = PickleLimits {
            max_stack: 100,
            ..PickleLimits::default()
        };
        let end = run(&mut src, &lim, &mut Events::default());
        assert!(matches!(end, End::Limit { offset: 100, .. }), "{end:?}");
    }

    /// What a run shows of the machine: everything but the import index's hash order.
    fn trace(bytes: &[u8], reader: Reader, lim: &PickleLimits, bulk: bool) -> String {
        trace_in_reads(bytes, reader, lim, bulk, usize::MAX)
    }

    /// A reader that gives at most `max` bytes a read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// [`trace`] of input read at most `max` bytes at a time: bulk runs stop wherever the
    /// buffered bytes end, with values pending.
    fn trace_in_reads(
        bytes: &[u8],
        reader: Reader,
        lim: &PickleLimits,
        bulk: bool,
        max: usize,
    ) -> String {
        NO_BULK.with(|b| b.set(!bulk));
        let mut r = Trickle(bytes, max);
        let mut src = Src::with_reader(&mut r, Some(bytes.len() as u64), reader);
        let mut out = String::new();
        for _ in 0..3 {
            let mut ev = Events::default();
            let end = run(&mut src, lim, &mut ev);
            out.push_str(&format!(
                "{end:?} at {} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {:?}\n",
                src.offset(),
                ev.imports,
                ev.nested,
                ev.frames,
                ev.odd,
                ev.dropped,
                ev.opcodes,
                ev.result,
                ev.build_on_global,
                ev.mid_proto,
            ));
            if end != End::Stop {
                break;
            }
        }
        NO_BULK.with(|b| b.set(false));
        out
    }

    /// The bulk path for runs of data opcodes does exactly what the opcodes' own arms do:
    /// generated streams of numbers, strs, memo puts and gets, lists and dicts, frames
    /// (crossed, nested, short), imports through memoized strs (invalid UTF-8 too), cut and
    /// mutated, under every reader and under tight stack, memo and opcode limits.
    #[test]
    fn bulk_data_runs_match_opcode_arms() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        let limits = [
            PickleLimits::default(),
            PickleLimits {
                max_opcodes: 37,
                ..PickleLimits::default()
            },
            PickleLimits {
                max_stack: 9,
                ..PickleLimits::default()
            },
            PickleLimits {
                max_memo: 5,
                ..PickleLimits::default()
            },
            PickleLimits {
                max_bytes_object: 3,
                max_retained: 40,
                ..PickleLimits::default()
            },
            PickleLimits {
                max_retained: 310,
                ..PickleLimits::default()
            },
        ];
        let mut cases = 0;
        for _ in 0..600 {
            let mut p = vec![0x80, 2 + rnd(4) as u8];
            let mut memo = 0u32;
            let body_start = p.len();
            p.extend(b"}(");
            let mut marks = 0;
            // Where each generated piece ends: between two opcodes.
            let mut bounds = Vec::new();
            for _ in 0..rnd(60) {
                match rnd(31) {
                    0..=3 => {
                        p.push(op::BINFLOAT);
                        p.extend(rnd(u64::MAX).to_be_bytes());
                    }
                    4..=6 => {
                        p.push(op::BININT);
                        p.extend((rnd(u64::MAX) as u32).to_le_bytes());
                    }
                    7 => p.extend([op::BININT1, rnd(256) as u8]),
                    8 => {
                        p.push(op::BININT2);
                        p.extend((rnd(65536) as u16).to_le_bytes());
                    }
                    9..=12 => {
                        let n = [0, 1, 2, 6, 9, 21, 22, 23, 40, 300][rnd(10) as usize];
                        let text: Vec<u8> = (0..n)
                            .map(|i| {
                                if rnd(12) == 0 {
                                    0xff
                                } else {
                                    b"os.system"[i % 9]
                                }
                            })
                            .collect();
                        if rnd(2) == 0 && n < 256 {
                            p.extend([op::SHORT_BINUNICODE, n as u8]);
                        } else {
                            p.push(op::BINUNICODE);
                            p.extend((n as u32).to_le_bytes());
                        }
                        p.extend(text);
                    }
                    13 | 14 => {
                        p.extend([op::BINPUT, memo as u8]);
                        memo += 1;
                    }
                    15 => {
                        p.push(op::LONG_BINPUT);
                        p.extend([memo, memo * 3, rnd(3) as u32][rnd(3) as usize].to_le_bytes());
                        memo += 1;
                    }
                    16 | 17 => {
                        p.push(op::MEMOIZE);
                        memo += 1;
                    }
                    18 | 19 if memo > 0 => p.extend([op::BINGET, rnd(u64::from(memo)) as u8]),
                    20 if memo > 0 => {
                        // An import through two memoized strs.
                        p.extend([op::BINGET, rnd(u64::from(memo)) as u8]);
                        p.extend([op::BINGET, rnd(u64::from(memo)) as u8]);
                        p.push(op::STACK_GLOBAL);
                    }
                    21 | 22 => {
                        p.extend([op::EMPTY_LIST, op::MARK]);
                        marks += 1;
                    }
                    23 | 24 if marks > 0 => {
                        p.push(op::APPENDS);
                        marks -= 1;
                    }
                    25 => p.push([op::POP, op::TUPLE2, op::DUP][rnd(3) as usize]),
                    26 => {
                        // A frame here, of about the bytes that follow (or not).
                        p.push(op::FRAME);
                        p.extend((rnd(80)).to_le_bytes());
                    }
                    29 => {
                        // A MARK of no list: what APPENDS then drops reaches below it.
                        p.push(op::MARK);
                        marks += 1;
                    }
                    30 => p.push(op::APPEND),
                    27 | 28 => {
                        // A homogeneous run, as in a list of floats or ints.
                        let (o, len) = [(op::BINFLOAT, 8), (op::BININT, 4)][rnd(2) as usize];
                        for _ in 0..rnd(40) {
                            p.push(o);
                            p.extend((0..len).map(|_| rnd(256) as u8));
                        }
                    }
                    _ => {}
                }
                bounds.push(p.len());
            }
            p.extend(std::iter::repeat_n(op::APPENDS, marks));
            p.extend(b"u.");
            // Frames placed where a writer puts them too: one over the whole body, or one
            // after another, each ending between two opcodes.
            match rnd(3) {
                0 => {
                    let n = (p.len() - body_start) as u64;
                    let mut f = vec![op::FRAME];
                    f.extend(n.to_le_bytes());
                    p.splice(body_start..body_start, f);
                }
                1 => {
                    let mut framed = p[..body_start].to_vec();
                    let mut at = body_start;
                    bounds.push(p.len());
                    for &b in &bounds {
                        if b > at && (rnd(3) == 0 || b == p.len()) {
                            framed.push(op::FRAME);
                            framed.extend(((b - at) as u64).to_le_bytes());
                            framed.extend(&p[at..b]);
                            at = b;
                        }
                    }
                    p = framed;
                }
                _ => {}
            }
            let mut variants = vec![p.clone()];
            let mut cut = p.clone();
            cut.truncate(rnd(p.len() as u64) as usize);
            variants.push(cut);
            let mut flipped = p.clone();
            for _ in 0..3 {
                let i = rnd(p.len() as u64) as usize;
                flipped[i] = rnd(256) as u8;
            }
            variants.push(flipped);
            for bytes in &variants {
                for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
                    for lim in &limits {
                        let fast = trace(bytes, reader, lim, true);
                        let slow = trace(bytes, reader, lim, false);
                        assert_eq!(fast, slow, "{reader:?} {lim:?} {bytes:02x?}");
                        // Read a few bytes at a time: runs stop where the buffer ends.
                        let max = 1 + rnd(40) as usize;
                        let fast = trace_in_reads(bytes, reader, lim, true, max);
                        assert_eq!(fast, slow, "{reader:?} {lim:?} reads of {max} {bytes:02x?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 600 * 3 * 3 * 6);
    }

    /// A MARK left above the stack (APPEND drops below it without looking): the memo ops and
    /// APPENDS a bulk run meets then are left to their arms, which raise as they would.
    #[test]
    fn bulk_runs_respect_a_mark_above_the_stack() {
        let memo_ops: [&[u8]; 3] = [b"\x94", b"q\x00", b"r\x00\x00\x00\x00"];
        let pushes: [&[u8]; 3] = [
            b"J\x01\x00\x00\x00",
            b"G\x00\x00\x00\x00\x00\x00\x00\x00",
            b"X\x01\x00\x00\x00s",
        ];
        for memo in memo_ops {
            for first in pushes {
                for second in pushes {
                    for (appends, tail) in [(1, b"".as_slice()), (2, b"e"), (2, b"N")] {
                        let mut p = b"\x80\x04NNN(".to_vec();
                        p.extend(std::iter::repeat_n(b'a', appends));
                        p.extend(first);
                        p.extend(second);
                        p.extend(memo);
                        p.extend(tail);
                        p.extend(b"X\x01\x00\x00\x00t\x94e.");
                        for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
                            let lim = PickleLimits::default();
                            let fast = trace(&p, reader, &lim, true);
                            assert_eq!(fast, trace(&p, reader, &lim, false), "{p:02x?}");
                        }
                    }
                }
            }
        }
    }

    /// Strs run in bulk count toward the retained bytes as their arm counts them: past the
    /// limit a long str keeps only a prefix.
    #[test]
    fn bulk_strs_count_toward_retained() {
        let mut p = b"\x80\x04".to_vec();
        for s in [b"aaaa", b"bbbb", b"cccc"] {
            p.extend(b"X\x04\x00\x00\x00");
            p.extend(s);
        }
        p.extend(b"000X\x2c\x01\x00\x00");
        p.extend([b'm'; 300]);
        p.extend(b"X\x04\x00\x00\x00name\x93.");
        let lim = PickleLimits {
            max_retained: 305,
            ..PickleLimits::default()
        };
        for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
            let fast = trace(&p, reader, &lim, true);
            assert_eq!(fast, trace(&p, reader, &lim, false));
            assert!(fast.contains(&format!("{}…", "m".repeat(256))), "{fast}");
        }
    }
}
