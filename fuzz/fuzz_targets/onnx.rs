//! The ONNX protobuf walker (external data, operator domains) on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate::inspect::inspect_bytes("fuzz.onnx", data, &Default::default());
});
