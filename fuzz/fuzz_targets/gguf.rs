//! The GGUF header and metadata reader (and the chat templates it hands to the Jinja judge).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(data);
    let _ = modelgate::inspect::inspect_bytes("fuzz.gguf", &v, &Default::default());
});
