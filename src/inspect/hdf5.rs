//! HDF5 (legacy Keras `.h5`), read by structure as the HDF5 library reads it for h5py: the
//! superblock (versions 0 to 3, after a user block of 512, 1024, ... bytes), object headers
//! (versions 1 and 2, with their continuation blocks), every group below the root (symbol
//! tables of version-1 B-trees and local heaps, and link messages), attribute messages
//! (versions 1 to 3) with fixed-length and variable-length string values (the latter from
//! global heap collections), and links: soft, external and user-defined.
//!
//! It also reads what PyTables (`pandas.read_hdf`, `HDFStore`, `tables.open_file`) hands to
//! `pickle.loads` (PyTables 3.11: `tables/attributeset.py` `AttributeSet.__getattr__`, run for
//! every attribute of a node when its attribute set is built, over `tables/hdf5extension.pyx`
//! `_g_getattr`): every scalar string attribute, fixed or variable length, whose character set
//! is not UTF-8 (read as bytes: a fixed one without its trailing NULs, a variable one up to its
//! first NUL) and that ends with `.` (but is not `0.`), and every row of a variable-length
//! dataset whose `PSEUDOATOM` attribute is `object` (an `ObjectAtom` `VLArray`,
//! `tables/atom.py` `ObjectAtom.fromarray`; pandas' fixed format stores every object array
//! so). Rows are read from compact, contiguous and chunked storage (version-1 B-tree chunk
//! indexes, or a single chunk) through the deflate, shuffle and Fletcher-32 filters; an
//! object dataset this walker cannot read is a problem, like any other unread part.
//!
//! What this walker cannot read (attributes or links kept in dense storage, shared messages,
//! a broken structure) is returned as a problem, never skipped silently. Every read is bounded:
//! structures are checked against the file's end, objects are visited once, and the bytes read
//! per file are capped.

use crate::input::{read_at, ReadSeek};
use std::collections::{HashMap, HashSet, VecDeque};

pub const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Objects (groups and datasets) visited per file, at most.
const MAX_OBJECTS: usize = 100_000;
/// Largest single structure read (a heap, a header block, an attribute).
const MAX_READ: u64 = 256 << 20;
/// Bytes read by one walk, at most.
const MAX_TOTAL: u64 = 1 << 30;
/// Attribute values kept per file, at most.
const MAX_VALUES: usize = 100_000;
/// Bytes of global heap collections kept in memory at once, at most.
const MAX_HEAP_CACHE: usize = 64 << 20;
/// Depth of a version-1 B-tree, at most.
const MAX_BTREE_DEPTH: u32 = 64;
/// Pickled rows read per file, at most.
const MAX_ROWS: usize = 1_000_000;
/// Bytes of pickles (attribute values and rows) kept per file, at most.
const MAX_PICKLE_BYTES: usize = 256 << 20;

/// Bytes PyTables hands to `pickle.loads`: an attribute value or a row of an object dataset.
#[derive(Debug)]
pub struct Pickled {
    /// The object (`/df`, `/df/block1_values`).
    pub object: String,
    /// `attribute NAME`, `row N`.
    pub what: String,
    pub bytes: Vec<u8>,
}

/// A string attribute: the object it is attached to (`/`, `/model_weights/dense`), its name,
/// and its values (one per element of its dataspace).
#[derive(Debug)]
pub struct Attr {
    pub object: String,
    pub name: String,
    pub values: Vec<Vec<u8>>,
}

/// A link that does not point into this file's own objects by address.
#[derive(Debug)]
pub struct Link {
    /// The group holding it and the link's name.
    pub path: String,
    /// `soft`, `external` or `user-defined (N)`.
    pub kind: String,
    /// For soft links the path; for external links `file:object`.
    pub target: String,
}

/// What a walk saw.
#[derive(Debug, Default)]
pub struct Walked {
    pub superblock_at: u64,
    pub attrs: Vec<Attr>,
    pub links: Vec<Link>,
    /// Parts that could not be read, each naming the object and the reason.
    pub problems: Vec<String>,
    pub objects: usize,
    /// What PyTables would unpickle, in the order found.
    pub pickles: Vec<Pickled>,
    /// Bytes held in `pickles`.
    pub pickle_bytes: usize,
}

impl Walked {
    /// Keep a pickle, within the per-file bound (past it, a problem: nothing is dropped
    /// silently).
    fn keep(&mut self, object: &str, what: String, bytes: Vec<u8>) -> R<()> {
        let total = self.pickle_bytes.saturating_add(bytes.len());
        if total > MAX_PICKLE_BYTES {
            return Err(format!(
                "more than {} MiB of pickled values; {what} and the rest were not read",
                MAX_PICKLE_BYTES >> 20
            ));
        }
        self.pickle_bytes = total;
        self.pickles.push(Pickled {
            object: object.to_string(),
            what,
            bytes,
        });
        Ok(())
    }
}

/// What one object's header says about it as a dataset, and the PyTables attributes that say
/// whether its rows are pickles.
#[derive(Debug, Default)]
struct ObjInfo {
    dtype: Option<Vec<u8>>,
    /// A dataspace, datatype, layout or filter message kept elsewhere (shared).
    shared: bool,
    space: Option<Vec<u8>>,
    layout: Option<Vec<u8>>,
    filters: Option<Vec<u8>>,
    /// Values of string attributes `PSEUDOATOM` and `FLAVOR`.
    pseudoatom: Option<Vec<Vec<u8>>>,
    flavor: Vec<Vec<u8>>,
}

/// Little-endian reader over a byte slice; every read is checked.
struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, p: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.p.checked_add(n)?;
        let s = self.b.get(self.p..end)?;
        self.p = end;
        Some(s)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        u16::try_from(self.uint(2)?).ok()
    }
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint(4)?).ok()
    }
    /// An unsigned little-endian integer of `n` bytes (at most 8; wider ones must fit).
    fn uint(&mut self, n: usize) -> Option<u64> {
        let s = self.take(n)?;
        let mut v = 0u64;
        for (i, b) in s.iter().enumerate() {
            if i >= 8 {
                if *b != 0 {
                    return None;
                }
                continue;
            }
            v |= u64::from(*b).wrapping_shl(8u32.saturating_mul(i as u32));
        }
        Some(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.p..).unwrap_or_default()
    }
    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.p)
    }
}

struct Rd<'r> {
    src: &'r mut dyn ReadSeek,
    len: u64,
    base: u64,
    /// Size of offsets and of lengths, in bytes.
    so: usize,
    sl: usize,
    spent: u64,
    gheaps: HashMap<u64, Vec<u8>>,
    /// Bytes held in `gheaps`.
    gheap_bytes: usize,
}

