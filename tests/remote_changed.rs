//! An object replaced between the listing and the read is a read error (every GET is `If-Match`
//! the listed ETag), never a scan of bytes the listing did not name. Its own test binary: it
//! sets the AWS environment of this process, which no other test may share.

mod common;

use common::remote::{Moto, AWS_KEY, AWS_SECRET};
use modelgate::finding::Code;
use std::path::PathBuf;

#[test]
fn s3_object_replaced_after_listing_is_a_read_error() {
    if common::offline("the S3 tests (moto)") {
        return;
    }
    let s3 = Moto::start();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("v1");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("model.pkl"), common::call("builtins", "dict", "")).unwrap();
    s3.put_dir("swap", "m", &src);
    for (k, v) in [
        ("AWS_ENDPOINT_URL", s3.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", AWS_KEY),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let roots = [PathBuf::from("s3://swap/m")];
    let walked = modelgate::walk::walk(&roots).unwrap();
    assert_eq!(walked.tasks.len(), 1);
    // Unchanged: read and passed.
    let opts = modelgate::ScanOptions::default();
    let r = modelgate::scan::scan_walked(&roots, &walked, &opts);
    assert!(
        r.findings.iter().all(|f| f.code != Code::ReadError),
        "{:?}",
        r.findings
    );
    // Replaced by a payload after the listing: the read fails, the payload is not judged.
    std::fs::write(
        src.join("model.pkl"),
        common::call("os", "system", "echo pwned"),
    )
    .unwrap();
    s3.put_dir("swap", "m", &src);
    let r = modelgate::scan::scan_walked(&roots, &walked, &opts);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == Code::ReadError)
        .unwrap_or_else(|| panic!("no read error: {:?}", r.findings));
    assert_eq!(f.path, "s3://swap/m/model.pkl");
    assert!(
        f.message.contains("changed while it was scanned"),
        "{}",
        f.message
    );
    assert_eq!(r.summary.verdict, modelgate::report::Verdict::Fail);
}
