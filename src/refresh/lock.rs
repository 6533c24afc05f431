//! The refresh lock: one refresh of a dashboard at a time.
//!
//! The lock is an advisory lock (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::try_lock`) on `.<dashboard>.lock` beside the dashboard. The operating system drops
//! it when the holder exits, however it exits, so a crashed refresh never blocks the next one.
//! The holder writes its process id and start time into the file and empties it on a clean
//! release; a lock file that still names a process when the lock is taken was left by a
//! process that died mid-refresh, and the new holder says it took the lock over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting refresh retries the lock.
const POLL: Duration = Duration::from_millis(100);

/// Errors in taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another refresh holds the lock and did not release it within the wait.
    #[error(
        "another refresh of this dashboard is running{holder} (lock file {path}); waited {waited}s"
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// " (process N, started T)" when the holder wrote it.
        holder: String,
        /// Seconds waited.
        waited: u64,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A held lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    /// The holder whose lock this process took over, as written in the file, if any.
    pub taken_over_from: Option<String>,
}

impl Lock {
    /// The lock file of `dashboard`: `.<name>.lock` in the same directory.
    pub fn path_for(dashboard: &Path) -> PathBuf {
        super::sibling(dashboard, ".", ".lock")
    }

    /// Takes the lock of `dashboard`, waiting up to `wait` for another holder to release it.
    pub fn acquire(dashboard: &Path, wait: Duration) -> Result<Lock, LockError> {
        let path = Lock::path_for(dashboard);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if started.elapsed() >= wait {
                        let holder = read_holder(&mut file).unwrap_or_default();
                        return Err(LockError::Held {
                            path: path.clone(),
                            holder: if holder.is_empty() {
                                String::new()
                            } else {
                                format!(" ({holder})")
                            },
                            waited: wait.as_secs(),
                        });
                    }
                    std::thread::sleep(POLL.min(wait.saturating_sub(started.elapsed())));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let previous = read_holder(&mut file).map_err(io)?;
        let holder = format!(
            "process {}, started {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Lock {
            file,
            path,
            taken_over_from: (!previous.is_empty()).then_some(previous),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // A clean release leaves the file empty; the OS releases the lock itself when the
        // file closes.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> std::io::Result<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vrn-sna-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("dashboard")
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_releases() {
        let dashboard = dashboard("second");
        let first = Lock::acquire(&dashboard, Duration::ZERO).unwrap();
        assert!(first.taken_over_from.is_none());
        let refused = Lock::acquire(&dashboard, Duration::from_millis(250)).unwrap_err();
        let message = refused.to_string();
        assert!(matches!(refused, LockError::Held { .. }), "{message}");
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        drop(first);
        let second = Lock::acquire(&dashboard, Duration::ZERO).unwrap();
        assert!(
            second.taken_over_from.is_none(),
            "a clean release is not a takeover"
        );
    }

    #[test]
    fn a_waiting_holder_gets_the_lock_when_it_is_released() {
        let dashboard = dashboard("wait");
        let first = Lock::acquire(&dashboard, Duration::ZERO).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = Lock::acquire(&dashboard, Duration::from_secs(30));
        releaser.join().unwrap();
        assert!(second.is_ok());
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_taken_over() {
        let dashboard = dashboard("dead");
        std::fs::write(
            Lock::path_for(&dashboard),
            "process 999999, started 2026-01-01T00:00:00Z",
        )
        .unwrap();
        let lock = Lock::acquire(&dashboard, Duration::ZERO).unwrap();
        assert_eq!(
            lock.taken_over_from.as_deref(),
            Some("process 999999, started 2026-01-01T00:00:00Z")
        );
    }
}
