//! The cache of derived results that every command shares: the data-quality report of
//! validation and the materialised analysis views (`sv_offences_all`, `sv_victims`, …, the
//! views whose metadata says `cache = true`), written once as Parquet and read by `sna run`,
//! `query`, `shell`, `tables`, `export --partner` and `refresh` instead of re-deriving them
//! from the whole extract.
//!
//! An entry is found by its key: a SHA-256 over the tool's version and build, the extract's
//! files (their sizes and SHA-256; see [`inputs`]), the view's SQL and the SQL of every view
//! before it, and the resolved configuration (with the period only for the views that follow
//! it). Nothing else is trusted: an entry whose bytes do not match the SHA-256 recorded when
//! it was written is corrupt and is computed again; a changed input, configuration or SQL
//! gives a new key, so a stale entry is simply never found (and is evicted later).
//!
//! Layout of the cache directory (`cache_dir`, default `~/.cache/vrn-sna`; see [`dir_of`]):
//!
//! ```text
//! CACHEDIR.TAG                     marks the directory as a cache (backup tools skip it) and
//!                                  as vrn-sna's own: `sna cache clear` removes only such a one
//! inputs/<extract>.json            the last stamps of an extract's files (no re-hashing)
//! validation/<key>.json            a data-quality report, with the SHA-256 of its text
//! views/<view>-<key>/data.parquet  a view's rows
//! views/<view>-<key>/entry.json    the view, its key, rows and the SHA-256 of data.parquet
//! ```
//!
//! Every entry is written under a hidden staging name and renamed into place in one step, so
//! a reader sees a whole entry or none; two commands that compute the same entry at once
//! both succeed (the second rename finds the first's entry and its own copy is dropped).
//! Writing the cache is an optimisation: a failure to write is a warning, never an error.

pub mod inputs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::engine::queries::hex;
use inputs::{FileStamp, stamp_files};

/// The first line of a `CACHEDIR.TAG` (the Cache Directory Tagging Specification, Bryan Ford),
/// followed by a line saying the directory is vrn-sna's.
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This directory is the cache of vrn-sna (https://github.com/vrn-sna). `sna cache clear` removes it.\n";

/// How many entries of one view are kept (the most recently written): enough for a run, a
/// dashboard's two periods and a few configurations; older ones are removed when a new one is
/// written.
const KEEP_PER_VIEW: usize = 4;

/// How many validation reports are kept.
const KEEP_VALIDATIONS: usize = 8;

/// What identifies the build: the version, and in a development build the hash of the
/// sources it was built from (build.rs), so that changed code never reads an older build's
/// entries.
fn build_id() -> String {
    format!("{} {}", crate::readable::tool(), env!("SNA_BUILD_ID"))
}

/// Errors of the cache that stop a command.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// `cache_dir` names a directory vrn-sna did not make.
    #[error(
        "the cache directory {} is not empty and holds no CACHEDIR.TAG written by vrn-sna, so it may be someone's files: set `cache_dir` in sna.toml to a directory of its own (or to a new path), or run with --no-cache",
        dir.display()
    )]
    NotOurs {
        /// The directory.
        dir: PathBuf,
    },
    /// `cache_dir` lies inside the extract, or holds the extract or the outputs.
    #[error(
        "the cache directory {} overlaps the extract or the output directory: set `cache_dir` in sna.toml to a directory of its own (the default is the user's cache directory), or run with --no-cache",
        dir.display()
    )]
    Overlaps {
        /// The directory.
        dir: PathBuf,
    },
    /// A cache file could not be written or removed.
    #[error("cache {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn io_at<E>(path: &Path) -> impl Fn(E) -> CacheError + '_
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    move |e| CacheError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// Says on standard error that the cache could not be written: the command's results are
/// right, only not kept for the next one.
pub fn warn_not_written(error: &CacheError) {
    eprintln!(
        "warning: {}; the results are not kept in the cache",
        crate::text::printable(&error.to_string())
    );
}