type R<T> = Result<T, String>;

impl Rd<'_> {
    /// `n` bytes at relative address `addr`, or fewer when the file ends first and `short` is
    /// allowed (a header whose size is not known before it is read).
    fn read(&mut self, addr: u64, n: u64, short: bool) -> R<Vec<u8>> {
        let abs = self
            .base
            .checked_add(addr)
            .ok_or_else(|| format!("address {addr:#x} overflows"))?;
        if abs >= self.len {
            return Err(format!("address {addr:#x} is past the end of the file"));
        }
        let avail = self.len.saturating_sub(abs);
        let n = if n > avail {
            if !short {
                return Err(format!(
                    "a structure of {n} bytes at {addr:#x} runs past the end of the file"
                ));
            }
            avail
        } else {
            n
        };
        if n > MAX_READ {
            return Err(format!(
                "a structure of {n} bytes at {addr:#x} is larger than the {} MiB limit",
                MAX_READ >> 20
            ));
        }
        self.spent = self.spent.saturating_add(n);
        if self.spent > MAX_TOTAL {
            return Err(format!(
                "more than {} MiB of structure read; the rest of the file was not walked",
                MAX_TOTAL >> 20
            ));
        }
        let mut buf = vec![0u8; usize::try_from(n).map_err(|e| e.to_string())?];
        read_at(&mut *self.src, abs, &mut buf).map_err(|e| format!("reading at {addr:#x}: {e}"))?;
        Ok(buf)
    }

    fn undefined(&self, a: u64) -> bool {
        match self.so {
            8 => a == u64::MAX,
            n => {
                a == 1u64
                    .wrapping_shl(8u32.saturating_mul(n as u32))
                    .wrapping_sub(1)
            }
        }
    }

    /// A heap's header at `addr`, which must start with `sig`: its bytes after the signature
    /// and the 4 bytes of version and reserved space.
    fn heap_header(&mut self, addr: u64, sig: &[u8; 4], what: &str) -> R<Vec<u8>> {
        let head = self.read(addr, 64, true)?;
        if head.get(..4) != Some(&sig[..]) {
            return Err(format!("no {what} at {addr:#x}"));
        }
        head.get(8..)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("short {what}"))
    }

    /// One object of a global heap collection (a variable-length value).
    fn global_heap(&mut self, coll: u64, index: u32) -> R<Vec<u8>> {
        if !self.gheaps.contains_key(&coll) {
            let head = self.heap_header(coll, b"GCOL", "global heap collection")?;
            let mut c = Cur::new(&head);
            let size = c.uint(self.sl).ok_or("short global heap")?;
            let data = self.read(coll, size, false)?;
            // Collections are kept for the next value in them, within a bound: past it the
            // cache starts again (a file of many large collections would hold them all).
            if self.gheap_bytes.saturating_add(data.len()) > MAX_HEAP_CACHE {
                self.gheaps.clear();
                self.gheap_bytes = 0;
            }
            self.gheap_bytes = self.gheap_bytes.saturating_add(data.len());
            self.gheaps.insert(coll, data);
        }
        let sl = self.sl;
        let data = self
            .gheaps
            .get(&coll)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut c = Cur::new(data);
        c.skip(8usize.saturating_add(sl))
            .ok_or("short global heap")?;
        while c.left() >= 8usize.saturating_add(sl) {
            let idx = c.u16().ok_or("short heap object")?;
            c.skip(6).ok_or("short heap object")?;
            let size = usize::try_from(c.uint(sl).ok_or("short heap object")?)
                .map_err(|e| e.to_string())?;
            if idx == 0 {
                break;
            }
            let body = c.take(size).ok_or_else(|| {
                format!("global heap object {idx} at {coll:#x} runs past its collection")
            })?;
            if u32::from(idx) == index {
                return Ok(body.to_vec());
            }
            c.skip(size.wrapping_neg() % 8);
        }
        Err(format!(
            "global heap collection at {coll:#x} has no object {index}"
        ))
    }
}

/// Where the superblock is: the first of offsets 0, 512, 1024, 2048, ... that holds the
/// signature (the HDF5 library's search).
pub fn find_superblock(src: &mut dyn ReadSeek, len: u64) -> Option<u64> {
    let mut at = 0u64;
    loop {
        if at.checked_add(8)? > len {
            return None;
        }
        let mut sig = [0u8; 8];
        if read_at(src, at, &mut sig).is_ok() && &sig == SIGNATURE {
            return Some(at);
        }
        at = if at == 0 { 512 } else { at.checked_mul(2)? };
    }
}

/// Walk the file from its root group. `Err` when not even the superblock can be read.
pub fn walk(src: &mut dyn ReadSeek, len: u64) -> R<Walked> {
    let at = find_superblock(src, len).ok_or("no HDF5 superblock signature")?;
    let mut sb = vec![0u8; usize::try_from(len.saturating_sub(at).min(256)).unwrap_or(256)];
    read_at(src, at, &mut sb).map_err(|e| format!("reading the superblock: {e}"))?;
    let mut c = Cur::new(&sb);
    c.skip(8).ok_or("short superblock")?;
    let version = c.u8().ok_or("short superblock")?;
    let (so, sl, root) = match version {
        0 | 1 => {
            c.skip(4).ok_or("short superblock")?;
            let so = c.u8().ok_or("short superblock")?;
            let sl = c.u8().ok_or("short superblock")?;
            c.skip(if version == 0 { 9 } else { 13 })
                .ok_or("short superblock")?;
            let so_u = usize::from(so);
            // base, free-space, end-of-file and driver addresses, then the root group's
            // symbol table entry: its name offset, then its object header address.
            c.skip(so_u.saturating_mul(5)).ok_or("short superblock")?;
            (so, sl, c.uint(so_u).ok_or("short superblock")?)
        }
        2 | 3 => {
            let so = c.u8().ok_or("short superblock")?;
            let sl = c.u8().ok_or("short superblock")?;
            c.skip(1).ok_or("short superblock")?;
            let so_u = usize::from(so);
            // base, superblock extension and end-of-file addresses
            c.skip(so_u.saturating_mul(3)).ok_or("short superblock")?;
            (so, sl, c.uint(so_u).ok_or("short superblock")?)
        }
        v => return Err(format!("superblock version {v} is not known")),
    };
    if ![2u8, 4, 8, 16].contains(&so) || ![2u8, 4, 8, 16].contains(&sl) {
        return Err(format!(
            "superblock sizes of offsets {so} and lengths {sl} are not valid"
        ));
    }
    let mut rd = Rd {
        src,
        len,
        // The library takes the superblock's own position as the base address.
        base: at,
        so: usize::from(so),
        sl: usize::from(sl),
        spent: 0,
        gheaps: HashMap::new(),
        gheap_bytes: 0,
    };
    let mut w = Walked {
        superblock_at: at,
        ..Walked::default()
    };
    let mut seen: HashSet<u64> = HashSet::new();
    let mut queue: VecDeque<(u64, String)> = VecDeque::new();
    queue.push_back((root, "/".to_string()));
    while let Some((addr, path)) = queue.pop_front() {
        if !seen.insert(addr) {
            continue;
        }
        if seen.len() > MAX_OBJECTS {
            w.problems.push(format!(
                "more than {MAX_OBJECTS} objects; '{path}' and the rest were not read"
            ));
            break;
        }
        w.objects = w.objects.saturating_add(1);
        let mut children = Vec::new();
        if let Err(e) = object(&mut rd, addr, &path, &mut w, &mut children) {
            w.problems.push(format!("object '{path}': {e}"));
        }
        for (child, name) in children {
            let p = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            queue.push_back((child, p));
        }
        if rd.spent > MAX_TOTAL {
            break;
        }
    }
    Ok(w)
}

