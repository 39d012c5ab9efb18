//! Issue 24: the allowlists cover the library versions people have (scikit-learn 0.22 to
//! current, numpy 1.x and 2.x, Keras 3 with every backend), and look-alikes still fail.

mod common;

use common::*;
use modelgate::finding::{Code, Severity};
use modelgate::inspect::pickle::globals::{classify, Verdict};

fn allowed(m: &str, n: &str) -> bool {
    classify(m, n, false) == Verdict::Allowed
}

fn failing(f: &[modelgate::finding::Finding]) -> Vec<&modelgate::finding::Finding> {
    f.iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect()
}

#[test]
fn scikit_learn_pairs_of_every_version_pass() {
    for (m, n) in [
        // Real pickles of 1.1.3 to current.
        ("sklearn._loss._loss", "CyHuberLoss"),
        ("sklearn._loss._loss", "__pyx_unpickle_CyHuberLoss"),
        ("_loss", "CyHuberLoss"),
        ("sklearn._loss.link", "HalfLogitLink"),
        ("sklearn.metrics._scorer", "_PassthroughScorer"),
        ("sklearn.metrics._scorer", "_passthrough_scorer"),
        ("sklearn.metrics._dist_metrics", "MinkowskiDistance64"),
        ("sklearn.metrics._dist_metrics", "newObj"),
        ("sklearn.ensemble._gb_losses", "BinomialDeviance"),
        ("sklearn.linear_model._sgd_fast", "Hinge"),
        ("sklearn.compose._column_transformer", "_RemainderColsList"),
        (
            "sklearn.preprocessing._function_transformer",
            "FunctionTransformer",
        ),
        ("pandas.core.indexes.numeric", "Int64Index"),
        // 0.22 to 1.0, read from their wheels.
        (
            "sklearn.ensemble._hist_gradient_boosting.loss",
            "LeastSquares",
        ),
        (
            "sklearn.ensemble._hist_gradient_boosting.loss",
            "BinaryCrossEntropy",
        ),
        ("sklearn.linear_model._glm.link", "LogLink"),
        ("sklearn._loss.glm_distribution", "TweedieDistribution"),
        ("sklearn.neighbors._dist_metrics", "EuclideanDistance"),
        ("sklearn.neighbors._dist_metrics", "newObj"),
        ("sklearn.multiclass", "_ConstantPredictor"),
        // Old module paths: sklearn before 0.22, scipy before 1.8.
        ("sklearn.ensemble.gradient_boosting", "LeastSquaresError"),
        ("sklearn.neighbors.dist_metrics", "EuclideanDistance"),
        ("scipy.sparse.csr", "csr_matrix"),
        ("scipy.sparse.dia", "dia_matrix"),
    ] {
        assert!(allowed(m, n), "{m}.{n}");
    }
}

#[test]
fn callers_loaders_and_abstract_bases_are_not_listed() {
    for (m, n) in [
        ("sklearn.utils.parallel", "Parallel"),
        ("sklearn.utils.parallel", "delayed"),
        ("sklearn.utils.fixes", "_FuncWrapper"),
        ("sklearn.neighbors._dist_metrics", "PyFuncDistance"),
        ("sklearn.metrics._dist_metrics", "PyFuncDistance64"),
        ("sklearn.ensemble._forest", "BaseForest"),
        ("sklearn.datasets._base", "load_iris"),
        ("sklearn.tree._reingold_tilford", "Tree"),
    ] {
        assert!(!allowed(m, n), "{m}.{n}");
    }
}

#[test]
fn numpy_ufuncs_of_1x_and_2x_pass() {
    for (m, n) in [
        ("numpy", "add"),
        ("numpy", "log1p"),
        ("numpy", "matmul"),
        ("numpy", "bitwise_count"), // numpy 2
        ("numpy", "vecdot"),        // numpy 2.0
        ("numpy", "matvec"),        // numpy 2.2
        ("numpy.core._multiarray_umath", "add"),
        ("numpy.core.umath", "exp"),
        ("numpy._core.umath", "exp"),
        ("numpy._core._multiarray_umath", "sqrt"),
    ] {
        assert!(allowed(m, n), "{m}.{n}");
    }
    // Only ufuncs, under their own names: not other numpy functions, not aliases no pickler
    // writes (numpy.abs is written numpy.absolute).
    for (m, n) in [
        ("numpy", "array"),
        ("numpy", "frompyfunc"),
        ("numpy", "vectorize"),
        ("numpy", "abs"),
        ("numpy.core._multiarray_umath", "_reconstruct_ufunc"),
    ] {
        assert!(!allowed(m, n), "{m}.{n}");
    }
    for (m, n) in [
        ("numpy", "load"),
        ("numpy.core", "_ufunc_reconstruct"),
        ("numpy._core", "_ufunc_reconstruct"),
        ("numpy", "core._ufunc_reconstruct"),
    ] {
        assert!(
            matches!(classify(m, n, false), Verdict::Dangerous(_)),
            "{m}.{n}"
        );
    }
}

