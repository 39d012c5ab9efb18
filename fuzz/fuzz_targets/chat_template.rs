//! The chat-template judge (Jinja tokens) and the Python-literal parser of .npy headers on
//! arbitrary text: no panic, no hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = modelgate::inspect::jinja::injections(&text);
    let _ = modelgate::inspect::pyliteral::parse(&text);
});
