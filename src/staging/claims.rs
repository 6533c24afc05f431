//! Staging directories beside the destination: claimed under a lock held for the life of the
//! run, and removed when a dead run left them.

use super::*;

pub(super) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.partial-`: the start of every staging name for `destination`.
pub(super) fn partial_prefix(destination: &Path) -> String {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    format!(".{name}.partial-")
}

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Creates and locks a fresh lock file; returns it with its path and the staging directory it
/// guards. The lock is taken on a file created new, then checked to still be the file at that
/// path, so a concurrent clean-up that removed it in between is noticed and a new name tried.
pub(super) fn claim(parent: &Path, prefix: &str) -> Result<(File, PathBuf, PathBuf), StagingError> {
    loop {
        let id = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let dir = parent.join(format!("{prefix}{id}"));
        let lock_path = with_suffix(&dir, ".lock");
        let lock = match File::options()
            .write(true)
            .create_new(true)
            .open(&lock_path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io("creating", &lock_path)(e)),
        };
        lock.lock().map_err(io("locking", &lock_path))?;
        if same_file(&lock, &lock_path) && !dir.exists() {
            return Ok((lock, lock_path, dir));
        }
    }
}

#[cfg(unix)]
pub(super) fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
pub(super) fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether `id` is one [`claim`] makes: `<pid>-<8 hex digits>`.
pub(super) fn is_claim_id(id: &str) -> bool {
    let Some((pid, hex)) = id.split_once('-') else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes the staging directories, `.old` copies and lock files that runs which are no longer
/// alive left in `parent`. Those of `destination` (`prefix`) go whenever their lock is free or
/// gone; those of other outputs in the same directory (a run whose title or period has since
/// changed) only when their lock file is there and free, so nothing of a user's that merely
/// looks similar is touched. When an output is missing and a dead run left its `.old` copy
/// (killed between the two renames of the fallback), that copy is put back first.
pub(super) fn remove_abandoned(
    parent: &Path,
    prefix: &str,
    destination: &Path,
) -> Result<(), StagingError> {
    // (prefix, id) of every staging-like name here.
    let mut found: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(parent).map_err(io("reading", parent))? {
        let entry = entry.map_err(io("reading", parent))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(at) = name.find(".partial-") else {
            continue;
        };
        if !name.starts_with('.') {
            continue;
        }
        let (this_prefix, rest) = name.split_at(at + ".partial-".len());
        let id = rest
            .strip_suffix(".lock")
            .or_else(|| rest.strip_suffix(".old"))
            .unwrap_or(rest);
        let key = (this_prefix.to_owned(), id.to_owned());
        if (this_prefix == prefix || is_claim_id(id)) && !found.contains(&key) {
            found.push(key);
        }
    }
    found.sort();
    for (this_prefix, id) in found {
        let own = this_prefix == prefix;
        let dir = parent.join(format!("{this_prefix}{id}"));
        let lock_path = with_suffix(&dir, ".lock");
        let old = with_suffix(&dir, ".old");
        // The owner holds its lock from before its directory exists until after it is gone.
        let lock = match File::options().write(true).open(&lock_path) {
            Ok(file) => match file.try_lock() {
                Ok(()) => Some(file),
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io("locking", &lock_path)(e));
                }
            },
            Err(e) if e.kind() == ErrorKind::NotFound && own => None,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io("opening", &lock_path)(e)),
        };
        let output = if own {
            destination.to_path_buf()
        } else {
            let name = this_prefix
                .trim_start_matches('.')
                .trim_end_matches(".partial-");
            parent.join(name)
        };
        if old.is_dir() && std::fs::symlink_metadata(&output).is_err() {
            std::fs::rename(&old, &output).map_err(io("restoring", &output))?;
        }
        for path in [&dir, &old] {
            if std::fs::symlink_metadata(path).is_ok() {
                std::fs::remove_dir_all(path).map_err(io("removing", path))?;
            }
        }
        if lock.is_some() {
            let _ = std::fs::remove_file(&lock_path);
        }
    }
    Ok(())
}
