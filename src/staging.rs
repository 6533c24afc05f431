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

mod claims;
mod ownership;

use claims::*;
pub use ownership::*;

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
    /// The destination is in an object store: outputs are written to a local (or mounted)
    /// directory, staged and swapped into place.
    #[error(
        "{path}: outputs are written to a directory on a file system (local or mounted), not to an object store"
    )]
    Remote {
        /// The destination given.
        path: PathBuf,
    },
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

#[cfg(test)]
mod tests;
