//! Issue 25: how modelgate reaches users. A LICENSE with the full Apache-2.0 text (the
//! license Cargo.toml and pyproject.toml declare); wheels built and published under the PyPI
//! name `modelgate-cli` (`modelgate` on PyPI is an unrelated project), which the README tells
//! users to install; the action runs a checksum-verified release binary and its gate step runs
//! (and says the verdict) even when the SARIF upload fails.

use std::path::Path;

fn read(p: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p))
        .unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn license_is_the_full_apache_text() {
    let license = read("LICENSE");
    assert!(
        license.contains("Apache License\n                           Version 2.0, January 2004")
    );
    assert!(license.contains("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"));
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
    assert!(license.contains("APPENDIX: How to apply the Apache License to your work."));
    assert!(read("Cargo.toml").contains("license = \"Apache-2.0\""));
    assert!(read("pyproject.toml").contains("license = { text = \"Apache-2.0\" }"));
}

#[test]
fn wheels_are_published_under_a_name_of_our_own() {
    let py = read("pyproject.toml");
    assert!(py.contains("\nname = \"modelgate-cli\"\n"), "{py}");
    assert!(py.contains("bindings = \"bin\""));
    let readme = read("README.md");
    assert!(readme.contains("pip install modelgate-cli"));
    assert!(readme.contains("unrelated project"));
    let wheels = read(".github/workflows/wheels.yml");
    for needed in [
        "PyO3/maturin-action",
        "--locked",
        "pypa/gh-action-pypi-publish",
        "id-token: write",
        "startsWith(github.ref, 'refs/tags/v')",
        "command: sdist",
    ] {
        assert!(wheels.contains(needed), "wheels.yml lacks {needed}");
    }
    // The release archives carry the license.
    assert!(read(".github/workflows/release.yml").contains("README.md LICENSE \"$name/\""));
}

#[test]
fn the_action_runs_a_verified_release_and_always_says_the_verdict() {
    let action = read("action.yml");
    // A release binary, checked against SHA256SUMS; the latest release when pinned to a
    // branch; a build only when there is none.
    assert!(action.contains("SHA256SUMS") && action.contains("sha256sum -c"));
    assert!(action.contains("releases/latest"));
    let install = &action[..action.find("- name: Scan").unwrap()];
    let build = install.find("cargo install").unwrap();
    assert!(
        install[..build].contains("else"),
        "a build outside the fallback branch"
    );
    // The upload cannot hide the verdict: it may fail, and the gate runs whatever happened.
    let upload = &action[action.find("- name: Upload SARIF").unwrap()..];
    let gate_at = upload.find("- name: Gate").unwrap();
    assert!(upload[..gate_at].contains("continue-on-error: true"));
    let gate = &upload[gate_at..];
    assert!(gate.contains("if: always()"), "{gate}");
    assert!(gate.contains("PASS") && gate.contains("FAIL"), "{gate}");
    assert!(gate.contains("exit \"$MG_CODE\""), "{gate}");
}
