//! The pickle machine on arbitrary opcodes (PROTO prefix forces the pickle inspector).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = vec![0x80, 4];
    v.extend_from_slice(data);
    let _ = modelgate::inspect::inspect_bytes("fuzz.pkl", &v, &Default::default());
});
