//! HDF5 (legacy Keras `.h5`), read by structure as the HDF5 library reads it for h5py: the
//! superblock (versions 0 to 3, after a user block of 512, 1024, ... bytes), object headers
//! (versions 1 and 2, with their continuation blocks), every group below the root (symbol
//! tables of version-1 B-trees and local heaps, and link messages), attribute messages
//! (versions 1 to 3) with fixed-length and variable-length string values (the latter from
//! global heap collections), and links: soft, external and user-defined.
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
            if let Err(e) = message(rd, ty, mflags, data, path, w, children, &mut blocks, v2) {
                w.problems.push(format!("object '{path}': {e}"));
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn message(
    rd: &mut Rd<'_>,
    ty: u16,
    mflags: u8,
    data: &[u8],
    path: &str,
    w: &mut Walked,
    children: &mut Vec<(u64, String)>,
    blocks: &mut VecDeque<(u64, u64, bool)>,
    v2: bool,
) -> R<()> {
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
        0x0c => attribute(rd, &mut c, path, w).map_err(|e| format!("attribute: {e}"))?,
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

/// A version-1 B-tree of group nodes, down to its symbol table nodes.
fn btree_v1(rd: &mut Rd<'_>, addr: u64, g: &mut Group<'_>, w: &mut Walked, depth: u32) -> R<()> {
    if depth > MAX_BTREE_DEPTH || !g.visited.insert(addr) {
        return Err(format!("group B-tree at {addr:#x} loops or is too deep"));
    }
    let (so, sl) = (rd.so, rd.sl);
    let head = rd.read(addr, 8, false)?;
    let mut c = Cur::new(&head);
    if c.take(4) != Some(b"TREE") {
        return Err(format!("no B-tree node at {addr:#x}"));
    }
    let ntype = c.u8().ok_or("short B-tree node")?;
    let level = c.u8().ok_or("short B-tree node")?;
    let used = u64::from(c.u16().ok_or("short B-tree node")?);
    if ntype != 0 {
        return Err(format!("B-tree node at {addr:#x} is not a group node"));
    }
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

/// An attribute message: when its type is a string (fixed or variable length), its values.
fn attribute(rd: &mut Rd<'_>, c: &mut Cur<'_>, path: &str, w: &mut Walked) -> R<()> {
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
    t.skip(2).ok_or_else(short)?;
    let size = usize::try_from(t.u32().ok_or_else(short)?).map_err(|e| e.to_string())?;
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
