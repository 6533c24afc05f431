//! The release log: every partner pack `sna export --partner` publishes, recorded beside the
//! packs (by default `releases.json` in the pack's parent directory; `release_log` in sna.toml)
//! with its period, structure and published counts, so that the next export can protect its
//! pack jointly with everything an intruder may hold, even after a pack's directory is gone.
//!
//! The log holds only what the packs published (a suppressed count is recorded as suppressed,
//! without its value), so it is no more disclosive than the packs themselves. It is replaced in
//! one step (written beside and renamed), only when it is a log this tool wrote, and only when
//! no other export recorded a release since this one read it. Releases are never removed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::partners::structure::{Grid, Period, Release};

/// The `kind` that marks a file as a release log this tool wrote.
pub const LOG_KIND: &str = "vrn-sna partner release log";

/// The log's file name beside the packs when sna.toml sets no `release_log`.
pub const DEFAULT_NAME: &str = "releases.json";

/// Errors in reading or writing the release log.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseLogError {
    /// The log exists but could not be read.
    #[error("{path}: cannot read the release log: {source}")]
    Read {
        /// The log.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is there that this tool did not write (or cannot understand): left alone.
    #[error(
        "{path} is not a partner release log written by sna ({problem}); it was left as it is: move it away, or set release_log in sna.toml to another file"
    )]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Another export recorded a release after this one read the log.
    #[error(
        "{path}: another export recorded a release ({found} now, {read} when this export began), so this pack was not protected against it; nothing was written: export again"
    )]
    Changed {
        /// The log.
        path: PathBuf,
        /// Releases when read.
        read: usize,
        /// Releases now.
        found: usize,
    },
    /// The log could not be written.
    #[error("{path}: cannot write the release log: {source}")]
    Write {
        /// The log.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The log: every release in the order published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseLog {
    /// Always [`LOG_KIND`].
    pub kind: String,
    /// The releases, oldest first.
    pub releases: Vec<LoggedRelease>,
}

/// One published pack, as an intruder holding it knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedRelease {
    /// The pack's directory when it was written.
    pub pack: String,
    /// First day of its period (`YYYY-MM-DD`).
    pub period_start: String,
    /// Last day of its period.
    pub period_end: String,
    /// When it was recorded (UTC, RFC 3339).
    pub released_at: String,
    /// `vrn-sna <version>`.
    pub tool: String,
    /// Its threshold.
    pub threshold: u32,
    /// Its protection level.
    pub protection: u64,
    /// What an intruder knows of every suppressed count.
    pub suppressed_at_least: u64,
    /// Each count column of each table, cell by cell, as published.
    pub grids: Vec<Grid>,
}

/// Where the log of a pack written to `out` lives by default: beside it.
pub fn default_path(out: &Path) -> PathBuf {
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(DEFAULT_NAME)
}

impl LoggedRelease {
    /// The release's period.
    pub fn period(&self) -> Result<Period, String> {
        let day = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|e| format!("period day `{text}` of {}: {e}", self.pack))
        };
        Ok(Period {
            start: day(&self.period_start)?,
            end: day(&self.period_end)?,
        })
    }

    /// What the release published, as grids with published values (suppressed counts unknown).
    pub fn grids(&self) -> Vec<Grid> {
        published(&self.grids)
    }

    /// Records published `grids` (their values as published: suppressed ones are not kept).
    pub fn of_grids(grids: &[Grid]) -> Vec<Grid> {
        published(grids)
    }
}

/// `grids` as an intruder holding them knows them: a suppressed count has no value.
fn published(grids: &[Grid]) -> Vec<Grid> {
    let mut grids = grids.to_vec();
    for cell in grids.iter_mut().flat_map(|g| g.cells.iter_mut()) {
        if cell.suppressed {
            cell.value = None;
        }
    }
    grids
}

