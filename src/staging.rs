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
}

impl OutputKind {
    /// The `kind` in the directory's `manifest.json`.
    pub const fn marker(self) -> &'static str {
        match self {
            OutputKind::Bundle => "vrn-sna assessment bundle",
            OutputKind::PartnerPack => "vrn-sna partner pack",
            OutputKind::Extract => "vrn-sna generated extract",
        }
    }

    /// The kind in words, with its article.
    pub const fn noun(self) -> &'static str {
        match self {
            OutputKind::Bundle => "an assessment bundle",
            OutputKind::PartnerPack => "a partner pack",
            OutputKind::Extract => "a generated extract",
        }
    }
}

/// Errors in checking, staging or publishing an output directory.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// A file-system step failed.
    #[error("{action} {path}: {source}")]
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
        let parent = parent_of(destination);
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
        })
    }

    /// The staging directory to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Every file written so far, as sorted paths relative to the staging directory with `/`
    /// separators, plus `manifest.json`: what the manifest's `files` lists.
    pub fn files(&self) -> Result<Vec<String>, StagingError> {
        let mut files = relative_files(&self.dir)?;
        if !files.iter().any(|f| f == MANIFEST) {
            files.push(MANIFEST.to_owned());
        }
        files.sort();
        Ok(files)
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
    let target = resolve(destination);
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
    let manifest = std::fs::read_to_string(destination.join(MANIFEST)).map_err(|_| not_ours())?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).map_err(|_| not_ours())?;
    if !is_kind(&manifest, kind) {
        return Err(not_ours());
    }
    let Some(listed) = manifest["files"].as_array() else {
        // A bundle written before manifests listed their files: its kind is all there is to go
        // on.
        return Ok(());
    };
    let listed: Vec<&str> = listed.iter().filter_map(|f| f.as_str()).collect();
    let foreign: Vec<String> = relative_files(destination)?
        .into_iter()
        .filter(|f| !listed.contains(&f.as_str()))
        .filter(|f| {
            !DESKTOP_LITTER
                .iter()
                .any(|l| f.rsplit('/').next() == Some(*l))
        })
        .collect();
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

/// The absolute, symlink-resolved form of `path`, which need not exist: the longest existing
/// ancestor is resolved and the rest appended.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    // Lexically normalise `.` and `..` first, so a missing path still compares correctly.
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other.as_os_str()),
        }
    }
    let mut existing = normal.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = existing.canonicalize() {
            let mut out = resolved;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return normal,
        }
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

/// Removes the staging directories, `.old` copies and lock files that runs which are no longer
/// alive left beside `destination`. When the destination is missing and a dead run left its
/// `.old` copy (killed between the two renames of the fallback), that copy is put back first.
fn remove_abandoned(parent: &Path, prefix: &str, destination: &Path) -> Result<(), StagingError> {
    let mut ids: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(parent).map_err(io("reading", parent))? {
        let entry = entry.map_err(io("reading", parent))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let id = rest
            .strip_suffix(".lock")
            .or_else(|| rest.strip_suffix(".old"))
            .unwrap_or(rest)
            .to_owned();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.sort();
    for id in ids {
        let dir = parent.join(format!("{prefix}{id}"));
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
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(io("opening", &lock_path)(e)),
        };
        if old.is_dir() && std::fs::symlink_metadata(destination).is_err() {
            std::fs::rename(&old, destination).map_err(io("restoring", destination))?;
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
    fn an_old_copy_left_between_two_renames_is_restored() {
        let root = root("restore");
        let destination = root.join("bundle");
        let old = root.join(".bundle.partial-3-dead.old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("index.html"), "previous").unwrap();
        let manifest = serde_json::json!({"kind": OutputKind::Bundle.marker()});
        std::fs::write(old.join(MANIFEST), manifest.to_string()).unwrap();
        drop(Staging::new(&destination, OutputKind::Bundle, &[]).unwrap());
        assert_eq!(
            std::fs::read(destination.join("index.html")).unwrap(),
            b"previous"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