/// Read one object header, its continuation blocks and what its messages say.
fn object(
    rd: &mut Rd<'_>,
    addr: u64,
    path: &str,
    w: &mut Walked,
    children: &mut Vec<(u64, String)>,
) -> R<()> {
    let head = rd.read(addr, 64, true)?;
    let mut blocks: VecDeque<(u64, u64, bool)> = VecDeque::new();
    let v2 = head.starts_with(b"OHDR");
    let mut order = false;
    if v2 {
        let mut c = Cur::new(&head);
        c.skip(4).ok_or("short object header")?;
        let version = c.u8().ok_or("short object header")?;
        if version != 2 {
            return Err(format!("object header version {version} is not known"));
        }
        let flags = c.u8().ok_or("short object header")?;
        order = flags & 0x04 != 0;
        if flags & 0x20 != 0 {
            c.skip(16).ok_or("short object header")?;
        }
        if flags & 0x10 != 0 {
            c.skip(4).ok_or("short object header")?;
        }
        let size = c.uint(1usize << (flags & 3)).ok_or("short object header")?;
        blocks.push_back((addr.saturating_add(c.p as u64), size, false));
    } else {
        let mut c = Cur::new(&head);
        let version = c.u8().ok_or("short object header")?;
        if version != 1 {
            return Err(format!("object header version {version} is not known"));
        }
        c.skip(7).ok_or("short object header")?;
        let size = c.u32().ok_or("short object header")?;
        blocks.push_back((addr.saturating_add(16), u64::from(size), false));
    }
    let mut seen_blocks: HashSet<u64> = HashSet::new();
    let mut info = ObjInfo::default();
    while let Some((at, size, chk)) = blocks.pop_front() {
        if !seen_blocks.insert(at) || seen_blocks.len() > 65_536 {
            continue;
        }
        let block = rd.read(at, size, false)?;
        let body = if chk {
            // An OCHK block: signature, messages, checksum.
            if !block.starts_with(b"OCHK") {
                return Err(format!(
                    "continuation block at {at:#x} has no OCHK signature"
                ));
            }
            block
                .get(4..block.len().saturating_sub(4))
                .unwrap_or_default()
        } else {
            block.as_slice()
        };
        let mut c = Cur::new(body);
        loop {
            let (ty, mflags, data) = if v2 {
                let hdr = if order { 6 } else { 4 };
                if c.left() < hdr {
                    break;
                }
                let ty = u16::from(c.u8().ok_or("short message")?);
                let size = usize::from(c.u16().ok_or("short message")?);
                let mflags = c.u8().ok_or("short message")?;
                if order {
                    c.skip(2).ok_or("short message")?;
                }
                let data = c
                    .take(size)
                    .ok_or_else(|| format!("message of type {ty} runs past its block"))?;
                (ty, mflags, data)
            } else {
                if c.left() < 8 {
                    break;
                }
                let ty = c.u16().ok_or("short message")?;
                let size = usize::from(c.u16().ok_or("short message")?);
                let mflags = c.u8().ok_or("short message")?;
                c.skip(3).ok_or("short message")?;
                let data = c
                    .take(size)
                    .ok_or_else(|| format!("message of type {ty} runs past its block"))?;
                (ty, mflags, data)
            };
            let m = Msg {
                ty,
                flags: mflags,
                data,
                v2,
            };
            if let Err(e) = message(rd, &m, path, w, children, &mut blocks, &mut info) {
                w.problems.push(format!("object '{path}': {e}"));
            }
        }
    }
    if let Err(e) = object_rows(rd, path, &info, w) {
        w.problems.push(format!("object '{path}': {e}"));
    }
    Ok(())
}

/// One header message: its type, flags and body, and whether the header is version 2.
struct Msg<'m> {
    ty: u16,
    flags: u8,
    data: &'m [u8],
    v2: bool,
}

