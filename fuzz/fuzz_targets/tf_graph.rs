//! TensorFlow graphs (SavedModel, GraphDef, keras_metadata.pb) through the protobuf walker.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Default::default();
    for name in ["saved_model.pb", "frozen.pb", "keras_metadata.pb"] {
        let _ = modelgate::inspect::inspect_bytes(name, data, &limits);
    }
});
