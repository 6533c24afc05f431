//! Output directories that vrn-sna owns, written all at once.
//!
//! Every directory vrn-sna writes as a whole (an assessment bundle, a partner pack, a
//! generated extract) carries a `manifest.json` whose `kind` says what it is and whose `files`
//! list everything the tool put there. Before writing, [`Staging::new`] checks the destination:
//!
//! - missing or an empty directory: written;
//! - a directory whose manifest has the same kind, holding only the files that manifest lists:
//!   replaced;
//! - anything else (a regular file, a directory of the user's, another kind of output, an
//!   output with files the user added, the extract being read, or a directory holding it):
//!   refused with [`StagingError`], nothing touched.
//!
//! The new directory is built in a hidden sibling (`.<name>.partial-<id>`), then swapped into
//! place with one `renameat2(RENAME_EXCHANGE)`, so a reader sees the old directory or the new
//! one and never a moment without one; the old copy, now at the staging name, is removed
//! afterwards. Where the file system cannot exchange (not Linux, or a file system without
//! `RENAME_EXCHANGE`) it falls back to two renames and says so in [`Published::gap`].
//!
//! A staging directory is owned by the process that holds the `flock` on its `.lock` file. A
//! run that was killed leaves its staging directory (and perhaps an `.old` copy from the
//! fallback) behind; the next [`Staging::new`] for the same destination takes the lock, which
//! the kernel released when the owner died, and removes them. A live run's lock is held, so its
//! directory is left alone.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// The file that marks a directory as written by vrn-sna.
pub const MANIFEST: &str = "manifest.json";

/// Files that operating systems drop into folders a person opens; not the user's data.
const DESKTOP_LITTER: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];

/// What kind of output a directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// `sna run`.
    Bundle,
    /// `sna export --partner`.
    PartnerPack,
    /// `sna generate`.
    Extract,
    /// `sna import`.
    ImportedExtract,
}

impl OutputKind {
    /// The `kind` in the directory's `manifest.json`.
    pub const fn marker(self) -> &'static str {
        match self {
            OutputKind::Bundle => "vrn-sna assessment bundle",
            OutputKind::PartnerPack => "vrn-sna partner pack",
            OutputKind::Extract => "vrn-sna generated extract",
            OutputKind::ImportedExtract => "vrn-sna imported extract",
        }
    }

    /// The kind in words, with its article.
    pub const fn noun(self) -> &'static str {
        match self {
            OutputKind::Bundle => "an assessment bundle",
            OutputKind::PartnerPack => "a partner pack",
            OutputKind::Extract => "a generated extract",
            OutputKind::ImportedExtract => "an imported extract",
        }
    }
}

/// Errors in checking, staging or publishing an output directory.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// A file-system step failed (the cause follows in the error chain).
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The destination exists and is not a directory.
    #[error(
        "{path} exists and is not a directory; refusing to replace it with {noun}. Nothing was changed: choose another output path"
    )]
    NotADirectory {
        /// The destination.
        path: PathBuf,
        /// The kind of output.
        noun: &'static str,
    },
    /// The destination is a directory that vrn-sna did not write as this kind of output.
    #[error(
        "{path} is not empty and is not {noun} written by vrn-sna (it has no manifest.json of that kind); refusing to replace it. Nothing was changed: choose a new or empty directory"
    )]
    NotOurs {
        /// The destination.
        path: PathBuf,
        /// The kind of output.
        noun: &'static str,
    },
    /// The destination is ours but holds files the tool did not write.
    #[error(
        "{path} is {noun} written by vrn-sna, but it also holds files vrn-sna did not write ({files}); refusing to replace it. Nothing was changed: move those files out or choose another directory"
    )]
    ForeignFiles {
        /// The destination.
        path: PathBuf,
        /// The kind of output.
        noun: &'static str,
        /// Up to five of the files.
        files: String,
    },
    /// The destination is, holds or lies inside a directory that must not be written over.
    #[error(
        "{path} {relation} the input directory {protected}; refusing to write there. Nothing was changed: choose an output directory outside the extract"
    )]
    Protected {
        /// The destination.
        path: PathBuf,
        /// `is`, `contains` or `is inside`.
        relation: &'static str,
        /// The protected directory.
        protected: PathBuf,
    },
}