fn message(
    rd: &mut Rd<'_>,
    m: &Msg<'_>,
    path: &str,
    w: &mut Walked,
    children: &mut Vec<(u64, String)>,
    blocks: &mut VecDeque<(u64, u64, bool)>,
    info: &mut ObjInfo,
) -> R<()> {
    let (ty, mflags, data, v2) = (m.ty, m.flags, m.data, m.v2);
    let (so, sl) = (rd.so, rd.sl);
    let mut c = Cur::new(data);
    let short = || format!("message of type {ty} is too short");
    if mflags & 0x02 != 0 && matches!(ty, 0x06 | 0x0c) {
        return Err(format!(
            "a shared {} message is kept elsewhere and was not read",
            if ty == 0x06 { "link" } else { "attribute" }
        ));
    }
    match ty {
        // Continuation: another block of this header's messages.
        0x10 => {
            let at = c.uint(so).ok_or_else(short)?;
            let len = c.uint(sl).ok_or_else(short)?;
            blocks.push_back((at, len, v2));
        }
        0x0c => attribute(rd, &mut c, path, w, info).map_err(|e| format!("attribute: {e}"))?,
        // A dataset's dataspace, datatype, layout and filters: kept for its rows.
        0x01 | 0x03 | 0x08 | 0x0b if mflags & 0x02 != 0 => info.shared = true,
        0x01 => info.space = Some(data.to_vec()),
        0x03 => info.dtype = Some(data.to_vec()),
        0x08 => info.layout = Some(data.to_vec()),
        0x0b => info.filters = Some(data.to_vec()),
        // Symbol table: an old-style group.
        0x11 => {
            let btree = c.uint(so).ok_or_else(short)?;
            let heap = c.uint(so).ok_or_else(short)?;
            let names = local_heap(rd, heap)?;
            let mut g = Group {
                names: &names,
                path,
                children,
                visited: HashSet::new(),
            };
            btree_v1(rd, btree, &mut g, w, 0)?;
        }
        // Link: a new-style group's member.
        0x06 => {
            let _version = c.u8().ok_or_else(short)?;
            let flags = c.u8().ok_or_else(short)?;
            let kind = if flags & 0x08 != 0 {
                c.u8().ok_or_else(short)?
            } else {
                0
            };
            if flags & 0x04 != 0 {
                c.skip(8).ok_or_else(short)?;
            }
            if flags & 0x10 != 0 {
                c.skip(1).ok_or_else(short)?;
            }
            let nlen = usize::try_from(c.uint(1usize << (flags & 3)).ok_or_else(short)?)
                .map_err(|e| e.to_string())?;
            let name = String::from_utf8_lossy(c.take(nlen).ok_or_else(short)?).into_owned();
            let at = join(path, &name);
            match kind {
                0 => children.push((c.uint(so).ok_or_else(short)?, name)),
                1 => {
                    let l = usize::from(c.u16().ok_or_else(short)?);
                    let t = c.take(l).ok_or_else(short)?;
                    w.links.push(Link {
                        path: at,
                        kind: "soft".into(),
                        target: String::from_utf8_lossy(t).into_owned(),
                    });
                }
                64 => {
                    let l = usize::from(c.u16().ok_or_else(short)?);
                    let t = c.take(l).ok_or_else(short)?;
                    // One byte of version and flags, then file and object names, each
                    // NUL-terminated.
                    let mut parts = t.get(1..).unwrap_or_default().split(|b| *b == 0);
                    let file = String::from_utf8_lossy(parts.next().unwrap_or_default());
                    let obj = String::from_utf8_lossy(parts.next().unwrap_or_default());
                    w.links.push(Link {
                        path: at,
                        kind: "external".into(),
                        target: format!("{file}:{obj}"),
                    });
                }
                k => {
                    let l = usize::from(c.u16().unwrap_or(0));
                    let t = c.take(l).unwrap_or_default();
                    w.links.push(Link {
                        path: at,
                        kind: format!("user-defined ({k})"),
                        target: String::from_utf8_lossy(t).into_owned(),
                    });
                }
            }
        }
        // Link info and attribute info: dense storage lives in a fractal heap.
        0x02 | 0x15 => {
            let _version = c.u8().ok_or_else(short)?;
            let flags = c.u8().ok_or_else(short)?;
            if flags & 0x01 != 0 {
                c.skip(if ty == 0x02 { 8 } else { 2 }).ok_or_else(short)?;
            }
            let heap = c.uint(so).ok_or_else(short)?;
            if !rd.undefined(heap) {
                return Err(format!(
                    "{} kept in dense storage (a fractal heap at {heap:#x}) were not read",
                    if ty == 0x02 { "links" } else { "attributes" }
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path == "/" {
        format!("/{name}")
    } else {
        format!("{path}/{name}")
    }
}

/// A local heap's data segment (the names of an old-style group's members).
fn local_heap(rd: &mut Rd<'_>, addr: u64) -> R<Vec<u8>> {
    let head = rd.heap_header(addr, b"HEAP", "local heap")?;
    let mut c = Cur::new(&head);
    let size = c.uint(rd.sl).ok_or("short local heap")?;
    c.skip(rd.sl).ok_or("short local heap")?;
    let data = c.uint(rd.so).ok_or("short local heap")?;
    rd.read(data, size, false)
}

fn heap_name(names: &[u8], off: u64) -> String {
    let s = usize::try_from(off)
        .ok()
        .and_then(|o| names.get(o..))
        .unwrap_or_default();
    let end = s.iter().position(|b| *b == 0).unwrap_or(s.len()).min(4096);
    String::from_utf8_lossy(s.get(..end).unwrap_or_default()).into_owned()
}

/// An old-style group being read: its local heap's names, its path, the members found, and
/// the B-tree nodes already visited.
struct Group<'g> {
    names: &'g [u8],
    path: &'g str,
    children: &'g mut Vec<(u64, String)>,
    visited: HashSet<u64>,
}

/// The header of a version-1 B-tree node at `addr` of node type `ntype` (0: group, 1: raw data
/// chunks): its level and the number of entries used.
fn btree_v1_header(rd: &mut Rd<'_>, addr: u64, ntype: u8, what: &str) -> R<(u8, u64)> {
    let head = rd.read(addr, 8, false)?;
    let mut c = Cur::new(&head);
    if c.take(4) != Some(b"TREE") {
        return Err(format!("no B-tree node at {addr:#x}"));
    }
    let found = c.u8().ok_or("short B-tree node")?;
    let level = c.u8().ok_or("short B-tree node")?;
    let used = u64::from(c.u16().ok_or("short B-tree node")?);
    if found != ntype {
        return Err(format!("B-tree node at {addr:#x} is not a {what} node"));
    }
    Ok((level, used))
}

/// A version-1 B-tree of group nodes, down to its symbol table nodes.
fn btree_v1(rd: &mut Rd<'_>, addr: u64, g: &mut Group<'_>, w: &mut Walked, depth: u32) -> R<()> {
    if depth > MAX_BTREE_DEPTH || !g.visited.insert(addr) {
        return Err(format!("group B-tree at {addr:#x} loops or is too deep"));
    }
    let (so, sl) = (rd.so, rd.sl);
    let (level, used) = btree_v1_header(rd, addr, 0, "group")?;
    // Header, siblings, then keys and children interleaved (one more key than children).
    let size = (8u64)
        .saturating_add(2u64.saturating_mul(so as u64))
        .saturating_add(used.saturating_add(1).saturating_mul(sl as u64))
        .saturating_add(used.saturating_mul(so as u64));
    let node = rd.read(addr, size, false)?;
    let mut c = Cur::new(&node);
    c.skip(8usize.saturating_add(so.saturating_mul(2)))
        .ok_or("short B-tree node")?;
    c.skip(sl).ok_or("short B-tree node")?;
    let mut kids = Vec::new();
    for _ in 0..used {
        kids.push(c.uint(so).ok_or("short B-tree node")?);
        c.skip(sl).ok_or("short B-tree node")?;
    }
    for kid in kids {
        let r = if level > 0 {
            btree_v1(rd, kid, g, w, depth.saturating_add(1))
        } else {
            symbol_node(rd, kid, g, w)
        };
        if let Err(e) = r {
            w.problems.push(format!("group '{}': {e}", g.path));
        }
    }
    Ok(())
}

fn symbol_node(rd: &mut Rd<'_>, addr: u64, g: &mut Group<'_>, w: &mut Walked) -> R<()> {
    let so = rd.so;
    let (names, path) = (g.names, g.path);
    let head = rd.read(addr, 8, false)?;
    let mut c = Cur::new(&head);
    if c.take(4) != Some(b"SNOD") {
        return Err(format!("no symbol table node at {addr:#x}"));
    }
    c.skip(2).ok_or("short symbol table node")?;
    let n = u64::from(c.u16().ok_or("short symbol table node")?);
    let entry = (so as u64).saturating_mul(2).saturating_add(24);
    let body = rd.read(addr.saturating_add(8), n.saturating_mul(entry), false)?;
    let mut c = Cur::new(&body);
    for _ in 0..n {
        let name_off = c.uint(so).ok_or("short symbol entry")?;
        let obj = c.uint(so).ok_or("short symbol entry")?;
        let cache = c.u32().ok_or("short symbol entry")?;
        c.skip(4).ok_or("short symbol entry")?;
        let scratch = c.take(16).ok_or("short symbol entry")?;
        let name = heap_name(names, name_off);
        if cache == 2 {
            let off = Cur::new(scratch).u32().unwrap_or(0);
            w.links.push(Link {
                path: join(path, &name),
                kind: "soft".into(),
                target: heap_name(names, u64::from(off)),
            });
        } else {
            g.children.push((obj, name));
        }
    }
    Ok(())
}

/// An attribute message: when its type is a string (fixed or variable length), its values,
/// and the value PyTables would unpickle.
fn attribute(
    rd: &mut Rd<'_>,
    c: &mut Cur<'_>,
    path: &str,
    w: &mut Walked,
    info: &mut ObjInfo,
) -> R<()> {
    let short = || "too short".to_string();
    let version = c.u8().ok_or_else(short)?;
    let flags = c.u8().ok_or_else(short)?;
    let nlen = usize::from(c.u16().ok_or_else(short)?);
    let tlen = usize::from(c.u16().ok_or_else(short)?);
    let slen = usize::from(c.u16().ok_or_else(short)?);
    if version == 3 {
        c.skip(1).ok_or_else(short)?;
    }
    let pad = |n: usize| {
        if version == 1 {
            n.div_ceil(8).saturating_mul(8)
        } else {
            n
        }
    };
    let name_raw = c.take(pad(nlen)).ok_or_else(short)?;
    let name_raw = name_raw.get(..nlen).unwrap_or_default();
    let name_end = name_raw
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(name_raw.len());
    let name = String::from_utf8_lossy(name_raw.get(..name_end).unwrap_or_default()).into_owned();
    let dt = c.take(pad(tlen)).ok_or_else(short)?;
    let ds = c.take(pad(slen)).ok_or_else(short)?;
    if !(1..=3).contains(&version) {
        return Err(format!(
            "'{name}': attribute message version {version} is not known"
        ));
    }
    if flags & 0x03 != 0 {
        return Err(format!(
            "'{name}': its datatype or dataspace is shared (kept elsewhere) and was not read"
        ));
    }
    let mut t = Cur::new(dt);
    let class = t.u8().ok_or_else(short)? & 0x0f;
    let bits = t.u8().ok_or_else(short)?;
    let bits2 = t.u8().ok_or_else(short)?;
    t.skip(1).ok_or_else(short)?;
    let size = usize::try_from(t.u32().ok_or_else(short)?).map_err(|e| e.to_string())?;
    // A string type as H5Tget_class and H5Tis_variable_str see it, and its character set
    // (PyTables reads every set but UTF-8 as bytes).
    let (string, utf8) = match class {
        3 => (true, (bits >> 4) & 0x0f == 1),
        9 => (bits & 0x0f == 1, bits2 & 0x0f == 1),
        _ => (false, false),
    };
    let var_string = class == 9
        && (bits & 0x0f == 1 || {
            // A sequence of one-byte elements reads as bytes too.
            let mut b = Cur::new(t.rest());
            b.skip(4).is_some() && b.u32() == Some(1)
        });
    if class != 3 && !var_string {
        return Ok(());
    }
    let n = elements(ds, rd.sl).ok_or_else(|| format!("'{name}': dataspace not understood"))?;
    let scalar = space(ds, rd.sl).is_some_and(|s| s.kind == SpaceKind::Scalar);
    let data = c.rest();
    let mut values = Vec::new();
    if class == 3 {
        let need = n.checked_mul(size).ok_or("attribute too large")?;
        let d = data
            .get(..need)
            .ok_or_else(|| format!("'{name}': its data is shorter than its dataspace"))?;
        for v in d.chunks(size.max(1)) {
            let end = v
                .iter()
                .rposition(|b| *b != 0)
                .map_or(0, |p| p.saturating_add(1));
            values.push(v.get(..end).unwrap_or_default().to_vec());
        }
    } else {
        let mut d = Cur::new(data);
        for _ in 0..n {
            let l = d
                .u32()
                .ok_or_else(|| format!("'{name}': its data is shorter than its dataspace"))?;
            let coll = d.uint(rd.so).ok_or_else(short)?;
            let idx = d.u32().ok_or_else(short)?;
            if l == 0 || rd.undefined(coll) || coll == 0 {
                values.push(Vec::new());
                continue;
            }
            let mut v = rd
                .global_heap(coll, idx)
                .map_err(|e| format!("'{name}': {e}"))?;
            v.truncate(usize::try_from(l).unwrap_or(usize::MAX));
            values.push(v);
            if values.len() > MAX_VALUES {
                break;
            }
        }
    }
    if string && !utf8 && scalar {
        if let Some(v) = values.first() {
            // Fixed: H5Aread's bytes, trailing NULs stripped (done above); variable: the
            // C string, up to its first NUL.
            let v = if class == 9 {
                let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
                v.get(..end).unwrap_or_default()
            } else {
                v.as_slice()
            };
            pytables_attribute(w, path, &name, v)?;
        }
    }
    if string && matches!(name.as_str(), "PSEUDOATOM" | "FLAVOR") {
        if name == "PSEUDOATOM" {
            info.pseudoatom = Some(values.clone());
        } else {
            info.flavor.clone_from(&values);
        }
    }
    if w.attrs.len() < MAX_VALUES {
        w.attrs.push(Attr {
            object: path.to_string(),
            name,
            values,
        });
    }
    Ok(())
}

/// Number of elements of a dataspace message (scalar: 1, null: 0).
fn elements(ds: &[u8], sl: usize) -> Option<usize> {
    let mut c = Cur::new(ds);
    let version = c.u8()?;
    let rank = c.u8()?;
    let _flags = c.u8()?;
    match version {
        1 => c.skip(5)?,
        2 => {
            if c.u8()? == 2 {
                return Some(0);
            }
        }
        _ => return None,
    }
    let mut n = 1usize;
    for _ in 0..rank {
        // Dimension sizes are lengths; a dataspace of more than a million values is not a
        // config.
        let d = usize::try_from(c.uint(sl)?).ok()?;
        n = n.checked_mul(d)?;
    }
    (n <= 1 << 20).then_some(n)
}

/// A dataspace's kind, as `H5Sget_simple_extent_type` reports it.
#[derive(Debug, PartialEq, Eq)]
enum SpaceKind {
    Scalar,
    Simple,
    Null,
}

#[derive(Debug)]
struct Space {
    kind: SpaceKind,
    dims: Vec<u64>,
}

/// A dataspace message: its kind and dimension sizes.
fn space(ds: &[u8], sl: usize) -> Option<Space> {
    let mut c = Cur::new(ds);
    let version = c.u8()?;
    let rank = c.u8()?;
    let _flags = c.u8()?;
    let kind = match version {
        1 => {
            c.skip(5)?;
            if rank == 0 {
                SpaceKind::Scalar
            } else {
                SpaceKind::Simple
            }
        }
        2 => match c.u8()? {
            0 => SpaceKind::Scalar,
            1 => SpaceKind::Simple,
            2 => SpaceKind::Null,
            _ => return None,
        },
        _ => return None,
    };
    let mut dims = Vec::new();
    if kind == SpaceKind::Simple {
        for _ in 0..rank {
            dims.push(c.uint(sl)?);
        }
    }
    Some(Space { kind, dims })
}

/// A scalar non-UTF-8 string attribute's bytes as PyTables reads them: kept when
/// `AttributeSet.__getattr__` would try `pickle.loads` on them.
fn pytables_attribute(w: &mut Walked, path: &str, name: &str, v: &[u8]) -> R<()> {
    if v.last() != Some(&b'.') || v == b"0." {
        return Ok(());
    }
    w.keep(path, format!("attribute {name}"), v.to_vec())?;
    // PyTables 1.x filters: the first `(ctables.Leaf\n` (or `(i...`) is read as
    // `tables.filters` (`_old_filters_re`) before pickle.loads, when the file's format
    // version is below 2.0. Both readings are kept.
    if name == "FILTERS" {
        let at = v
            .windows(14)
            .position(|s| s == b"(ctables.Leaf\n" || s == b"(itables.Leaf\n");
        if let Some(at) = at {
            let mut fixed = v.get(..at.saturating_add(2)).unwrap_or_default().to_vec();
            fixed.extend_from_slice(b"tables.filters\n");
            fixed.extend_from_slice(v.get(at.saturating_add(14)..).unwrap_or_default());
            w.keep(
                path,
                format!("attribute {name} (as PyTables 1.x filters)"),
                fixed,
            )?;
        }
    }
    Ok(())
}

/// Whether PyTables reads this dataset's rows with `ObjectAtom.fromarray` (`pickle.loads`):
/// its `PSEUDOATOM` is anything but `vlstring` or `vlunicode` (`VLArray._g_open`; an
/// attribute that unpickles to "object" counts), or, without one, its `FLAVOR` is `Object`
/// or a pickle (PyTables 1.x files).
fn pickled_rows(info: &ObjInfo) -> bool {
    match &info.pseudoatom {
        Some(values) => !values
            .iter()
            .all(|v| v.as_slice() == b"vlstring" || v.as_slice() == b"vlunicode"),
        None => info
            .flavor
            .iter()
            .any(|v| v.as_slice() == b"Object" || v.last() == Some(&b'.')),
    }
}

/// The rows of an object `VLArray`, each kept as a pickle. Other datasets are not read.
fn object_rows(rd: &mut Rd<'_>, path: &str, info: &ObjInfo, w: &mut Walked) -> R<()> {
    if !pickled_rows(info) {
        return Ok(());
    }
    let what = "its rows are pickles PyTables unpickles (an ObjectAtom VLArray)";
    if info.shared {
        return Err(format!(
            "{what}, but its type, space, layout or filters are a shared message, which was not read"
        ));
    }
    let (Some(dt), Some(ds), Some(layout)) = (&info.dtype, &info.space, &info.layout) else {
        // Not a dataset (a group with these attributes): PyTables opens no rows.
        return Ok(());
    };
    let mut t = Cur::new(dt);
    if t.u8().map(|b| b & 0x0f) != Some(9) {
        // Not variable-length: PyTables cannot open it as a VLArray.
        return Ok(());
    }
    // The base type's size: after the 8 bytes of the sequence's own header.
    t.skip(7).ok_or("short datatype")?;
    let mut b = Cur::new(t.rest());
    b.skip(4).ok_or("short datatype")?;
    let base = b.u32().ok_or("short datatype")?;
    if base != 1 {
        return Err(format!(
            "{what}, but its elements are {base}-byte values, which this reader does not convert"
        ));
    }
    let sp =
        space(ds, rd.sl).ok_or_else(|| format!("{what}, but its dataspace is not understood"))?;
    let nrows = match sp.kind {
        SpaceKind::Null => return Ok(()),
        SpaceKind::Scalar => 1u64,
        SpaceKind::Simple => match sp.dims.as_slice() {
            [n] => *n,
            _ => return Err(format!("{what}, but it is not one-dimensional")),
        },
    };
    // One element: sequence length, then a global heap id.
    let esize = 4usize.saturating_add(rd.so).saturating_add(4);
    let filters = match &info.filters {
        Some(f) => pipeline(f).map_err(|e| format!("{what}, but {e}"))?,
        None => Vec::new(),
    };
    let mut rows = Rows {
        path,
        nrows,
        esize,
        read: 0,
    };
    let mut l = Cur::new(layout);
    let version = l.u8().ok_or("short layout")?;
    match version {
        3 | 4 => {
            let class = l.u8().ok_or("short layout")?;
            match class {
                0 => {
                    let size = usize::from(l.u16().ok_or("short layout")?);
                    let data = l.take(size).ok_or("short layout")?.to_vec();
                    rows.elements(rd, w, &data, 0)
                }
                1 => {
                    let addr = l.uint(rd.so).ok_or("short layout")?;
                    let size = l.uint(rd.sl).ok_or("short layout")?;
                    if rd.undefined(addr) {
                        return Ok(());
                    }
                    let data = rd.read(addr, size, false)?;
                    rows.elements(rd, w, &data, 0)
                }
                2 if version == 3 => {
                    let dims = l.u8().ok_or("short layout")?;
                    let addr = l.uint(rd.so).ok_or("short layout")?;
                    let c0 = l.u32().ok_or("short layout")?;
                    if dims != 2 {
                        return Err(format!("{what}, but its chunks have {dims} dimensions"));
                    }
                    if rd.undefined(addr) {
                        return Ok(());
                    }
                    let mut ch = Chunks {
                        filters: &filters,
                        per_chunk: u64::from(c0),
                        visited: HashSet::new(),
                    };
                    ch.btree(rd, w, &mut rows, addr, 0)
                }
                2 => {
                    let flags = l.u8().ok_or("short layout")?;
                    let dims = l.u8().ok_or("short layout")?;
                    let enc = usize::from(l.u8().ok_or("short layout")?);
                    let c0 = l.uint(enc).ok_or("short layout")?;
                    l.skip(enc).ok_or("short layout")?;
                    let index = l.u8().ok_or("short layout")?;
                    if dims != 2 || index != 1 {
                        return Err(format!(
                            "{what}, but its chunk index (type {index}) is not read by this walker"
                        ));
                    }
                    let (size, mask) = if flags & 0x02 != 0 {
                        (
                            Some(l.uint(rd.sl).ok_or("short layout")?),
                            l.u32().ok_or("short layout")?,
                        )
                    } else {
                        (None, 0)
                    };
                    let addr = l.uint(rd.so).ok_or("short layout")?;
                    if rd.undefined(addr) {
                        return Ok(());
                    }
                    let ch = Chunks {
                        filters: &filters,
                        per_chunk: c0,
                        visited: HashSet::new(),
                    };
                    let raw = ch.expected(esize)?;
                    let data = rd.read(addr, size.unwrap_or(raw), false)?;
                    let data = ch.unfilter(data, mask, raw)?;
                    rows.elements(rd, w, &data, 0)
                }
                c => Err(format!(
                    "{what}, but its layout (class {c}) is not read by this walker"
                )),
            }
        }
        v => Err(format!(
            "{what}, but its layout message (version {v}) is not read by this walker"
        )),
    }
}

/// The rows of one object dataset as they are read.
struct Rows<'p> {
    path: &'p str,
    nrows: u64,
    esize: usize,
    read: usize,
}

impl Rows<'_> {
    /// The elements in `data` (the first is row `first`): each row's bytes from the global
    /// heap, kept as a pickle. Rows past the dataspace's extent are not read, as PyTables
    /// reads none.
    fn elements(&mut self, rd: &mut Rd<'_>, w: &mut Walked, data: &[u8], first: u64) -> R<()> {
        let mut c = Cur::new(data);
        let mut row = first;
        while row < self.nrows {
            let Some(el) = c.take(self.esize) else { break };
            let mut e = Cur::new(el);
            let l = e.u32().ok_or("short element")?;
            let coll = e.uint(rd.so).ok_or("short element")?;
            let idx = e.u32().ok_or("short element")?;
            // ObjectAtom.fromarray: an empty row is None, not unpickled.
            if l != 0 && coll != 0 && !rd.undefined(coll) {
                self.read = self.read.saturating_add(1);
                if self.read > MAX_ROWS {
                    return Err(format!(
                        "more than {MAX_ROWS} pickled rows; row {row} and the rest were not read"
                    ));
                }
                let mut v = rd.global_heap(coll, idx)?;
                let want = usize::try_from(l).unwrap_or(usize::MAX);
                if v.len() < want {
                    return Err(format!(
                        "row {row} claims {l} bytes, but its heap object holds {}",
                        v.len()
                    ));
                }
                v.truncate(want);
                w.keep(self.path, format!("row {row}"), v)?;
            }
            row = row.saturating_add(1);
        }
        Ok(())
    }
}

/// The filters of a pipeline message, in the order they were applied when writing.
fn pipeline(f: &[u8]) -> R<Vec<(u16, Vec<u32>)>> {
    let mut c = Cur::new(f);
    let short = "its filter pipeline message is too short";
    let version = c.u8().ok_or(short)?;
    let n = c.u8().ok_or(short)?;
    if version == 1 {
        c.skip(6).ok_or(short)?;
    } else if version != 2 {
        return Err(format!(
            "its filter pipeline (version {version}) is not known"
        ));
    }
    let mut out = Vec::new();
    for _ in 0..n {
        let id = c.u16().ok_or(short)?;
        let nlen = if version == 1 || id >= 256 {
            usize::from(c.u16().ok_or(short)?)
        } else {
            0
        };
        let _flags = c.u16().ok_or(short)?;
        let nvals = usize::from(c.u16().ok_or(short)?);
        let name_len = if version == 1 {
            nlen.div_ceil(8).saturating_mul(8)
        } else {
            nlen
        };
        c.skip(name_len).ok_or(short)?;
        let mut vals = Vec::new();
        for _ in 0..nvals {
            vals.push(c.u32().ok_or(short)?);
        }
        if version == 1 && nvals % 2 == 1 {
            c.skip(4).ok_or(short)?;
        }
        out.push((id, vals));
    }
    Ok(out)
}

/// Chunked storage of a one-dimensional object dataset.
struct Chunks<'f> {
    filters: &'f [(u16, Vec<u32>)],
    /// Elements per chunk.
    per_chunk: u64,
    visited: HashSet<u64>,
}

impl Chunks<'_> {
    /// Bytes of one chunk once unfiltered.
    fn expected(&self, esize: usize) -> R<u64> {
        let n = self
            .per_chunk
            .checked_mul(esize as u64)
            .filter(|n| *n <= MAX_READ)
            .ok_or("a chunk larger than the read limit")?;
        Ok(n)
    }

    /// A chunk's bytes through the pipeline, last filter first; filters whose bit is set in
    /// `mask` were skipped when writing.
    fn unfilter(&self, mut data: Vec<u8>, mask: u32, raw: u64) -> R<Vec<u8>> {
        for (i, (id, vals)) in self.filters.iter().enumerate().rev() {
            if i < 32 && mask & 1u32.wrapping_shl(i as u32) != 0 {
                continue;
            }
            data = match id {
                1 => {
                    use std::io::Read;
                    let mut out = Vec::new();
                    flate2::read::ZlibDecoder::new(data.as_slice())
                        .take(raw.saturating_add(1))
                        .read_to_end(&mut out)
                        .map_err(|e| format!("a deflated chunk does not inflate: {e}"))?;
                    out
                }
                2 => {
                    let size = vals.first().copied().unwrap_or(1);
                    unshuffle(&data, usize::try_from(size).unwrap_or(1))
                }
                3 => {
                    let keep = data.len().saturating_sub(4);
                    data.truncate(keep);
                    data
                }
                other => {
                    let name = match other {
                        32001 => " (blosc)",
                        32026 => " (blosc2)",
                        32000 => " (lzf)",
                        307 => " (bzip2)",
                        305 => " (lzo)",
                        4 => " (szip)",
                        _ => "",
                    };
                    return Err(format!(
                        "its chunks pass filter {other}{name}, which this walker does not decode; its rows were not read"
                    ));
                }
            };
        }
        Ok(data)
    }

    /// A version-1 B-tree of raw data chunks (type 1), down to the chunks.
    fn btree(
        &mut self,
        rd: &mut Rd<'_>,
        w: &mut Walked,
        rows: &mut Rows<'_>,
        addr: u64,
        depth: u32,
    ) -> R<()> {
        if depth > MAX_BTREE_DEPTH || !self.visited.insert(addr) {
            return Err(format!("chunk B-tree at {addr:#x} loops or is too deep"));
        }
        let (so, raw) = (rd.so, self.expected(rows.esize)?);
        let (level, used) = btree_v1_header(rd, addr, 1, "chunk")?;
        // A key: chunk size, filter mask, then two 8-byte offsets (the row's, the element's).
        let key = 8u64.saturating_add(16);
        let size = 8u64
            .saturating_add(2u64.saturating_mul(so as u64))
            .saturating_add(used.saturating_add(1).saturating_mul(key))
            .saturating_add(used.saturating_mul(so as u64));
        let node = rd.read(addr, size, false)?;
        let mut c = Cur::new(&node);
        c.skip(8usize.saturating_add(so.saturating_mul(2)))
            .ok_or("short B-tree node")?;
        let mut kids = Vec::new();
        for _ in 0..used {
            let csize = c.u32().ok_or("short B-tree node")?;
            let mask = c.u32().ok_or("short B-tree node")?;
            let off = c.uint(8).ok_or("short B-tree node")?;
            c.skip(8).ok_or("short B-tree node")?;
            kids.push((c.uint(so).ok_or("short B-tree node")?, csize, mask, off));
        }
        for (kid, csize, mask, off) in kids {
            if level > 0 {
                self.btree(rd, w, rows, kid, depth.saturating_add(1))?;
            } else {
                if off >= rows.nrows {
                    continue;
                }
                if off.checked_rem(self.per_chunk) != Some(0) {
                    return Err(format!(
                        "chunk at {kid:#x} starts at row {off}, off the chunk grid"
                    ));
                }
                let data = rd.read(kid, u64::from(csize), false)?;
                let data = self.unfilter(data, mask, raw)?;
                rows.elements(rd, w, &data, off)?;
            }
        }
        Ok(())
    }
}