impl ReleaseLog {
    /// The log at `path`: empty when there is none; refused when the file there is not one.
    pub fn load(path: &Path) -> Result<ReleaseLog, ReleaseLogError> {
        let not_ours = |problem: String| ReleaseLogError::NotOurs {
            path: path.to_owned(),
            problem,
        };
        if path.is_dir() {
            return Err(not_ours("it is a directory".into()));
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReleaseLog {
                    kind: LOG_KIND.into(),
                    releases: Vec::new(),
                });
            }
            Err(source) => {
                return Err(ReleaseLogError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        #[derive(Deserialize)]
        struct Kind {
            kind: Option<String>,
        }
        let kind: Kind =
            serde_json::from_str(&text).map_err(|e| not_ours(format!("not a JSON object: {e}")))?;
        if kind.kind.as_deref() != Some(LOG_KIND) {
            return Err(not_ours(match kind.kind {
                Some(other) => format!("its kind is `{other}`, not `{LOG_KIND}`"),
                None => format!("it has no `kind: \"{LOG_KIND}\"`"),
            }));
        }
        let log: ReleaseLog =
            serde_json::from_str(&text).map_err(|e| not_ours(format!("unreadable: {e}")))?;
        for release in &log.releases {
            release.period().map_err(not_ours)?;
        }
        Ok(log)
    }

    /// The largest protection level of the logged releases, and at least `floor`: a new
    /// release protected with them protects their counts at their level.
    pub fn protection(&self, floor: u64) -> u64 {
        self.releases
            .iter()
            .map(|r| r.protection)
            .fold(floor, u64::max)
    }

    /// The logged releases, as published releases of a joint system.
    pub fn releases(&self) -> Vec<Release> {
        self.releases
            .iter()
            .map(|r| {
                let period = r.period().ok();
                Release {
                    label: format!("{} ({} to {})", r.pack, r.period_start, r.period_end),
                    period,
                    published: true,
                    grids: r.grids(),
                }
            })
            .collect()
    }

    /// Adds `release` to the log at `path`, which held `read` releases when this export read
    /// it, replacing the file in one step. Refuses when the file is not a log this tool wrote,
    /// or when another export recorded a release since.
    pub fn record(path: &Path, read: usize, release: LoggedRelease) -> Result<(), ReleaseLogError> {
        let existed = path.exists();
        let mut log = ReleaseLog::load(path)?;
        if log.releases.len() != read {
            return Err(ReleaseLogError::Changed {
                path: path.to_owned(),
                read,
                found: log.releases.len(),
            });
        }
        log.releases.push(release);
        let write_error = |source: std::io::Error| ReleaseLogError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let mut file = tempfile::Builder::new()
            .prefix(".releases-")
            .suffix(".json.tmp")
            .tempfile_in(dir)
            .map_err(write_error)?;
        let text = serde_json::to_string(&log).map_err(|e| write_error(e.into()))?;
        file.write_all(text.as_bytes()).map_err(write_error)?;
        file.write_all(b"\n").map_err(write_error)?;
        // Readable as any file the tool writes (a temporary file is private to its owner).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = match std::fs::metadata(path) {
                Ok(meta) => meta.permissions().mode(),
                Err(_) => 0o644,
            };
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(write_error)?;
        }
        file.as_file().sync_all().map_err(write_error)?;
        if existed {
            file.persist(path).map_err(|e| write_error(e.error))?;
        } else {
            file.persist_noclobber(path)
                .map_err(|e| write_error(e.error))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::structure::tests::grid;

    fn entry(pack: &str) -> LoggedRelease {
        let mut g = grid("t", "n", &[&[3, 20], &[12, 30]]);
        g.cells[0].suppressed = true;
        LoggedRelease {
            pack: pack.into(),
            period_start: "2020-04-01".into(),
            period_end: "2020-09-30".into(),
            released_at: "2026-01-01T00:00:00Z".into(),
            tool: "vrn-sna test".into(),
            threshold: 5,
            protection: 5,
            suppressed_at_least: 1,
            grids: LoggedRelease::of_grids(&[g]),
        }
    }

    #[test]
    fn releases_are_recorded_without_their_suppressed_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_NAME);
        assert!(ReleaseLog::load(&path).unwrap().releases.is_empty());
        ReleaseLog::record(&path, 0, entry("a")).unwrap();
        ReleaseLog::record(&path, 1, entry("b")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let log = ReleaseLog::load(&path).unwrap();
        assert_eq!(log.releases.len(), 2);
        // The hidden 3 is not in the log: the first cell is recorded as suppressed, no value.
        let first = &log.releases[0].grids[0].cells[0];
        assert_eq!((first.value, first.suppressed), (None, true));
        assert!(text.contains("\"suppressed\":true"), "{text}");
        let releases = log.releases();
        assert_eq!(releases[1].label, "b (2020-04-01 to 2020-09-30)");
        assert!(releases[0].published);
        assert_eq!(releases[0].grids[0].cells[1].value, Some(20));
        // Nothing is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_the_tool_did_not_write_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_NAME);
        for text in [
            "notes",
            "{\"releases\": []}",
            "{\"kind\": \"something else\"}",
        ] {
            std::fs::write(&path, text).unwrap();
            let err = ReleaseLog::record(&path, 0, entry("a"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("not a partner release log written by sna"),
                "{err}"
            );
            assert!(err.contains("release_log in sna.toml"), "{err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[test]
    fn a_release_recorded_meanwhile_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_NAME);
        ReleaseLog::record(&path, 0, entry("a")).unwrap();
        let err = ReleaseLog::record(&path, 0, entry("b"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("another export recorded a release"), "{err}");
        assert_eq!(ReleaseLog::load(&path).unwrap().releases.len(), 1);
    }

    #[test]
    fn the_default_log_is_beside_the_pack() {
        assert_eq!(
            default_path(Path::new("out/pack")),
            Path::new("out/releases.json")
        );
        assert_eq!(
            default_path(Path::new("pack")),
            Path::new("./releases.json")
        );
    }
}