impl StagingError {
    /// True when the destination was refused (nothing was touched), rather than a write that
    /// failed.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, StagingError::Io { .. })
    }
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StagingError + 'a {
    move |source| StagingError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A file of an output, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// How a publish went.
#[derive(Debug, Clone)]
pub struct Published {
    /// Where the output now is.
    pub path: PathBuf,
    /// True when the file system could not exchange the two directories in one step, so for a
    /// moment between two renames there was no directory at `path`.
    pub gap: bool,
}

/// A temporary directory beside its destination; removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    /// Held for the life of the staging directory: the `flock` says its owner is alive.
    lock: Option<File>,
    destination: PathBuf,
    kind: OutputKind,
    published: bool,
    /// The highest parent directory this staging created, if any.
    created: Option<PathBuf>,
}

impl Staging {
    /// Checks that `destination` may be written as `kind` and is clear of every `protected`
    /// directory (an extract being read), removes what killed runs left beside it, and creates
    /// an empty staging directory.
    pub fn new(
        destination: &Path,
        kind: OutputKind,
        protected: &[&Path],
    ) -> Result<Staging, StagingError> {
        check_clear_of(destination, protected)?;
        // Work on where the destination really is, so that `.` or `out/.` stage beside it, not
        // inside it.
        let destination = &location(destination);
        let parent = parent_of(destination);
        // The highest directory this run creates, removed again (if still empty) when the run
        // fails, so that a refused or failed run leaves no trace.
        let created = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
        let prefix = partial_prefix(destination);
        remove_abandoned(&parent, &prefix, destination)?;
        check_replaceable(destination, kind)?;
        let (lock, lock_path, dir) = claim(&parent, &prefix)?;
        std::fs::create_dir(&dir).map_err(io("creating", &dir))?;
        Ok(Staging {
            dir,
            lock_path,
            lock: Some(lock),
            destination: destination.to_path_buf(),
            kind,
            published: false,
            created,
        })
    }

    /// The staging directory to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Every file written so far (but `manifest.json`), sorted, with its SHA-256: what the
    /// manifest's `files` lists, so that a later run replaces the output only while it holds
    /// exactly these files with these contents.
    pub fn files(&self) -> Result<Vec<FileEntry>, StagingError> {
        let mut out = Vec::new();
        for path in relative_files(&self.dir)? {
            if path == MANIFEST {
                continue;
            }
            let full = self.dir.join(&path);
            let (sha256, _) = crate::output::sha256_of(&full).map_err(io("hashing", &full))?;
            out.push(FileEntry { path, sha256 });
        }
        Ok(out)
    }

    /// Puts the staging directory in place of the destination in one step and removes the old
    /// one. The destination is checked again first, in case something appeared there while the
    /// output was being built.
    pub fn publish(mut self) -> Result<Published, StagingError> {
        check_replaceable(&self.destination, self.kind)?;
        let exists = std::fs::symlink_metadata(&self.destination).is_ok();
        let mut gap = false;
        if !exists {
            std::fs::rename(&self.dir, &self.destination)
                .map_err(io("moving into place", &self.destination))?;
        } else {
            match exchange(&self.dir, &self.destination) {
                Ok(()) => {}
                Err(e) if exchange_unsupported(&e) => {
                    gap = true;
                    self.replace_in_two_steps()?;
                }
                Err(e) => return Err(io("swapping into place", &self.destination)(e)),
            }
        }
        self.published = true;
        // After an exchange the old output sits at the staging name; after two renames it is
        // already gone. A failure to remove it leaves a stray the next run removes.
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(Published {
            path: self.destination.clone(),
            gap,
        })
    }

