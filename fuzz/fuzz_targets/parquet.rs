//! The parquet footer and page-header walkers, then the dataset reader (through the parquet
//! crate) on any bytes behind the magic.
//!
//! The walkers run bare: any panic in them is a crash. The reader runs as modelgate runs it,
//! under the dataset commands' panic guard (`dataset::for_each_record_with`): the parquet
//! crate's value decoders panic on some hostile pages (an overflowing delta length, a slice
//! past a page's end, found by this target from pyarrow seeds), and the guard makes such a
//! panic that file's error, naming it, not the end of the run. So a panic inside the guarded
//! read is caught here too; what this part hunts is hangs, memory floods and leaks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::cell::Cell;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

fn install_guard_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                crash(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    install_guard_hook();
    use modelgate::dataset::parquet_pages::{check_chunk, check_footer};
    let len = data.len() as u64;
    let _ = check_chunk(&mut std::io::Cursor::new(data), 0, len);
    let _ = check_footer(&mut std::io::Cursor::new(data), len);
    let Ok(mut f) = tempfile::NamedTempFile::new() else {
        return;
    };
    let _ = std::io::Write::write_all(&mut f, data);
    let fields = modelgate::dataset::records::Fields::default();
    GUARDED.with(|g| g.set(true));
    let _ = std::panic::catch_unwind(|| {
        modelgate::dataset::records::read_parquet(f.path(), &fields, |_| {})
    });
    GUARDED.with(|g| g.set(false));
});
