//! What PyTables (`pandas.read_hdf`, `HDFStore`, `tables.open_file`) unpickles, read from files
//! pandas and PyTables wrote (testdata/generate_hdf5_pytables.py): scalar non-UTF-8 string
//! attributes ending in `.` and the rows of `ObjectAtom` VLArrays. Clean frames (fixed and table
//! formats, object columns, MultiIndex, zlib) pass; each malicious file is caught where the
//! loader unpickles it, and object rows the walker cannot decode fail closed.

use modelgate::finding::{Code, Severity};
use modelgate::inspect::hdf5;
use modelgate::inspect::Limits;
use modelgate::scan_file;
use modelgate::walk::walk;
use std::path::{Path, PathBuf};

fn testdata(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(sub)
}

/// (code, severity, member, module.name or message fragment) of every finding of one file.
fn findings(sub: &str) -> Vec<(Code, Severity, Vec<String>, String)> {
    let walked = walk(&[testdata(sub)]).unwrap();
    assert_eq!(
        walked.tasks.len(),
        1,
        "{sub}: run testdata/generate_hdf5_pytables.py"
    );
    let r = scan_file(&walked.tasks[0], &Limits::default());
    r.findings
        .iter()
        .map(|f| {
            let what = match (f.evidence.get("module"), f.evidence.get("name")) {
                (Some(m), Some(n)) => {
                    format!("{}.{}", m.as_str().unwrap_or(""), n.as_str().unwrap_or(""))
                }
                _ => String::new(),
            };
            (f.code, f.severity, f.member.clone(), what)
        })
        .collect()
}

fn not_inspected() -> (Code, Severity, Vec<String>, String) {
    (Code::NotInspected, Severity::Info, vec![], String::new())
}

fn system(member: &str) -> (Code, Severity, Vec<String>, String) {
    (
        Code::PickleDangerousImport,
        Severity::Critical,
        vec![member.to_string()],
        "posix.system".to_string(),
    )
}

fn walked(sub: &str) -> hdf5::Walked {
    let bytes = std::fs::read(testdata(sub)).unwrap();
    let mut c = std::io::Cursor::new(&bytes[..]);
    hdf5::walk(&mut c, bytes.len() as u64).unwrap()
}

#[test]
fn clean_pandas_files_pass_with_their_pickles_read() {
    for f in [
        "frame_fixed.h5",
        "frame_fixed_zlib.h5",
        "frame_table.h5",
        "multiindex.h5",
    ] {
        let sub = format!("benign/pytables/{f}");
        assert_eq!(findings(&sub), vec![not_inspected()], "{f}");
        let w = walked(&sub);
        assert!(w.problems.is_empty(), "{f}: {:?}", w.problems);
    }
    // The object column of the fixed format is one pickled row (numpy's _reconstruct, which
    // the allowlist passes), read through shuffle and deflate too.
    for f in ["frame_fixed.h5", "frame_fixed_zlib.h5"] {
        let w = walked(&format!("benign/pytables/{f}"));
        let rows: Vec<_> = w
            .pickles
            .iter()
            .filter(|p| p.what.starts_with("row"))
            .map(|p| (p.object.as_str(), p.what.as_str()))
            .collect();
        assert_eq!(rows, vec![("/df/block2_values", "row 0")], "{f}");
    }
    // The table format's pickled attribute values (lists, dicts, None), as pandas writes them.
    let w = walked("benign/pytables/frame_table.h5");
    let mut attrs: Vec<_> = w
        .pickles
        .iter()
        .filter(|p| p.object == "/df")
        .map(|p| p.what.as_str())
        .collect();
    attrs.sort_unstable();
    assert_eq!(
        attrs,
        [
            "attribute data_columns",
            "attribute index_cols",
            "attribute info",
            "attribute nan_rep",
            "attribute non_index_axes",
            "attribute values_cols",
        ]
    );
    let w = walked("benign/pytables/multiindex.h5");
    assert!(w
        .pickles
        .iter()
        .any(|p| p.object == "/table" && p.what == "attribute levels"));
    assert!(w
        .pickles
        .iter()
        .any(|p| p.object == "/series/values" && p.what == "row 0"));
}

#[test]
fn pickled_attributes_are_caught() {
    assert_eq!(
        findings("malicious/pytables/attr_pandas_type.h5"),
        vec![system("/df <attribute pandas_type>"), not_inspected()]
    );
    assert_eq!(
        findings("malicious/pytables/attr_user_object.h5"),
        vec![system("/df <attribute note>"), not_inspected()]
    );
    // A variable-length string on the root group.
    assert_eq!(
        findings("malicious/pytables/attr_vlen_root.h5"),
        vec![system("/ <attribute TITLE>"), not_inspected()]
    );
}

#[test]
fn object_rows_are_caught() {
    for f in ["object_column.h5", "object_column_zlib.h5"] {
        assert_eq!(
            findings(&format!("malicious/pytables/{f}")),
            vec![system("/df/block1_values <row 0>"), not_inspected()],
            "{f}"
        );
    }
    assert_eq!(
        findings("malicious/pytables/vlarray_rows.h5"),
        vec![system("/objs <row 3>"), not_inspected()]
    );
    let w = walked("malicious/pytables/vlarray_rows.h5");
    let rows: Vec<_> = w.pickles.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(rows, ["row 0", "row 1", "row 2", "row 3"]);
}

#[test]
fn object_rows_behind_an_unknown_filter_fail_closed() {
    let f = findings("malicious/pytables/object_column_blosc.h5");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0].0, f[0].1), (Code::Hdf5Malformed, Severity::Error));
    let w = walked("malicious/pytables/object_column_blosc.h5");
    assert_eq!(
        w.problems,
        ["object '/df/block1_values': its chunks pass filter 32001 (blosc), which this walker does not decode; its rows were not read"]
    );
}
