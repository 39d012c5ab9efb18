//! Configs read by name: TensorFlow text graphs (the protobuf text tokenizer), skops,
//! sentence-transformers, diffusers and MLflow files, and the Python forms judged by name.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate::inspect::{inspect_bytes, pbtxt, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = pbtxt::ops(data, 64);
    let limits = Limits::default();
    for name in [
        "m/saved_model.pbtxt",
        "m/modules.json",
        "m/model_index.json",
        "m/data/pickle_module_info.txt",
        "evil.pth",
    ] {
        let _ = inspect_bytes(name, data, &limits);
    }
});
