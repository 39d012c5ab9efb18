//! The .npy header parser and object-array path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate::inspect::numpy::parse_header(data);
    let mut v = b"\x93NUMPY".to_vec();
    v.extend_from_slice(data);
    let _ = modelgate::inspect::inspect_bytes("fuzz.npy", &v, &Default::default());
});
