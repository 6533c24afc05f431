//! The extract's files as stamps: each regular file's size, modification time and SHA-256.
//! The refresh's fingerprint and the cache's keys are built from them. A file whose size and
//! modification time match a stamp taken earlier is not hashed again, so checking an
//! unchanged extract reads no data.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::output::sha256_file;

/// A file that could not be listed, read or hashed, with the cause.
pub type StampError = (PathBuf, Box<dyn std::error::Error + Send + Sync>);

/// One input file as fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Path relative to the extract directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: u128,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// Every regular file under `data_dir` (hidden entries, such as a generator's partial output,
/// excepted), stamped in path order, reusing the hashes of `known` files whose size and
/// modification time are unchanged.
pub fn stamp_files(data_dir: &Path, known: &[FileStamp]) -> Result<Vec<FileStamp>, StampError> {
    let mut paths = Vec::new();
    collect_files(data_dir, data_dir, &mut paths)?;
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for (relative, path) in paths {
        let metadata = std::fs::metadata(&path).map_err(|e| (path.clone(), e.into()))?;
        let modified_ns = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let bytes = metadata.len();
        let reused = known
            .iter()
            .find(|k| k.path == relative && k.bytes == bytes && k.modified_ns == modified_ns)
            .map(|k| k.sha256.clone());
        let sha256 = match reused {
            Some(hash) => hash,
            None => sha256_file(&path).map_err(|e| (path.clone(), e.into()))?.0,
        };
        files.push(FileStamp {
            path: relative,
            bytes,
            modified_ns,
            sha256,
        });
    }
    Ok(files)
}

/// Every regular file under `dir` (not following hidden entries), as (relative, full) paths.
fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), StampError> {
    let error = |e: std::io::Error| -> StampError { (dir.to_path_buf(), e.into()) };
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let entry = entry.map_err(error)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = std::fs::metadata(&path).map_err(error)?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
    Ok(())
}
