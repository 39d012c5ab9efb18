//! Compressed streams (gzip, bz2, xz, lzma, zstd, zlib, lz4, joblib's old ZF): decompressed
//! as a stream within the file's decompression budget, and the content inspected.

use super::{inspect as inspect_inner, Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::finding::Severity;
use crate::identify::Format;
use crate::input::{Counted, Input, Limited, HEAD_LEN, MAX_RATIO};
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Memory the xz/lzma decoders may use for their dictionary (KiB).
const LZMA_MEM_KB: u32 = 256 * 1024;

fn decoder<'r>(format: Format, raw: Box<dyn Read + 'r>) -> io::Result<Box<dyn Read + 'r>> {
    Ok(match format {
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
        Format::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(raw, true, LZMA_MEM_KB)),
        Format::Lzma => Box::new(lzma_rust2::LzmaReader::new_mem_limit(
            raw,
            LZMA_MEM_KB,
            None,
        )?),
        Format::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(raw)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
        ),
        Format::Zlib => Box::new(flate2::read::ZlibDecoder::new(raw)),
        Format::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
        Format::JoblibZfile => {
            let mut raw = raw;
            io::copy(&mut (&mut raw).take(21), &mut io::sink())?;
            // joblib <= 0.8.4 wrote one more space; read_zfile skips it when present.
            let mut next = [0u8; 1];
            raw.read_exact(&mut next)?;
            let first: &[u8] = if next[0] == b' ' { &[] } else { &next };
            Box::new(flate2::read::ZlibDecoder::new(
                io::Cursor::new(first.to_vec()).chain(raw),
            ))
        }
        _ => return Err(io::Error::other("not a compression format")),
    })
}

