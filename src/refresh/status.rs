//! `<dashboard>.status.json`: what the last refresh attempt did, for the scheduler's operator.
//!
//! It lives beside the dashboard, not in it, so that recording an attempt never touches the
//! published dashboard. It is replaced atomically (written to a temporary file, then renamed).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::FileStamp;
use crate::output::OutputError;

/// What an attempt did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new dashboard was built and published.
    Refreshed,
    /// Nothing changed since the last successful refresh; nothing was done.
    UpToDate,
    /// The attempt failed; the previous dashboard, if any, is untouched.
    #[default]
    Failed,
}

/// The contents of the status file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// `vrn-sna <version>` of the last attempt.
    pub tool: String,
    /// Start of the last attempt (UTC, RFC 3339).
    pub attempted_at: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why it failed (`failed` only).
    pub reason: Option<String>,
    /// The input fingerprint it saw (absent when the inputs could not be read).
    pub fingerprint: Option<String>,
    /// How long it took, in seconds.
    pub duration_seconds: f64,
    /// When the published dashboard was built (UTC, RFC 3339).
    pub last_refreshed_at: Option<String>,
    /// The fingerprint of the inputs the published dashboard was built from.
    pub last_refreshed_fingerprint: Option<String>,
    /// The last complete month of the published dashboard (`YYYY-MM`).
    pub data_up_to: Option<String>,
    /// The published version directory.
    pub version: Option<String>,
    /// The input files of the published dashboard with size, modification time and hash.
    pub files: Vec<FileStamp>,
}

impl Status {
    /// The status file of `dashboard`: `<name>.status.json` in the same directory.
    pub fn path_for(dashboard: &Path) -> PathBuf {
        super::sibling(dashboard, "", ".status.json")
    }

    /// Reads the status file; `None` when absent or unreadable (the next refresh rebuilds).
    pub fn read(dashboard: &Path) -> Option<Status> {
        let text = std::fs::read_to_string(Status::path_for(dashboard)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Replaces the status file atomically.
    pub fn write(&self, dashboard: &Path) -> Result<(), OutputError> {
        let path = Status::path_for(dashboard);
        let temporary = super::sibling(
            dashboard,
            ".",
            &format!(".status.{}.tmp", std::process::id()),
        );
        let json = serde_json::to_string_pretty(self).map_err(OutputError::at(&path))?;
        std::fs::write(&temporary, json + "\n").map_err(OutputError::at(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            OutputError::at(&path)(e)
        })
    }
}
