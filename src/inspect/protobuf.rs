//! A bounded protobuf wire reader over a seekable file, for the inspectors that walk protobuf
//! models (ONNX, TensorFlow) without their schemas compiled in: fields are read by number and
//! wire type, large ones (weights) skipped by seeking, never read.

use crate::input::ReadSeek;
use std::io::{BufReader, Read};

/// Strings kept (locations, domains, op names), at most this long.
pub const MAX_STR: u64 = 4096;

pub struct Wire<'a> {
    pub r: BufReader<&'a mut dyn ReadSeek>,
    pub pos: u64,
    /// The file's length: a field that runs past it is an error, as protobuf parsing is.
    pub len: u64,
    pub fields: u64,
}

pub type R<T> = Result<T, String>;

impl<'a> Wire<'a> {
    pub fn new(r: BufReader<&'a mut dyn ReadSeek>, len: u64) -> Self {
        Wire {
            r,
            pos: 0,
            len,
            fields: 0,
        }
    }
    /// A string of `n` bytes, kept when at most `max` long (skipped and empty otherwise).
    pub fn string_max(&mut self, n: u64, max: u64) -> R<String> {
        if n > max {
            self.skip(n)?;
            return Ok(String::new());
        }
        let mut b = vec![0u8; usize::try_from(n).unwrap_or(0)];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("at {}: {e}", self.pos))?;
        self.pos = self.pos.saturating_add(n);
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    pub fn byte(&mut self) -> R<u8> {
        let mut b = [0u8; 1];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("at {}: {e}", self.pos))?;
        self.pos = self.pos.saturating_add(1);
        Ok(b[0])
    }
    pub fn varint(&mut self) -> R<u64> {
        let mut v = 0u64;
        for i in 0..10u32 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).wrapping_shl(7u32.saturating_mul(i));
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("varint too long at {}", self.pos))
    }
    pub fn skip(&mut self, n: u64) -> R<()> {
        let n_i = i64::try_from(n).map_err(|_| "length out of range".to_string())?;
        self.r
            .seek_relative(n_i)
            .map_err(|e| format!("at {}: {e}", self.pos))?;
        self.pos = self.pos.saturating_add(n);
        if self.pos > self.len {
            return Err(format!(
                "a field runs past the end of the file ({})",
                self.len
            ));
        }
        Ok(())
    }
    /// A short string (a name, a location): kept up to [`MAX_STR`] bytes.
    pub fn string(&mut self, n: u64) -> R<String> {
        self.string_max(n, MAX_STR)
    }
}

/// Nesting of messages followed, at most.
pub const MAX_DEPTH: u32 = 32;
/// Fields read in one file, at most.
const MAX_FIELDS: u64 = 50_000_000;

/// Walk the fields of one message, which ends at `end` (`None`: at the end of the file), at
/// nesting `depth`. Varints and fixed-size fields are skipped; each length-delimited field is
/// handed to `len_field(w, field number, length, where it ends)`, which either reads exactly
/// those bytes (a string, or a nested message it walks) and returns true, or returns false to
/// have them skipped unread. A field that runs past its message, or a nested read that does not
/// end where its field does, is an error, as protobuf parsing is.
pub fn message(
    w: &mut Wire<'_>,
    end: Option<u64>,
    depth: u32,
    mut len_field: impl FnMut(&mut Wire<'_>, u64, u64, u64) -> R<bool>,
) -> R<()> {
    if depth > MAX_DEPTH {
        return Err("messages nested too deep".into());
    }
    let end = end.unwrap_or(w.len);
    while w.pos < end {
        w.fields = w.fields.saturating_add(1);
        if w.fields > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        let tag = w.varint()?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                w.varint()?;
            }
            1 => w.skip(8)?,
            5 => w.skip(4)?,
            2 => {
                let n = w.varint()?;
                let stop = w.pos.checked_add(n).ok_or("length overflows")?;
                if stop > end {
                    return Err(format!(
                        "a field of {n} bytes at {} runs past its message",
                        w.pos
                    ));
                }
                if len_field(w, field, n, stop)? {
                    if w.pos != stop {
                        return Err(format!("a message ends at {} instead of {stop}", w.pos));
                    }
                } else {
                    w.skip(n)?;
                }
            }
            _ => return Err(format!("wire type {wire} at {} is not protobuf", w.pos)),
        }
    }
    Ok(())
}