/// HDF5's shuffle filter undone: byte `j` of element `i` is at `j * n + i`.
fn unshuffle(data: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 {
        return data.to_vec();
    }
    let n = data.len().checked_div(size).unwrap_or(0);
    let body = n.saturating_mul(size);
    let mut out = vec![0u8; data.len()];
    for (k, b) in data.iter().take(body).enumerate() {
        let (Some(j), Some(i)) = (k.checked_div(n), k.checked_rem(n)) else {
            break;
        };
        if let Some(slot) = out.get_mut(i.saturating_mul(size).saturating_add(j)) {
            *slot = *b;
        }
    }
    // Bytes past the last whole element are left as they are.
    for (k, b) in data.iter().enumerate().skip(body) {
        if let Some(slot) = out.get_mut(k) {
            *slot = *b;
        }
    }
    out
}

/// Every pickle a walk kept, analysed as `pickle.loads` reads it, each as a member named by
/// its object and attribute or row (`/df <attribute pandas_type>`). Imports are judged as
/// everywhere else (default deny); bytes that do not behave as a pickle report nothing, as
/// PyTables swallows the error and keeps the bytes.
pub fn analyse_pickles(w: &Walked, cx: &mut crate::inspect::Cx<'_>) {
    use crate::inspect::pickle::{analyse, Kind};
    for p in &w.pickles {
        let label = format!("{} <{}>", p.object, p.what);
        let mut r: &[u8] = &p.bytes;
        cx.nest(label, |cx| {
            analyse(&mut r, Some(p.bytes.len() as u64), cx, Kind::Sniff);
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_pytables_unpickles() {
        let mut w = Walked::default();
        pytables_attribute(&mut w, "/", "a", b"frame").unwrap();
        pytables_attribute(&mut w, "/", "b", b"0.").unwrap();
        pytables_attribute(&mut w, "/", "c", b"N.").unwrap();
        let names: Vec<_> = w.pickles.iter().map(|p| p.what.as_str()).collect();
        assert_eq!(names, ["attribute c"]);
        // PyTables 1.x filters are read with their first tables.Leaf import renamed; both
        // readings are kept.
        let mut w = Walked::default();
        pytables_attribute(&mut w, "/", "FILTERS", b"(ctables.Leaf\nFilters\n(tR.").unwrap();
        assert_eq!(w.pickles.len(), 2);
        assert_eq!(w.pickles[1].bytes, b"(ctables.filters\nFilters\n(tR.");
    }

    #[test]
    fn unshuffle_restores_elements() {
        assert_eq!(unshuffle(&[1, 3, 5, 2, 4, 6, 9], 2), [1, 2, 3, 4, 5, 6, 9]);
        assert_eq!(unshuffle(&[7], 4), [7]);
    }

    #[test]
    fn pseudoatoms_that_read_as_objects() {
        let mut i = ObjInfo::default();
        assert!(!pickled_rows(&i));
        i.pseudoatom = Some(vec![b"vlstring".to_vec()]);
        assert!(!pickled_rows(&i));
        i.pseudoatom = Some(vec![b"object".to_vec()]);
        assert!(pickled_rows(&i));
        // A pickle that may load as "object".
        i.pseudoatom = Some(vec![b"Vobject\n.".to_vec()]);
        assert!(pickled_rows(&i));
        i.pseudoatom = None;
        i.flavor = vec![b"Object".to_vec()];
        assert!(pickled_rows(&i));
    }
}
