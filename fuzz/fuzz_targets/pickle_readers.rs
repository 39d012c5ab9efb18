//! The modelgate-pickle crate alone, on each reader path: no input may panic, hang or grow
//! memory past the limits, and the pure-Python path never reaches an import the C paths both
//! miss unless a divergence was recorded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_pickle::{run, Events, PickleLimits, Reader, Src};

fuzz_target!(|data: &[u8]| {
    let mut imports = Vec::new();
    let mut parted = false;
    for reader in [Reader::Loads, Reader::File, Reader::PurePython] {
        let mut r = data;
        let mut src = Src::with_reader(&mut r, Some(data.len() as u64), reader);
        let lim = PickleLimits {
            max_opcodes: 1 << 20,
            ..PickleLimits::default()
        };
        let mut ev = Events::default();
        let _ = run(&mut src, &lim, &mut ev);
        parted |= !ev.frames.is_empty();
        imports.push(
            ev.imports
                .iter()
                .map(|i| (i.module.clone(), i.name.clone()))
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
    if !parted {
        assert_eq!(
            imports[0], imports[1],
            "C readers differ without a divergence"
        );
    }
});