/// Says on standard error that the cache cannot be used: the command goes on without it.
pub fn warn_not_used(error: &CacheError) {
    eprintln!(
        "warning: {}; going on without the cache",
        crate::text::printable(&error.to_string())
    );
}

/// `config`, with the cache turned off when its directory would lie inside `out`, the
/// directory a command is about to publish: the publication replaces that directory whole, and
/// a cache inside it would make it look like someone else's files.
pub fn outside<'c>(config: &'c Config, out: &Path) -> std::borrow::Cow<'c, Config> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if !config.no_cache && absolute(&dir_of(config)).starts_with(absolute(out)) {
        let mut config = config.clone();
        config.no_cache = true;
        std::borrow::Cow::Owned(config)
    } else {
        std::borrow::Cow::Borrowed(config)
    }
}

/// The cache directory of `config`: `cache_dir`, or the user's cache directory
/// (`$XDG_CACHE_HOME/vrn-sna`, else `$HOME/.cache/vrn-sna`), else `.cache` under `output_dir`.
///
/// Not under `output_dir` by default: the cache holds row-level (pseudonymised) victims and
/// offenders, which have no place in the folder of outputs people share, and a cache inside
/// it would stand in the way of publishing a bundle there.
pub fn dir_of(config: &Config) -> PathBuf {
    if let Some(dir) = &config.cache_dir {
        return dir.clone();
    }
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    from_env("XDG_CACHE_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .map(|base| base.join("vrn-sna"))
        .unwrap_or_else(|| config.output_dir.join(".cache"))
}

/// The cache, keyed to one extract.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// The extract's stamps file.
    stamps_file: PathBuf,
    /// SHA-256 over the build and the extract's files.
    base: String,
}

/// A view's entry found in the cache.
#[derive(Debug, Clone)]
pub struct ViewEntry {
    /// Its rows.
    pub data: PathBuf,
    /// The bytes of `data`, read once: checked against the entry's SHA-256 and decoded from
    /// memory, so a hit reads its file once, not once to check and again to decode.
    pub bytes: bytes::Bytes,
    /// Number of rows.
    pub rows: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct EntryRecord {
    view: String,
    key: String,
    tool: String,
    rows: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    sha256: String,
    payload: T,
}

impl Cache {
    /// The cache for the extract in `data_dir`, or `None` when `--no-cache` was given, the
    /// extract's files cannot be read, or the extract is in an object store (whose objects
    /// would have to be read whole to fingerprint them, as files are). The directory is not
    /// created until something is written.
    pub fn open(config: &Config, data_dir: &Path) -> Result<Option<Cache>, CacheError> {
        if config.no_cache || crate::sources::remote::is_remote(data_dir) {
            return Ok(None);
        }
        let dir = dir_of(config);
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let (cache_abs, data_abs) = (absolute(&dir), absolute(data_dir));
        if cache_abs.starts_with(&data_abs)
            || data_abs.starts_with(&cache_abs)
            || absolute(&config.output_dir).starts_with(&cache_abs)
        {
            return Err(CacheError::Overlaps { dir });
        }
        match check_ours(&dir) {
            Ok(()) => {}
            Err(e @ CacheError::NotOurs { .. }) => return Err(e),
            // Unreadable (another user's cache, say): the command goes on without it.
            Err(e) => {
                warn_not_used(&e);
                return Ok(None);
            }
        }
        let extract = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let stamps_file = dir.join("inputs").join(format!(
            "{}.json",
            &hex(&Sha256::digest(extract.to_string_lossy().as_bytes()))[..32]
        ));
        let known: Vec<FileStamp> = std::fs::read(&stamps_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // An extract that cannot be read is not cached: the command's own reading of it
        // names the problem (a missing directory, an unreadable file) as it always has.
        let Ok(stamps) = stamp_files(data_dir, &known) else {
            return Ok(None);
        };
        let mut hasher = Sha256::new();
        hasher.update(format!("build {}\n", build_id()));
        for file in &stamps {
            hasher.update(format!(
                "file {} {} {}\n",
                file.path, file.bytes, file.sha256
            ));
        }
        let cache = Cache {
            dir,
            stamps_file,
            base: hex(&hasher.finalize()),
        };
        if known != stamps {
            // Remembered so that the next command need not hash unchanged files again.
            let _ = cache.ensure_dir().and_then(|()| {
                cache.write_atomic(&cache.stamps_file, &serde_json::to_vec(&stamps)?)
            });
        }
        Ok(Some(cache))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of an entry of `kind` whose content depends on `parts` besides the build and
    /// the extract.
    pub fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("{}\n{kind}\n", self.base));
        for part in parts {
            hasher.update(format!("{}:{part}\n", part.len()));
        }
        hex(&hasher.finalize())[..32].to_owned()
    }

