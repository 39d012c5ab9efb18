//! The parquet dataset reader (through the parquet crate) on any bytes behind the magic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut f) = tempfile::NamedTempFile::new() else {
        return;
    };
    let _ = std::io::Write::write_all(&mut f, data);
    let fields = modelgate::dataset::records::Fields::default();
    let _ = std::panic::catch_unwind(|| {
        modelgate::dataset::records::read_parquet(f.path(), &fields, |_| {})
    });
});
