//! Publishing a dashboard in one step.
//!
//! Each refresh builds a complete new version in `.<name>.versions/` beside the dashboard;
//! the dashboard path itself is a symbolic link to the current version. Publishing replaces
//! the link with `rename(2)`, which is atomic: a reader (or a static web server) resolves the
//! link to the old version or the new one, never to a mix, and a failed build never touches
//! the link. The previous version is kept, so a page opened just before a swap can still load
//! its images; older versions are removed.

use std::path::{Path, PathBuf};

/// Errors in preparing or publishing a version.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A file-system step failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The dashboard path holds something that `sna refresh` did not make.
    #[error(
        "{0} exists and is not a dashboard published by sna refresh (a symbolic link to a version); move it away or choose another --dashboard"
    )]
    NotOurs(PathBuf),
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> PublishError + 'a {
    move |source| PublishError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The versions of one dashboard.
#[derive(Debug)]
pub struct Versions {
    dashboard: PathBuf,
    store: PathBuf,
}

/// A version being built; removed on drop unless published.
#[derive(Debug)]
pub struct Draft {
    dir: PathBuf,
    published: bool,
}

impl Draft {
    /// The directory to build into.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Versions {
    /// The versions of `dashboard`, kept in `.<name>.versions/` beside it.
    pub fn new(dashboard: &Path) -> Versions {
        Versions {
            dashboard: dashboard.to_path_buf(),
            store: super::sibling(dashboard, ".", ".versions"),
        }
    }

    /// The name of the published version, when the dashboard is one of ours and complete.
    pub fn current(&self) -> Option<String> {
        let target = std::fs::read_link(&self.dashboard).ok()?;
        let name = target.file_name()?.to_string_lossy().into_owned();
        self.store
            .join(&name)
            .join("index.html")
            .is_file()
            .then_some(name)
    }

