//! Every dataset record reader on any bytes: JSON Lines, JSON arrays, CSV, TSV, text, and
//! WebDataset shards. Errors are fine; panics, hangs and unbounded memory are not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate::dataset::records::{read, read_webdataset, Fields, RecordFormat};

fuzz_target!(|data: &[u8]| {
    let fields = Fields::default();
    for fmt in [
        RecordFormat::JsonLines,
        RecordFormat::JsonArray,
        RecordFormat::Csv,
        RecordFormat::Tsv,
        RecordFormat::Text,
    ] {
        let _ = read(fmt, &mut &data[..], &fields, |_| {});
    }
    let _ = read_webdataset(&mut &data[..], &fields, |_| {});
});
