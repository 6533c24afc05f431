//! Writing an output directory all at once: build it in a temporary sibling directory, then
//! rename it into place, so a reader sees the old directory or the new one, never a mix, and
//! a failed or interrupted run leaves the old one untouched.

use std::path::{Path, PathBuf};

/// Errors in staging or publishing a directory.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct StagingError {
    action: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

/// A temporary directory beside its destination; removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    destination: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates an empty staging directory beside `destination`.
    pub fn new(destination: &Path) -> Result<Staging, StagingError> {
        let parent = match destination.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|source| StagingError {
            action: "creating",
            path: parent.clone(),
            source,
        })?;
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".to_owned());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        std::fs::create_dir(&dir).map_err(|source| StagingError {
            action: "creating",
            path: dir.clone(),
            source,
        })?;
        Ok(Staging {
            dir,
            destination: destination.to_path_buf(),
            published: false,
        })
    }

    /// The staging directory to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Moves the staging directory into place, replacing any previous destination.
    pub fn publish(mut self) -> Result<PathBuf, StagingError> {
        let old = self.dir.with_file_name(format!(
            "{}.old",
            self.dir.file_name().unwrap_or_default().to_string_lossy()
        ));
        let had_previous = self.destination.exists();
        if had_previous {
            std::fs::rename(&self.destination, &old).map_err(|source| StagingError {
                action: "moving aside",
                path: self.destination.clone(),
                source,
            })?;
        }
        if let Err(source) = std::fs::rename(&self.dir, &self.destination) {
            if had_previous {
                let _ = std::fs::rename(&old, &self.destination);
            }
            return Err(StagingError {
                action: "moving into place",
                path: self.destination.clone(),
                source,
            });
        }
        self.published = true;
        if had_previous {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.destination.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_and_drop_discards() {
        let root = std::env::temp_dir().join(format!("vrn-staging-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let destination = root.join("bundle");
        std::fs::create_dir_all(&destination).unwrap();
        std::fs::write(destination.join("old.txt"), "old").unwrap();

        let staging = Staging::new(&destination).unwrap();
        std::fs::write(staging.path().join("new.txt"), "new").unwrap();
        drop(staging);
        assert!(
            destination.join("old.txt").exists(),
            "a dropped staging leaves the old one"
        );

        let staging = Staging::new(&destination).unwrap();
        std::fs::write(staging.path().join("new.txt"), "new").unwrap();
        staging.publish().unwrap();
        assert!(destination.join("new.txt").exists());
        assert!(!destination.join("old.txt").exists());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1, "no leftovers");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