    /// Two renames: the old output aside to `<staging>.old`, the new one in, the old removed.
    /// A run killed between them leaves no output at the destination; the next run puts the
    /// `.old` copy back before anything else (see [`remove_abandoned`]).
    fn replace_in_two_steps(&self) -> Result<(), StagingError> {
        let old = with_suffix(&self.dir, ".old");
        std::fs::rename(&self.destination, &old).map_err(io("moving aside", &self.destination))?;
        if let Err(source) = std::fs::rename(&self.dir, &self.destination) {
            let _ = std::fs::rename(&old, &self.destination);
            return Err(io("moving into place", &self.destination)(source));
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        // The lock file goes last, while still locked, so no other run can mistake the
        // directory for an abandoned one in between.
        let _ = std::fs::remove_file(&self.lock_path);
        drop(self.lock.take());
        if !self.published
            && let Some(top) = &self.created
        {
            // Empty directories only, deepest first; anything else put there stays.
            let parent = parent_of(&self.destination);
            for dir in parent.ancestors() {
                if std::fs::remove_dir(dir).is_err() || dir == top.as_path() {
                    break;
                }
            }
        }
    }
}

/// Exchanges two paths atomically.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(ErrorKind::Unsupported))
}

/// The errors by which a kernel or file system says it cannot exchange.
fn exchange_unsupported(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Unsupported | ErrorKind::InvalidInput
    ) || matches!(
        error.raw_os_error(),
        Some(code) if code == rustix::io::Errno::NOSYS.raw_os_error()
            || code == rustix::io::Errno::OPNOTSUPP.raw_os_error()
            || code == rustix::io::Errno::INVAL.raw_os_error()
    )
}

