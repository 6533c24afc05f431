//! The extract's files as stamps: each regular file's size, times and SHA-256. The refresh's
//! fingerprint and the cache's keys are built from them. A file whose size, modification time,
//! status-change time and inode match a stamp taken earlier is not hashed again, so checking an
//! unchanged extract reads no data.
//!
//! Two ways a changed file could keep a stamp's size and modification time are closed as git
//! closes them for its index: a copy that sets the old modification time (`cp -p`, `rsync -t`,
//! `touch -r`) still changes the status-change time (ctime, which no one can set) or the inode;
//! and a stamp taken within [`RACY_NS`] of the file's last change is never reused (a rewrite of
//! the same size within the file system's timestamp granularity would keep every time: git's
//! "racily clean" entries).

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
    /// Status-change time (ctime), nanoseconds since the Unix epoch; 0 where the platform has
    /// none.
    #[serde(default)]
    pub changed_ns: u128,
    /// Inode number; 0 where the platform has none.
    #[serde(default)]
    pub inode: u64,
    /// Whether the stamp may be reused: taken more than [`RACY_NS`] after the file's last
    /// change. Stamps stored before this field existed are not reused.
    #[serde(default)]
    pub settled: bool,
}

/// How long after a file's last change a stamp of it must be taken to be reused later: longer
/// than the coarsest timestamp granularity of common file systems (FAT's 2 seconds).
pub const RACY_NS: u128 = 2_000_000_000;

/// The status-change time and inode of `metadata` (0 and 0 off Unix).
#[cfg(unix)]
fn change_and_inode(metadata: &std::fs::Metadata) -> (u128, u64) {
    use std::os::unix::fs::MetadataExt;
    let seconds = u128::try_from(metadata.ctime()).unwrap_or(0);
    let nanos = u128::try_from(metadata.ctime_nsec()).unwrap_or(0);
    (seconds * 1_000_000_000 + nanos, metadata.ino())
}

/// The status-change time and inode of `metadata` (0 and 0 off Unix).
#[cfg(not(unix))]
fn change_and_inode(_metadata: &std::fs::Metadata) -> (u128, u64) {
    (0, 0)
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
        let (changed_ns, inode) = change_and_inode(&metadata);
        let reused = known
            .iter()
            .find(|k| {
                k.settled
                    && k.path == relative
                    && k.bytes == bytes
                    && k.modified_ns == modified_ns
                    && k.changed_ns == changed_ns
                    && k.inode == inode
            })
            .map(|k| k.sha256.clone());
        // Taken now, after the file's last change: settled when that change is long enough ago.
        let now = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let settled = now > modified_ns.max(changed_ns) + RACY_NS;
        let sha256 = match reused {
            Some(hash) => hash,
            None => sha256_file(&path).map_err(|e| (path.clone(), e.into()))?.0,
        };
        files.push(FileStamp {
            path: relative,
            bytes,
            modified_ns,
            sha256,
            changed_ns,
            inode,
            settled,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(dir: &Path, known: &[FileStamp]) -> FileStamp {
        stamp_files(dir, known).unwrap().remove(0)
    }

    #[test]
    fn a_settled_stamp_is_reused_and_a_fresh_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("offences.parquet"), b"first").unwrap();
        let fresh = stamp(dir.path(), &[]);
        // Just written: within the racy window, so not to be trusted later.
        assert!(!fresh.settled);
        let mut known = fresh.clone();
        known.sha256 = "remembered".to_owned();
        assert_ne!(stamp(dir.path(), &[known.clone()]).sha256, "remembered");
        known.settled = true;
        assert_eq!(stamp(dir.path(), &[known]).sha256, "remembered");
    }

    #[test]
    fn a_rewrite_that_keeps_the_size_and_modification_time_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offences.parquet");
        std::fs::write(&path, b"first").unwrap();
        let mut known = stamp(dir.path(), &[]);
        known.settled = true;
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        // The same size, and the old modification time set back (as `cp -p` or `touch -r`
        // would): only the status-change time or the inode tells.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"other").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let again = stamp(dir.path(), &[known.clone()]);
        assert_eq!(
            (again.bytes, again.modified_ns),
            (known.bytes, known.modified_ns)
        );
        if cfg!(unix) {
            assert_ne!(
                again.sha256, known.sha256,
                "hashed again: the ctime changed"
            );
            assert_eq!(again.sha256, crate::output::sha256_of(&path).unwrap().0);
        }
    }
}
