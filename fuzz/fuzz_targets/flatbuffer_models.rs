//! TFLite and ExecuTorch flatbuffers (operator codes, operators, delegates): any bytes behind
//! each format's identifier.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Default::default();
    let (head, rest) = data.split_at(data.len().min(4));
    for (ident, name) in [(b"TFL3", "m.tflite"), (b"ET12", "m.pte")] {
        let mut b = head.to_vec();
        b.resize(4, 0);
        b.extend_from_slice(ident);
        b.extend_from_slice(rest);
        let _ = modelgate::inspect::inspect_bytes(name, &b, &limits);
    }
});
