//! `--engine`: where the SQL runs. The cluster itself is tested only in a build with the
//! `distributed` feature (`cargo test --features distributed`, which `.ci/run` runs too).

#[cfg(feature = "distributed")]
mod ballista;
#[cfg(feature = "distributed")]
mod s3;

use crate::{sna, stderr, workdir};

/// A default build names the feature it lacks, and writes nothing.
#[cfg(not(feature = "distributed"))]
#[test]
fn an_engine_this_build_lacks_says_how_to_get_it() {
    let dir = workdir("cluster-not-built");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let data = sample.display().to_string();
    for args in [
        vec![
            "run",
            "--quiet",
            "--data",
            &data,
            "--engine",
            "ballista://127.0.0.1:50050",
            "--out",
            "bundle",
        ],
        vec!["scheduler", "--bind", "127.0.0.1:0"],
    ] {
        let output = sna(&dir, &args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains("--features distributed"), "{err}");
        assert!(!dir.join("bundle").exists());
    }
}

/// An engine that is neither local nor a Ballista URL is refused before anything runs.
#[test]
fn an_engine_that_is_no_engine_is_refused() {
    let dir = workdir("cluster-bad-engine");
    let output = sna(
        &dir,
        &[
            "run",
            "--quiet",
            "--engine",
            "spark://x:7077",
            "--out",
            "bundle",
        ],
    );
    let err = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("engine")
            && err.contains("ballista://HOST:PORT")
            && err.contains("spark://x:7077"),
        "{err}"
    );
    assert!(!dir.join("bundle").exists());
}

/// A default build asked for an extract in an object store names the feature it lacks; any
/// build refuses a store other than S3, naming it.
#[test]
fn an_extract_in_an_object_store_this_build_cannot_read_is_named() {
    let dir = workdir("cluster-store-not-built");
    let mut cases = vec![("gs://bucket/extract", "only S3 object stores")];
    if cfg!(not(feature = "s3")) {
        cases.push(("s3://bucket/extract", "--features s3"));
    }
    for (url, expected) in cases {
        let output = sna(&dir, &["run", "--quiet", "--data", url, "--out", "bundle"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains(url) && err.contains(expected), "{err}");
        assert!(!dir.join("bundle").exists());
    }
}
