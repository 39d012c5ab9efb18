//! Sigstore / OMS bundles, manifests and policies: the parsers for files a user is handed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate::signature::dsse::Bundle::parse(data);
    let _ = modelgate::manifest::UnverifiedManifest::new(data.to_vec()).trust_unsigned();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = toml::from_str::<modelgate::policy::Policy>(text);
    }
});