    /// The validation report stored under `key`, if it is there and intact.
    pub fn validation<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = std::fs::read(self.dir.join("validation").join(format!("{key}.json"))).ok()?;
        let sealed: Sealed<serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
        let text = serde_json::to_string(&sealed.payload).ok()?;
        if hex(&Sha256::digest(text.as_bytes())) != sealed.sha256 {
            return None;
        }
        serde_json::from_value(sealed.payload).ok()
    }

    /// Stores a validation report under `key`.
    pub fn store_validation<T: Serialize>(&self, key: &str, report: &T) -> Result<(), CacheError> {
        self.ensure_dir()?;
        let payload = serde_json::to_value(report)?;
        let text = serde_json::to_string(&payload)?;
        let sealed = Sealed {
            sha256: hex(&Sha256::digest(text.as_bytes())),
            payload,
        };
        let dir = self.dir.join("validation");
        std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        self.write_atomic(
            &dir.join(format!("{key}.json")),
            &serde_json::to_vec(&sealed)?,
        )?;
        evict(&dir, |name| name.ends_with(".json"), KEEP_VALIDATIONS);
        Ok(())
    }

    /// The entry of view `name` under `key`, if it is there and its data are the bytes that
    /// were written.
    pub fn view(&self, name: &str, key: &str) -> Option<ViewEntry> {
        let entry = self.dir.join("views").join(format!("{name}-{key}"));
        let record: EntryRecord =
            serde_json::from_slice(&std::fs::read(entry.join("entry.json")).ok()?).ok()?;
        if record.view != name || record.key != key {
            return None;
        }
        let data = entry.join("data.parquet");
        let bytes = std::fs::read(&data).ok()?;
        if hex(&Sha256::digest(&bytes)) != record.sha256 {
            return None;
        }
        // Marked as used, so that eviction removes the entries least recently used.
        let _ =
            std::fs::File::open(&entry).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        Some(ViewEntry {
            data,
            bytes: bytes::Bytes::from(bytes),
            rows: record.rows,
        })
    }

    /// Removes the entry of view `name` under `key` (one found intact but not fitting the
    /// view), so that the next store replaces it.
    pub fn remove_view(&self, name: &str, key: &str) {
        let views = self.dir.join("views");
        let target = views.join(format!("{name}-{key}"));
        let aside = views.join(staging_name(&format!("{name}-{key}-unfit")));
        if std::fs::rename(&target, &aside).is_ok() {
            let _ = std::fs::remove_dir_all(&aside);
        }
    }

