//! The Keras config walker, as json.loads(bytes) reads a config (encodings, NaN/Infinity).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate::inspect::inspect_bytes("config.json", data, &Default::default());
});
