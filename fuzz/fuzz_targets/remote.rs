//! Remote inputs: the hf:// URL grammar, `Link` headers, and the ranged reader (any sequence of
//! seeks and reads over a file gives the file's bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate::remote::{hf, next_link, RangeReader, RemoteFile, Stats};
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = hf::parse(&text);
    let _ = next_link(&text);
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(split) * 97).min(rest.len());
    let (ops, file) = rest.split_at(cut);
    let mut r = RangeReader::new(
        RemoteFile::in_memory("f", file.to_vec()),
        Arc::new(Stats::default()),
    );
    let mut c = Cursor::new(file.to_vec());
    for op in ops.chunks(3) {
        let v = u16::from_le_bytes([
            op.first().copied().unwrap_or(0),
            op.get(1).copied().unwrap_or(0),
        ]);
        if op.first().is_some_and(|b| b & 1 == 0) {
            let p = u64::from(v);
            assert_eq!(
                r.seek(SeekFrom::Start(p)).ok(),
                c.seek(SeekFrom::Start(p)).ok()
            );
        } else {
            let n = usize::from(v % 20_000);
            let mut a = vec![0u8; n];
            let mut b = vec![0u8; n];
            let ga = r.read(&mut a).unwrap_or(0);
            let gb = c.read(&mut b).unwrap_or(0);
            assert!(ga <= gb);
            assert_eq!(a.get(..ga), b.get(..ga));
            let back = i64::try_from(gb).unwrap_or(0) - i64::try_from(ga).unwrap_or(0);
            let _ = c.seek(SeekFrom::Current(-back));
        }
    }
});