/// Whether every decoder a loader uses refuses this stream before producing a byte, judged
/// from its header alone (so a limit of ours, such as the lzma dictionary memory, never
/// counts): an `.lzma` (alone) stream shorter than its 13-byte header and the range coder's
/// 5 init bytes, or whose range coder does not start with 0 (liblzma's `rc_read_init` and
/// lzma_rust2 both refuse it); a zstd frame whose header ruzstd refuses: libzstd (python-
/// zstandard, which pandas and joblib use) refuses the same headers: a reserved bit, a
/// dictionary id without a dictionary, a window past its default 128 MiB limit (ruzstd's
/// limit too), a header cut short.
fn stream_never_starts(format: Format, head: &[u8]) -> bool {
    match format {
        // xz: the stream flags (bytes 6-7) carry a CRC32 (bytes 8-11), and reserved flag bits
        // must be clear: liblzma refuses either before producing a byte (LZMA_DATA_ERROR,
        // LZMA_OPTIONS_ERROR).
        Format::Xz => match (head.get(6..8), head.get(8..12)) {
            (Some(flags), Some(crc)) => {
                crc32fast::hash(flags).to_le_bytes() != crc
                    || flags.first() != Some(&0)
                    || flags.get(1).is_some_and(|f| f & 0xf0 != 0)
            }
            _ => true,
        },
        // lz4 frames: the descriptor's version bits must be 01 and its reserved bits clear
        // (lz4.frame and lz4_flex refuse the frame before any block).
        Format::Lz4 => match (head.get(4), head.get(5)) {
            (Some(flg), Some(bd)) => {
                flg >> 6 != 0b01 || flg & 0b10 != 0 || bd & 0b1000_1111 != 0 || bd >> 4 < 4
            }
            _ => true,
        },
        Format::Lzma => head.get(13).is_none_or(|b| *b != 0) || head.len() < 18,
        Format::Zstd => true,
        _ => false,
    }
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>, format: Format) -> Identified {
    let budget = cx.decompress_budget();
    let never_starts = stream_never_starts(format, &input.head);
    let raw = match input.reader() {
        Ok(r) => r,
        Err(e) => {
            cx.io_error(Code::ReadError, "reading compressed stream", &e);
            return format.into();
        }
    };
    let consumed = Rc::new(Cell::new(0u64));
    let raw: Box<dyn Read + '_> = Box::new(Counted {
        inner: raw,
        count: Rc::clone(&consumed),
    });
    let dec = match decoder(format, raw) {
        Ok(d) => d,
        Err(e) => {
            // A header every decoder refuses: nothing decompresses, so no loader reads
            // anything from it (random bytes that start like a zstd or lzma header).
            let (severity, why) = if never_starts {
                (
                    Severity::Info,
                    "; nothing decompresses, so no loader reads anything from it",
                )
            } else {
                (Code::CompressionError.default_severity(), "")
            };
            cx.report_as(
                Code::CompressionError,
                severity,
                Some(0),
                format!("{} stream cannot be opened: {e}{why}", format.label()),
                ev! {"format" => format.label()},
            );
            return format.into();
        }
    };
    let mut lim = Limited::with_ratio(dec, budget, consumed, MAX_RATIO);
    // The start of the content, as far as it decompresses.
    let mut head = Vec::with_capacity(HEAD_LEN);
    let broken = (&mut lim)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .err();
    let inner = cx.nest(format!("<{}>", format.label()), |cx| match broken {
        None => {
            let mut rest = io::Cursor::new(head).chain(&mut lim);
            match Input::stream(&mut rest) {
                Ok(mut inp) => Some(inspect_inner(&mut inp, cx, None)),
                Err(e) => {
                    cx.io_error(
                        Code::CompressionError,
                        &format!("decompressing {}", format.label()),
                        &e,
                    );
                    None
                }
            }
        }
        Some(e) if crate::input::is_limit_error(&e) => {
            cx.io_error(
                Code::CompressionError,
                &format!("decompressing {}", format.label()),
                &e,
            );
            None
        }
        Some(e) => {
            // A loader decompressing this stream reads these bytes, then raises: inspect them.
            let produced = head.len();
            let mut prefix = &head[..];
            let id = Input::stream(&mut prefix)
                .ok()
                .map(|mut inp| inspect_inner(&mut inp, cx, None));
            // Nothing a loader acts on came out (random bytes that start like a zlib
            // header, say): the loader fails before reading anything. Only where this decoder
            // yields what it decoded before the break as Python's does (zlib, gzip, bz2):
            // the xz/lzma decoder here holds back a chunk that Python's lzma yields, and what
            // it held back may be a payload.
            let streams_like_python = matches!(
                format,
                Format::Zlib | Format::Gzip | Format::Bzip2 | Format::JoblibZfile
            );
            // Or the header alone makes every decoder refuse the stream (checked from the
            // header: xz, lz4 and lzma decoders here fail only on the first read).
            let header_refused =
                matches!(format, Format::Xz | Format::Lz4 | Format::Lzma) && never_starts;
            let harmless = header_refused
                || streams_like_python
                    && (produced == 0 || id.is_some_and(|i| i.format == Format::Unknown));
            let severity = if harmless {
                Severity::Info
            } else {
                Code::CompressionError.default_severity()
            };
            let why = if header_refused {
                "; its header is one every decoder refuses, so no loader reads anything from it"
                    .to_string()
            } else if produced == 0 && streams_like_python {
                "; nothing decompresses, so no loader reads anything from it".to_string()
            } else if !streams_like_python {
                format!("; the {produced} bytes decoded here before the break were inspected, and Python's decoder may yield more")
            } else {
                format!("; the {produced} bytes before the break were inspected")
            };
            cx.report_as(
                Code::CompressionError,
                severity,
                Some(0),
                format!("decompressing {}: {e}{why}", format.label()),
                ev! {"format" => format.label(), "decompressed" => produced},
            );
            id
        }
    });
    cx.decompressed = cx.decompressed.saturating_add(lim.produced);
    match inner.flatten() {
        Some(i) if i.label == "joblib" => Identified {
            format,
            label: "joblib-compressed",
        },
        Some(i) if i.format == Format::Pickle => Identified {
            format,
            label: "pickle-compressed",
        },
        _ => format.into(),
    }
}
