//! The safetensors header verifier.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = (data.len() as u64).to_le_bytes().to_vec();
    v.push(b'{');
    v.extend_from_slice(data);
    let _ = modelgate::inspect::inspect_bytes("fuzz.safetensors", &v, &Default::default());
});
