//! pyjson: Python's json grammar on hostile bytes, in both loader views, as a tree and through
//! the serde reader (which the config walkers use), and the config inspection around it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate::inspect::pyjson;

fuzz_target!(|data: &[u8]| {
    for (_, text) in pyjson::views(data) {
        let Ok(text) = text else { continue };
        let tree = pyjson::with_stack(|| {
            pyjson::parse(&text.bytes).map(|(v, _)| (pyjson::canonical(&v, true), v.dict().len()))
        });
        let valid = pyjson::validate(&text.bytes);
        // The tree and the grammar check agree on what is JSON.
        if let Some(t) = tree {
            assert_eq!(t.is_ok(), valid.is_ok());
        }
        let _ = pyjson::value_extent(&text.bytes);
        let _ = pyjson::top_entries(&text.bytes, &["auto_map", "chat_template"]);
    }
    let _ = modelgate::inspect::inspect_bytes("tokenizer_config.json", data, &Default::default());
});