    /// Stores the rows of view `name` under `key`.
    pub fn store_view(
        &self,
        name: &str,
        key: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(), CacheError> {
        self.ensure_dir()?;
        let views = self.dir.join("views");
        std::fs::create_dir_all(&views).map_err(io_at(&views))?;
        let staged = views.join(staging_name(&format!("{name}-{key}")));
        std::fs::create_dir(&staged).map_err(io_at(&staged))?;
        let result = (|| {
            let data = staged.join("data.parquet");
            let file = std::fs::File::create(&data).map_err(io_at(&data))?;
            let mut writer =
                ArrowWriter::try_new(file, Arc::clone(schema), None).map_err(io_at(&data))?;
            let mut rows = 0u64;
            for batch in batches {
                writer.write(batch).map_err(io_at(&data))?;
                rows += batch.num_rows() as u64;
            }
            writer
                .into_inner()
                .and_then(|f| f.sync_all().map_err(Into::into))
                .map_err(io_at(&data))?;
            let (sha256, _) = crate::output::sha256_of(&data).map_err(io_at(&data))?;
            let record = EntryRecord {
                view: name.to_owned(),
                key: key.to_owned(),
                tool: build_id(),
                rows,
                sha256,
            };
            let path = staged.join("entry.json");
            std::fs::write(&path, serde_json::to_vec_pretty(&record)?).map_err(io_at(&path))?;
            let target = views.join(format!("{name}-{key}"));
            if target.exists() && self.view(name, key).is_none() {
                // A corrupt entry (why this one was computed): moved aside in one step, so
                // that a reader never sees it half removed, then removed.
                let aside = views.join(staging_name(&format!("{name}-{key}-corrupt")));
                if std::fs::rename(&target, &aside).is_ok() {
                    let _ = std::fs::remove_dir_all(&aside);
                }
            }
            match std::fs::rename(&staged, &target) {
                Ok(()) => Ok(()),
                // Another command stored the same entry first: keep its copy.
                Err(_) if self.view(name, key).is_some() => {
                    let _ = std::fs::remove_dir_all(&staged);
                    Ok(())
                }
                Err(e) => Err(io_at(&target)(e)),
            }
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        result?;
        let prefix = format!("{name}-");
        evict(
            &views,
            |entry| {
                entry
                    .strip_prefix(&prefix)
                    .is_some_and(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
            },
            KEEP_PER_VIEW,
        );
        Ok(())
    }

    fn ensure_dir(&self) -> Result<(), CacheError> {
        if !self.dir.join("CACHEDIR.TAG").is_file() {
            check_ours(&self.dir)?;
            // A new cache appears whole, with its tag: staged beside it and renamed into place
            // (two commands starting at once: the second rename fails and its copy goes).
            let parent = self.dir.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent).map_err(io_at(parent))?;
            let staged = parent.join(staging_name(
                &self.dir.file_name().unwrap_or_default().to_string_lossy(),
            ));
            std::fs::create_dir(&staged).map_err(io_at(&staged))?;
            let tagged =
                std::fs::write(staged.join("CACHEDIR.TAG"), TAG.as_bytes()).map_err(io_at(&staged));
            let placed = tagged.and_then(|()| match std::fs::rename(&staged, &self.dir) {
                Ok(()) => Ok(()),
                // Already there (another command's, or an empty directory made by hand).
                Err(_) if self.dir.is_dir() => {
                    if !self.dir.join("CACHEDIR.TAG").is_file() {
                        check_ours(&self.dir)?;
                        self.write_atomic(&self.dir.join("CACHEDIR.TAG"), TAG.as_bytes())?;
                    }
                    Ok(())
                }
                Err(e) => Err(io_at(&self.dir)(e)),
            });
            let _ = std::fs::remove_dir_all(&staged);
            placed?;
        }
        if let Some(parent) = self.stamps_file.parent() {
            std::fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        Ok(())
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
        let parent = path.parent().unwrap_or(Path::new("."));
        let staged = parent.join(staging_name(
            &path.file_name().unwrap_or_default().to_string_lossy(),
        ));
        let written = std::fs::write(&staged, bytes)
            .and_then(|()| std::fs::rename(&staged, path))
            .map_err(io_at(path));
        if written.is_err() {
            let _ = std::fs::remove_file(&staged);
        }
        written
    }
}

impl From<serde_json::Error> for CacheError {
    fn from(e: serde_json::Error) -> Self {
        CacheError::Io {
            path: PathBuf::from("(JSON)"),
            source: e.into(),
        }
    }
}

/// A hidden name, unique to this process and moment, for staging `name`.
fn staging_name(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(".{name}.{}.{nanos}.partial", std::process::id())
}

/// What the cache writes at its top level.
const OWN_ENTRIES: [&str; 4] = ["CACHEDIR.TAG", "inputs", "validation", "views"];

/// A name the cache stages an entry under (see [`staging_name`]).
fn is_staged(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".partial")
}

/// Refuses a directory that exists, is not empty and has no tag of ours.
fn check_ours(dir: &Path) -> Result<(), CacheError> {
    let tagged = std::fs::read_to_string(dir.join("CACHEDIR.TAG")).is_ok_and(|t| {
        t.starts_with(TAG.lines().next().unwrap_or_default()) && t.contains("vrn-sna")
    });
    if tagged {
        return Ok(());
    }
    // Untagged, it is ours only if it holds nothing but what the cache itself writes (a
    // command killed while creating it leaves such a directory).
    let own = |name: &str| OWN_ENTRIES.contains(&name) || is_staged(name);
    match std::fs::read_dir(dir).map(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| !own(&e.file_name().to_string_lossy()))
    }) {
        Ok(true) => Err(CacheError::NotOurs {
            dir: dir.to_path_buf(),
        }),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(CacheError::NotOurs {
            dir: dir.to_path_buf(),
        }),
        Err(e) => Err(io_at(dir)(e)),
    }
}

/// Removes all but the `keep` most recently modified entries of `dir` whose names `matches`.
/// Staged entries older than an hour, left by a command that was killed, are removed too.
fn evict(dir: &Path, matches: impl Fn(&str) -> bool, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let entries: Vec<std::fs::DirEntry> = entries.filter_map(Result::ok).collect();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in &entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let abandoned = name.starts_with('.')
            && name.ends_with(".partial")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
        if abandoned {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .into_iter()
        .filter(|e| matches(&e.file_name().to_string_lossy()))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, path) in found.into_iter().skip(keep) {
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// What the cache directory holds.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The directory.
    pub dir: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// Stored views: name, rows, bytes, written at (RFC 3339).
    pub views: Vec<StatusEntry>,
    /// Stored validation reports.
    pub validations: usize,
    /// Bytes in all.
    pub bytes: u64,
}

/// One stored view.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// The view.
    pub view: String,
    /// Its key.
    pub key: String,
    /// Rows.
    pub rows: u64,
    /// Bytes of its data.
    pub bytes: u64,
    /// Whether its data still match the SHA-256 recorded when written.
    pub intact: bool,
}

/// Lists the cache in `dir`.
pub fn status(dir: &Path) -> Result<Status, CacheError> {
    check_ours(dir)?;
    let mut views = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("views")) {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(bytes) = std::fs::read(path.join("entry.json")) else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<EntryRecord>(&bytes) else {
                continue;
            };
            let data = path.join("data.parquet");
            let (sha256, size) = crate::output::sha256_of(&data).unwrap_or_default();
            views.push(StatusEntry {
                view: record.view,
                key: record.key,
                rows: record.rows,
                bytes: size,
                intact: sha256 == record.sha256,
            });
        }
    }
    views.sort_by(|a, b| a.view.cmp(&b.view).then_with(|| a.key.cmp(&b.key)));
    let validations = std::fs::read_dir(dir.join("validation"))
        .map(|e| {
            e.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0);
    Ok(Status {
        dir: dir.to_path_buf(),
        exists: dir.is_dir(),
        bytes: du(dir),
        views,
        validations,
    })
}

fn du(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|e| e.filter_map(Result::ok).map(|e| du(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// Removes the cache in `dir`: only what the cache writes (its tag, `inputs/`, `validation/`,
/// `views/` and staged entries), then the directory if that leaves it empty. Anything else in
/// it is left alone, and a directory that is not vrn-sna's cache is refused. Returns the bytes
/// freed.
pub fn clear(dir: &Path) -> Result<u64, CacheError> {
    check_ours(dir)?;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut freed = 0;
    // The tag goes last: until then an interrupted clear leaves a cache that is still ours.
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| OWN_ENTRIES.contains(&name.as_str()) || is_staged(name))
        .collect();
    names.sort_by_key(|name| name == "CACHEDIR.TAG");
    for name in names {
        let path = dir.join(&name);
        freed += du(&path);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(io_at(&path))?;
    }
    // Left in place when it holds anything else.
    let _ = std::fs::remove_dir(dir);
    Ok(freed)
}

#[cfg(test)]
mod tests;
