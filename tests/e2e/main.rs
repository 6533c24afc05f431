//! End-to-end tests: each runs the real `sna` binary that `cargo test` builds.
//!
//! They live in one test binary (one link) on purpose; see DEVELOPERS.md.

mod assessment;
mod bad_input;
mod fixture;
mod partner;
mod refresh;
mod report;
mod sample;

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
    let dir = std::env::temp_dir().join(format!("vrn-sna-e2e-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create workdir");
    Workdir(dir)
}

/// Runs `sna` with `args` in `dir`.
pub fn sna(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sna"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sna")
}

/// Standard error as text.
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
