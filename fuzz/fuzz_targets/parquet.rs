//! The parquet page-header walker, and the dataset reader (through the parquet crate) on any
//! bytes behind the magic.
//!
//! The parquet crate's value decoders panic on some hostile pages (an overflowing delta
//! length, found by this target from a pyarrow seed). modelgate reads every dataset file under
//! a panic guard (`dataset::for_each_record_with`), so such a panic ends that file with an
//! error naming it, not the run; this target mirrors the guard: a panic raised inside the
//! parquet crate is caught here, and any other panic (modelgate's own code, or one that escapes
//! the guard) is still a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;

fn guard_parquet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_crate = info.location().is_some_and(|l| {
                l.file().contains("registry/src/") && l.file().contains("/parquet-")
            });
            if !in_crate {
                crash(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    guard_parquet_panics();
    // The page-header walker on its own (bytes as one column chunk), then the whole reader.
    let _ = modelgate::dataset::parquet_pages::check_chunk(
        &mut std::io::Cursor::new(data),
        0,
        data.len() as u64,
    );
    let Ok(mut f) = tempfile::NamedTempFile::new() else {
        return;
    };
    let _ = std::io::Write::write_all(&mut f, data);
    let fields = modelgate::dataset::records::Fields::default();
    let _ = std::panic::catch_unwind(|| {
        modelgate::dataset::records::read_parquet(f.path(), &fields, |_| {})
    });
});