/// Refuses a destination that is, holds or lies inside a protected directory.
pub fn check_clear_of(destination: &Path, protected: &[&Path]) -> Result<(), StagingError> {
    for target in [location(destination), resolve(destination)] {
        for dir in protected {
            let dir_resolved = resolve(dir);
            let relation = if target == dir_resolved {
                "is"
            } else if dir_resolved.starts_with(&target) {
                "contains"
            } else if target.starts_with(&dir_resolved) {
                "is inside"
            } else {
                continue;
            };
            return Err(StagingError::Protected {
                path: destination.to_path_buf(),
                relation,
                protected: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Checks that `destination` is missing, an empty directory, or a complete output of `kind`.
pub fn check_replaceable(destination: &Path, kind: OutputKind) -> Result<(), StagingError> {
    let meta = match std::fs::symlink_metadata(destination) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("reading", destination)(e)),
    };
    if !meta.is_dir() {
        return Err(StagingError::NotADirectory {
            path: destination.to_path_buf(),
            noun: kind.noun(),
        });
    }
    let mut entries = std::fs::read_dir(destination).map_err(io("reading", destination))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let not_ours = || StagingError::NotOurs {
        path: destination.to_path_buf(),
        noun: kind.noun(),
    };
    // The manifest is read only when it is a regular file: a named pipe there would block.
    let manifest_path = destination.join(MANIFEST);
    if !std::fs::symlink_metadata(&manifest_path).is_ok_and(|m| m.is_file()) {
        return Err(not_ours());
    }
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|_| not_ours())?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).map_err(|_| not_ours())?;
    if !is_kind(&manifest, kind) {
        return Err(not_ours());
    }
    // What the tool wrote: the files the manifest lists with their hashes or, for outputs of
    // the release before manifests listed them, the files their structure names.
    let listed: BTreeMap<String, Option<String>> = match &manifest["files"] {
        serde_json::Value::Array(files) => {
            let mut listed = BTreeMap::new();
            for file in files {
                // A bare name is the first listing format (names without hashes).
                if let Some(path) = file.as_str() {
                    listed.insert(path.to_owned(), None);
                    continue;
                }
                let entry: FileEntry =
                    serde_json::from_value(file.clone()).map_err(|_| not_ours())?;
                listed.insert(entry.path, Some(entry.sha256));
            }
            listed
        }
        serde_json::Value::Null => legacy_files(&manifest, kind).ok_or_else(not_ours)?,
        _ => return Err(not_ours()),
    };
    let mut foreign = Vec::new();
    for file in relative_files(destination)? {
        if file == MANIFEST
            || DESKTOP_LITTER
                .iter()
                .any(|l| file.rsplit('/').next() == Some(*l))
        {
            continue;
        }
        let full = destination.join(&file);
        let regular = std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file());
        let written = match listed.get(&file) {
            None => false,
            Some(None) => regular,
            Some(Some(sha256)) => {
                regular && crate::output::sha256_file(&full).is_ok_and(|(hash, _)| hash == *sha256)
            }
        };
        if !written {
            foreign.push(if listed.contains_key(&file) {
                format!("{file} (changed since it was written)")
            } else {
                file
            });
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    let mut files = foreign
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if foreign.len() > 5 {
        files.push_str(&format!(" and {} more", foreign.len() - 5));
    }
    Err(StagingError::ForeignFiles {
        path: destination.to_path_buf(),
        noun: kind.noun(),
        files: crate::text::printable(&files).into_owned(),
    })
}

/// The files an output written before manifests listed their files holds, from its
/// manifest's structure: a bundle's jobs and charts, a pack's tables. `None` when the
/// structure is not there.
fn legacy_files(
    manifest: &serde_json::Value,
    kind: OutputKind,
) -> Option<BTreeMap<String, Option<String>>> {
    let mut files = BTreeMap::new();
    let mut add = |path: String| {
        files.insert(path, None);
    };
    match kind {
        OutputKind::Bundle => {
            for job in manifest["jobs"].as_array()? {
                let name = job["job"].as_str()?;
                add(format!("tables/{name}.csv"));
                add(format!("tables/{name}.parquet"));
            }
            for chart in manifest["charts"].as_array()? {
                if chart["drawn"].as_bool() == Some(true) {
                    let name = chart["name"].as_str()?;
                    add(format!("charts/{name}.svg"));
                    add(format!("charts/{name}.png"));
                }
            }
            for fixed in [
                "index.html",
                "summary.md",
                "tables/README.md",
                "data_quality.json",
            ] {
                add(fixed.to_owned());
            }
        }
        OutputKind::PartnerPack => {
            for table in manifest["tables"].as_array()? {
                let name = table["name"].as_str()?;
                add(format!("{name}.csv"));
                add(format!("{name}.parquet"));
            }
            add("README.md".to_owned());
        }
        OutputKind::Extract | OutputKind::ImportedExtract => return None,
    }
    Some(files)
}

/// Whether a manifest marks an output of `kind`. Bundles written before manifests had a `kind`
/// are recognised by their `tool`, `jobs` and `charts`.
fn is_kind(manifest: &serde_json::Value, kind: OutputKind) -> bool {
    if let Some(marker) = manifest["kind"].as_str() {
        return marker == kind.marker();
    }
    kind == OutputKind::Bundle
        && manifest["tool"]
            .as_str()
            .is_some_and(|t| t.starts_with("vrn-sna "))
        && manifest["jobs"].is_array()
        && manifest["charts"].is_array()
}

/// Every file below `dir` (symbolic links included, not followed), relative, `/`-separated,
/// sorted.
fn relative_files(dir: &Path) -> Result<Vec<String>, StagingError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(io("reading", &current))? {
            let entry = entry.map_err(io("reading", &current))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(io("reading", &path))?;
            if file_type.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The absolute, symlink-resolved form of `path`, which need not exist: each existing prefix
/// is resolved by the file system (so `..` after a symbolic link goes where the link goes), and
/// only the part that does not exist yet is joined as text. A final component that is a
/// symbolic link is followed: this is where writing `path` would land.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut current = PathBuf::from("/");
    let mut missing = false;
    for component in absolute.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                current = PathBuf::from(component.as_os_str())
            }
            Component::CurDir => {}
            Component::ParentDir if missing => {
                current.pop();
            }
            other => {
                let next = current.join(other.as_os_str());
                if missing {
                    current = next;
                } else if other == Component::ParentDir {
                    current = next.canonicalize().unwrap_or_else(|_| {
                        let mut up = current.clone();
                        up.pop();
                        up
                    });
                } else {
                    match next.canonicalize() {
                        Ok(resolved) => current = resolved,
                        Err(_) => {
                            missing = true;
                            current = next;
                        }
                    }
                }
            }
        }
    }
    current
}

