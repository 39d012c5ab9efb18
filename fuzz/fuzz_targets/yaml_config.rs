//! YAML configs (Hydra `_target_`, PyYAML tags, MLflow MLmodel) through the event walker.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Default::default();
    for name in ["model_config.yaml", "m/MLmodel"] {
        let _ = modelgate::inspect::inspect_bytes(name, data, &limits);
    }
});