/// `numpy.core._ufunc_reconstruct(module, name)` as numpy <= 1.19 writes a ufunc.
fn reconstruct(core: &str, m: &str, n: &str) -> Vec<u8> {
    P::new()
        .proto(2)
        .global(core, "_ufunc_reconstruct")
        .unicode(m)
        .unicode(n)
        .op(0x86) // TUPLE2
        .reduce()
        .stop()
        .build()
}

#[test]
fn old_numpy_ufunc_pickles_pass() {
    for core in ["numpy.core", "numpy._core"] {
        for (m, n) in [
            ("numpy", "add"),
            ("numpy.core._multiarray_umath", "log1p"),
            ("numpy.core.umath", "sqrt"),
        ] {
            let f = inspect_bytes("m.pkl", &reconstruct(core, m, n));
            assert!(failing(&f).is_empty(), "{core} {m}.{n}: {f:#?}");
        }
    }
    // Protocol 0, as pickle.dumps(np.add, 0) wrote it, and one reconstruct for two ufuncs
    // (memoized, fetched again, called each time with constants).
    let p0 = b"cnumpy.core\n_ufunc_reconstruct\np0\n(S'numpy'\np1\nS'add'\np2\ntp3\nRp4\n.";
    let f = inspect_bytes("m.pkl", p0);
    assert!(failing(&f).is_empty(), "{f:#?}");
    let two = P::new()
        .proto(2)
        .op(b'(')
        .global("numpy.core", "_ufunc_reconstruct")
        .memoize()
        .unicode("numpy")
        .unicode("add")
        .op(0x86)
        .reduce()
        .get(0)
        .unicode("numpy")
        .unicode("exp")
        .op(0x86)
        .reduce()
        .op(b'l')
        .stop()
        .build();
    let f = inspect_bytes("m.pkl", &two);
    assert!(failing(&f).is_empty(), "{f:#?}");
}

#[test]
fn ufunc_reconstruct_look_alikes_fail() {
    // What the constants name is judged as an import of its own.
    for (m, n) in [("os", "system"), ("numpy", "load"), ("posix", "system")] {
        let f = inspect_bytes("m.pkl", &reconstruct("numpy._core", m, n));
        assert!(
            codes(&f).contains(&Code::PickleDangerousImport),
            "{m}.{n}: {f:#?}"
        );
        let name = format!("{m}.{n}");
        assert!(
            f.iter().any(|f| f.message.contains(&name)),
            "{name}: {f:#?}"
        );
    }
    // A name that is no ufunc is not on the list.
    let f = inspect_bytes("m.pkl", &reconstruct("numpy.core", "numpy", "vectorize"));
    assert!(codes(&f).contains(&Code::PickleUnknownImport), "{f:#?}");
    // Arguments that are not constants: the import by name itself is reported.
    let computed = P::new()
        .proto(2)
        .global("numpy.core", "_ufunc_reconstruct")
        .global("numpy", "ndarray")
        .empty_tuple()
        .reduce()
        .unicode("system")
        .op(0x86)
        .reduce()
        .stop()
        .build();
    let f = inspect_bytes("m.pkl", &computed);
    assert!(
        f.iter()
            .any(|f| f.code == Code::PickleDangerousImport
                && f.message.contains("_ufunc_reconstruct")),
        "{f:#?}"
    );
    // Fetched again from the memo without being called with constants: reported.
    let reused = P::new()
        .proto(2)
        .global("numpy.core", "_ufunc_reconstruct")
        .memoize()
        .unicode("numpy")
        .unicode("add")
        .op(0x86)
        .reduce()
        .op(b'0') // POP
        .get(0)
        .stop()
        .build();
    let f = inspect_bytes("m.pkl", &reused);
    assert!(
        f.iter()
            .any(|f| f.code == Code::PickleDangerousImport
                && f.message.contains("_ufunc_reconstruct")),
        "{f:#?}"
    );
}

#[test]
fn keras_backend_specific_components_pass() {
    for (module, name) in [
        ("keras.src.backend.torch.optimizers.torch_adam", "Adam"),
        ("keras.src.backend.torch.optimizers.torch_sgd", "SGD"),
        ("keras.src.backend.jax.optimizer", "JaxOptimizer"),
        ("keras.src.backend.tensorflow.optimizer", "TFOptimizer"),
    ] {
        let config = format!(
            r#"{{"module": "keras", "class_name": "Sequential", "config": {{"layers": []}}, "compile_config": {{"optimizer": {{"module": "{module}", "class_name": "{name}", "config": {{"name": "{name}", "learning_rate": 0.001}}, "registered_name": null}}}}}}"#
        );
        let f = inspect_bytes("config.json", config.as_bytes());
        assert!(failing(&f).is_empty(), "{module}.{name}: {f:#?}");
    }
    // A backend utility is not a component.
    let config = r#"{"module": "keras", "class_name": "Sequential", "config": {"layers": []}, "compile_config": {"optimizer": {"module": "keras.src.backend.torch.core", "class_name": "Variable", "config": {}, "registered_name": null}}}"#;
    let f = inspect_bytes("config.json", config.as_bytes());
    assert_eq!(codes(&f), vec![Code::KerasUnlistedObject], "{f:#?}");
}
