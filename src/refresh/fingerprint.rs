//! The input fingerprint that tells a refresh whether anything changed.
//!
//! Every regular file under the extract directory (hidden files, such as a generator's
//! partial output, excepted) is stamped with its size, modification time and SHA-256; the
//! SQL of `queries/`, the resolved configuration, the window length and the tool version are
//! added. The digest covers sizes and content hashes but not modification times, so copying
//! an unchanged extract over itself (as a nightly export job does) is not a change. Times
//! are kept in the stamps so that a file whose size and times (cache::inputs) match the last
//! successful refresh is not hashed again: the check that nothing changed reads no data.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::cache::inputs::FileStamp;
use crate::cache::inputs::stamp_files;
use crate::engine::queries::{QuerySet, hex};

/// Errors in fingerprinting the inputs.
#[derive(Debug, thiserror::Error)]
#[error("cannot fingerprint {path}: {source}")]
pub struct FingerprintError {
    path: PathBuf,
    /// An I/O error, or the file that could not be hashed.
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The fingerprint of one refresh's inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 over everything below, hex.
    pub digest: String,
    /// The extract's files.
    pub files: Vec<FileStamp>,
}

/// What besides the extract's files goes into the fingerprint.
pub struct Settings<'a> {
    /// The SQL files.
    pub queries: &'a QuerySet,
    /// The resolved configuration as JSON.
    pub config_json: &'a str,
    /// The window length in months.
    pub months: u32,
}

/// Fingerprints `data_dir` and `settings`, reusing the hashes of `known` files whose size and
/// modification time are unchanged.
pub fn fingerprint(
    data_dir: &Path,
    settings: &Settings<'_>,
    known: &[FileStamp],
) -> Result<Fingerprint, FingerprintError> {
    let files =
        stamp_files(data_dir, known).map_err(|(path, source)| FingerprintError { path, source })?;
    Ok(digest(files, settings))
}

/// [`fingerprint`] of an extract in a directory or in an object store, whose objects are
/// stamped by what the store lists of them (size, last modified, ETag), not read.
pub async fn fingerprint_anywhere(
    data_dir: &Path,
    settings: &Settings<'_>,
    known: &[FileStamp],
) -> Result<Fingerprint, FingerprintError> {
    if !crate::sources::remote::is_remote(data_dir) {
        return fingerprint(data_dir, settings, known);
    }
    let files = crate::sources::remote::stamps(data_dir)
        .await
        .map_err(|e| FingerprintError {
            path: data_dir.to_path_buf(),
            source: e.into(),
        })?;
    Ok(digest(files, settings))
}

/// The digest of `files` and `settings`.
fn digest(files: Vec<FileStamp>, settings: &Settings<'_>) -> Fingerprint {
    let mut hasher = Sha256::new();
    hasher.update(format!("tool {}\n", crate::readable::tool()));
    hasher.update(format!("months {}\n", settings.months));
    hasher.update(format!("config {}\n", settings.config_json));
    for sql in settings.queries.all() {
        hasher.update(format!("query {} {}\n", sql.relative_path, sql.sha256()));
    }
    for file in &files {
        hasher.update(format!(
            "file {} {} {}\n",
            file.path, file.bytes, file.sha256
        ));
    }
    Fingerprint {
        digest: hex(&hasher.finalize()),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vrn-sna-fingerprint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("reference")).unwrap();
        std::fs::write(dir.join("offences.parquet"), b"offences").unwrap();
        std::fs::write(dir.join("reference/lsoa.csv"), b"lsoa").unwrap();
        std::fs::write(dir.join(".offences.parquet.partial"), b"ignored").unwrap();
        dir
    }

    fn settings(queries: &QuerySet) -> Settings<'_> {
        Settings {
            queries,
            config_json: "{}",
            months: 36,
        }
    }

    #[test]
    fn content_and_settings_change_the_digest_but_times_do_not() {
        let dir = extract("change");
        let queries = QuerySet::bundled();
        let first = fingerprint(&dir, &settings(&queries), &[]).unwrap();
        let paths: Vec<&str> = first.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["offences.parquet", "reference/lsoa.csv"]);

        // Rewritten with the same bytes: a new modification time, the same digest.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("offences.parquet"), b"offences").unwrap();
        let same = fingerprint(&dir, &settings(&queries), &first.files).unwrap();
        assert_eq!(same.digest, first.digest);

        std::fs::write(dir.join("offences.parquet"), b"offenceS").unwrap();
        let changed = fingerprint(&dir, &settings(&queries), &same.files).unwrap();
        assert_ne!(changed.digest, first.digest);

        let longer = Settings {
            months: 24,
            ..settings(&queries)
        };
        assert_ne!(
            fingerprint(&dir, &longer, &[]).unwrap().digest,
            changed.digest
        );
        let mut edited = queries.clone();
        edited.jobs[0].sql.push_str("\n-- edited");
        assert_ne!(
            fingerprint(&dir, &settings(&edited), &[]).unwrap().digest,
            changed.digest
        );
    }

    #[test]
    fn unchanged_stamps_reuse_the_known_hash() {
        let dir = extract("reuse");
        let queries = QuerySet::bundled();
        let mut known = fingerprint(&dir, &settings(&queries), &[]).unwrap().files;
        // A settled stamp with the same size, times and inode is trusted without reading the
        // file (cache::inputs tests the rules for reuse).
        known[0].sha256 = "trusted".to_owned();
        known[0].settled = true;
        let again = fingerprint(&dir, &settings(&queries), &known).unwrap();
        assert_eq!(again.files[0].sha256, "trusted");
    }
}
