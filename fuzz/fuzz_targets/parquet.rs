//! The parquet page-header walker, and the dataset reader (through the parquet crate) on any
//! bytes behind the magic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
