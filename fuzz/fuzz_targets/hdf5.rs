//! The HDF5 structure walker (superblock, object headers, groups, attributes, global heaps),
//! on raw bytes and behind a valid signature, then the whole .h5 inspection.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = modelgate::inspect::hdf5::SIGNATURE.to_vec();
    v.extend_from_slice(data);
    let mut c = std::io::Cursor::new(&v[..]);
    let _ = modelgate::inspect::hdf5::walk(&mut c, v.len() as u64);
    let _ = modelgate::inspect::inspect_bytes("fuzz.h5", &v, &Default::default());
});
