//! Any bytes through identification and every inspector.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate::inspect::inspect_bytes("fuzz", data, &Default::default());
});
