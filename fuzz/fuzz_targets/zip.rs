//! The raw zip reader (local-header signature prefix forces it).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = b"PK\x03\x04".to_vec();
    v.extend_from_slice(data);
    let _ = modelgate::inspect::inspect_bytes("fuzz.pt", &v, &Default::default());
});
