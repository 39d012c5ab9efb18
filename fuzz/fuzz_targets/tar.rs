//! The tar walker (a ustar magic at offset 257 forces it).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = data.to_vec();
    if v.len() < 512 {
        v.resize(512, 0);
    }
    v[257..262].copy_from_slice(b"ustar");
    let _ = modelgate::inspect::inspect_bytes("fuzz.tar", &v, &Default::default());
});