    /// Checks that the dashboard path is free, an empty directory, or our link; touches nothing.
    pub fn check(&self) -> Result<(), PublishError> {
        match std::fs::symlink_metadata(&self.dashboard) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(&self.dashboard).map_err(io("reading", &self.dashboard))?;
                let store_name = self.store.file_name().unwrap_or_default();
                let ours = target.parent().and_then(Path::file_name) == Some(store_name)
                    && target.components().count() == 2;
                if ours {
                    Ok(())
                } else {
                    Err(PublishError::NotOurs(self.dashboard.clone()))
                }
            }
            Ok(meta) if meta.is_dir() => {
                let empty = std::fs::read_dir(&self.dashboard)
                    .map_err(io("reading", &self.dashboard))?
                    .next()
                    .is_none();
                if empty {
                    Ok(())
                } else {
                    Err(PublishError::NotOurs(self.dashboard.clone()))
                }
            }
            Ok(_) => Err(PublishError::NotOurs(self.dashboard.clone())),
            Err(_) => Ok(()),
        }
    }

    /// Checks that the dashboard path is free or ours, and removes drafts left by a refresh
    /// that died. Call with the lock held.
    pub fn prepare(&self) -> Result<(), PublishError> {
        self.check()?;
        // An empty directory in the link's place gives way to it.
        if std::fs::symlink_metadata(&self.dashboard).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir(&self.dashboard).map_err(io("removing", &self.dashboard))?;
        }
        self.remove_leftover_links()?;
        std::fs::create_dir_all(&self.store).map_err(io("creating", &self.store))?;
        for entry in std::fs::read_dir(&self.store).map_err(io("reading", &self.store))? {
            let path = entry.map_err(io("reading", &self.store))?.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".draft-"))
            {
                std::fs::remove_dir_all(&path).map_err(io("removing", &path))?;
            }
        }
        Ok(())
    }

    /// Removes what a refresh killed at the wrong moment left beside the dashboard: a new link
    /// made just before its swap, a status file half-written.
    fn remove_leftover_links(&self) -> Result<(), PublishError> {
        let link = super::sibling(&self.dashboard, ".", ".link-");
        let status = super::sibling(&self.dashboard, ".", ".status.");
        let (Some(parent), Some(link), Some(status)) =
            (link.parent(), link.file_name(), status.file_name())
        else {
            return Ok(());
        };
        let (link, status) = (link.to_string_lossy(), status.to_string_lossy());
        for entry in std::fs::read_dir(parent).map_err(io("reading", parent))? {
            let path = entry.map_err(io("reading", parent))?.path();
            let is_leftover = path.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(link.as_ref())
                    || (n.starts_with(status.as_ref()) && n.ends_with(".tmp"))
            });
            if is_leftover {
                std::fs::remove_file(&path).map_err(io("removing", &path))?;
            }
        }
        Ok(())
    }

    /// An empty draft to build the next version in.
    pub fn draft(&self) -> Result<Draft, PublishError> {
        let dir = self.store.join(format!(".draft-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io("removing", &dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        Ok(Draft {
            dir,
            published: false,
        })
    }

    /// Makes `draft` the published version `name` in one step; keeps the version it replaces
    /// and removes any older one.
    pub fn publish(&self, mut draft: Draft, name: &str) -> Result<(), PublishError> {
        let previous = self.current();
        let version = self.store.join(name);
        std::fs::rename(&draft.dir, &version).map_err(io("moving into place", &version))?;
        draft.published = true;
        let store_name = self
            .store
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = Path::new(&store_name).join(name);
        let link = super::sibling(
            &self.dashboard,
            ".",
            &format!(".link-{}", std::process::id()),
        );
        let _ = std::fs::remove_file(&link);
        symlink_dir(&target, &link).map_err(io("creating the link", &link))?;
        std::fs::rename(&link, &self.dashboard).map_err(|e| {
            let _ = std::fs::remove_file(&link);
            io("swapping in", &self.dashboard)(e)
        })?;
        for entry in std::fs::read_dir(&self.store).map_err(io("reading", &self.store))? {
            let path = entry.map_err(io("reading", &self.store))?.path();
            let entry_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if entry_name != name && Some(&entry_name) != previous.as_ref() {
                std::fs::remove_dir_all(&path).map_err(io("removing", &path))?;
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vrn-sna-publish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("dashboard")
    }

    fn build(versions: &Versions, text: &str) -> Draft {
        let draft = versions.draft().unwrap();
        std::fs::write(draft.path().join("index.html"), text).unwrap();
        draft
    }

    #[test]
    fn versions_swap_in_and_only_current_and_previous_are_kept() {
        let dashboard = dashboard("swap");
        let versions = Versions::new(&dashboard);
        versions.prepare().unwrap();
        assert_eq!(versions.current(), None);
        for (name, text) in [("v1", "one"), ("v2", "two"), ("v3", "three")] {
            versions.publish(build(&versions, text), name).unwrap();
            assert_eq!(versions.current().as_deref(), Some(name));
            assert_eq!(
                std::fs::read_to_string(dashboard.join("index.html")).unwrap(),
                text
            );
        }
        let store = dashboard.with_file_name(".dashboard.versions");
        let mut kept: Vec<String> = std::fs::read_dir(&store)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        kept.sort();
        assert_eq!(kept, ["v2", "v3"]);
        let link = std::fs::read_link(&dashboard).unwrap();
        assert!(link.is_relative(), "{}", link.display());
    }

    #[test]
    fn leftovers_of_a_killed_refresh_are_removed() {
        let dashboard = dashboard("leftovers");
        let versions = Versions::new(&dashboard);
        versions.prepare().unwrap();
        versions.publish(build(&versions, "one"), "v1").unwrap();
        let store = dashboard.with_file_name(".dashboard.versions");
        std::fs::create_dir_all(store.join(".draft-4194304")).unwrap();
        let link = dashboard.with_file_name(".dashboard.link-4194304");
        symlink_dir(Path::new(".dashboard.versions/v1"), &link).unwrap();
        let status = dashboard.with_file_name(".dashboard.status.4194304.tmp");
        std::fs::write(&status, "{\"half").unwrap();
        versions.prepare().unwrap();
        assert!(!store.join(".draft-4194304").exists());
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert!(!status.exists(), "a half-written status file is removed");
        assert_eq!(versions.current().as_deref(), Some("v1"));
    }

    #[test]
    fn an_abandoned_draft_leaves_the_dashboard_alone() {
        let dashboard = dashboard("abandon");
        let versions = Versions::new(&dashboard);
        versions.prepare().unwrap();
        versions.publish(build(&versions, "one"), "v1").unwrap();
        let draft = build(&versions, "two");
        let path = draft.path().to_path_buf();
        drop(draft);
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_to_string(dashboard.join("index.html")).unwrap(),
            "one"
        );
    }

    #[test]
    fn a_directory_not_ours_is_refused_and_an_empty_one_replaced() {
        let dashboard = dashboard("foreign");
        std::fs::create_dir_all(&dashboard).unwrap();
        let versions = Versions::new(&dashboard);
        versions.prepare().unwrap();
        assert!(!dashboard.exists());
        std::fs::create_dir_all(&dashboard).unwrap();
        std::fs::write(dashboard.join("notes.txt"), "mine").unwrap();
        let error = versions.prepare().unwrap_err();
        assert!(matches!(error, PublishError::NotOurs(_)), "{error}");
        assert!(dashboard.join("notes.txt").exists());
    }

    #[test]
    fn a_symbolic_link_of_the_users_is_refused() {
        let dashboard = dashboard("user-link");
        let site = dashboard.with_file_name("www");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("index.html"), "mine").unwrap();
        symlink_dir(Path::new("www"), &dashboard).unwrap();
        let versions = Versions::new(&dashboard);
        let error = versions.prepare().unwrap_err();
        assert!(matches!(error, PublishError::NotOurs(_)), "{error}");
        assert_eq!(std::fs::read_link(&dashboard).unwrap(), Path::new("www"));
    }
}
