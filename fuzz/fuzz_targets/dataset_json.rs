//! Any bytes as a JSON Lines record: the byte-level canonicalizer must agree with
//! serde_json + serde_json_canonicalizer on what is valid, and on the canonical bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = modelgate::dataset::canon::canonicalize(data).ok();
    let reference = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| serde_json_canonicalizer::to_vec(&v).ok());
    assert_eq!(ours, reference);
    let mut r = modelgate::dataset::canon::Record::default();
    if r.parse(data).is_ok() {
        let _ = r.digests(data, Some(0));
    }
});
