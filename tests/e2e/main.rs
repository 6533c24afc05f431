//! End-to-end tests: each runs the real `sna` binary that `cargo test` builds.
//!
//! They live in one test binary (one link) on purpose; see DEVELOPERS.md.

mod assessment;
mod bad_input;
mod bench;
mod cache;
mod cluster;
mod fixture;
mod funding;
mod hotspots;
mod import;
mod istv;
mod measures;
mod methods;
mod partner;
mod refresh;
mod reliability;
mod report;
mod sample;
mod shareable;
mod sources;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty working directory for one test, removed when the test passes and kept for
/// inspection when it fails (or always, with `VRN_SNA_KEEP_TEST_DIRS=1`).
pub struct Workdir(PathBuf);

impl std::ops::Deref for Workdir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Workdir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !std::thread::panicking() && std::env::var_os("VRN_SNA_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Creates the working directory for the test `name`.
pub fn workdir(name: &str) -> Workdir {
    // The process id keeps two test runs on one machine (a developer's and CI's) apart.
    let dir = std::env::temp_dir().join(format!("vrn-sna-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create workdir");
    Workdir(dir)
}

/// Runs `sna` with `args` in `dir`.
pub fn sna(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .current_dir(dir)
        // Each test's own cache (the default is the user's cache directory).
        .env("XDG_CACHE_HOME", dir.join(".cache-home"))
        .output()
        .expect("run sna")
}

/// Runs `sna` with `args` in `dir`, `input` on its standard input and `HOME` set to `dir` (so
/// the shell's history stays in the test's directory).
pub fn sna_with_input(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sna");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for sna")
}

/// Copies the committed sample's Parquet files into `dir/extract`, for tests that change them.
pub fn copy_sample_extract(dir: &Path) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    std::fs::create_dir_all(dir.join("extract")).expect("create extract");
    for entry in std::fs::read_dir(&sample).expect("read data/sample") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::copy(
                &path,
                dir.join("extract").join(path.file_name().expect("name")),
            )
            .expect("copy sample file");
        }
    }
}

/// Every file below `root` (symbolic links followed) with its bytes.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root).expect("below root").to_path_buf(),
                    std::fs::read(&path).expect("read file"),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Standard error as text.
/// A JSON file the tool wrote (a manifest, the release log).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts success, showing stderr when not.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "sna failed ({}):\n{}\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// A CSV table read as rows of column → text.
pub struct Table {
    pub rows: Vec<HashMap<String, String>>,
}

impl Table {
    /// Reads a CSV file.
    pub fn read(path: &Path) -> Table {
        let mut reader = csv::Reader::from_path(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let headers = reader.headers().expect("headers").clone();
        let rows = reader
            .records()
            .map(|r| {
                let r = r.expect("record");
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect();
        Table { rows }
    }

    /// The one row where every `(column, value)` matches.
    pub fn row(&self, keys: &[(&str, &str)]) -> &HashMap<String, String> {
        let matches: Vec<_> = self
            .rows
            .iter()
            .filter(|r| {
                keys.iter()
                    .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert_eq!(
            matches.len(),
            1,
            "expected one row matching {keys:?}, found {}",
            matches.len()
        );
        matches[0]
    }
}

/// A cell as a number.
pub fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    let text = row
        .get(column)
        .unwrap_or_else(|| panic!("no column {column} in {row:?}"));
    text.parse()
        .unwrap_or_else(|_| panic!("column {column} is not a number: {text:?}"))
}

/// Asserts a statistic to 1e-9.
pub fn close(row: &HashMap<String, String>, column: &str, expected: f64) {
    let got = num(row, column);
    assert!(
        (got - expected).abs() < 1e-9,
        "{column}: got {got}, expected {expected} in {row:?}"
    );
}

/// Asserts a count exactly.
pub fn count(row: &HashMap<String, String>, column: &str, expected: i64) {
    assert_eq!(
        row.get(column).map(String::as_str),
        Some(expected.to_string().as_str()),
        "{column} in {row:?}"
    );
}