/// Where `path` itself lives: its parent resolved as [`resolve`] does, and its own name
/// appended without following it. A link inside a protected directory is inside it, wherever it
/// points.
pub fn location(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        (_, Some(name)) => resolve(Path::new(".")).join(name),
        _ => resolve(path),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.partial-`: the start of every staging name for `destination`.
fn partial_prefix(destination: &Path) -> String {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    format!(".{name}.partial-")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Creates and locks a fresh lock file; returns it with its path and the staging directory it
/// guards. The lock is taken on a file created new, then checked to still be the file at that
/// path, so a concurrent clean-up that removed it in between is noticed and a new name tried.
fn claim(parent: &Path, prefix: &str) -> Result<(File, PathBuf, PathBuf), StagingError> {
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
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether `id` is one [`claim`] makes: `<pid>-<8 hex digits>`.
fn is_claim_id(id: &str) -> bool {
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
fn remove_abandoned(parent: &Path, prefix: &str, destination: &Path) -> Result<(), StagingError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "vrn-staging-{name}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    fn publish_with(staging: Staging, files: &[(&str, &str)]) -> Published {
        for (name, text) in files {
            std::fs::write(staging.path().join(name), text).unwrap();
        }
        let listed = staging.files().unwrap();
        let manifest = serde_json::json!({"kind": OutputKind::Bundle.marker(), "files": listed});
        std::fs::write(staging.path().join(MANIFEST), manifest.to_string()).unwrap();
        staging.publish().unwrap()
    }

    #[test]
    fn publish_exchanges_and_drop_discards() {
        let root = root("publish");
        let destination = root.join("bundle");
        let first = publish_with(
            Staging::new(&destination, OutputKind::Bundle, &[]).unwrap(),
            &[("old.txt", "old")],
        );
        assert!(!first.gap);

        let staging = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
        std::fs::write(staging.path().join("new.txt"), "new").unwrap();
        drop(staging);
        assert!(
            destination.join("old.txt").exists(),
            "a dropped staging leaves the old one"
        );

        let second = publish_with(
            Staging::new(&destination, OutputKind::Bundle, &[]).unwrap(),
            &[("new.txt", "new")],
        );
        assert!(!second.gap, "this file system exchanges in one step");
        assert!(destination.join("new.txt").exists());
        assert!(!destination.join("old.txt").exists());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1, "no leftovers");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_what_is_not_ours() {
        let root = root("refuse");
        let file = root.join("file.txt");
        std::fs::write(&file, "mine").unwrap();
        assert!(matches!(
            Staging::new(&file, OutputKind::Bundle, &[]),
            Err(StagingError::NotADirectory { .. })
        ));
        let mine = root.join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "mine").unwrap();
        assert!(matches!(
            Staging::new(&mine, OutputKind::Bundle, &[]),
            Err(StagingError::NotOurs { .. })
        ));
        // A partner pack is not a bundle.
        std::fs::write(
            mine.join(MANIFEST),
            serde_json::json!({"kind": OutputKind::PartnerPack.marker()}).to_string(),
        )
        .unwrap();
        assert!(matches!(
            Staging::new(&mine, OutputKind::Bundle, &[]),
            Err(StagingError::NotOurs { .. })
        ));
        // Ours, but with a file the user added.
        let bundle = root.join("bundle");
        publish_with(
            Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
            &[("index.html", "x")],
        );
        std::fs::write(bundle.join(".DS_Store"), "").unwrap();
        assert!(Staging::new(&bundle, OutputKind::Bundle, &[]).is_ok());
        std::fs::write(bundle.join("my notes.docx"), "mine").unwrap();
        let error = Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap_err();
        assert!(error.to_string().contains("my notes.docx"), "{error}");
        assert_eq!(std::fs::read(mine.join("notes.txt")).unwrap(), b"mine");
        assert_eq!(
            std::fs::read(bundle.join("my notes.docx")).unwrap(),
            b"mine"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_the_data_directory_and_around_it() {
        let root = root("protect");
        let data = root.join("data").join("sample");
        std::fs::create_dir_all(&data).unwrap();
        for (out, relation) in [
            (data.clone(), "is"),
            (root.join("data"), "contains"),
            (data.join("bundle"), "is inside"),
            (data.join("..").join("sample"), "is"),
        ] {
            match Staging::new(&out, OutputKind::Bundle, &[&data]) {
                Err(StagingError::Protected { relation: r, .. }) => {
                    assert_eq!(r, relation, "{}", out.display())
                }
                other => panic!("{}: {other:?}", out.display()),
            }
        }
        assert!(Staging::new(&root.join("out"), OutputKind::Bundle, &[&data]).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn abandoned_stagings_are_removed_live_ones_kept() {
        let root = root("abandoned");
        let destination = root.join("bundle");
        // A dead run: its directory and its unlocked lock file.
        let dead = root.join(".bundle.partial-1-dead");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("half.csv"), "x").unwrap();
        std::fs::write(with_suffix(&dead, ".lock"), "").unwrap();
        // A dead run with no lock file left at all.
        std::fs::create_dir(root.join(".bundle.partial-2-gone")).unwrap();
        // A live run in this process.
        let live = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
        let live_dir = live.path().to_path_buf();
        assert!(!dead.exists() && !with_suffix(&dead, ".lock").exists());
        assert!(!root.join(".bundle.partial-2-gone").exists());
        let other = Staging::new(&destination, OutputKind::Bundle, &[]).unwrap();
        assert!(live_dir.is_dir(), "a live run's staging is left alone");
        drop(other);
        drop(live);
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn manifests_without_hashes_are_trusted_only_as_far_as_their_structure_goes() {
        let root = root("legacy");
        let legacy = root.join("bundle");
        std::fs::create_dir(&legacy).unwrap();
        let manifest = serde_json::json!({
            "tool": "vrn-sna 0.1.0",
            "jobs": [{"job": "headline"}],
            "charts": [{"name": "trend_police", "drawn": true}],
        });
        std::fs::write(legacy.join(MANIFEST), manifest.to_string()).unwrap();
        std::fs::create_dir(legacy.join("tables")).unwrap();
        std::fs::write(legacy.join("tables/headline.csv"), "x").unwrap();
        std::fs::write(legacy.join("index.html"), "x").unwrap();
        assert!(
            Staging::new(&legacy, OutputKind::Bundle, &[]).is_ok(),
            "a whole old bundle"
        );
        std::fs::write(legacy.join("notes.docx"), "mine").unwrap();
        let error = Staging::new(&legacy, OutputKind::Bundle, &[]).unwrap_err();
        assert!(error.to_string().contains("notes.docx"), "{error}");
        // A kind with no files and no structure, or files that are not a list: not ours.
        for manifest in [
            serde_json::json!({"kind": OutputKind::Bundle.marker()}),
            serde_json::json!({"kind": OutputKind::Bundle.marker(), "files": "*"}),
            serde_json::json!({"kind": OutputKind::PartnerPack.marker()}),
        ] {
            let dir = root.join("odd");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join(MANIFEST), manifest.to_string()).unwrap();
            std::fs::write(dir.join("my.xlsx"), "mine").unwrap();
            let kind = if manifest["kind"] == OutputKind::PartnerPack.marker() {
                OutputKind::PartnerPack
            } else {
                OutputKind::Bundle
            };
            assert!(Staging::new(&dir, kind, &[]).is_err(), "{manifest}");
            assert!(dir.join("my.xlsx").exists());
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_file_changed_since_it_was_written_is_not_replaced() {
        let root = root("edited");
        let bundle = root.join("bundle");
        publish_with(
            Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
            &[("summary.md", "as written")],
        );
        assert!(Staging::new(&bundle, OutputKind::Bundle, &[]).is_ok());
        std::fs::write(bundle.join("summary.md"), "edited for the board").unwrap();
        let error = Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("summary.md (changed since it was written)"),
            "{error}"
        );
        assert_eq!(
            std::fs::read(bundle.join("summary.md")).unwrap(),
            b"edited for the board"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A reader polling the output through hundreds of replacements never finds it missing:
    /// the swap is one exchange, not two renames with a gap between them.
    #[test]
    fn readers_never_miss_the_output_across_replacements() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let root = root("readers");
        let bundle = root.join("bundle");
        publish_with(
            Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
            &[("index.html", "0")],
        );
        let stop = Arc::new(AtomicBool::new(false));
        let misses = Arc::new(AtomicU64::new(0));
        let reader = {
            let (stop, misses, index) = (
                Arc::clone(&stop),
                Arc::clone(&misses),
                bundle.join("index.html"),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if std::fs::metadata(&index).is_err() {
                        misses.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        for i in 0..300 {
            let published = publish_with(
                Staging::new(&bundle, OutputKind::Bundle, &[]).unwrap(),
                &[("index.html", &i.to_string())],
            );
            assert!(!published.gap);
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(misses.load(Ordering::Relaxed), 0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dead_stagings_of_other_outputs_go_only_with_a_free_lock() {
        let root = root("others");
        // A dead run for another bundle name: a directory and its free lock file.
        let other = root.join(".old-title.partial-42-0badcafe");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(with_suffix(&other, ".lock"), "").unwrap();
        // A user's directory that merely looks similar, with no lock file.
        let lookalike = root.join(".notes.partial-1-deadbeef");
        std::fs::create_dir(&lookalike).unwrap();
        drop(Staging::new(&root.join("bundle"), OutputKind::Bundle, &[]).unwrap());
        assert!(!other.exists() && !with_suffix(&other, ".lock").exists());
        assert!(lookalike.exists(), "no lock file: not ours to remove");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_failed_run_removes_the_directories_it_created() {
        let root = root("parents");
        drop(Staging::new(&root.join("new1/new2/bundle"), OutputKind::Bundle, &[]).unwrap());
        assert!(!root.join("new1").exists());
        std::fs::create_dir(root.join("kept")).unwrap();
        drop(Staging::new(&root.join("kept/new/bundle"), OutputKind::Bundle, &[]).unwrap());
        assert!(root.join("kept").is_dir() && !root.join("kept/new").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn dot_dot_after_a_symbolic_link_goes_where_the_link_goes() {
        let root = root("dotdot");
        std::fs::create_dir_all(root.join("data/reference")).unwrap();
        std::fs::create_dir(root.join("work")).unwrap();
        std::os::unix::fs::symlink(root.join("data/reference"), root.join("work/ref")).unwrap();
        let sneaky = root.join("work/ref/../bundle");
        assert_eq!(resolve(&sneaky), resolve(&root.join("data")).join("bundle"));
        match Staging::new(&sneaky, OutputKind::Bundle, &[&root.join("data")]) {
            Err(StagingError::Protected { relation, .. }) => assert_eq!(relation, "is inside"),
            other => panic!("{other:?}"),
        }
        // `.` stages beside the directory, not inside it.
        let empty = root.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let staging = Staging::new(&empty.join("."), OutputKind::Bundle, &[]).unwrap();
        assert_eq!(staging.path().parent(), Some(resolve(&root).as_path()));
        drop(staging);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_old_copy_left_between_two_renames_is_restored() {
        let root = root("restore");
        let destination = root.join("bundle");
        let old = root.join(".bundle.partial-3-dead.old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("index.html"), "previous").unwrap();
        let manifest =
            serde_json::json!({"kind": OutputKind::Bundle.marker(), "jobs": [], "charts": []});
        std::fs::write(old.join(MANIFEST), manifest.to_string()).unwrap();
        drop(Staging::new(&destination, OutputKind::Bundle, &[]).unwrap());
        assert_eq!(
            std::fs::read(destination.join("index.html")).unwrap(),
            b"previous"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
