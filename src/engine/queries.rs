//! The SQL jobs and views in `queries/`, each with the metadata beside it (`<name>.toml`,
//! see [`crate::engine::metadata`]).
//!
//! Analysts read and extend `queries/`. When the configured directory exists it is used as it
//! is; otherwise the copy compiled into the binary is used, so `sna` also works away from a
//! checkout. The manifest records which, with a hash of every file.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

use crate::engine::metadata::{Metadata, MetadataError};
use crate::sources::contract::Form;

static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/queries");

/// Errors in loading SQL files and their metadata.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not UTF-8.
    #[error("{0}: file is not UTF-8 text")]
    NotText(PathBuf),
    /// A metadata file is not valid.
    #[error("queries/{0}")]
    Metadata(#[from] MetadataError),
}

/// One SQL file with its metadata.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// File stem: the job's output table name, or the view file's name.
    pub name: String,
    /// Path relative to the queries directory, e.g. `views/sv_offences.sql`.
    pub relative_path: String,
    /// The SQL text.
    pub sql: String,
    /// What `<name>.toml` beside it declares (default when there is none).
    pub meta: Metadata,
    /// The metadata file's text, when there is one (hashed into the manifest).
    pub meta_text: Option<String>,
}

impl SqlFile {
    /// SHA-256 of the SQL text, hex.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(self.sql.as_bytes()))
    }

    /// SHA-256 of the metadata text, hex, when there is metadata.
    pub fn meta_sha256(&self) -> Option<String> {
        self.meta_text
            .as_ref()
            .map(|t| hex(&Sha256::digest(t.as_bytes())))
    }

    /// The one-line title: the metadata's, or the name.
    pub fn title(&self) -> String {
        if self.meta.title.is_empty() {
            self.name.clone()
        } else {
            self.meta.title.clone()
        }
    }

    /// The metadata file beside it, relative to the queries directory (`views/x.toml`).
    pub fn meta_file(&self) -> String {
        meta_file_of(&self.relative_path)
    }

    fn new(
        name: String,
        relative_path: String,
        sql: String,
        meta_text: Option<String>,
    ) -> Result<SqlFile, LoadError> {
        let meta = match &meta_text {
            Some(text) => Metadata::parse(&meta_file_of(&relative_path), text)?,
            None => Metadata::default(),
        };
        Ok(SqlFile {
            name,
            relative_path,
            sql,
            meta,
            meta_text,
        })
    }
}

/// `x.sql` → `x.toml`.
pub(crate) fn meta_file_of(relative_path: &str) -> String {
    relative_path
        .strip_suffix(".sql")
        .map_or_else(|| relative_path.to_owned(), |stem| format!("{stem}.toml"))
}

/// The views and jobs of one queries directory.
#[derive(Debug, Clone)]
pub struct QuerySet {
    /// Where they came from: a directory, or `None` for the copy built into the binary.
    pub source: Option<PathBuf>,
    /// View definitions (`views/*.sql`), in file-name order.
    pub views: Vec<SqlFile>,
    /// Views of the open-data form (`views/open_data/*.sql`), each replacing the view of the
    /// same name for an extract in that form (police.uk offences have months and crime types,
    /// so `sv_offences_all` is derived differently but gives the same columns).
    pub open_data_views: Vec<SqlFile>,
    /// Jobs (`*.sql` at the top level), in file-name order.
    pub jobs: Vec<SqlFile>,
    /// Tables of the partner pack (`partner/*.sql`), in file-name order.
    pub partner: Vec<SqlFile>,
    /// Tables of the refreshed dashboard (`refresh/*.sql`), in file-name order.
    pub refresh: Vec<SqlFile>,
    /// The inputs of `sna funding` (`funding/*.sql`), in file-name order.
    pub funding: Vec<SqlFile>,
}

impl QuerySet {
    /// Loads `dir` if it exists, else the bundled copy. A metadata file that cannot be
    /// parsed, or that declares what its kind of file cannot have, is an error naming it.
    pub fn load(dir: &Path) -> Result<QuerySet, LoadError> {
        let set = if dir.is_dir() {
            QuerySet {
                source: Some(dir.to_path_buf()),
                views: read_dir_sql(&dir.join("views"), "views/")?,
                open_data_views: read_dir_sql(
                    &dir.join("views").join("open_data"),
                    "views/open_data/",
                )?,
                jobs: read_dir_sql(dir, "")?,
                partner: read_dir_sql(&dir.join("partner"), "partner/")?,
                refresh: read_dir_sql(&dir.join("refresh"), "refresh/")?,
                funding: read_dir_sql(&dir.join("funding"), "funding/")?,
            }
        } else {
            QuerySet::bundled()
        };
        let mut set = set;
        if set.source.is_some() {
            set.inherit_open_data_metadata();
        }
        set.check_kinds()?;
        Ok(set)
    }

    /// An open-data view without metadata of its own (`views/open_data/x.toml`) has that of the
    /// full form's view of the same name: the same table, derived otherwise, documented once.
    fn inherit_open_data_metadata(&mut self) {
        for view in &mut self.open_data_views {
            if view.meta_text.is_some() {
                continue;
            }
            if let Some(full) = self
                .views
                .iter()
                .find(|v| v.name == view.name && v.meta_text.is_some())
            {
                view.meta = full.meta.clone();
                view.meta_text = full.meta_text.clone();
            }
        }
    }

    /// Each file's name is a lower-case SQL identifier (the table it writes), and its metadata
    /// declares only what its kind of file uses: tests and placements on jobs, `cache` and
    /// `period` on views, `disclosure` on partner tables, `[[dashboard]]` on the dashboard's
    /// own tables, `refresh` on the assessment's jobs.
    fn check_kinds(&self) -> Result<(), MetadataError> {
        #[derive(PartialEq)]
        enum Kind {
            View,
            Job,
            Partner,
            Refresh,
            Funding,
        }
        let kinds = self
            .views
            .iter()
            .chain(&self.open_data_views)
            .map(|f| (f, Kind::View))
            .chain(self.jobs.iter().map(|f| (f, Kind::Job)))
            .chain(self.partner.iter().map(|f| (f, Kind::Partner)))
            .chain(self.refresh.iter().map(|f| (f, Kind::Refresh)))
            .chain(self.funding.iter().map(|f| (f, Kind::Funding)));
        for (file, kind) in kinds {
            let meta_file = file.meta_file();
            let invalid = |problem: String| MetadataError::Invalid {
                file: meta_file.clone(),
                problem,
            };
            let identifier = !file.name.is_empty()
                && !file.name.starts_with(|c: char| c.is_ascii_digit())
                && file
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !identifier {
                return Err(MetadataError::Invalid {
                    file: file.relative_path.clone(),
                    problem: "a SQL file's name is the table it writes: lower-case letters, digits and _, not starting with a digit".to_owned(),
                });
            }
            let meta = &file.meta;
            let tested = !meta.tests.is_empty()
                || meta.columns.iter().any(|c| {
                    c.not_null
                        || c.unique
                        || !c.accepted_values.is_empty()
                        || c.min.is_some()
                        || c.max.is_some()
                });
            let misplaced: Option<&str> = match kind {
                Kind::View if tested => Some("tests (they check a job's result; views have none)"),
                Kind::View if !meta.report.is_empty() || !meta.dashboard.is_empty() => {
                    Some("placements (only jobs appear in the report or dashboard)")
                }
                Kind::View if meta.glossary.is_some() || meta.refresh.is_some() => {
                    Some("glossary or refresh (job settings)")
                }
                Kind::View if !meta.needs.is_empty() || !meta.copes_without.is_empty() => Some(
                    "needs or copes_without (what a job needs is the views' sources and its own needs)",
                ),
                _ if kind != Kind::View && (meta.cache || meta.period.is_some()) => {
                    Some("cache or period (view settings)")
                }
                _ if !matches!(kind, Kind::Partner | Kind::Job) && meta.disclosure.is_some() => {
                    Some("disclosure (a partner table's or job's setting)")
                }
                _ if kind != Kind::Job
                    && (!meta.suppress_with.is_empty()
                        || !meta.suppress_with_row.is_empty()
                        || meta.disclosure_rows.is_some()
                        || !meta.withhold_rows.is_empty()) =>
                {
                    Some(
                        "suppress_with, suppress_with_row, disclosure_rows or withhold_rows (a job's settings for disclosure control)",
                    )
                }
                _ if kind != Kind::Refresh && !meta.dashboard.is_empty() => {
                    Some("[[dashboard]] (only queries/refresh/ tables are on the dashboard)")
                }
                _ if !matches!(kind, Kind::Job | Kind::Funding) && !meta.report.is_empty() => {
                    Some("[[report]] (only the assessment's jobs are in the report)")
                }
                _ if kind != Kind::Job && (meta.refresh.is_some() || meta.glossary.is_some()) => {
                    Some("refresh or glossary (settings of the assessment's jobs)")
                }
                _ => None,
            };
            if let Some(what) = misplaced {
                return Err(invalid(format!("this kind of file cannot declare {what}")));
            }
        }
        Ok(())
    }

    /// The job named `name` (a top-level `queries/<name>.sql`).
    pub fn job(&self, name: &str) -> Option<&SqlFile> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// The views of an extract in `form`: those of `views/`, each replaced by the
    /// `views/open_data/` view of the same name for the open-data form.
    pub fn views_for(&self, form: Form) -> Vec<&SqlFile> {
        let name = |v: &SqlFile| {
            crate::engine::jobs::view_name(&v.sql)
                .unwrap_or_else(|| v.name.clone())
                .to_ascii_lowercase()
        };
        match form {
            Form::Full => self.views.iter().collect(),
            Form::OpenData => {
                let mut views: Vec<&SqlFile> = self
                    .views
                    .iter()
                    .map(|v| {
                        self.open_data_views
                            .iter()
                            .find(|o| name(o) == name(v))
                            .unwrap_or(v)
                    })
                    .collect();
                views.extend(
                    self.open_data_views
                        .iter()
                        .filter(|o| !self.views.iter().any(|v| name(v) == name(o))),
                );
                views
            }
        }
    }

    /// The view named `name` of an extract in `form` (see [`QuerySet::views_for`]).
    pub fn view_for(&self, form: Form, name: &str) -> Option<&SqlFile> {
        self.views_for(form).into_iter().find(|v| {
            crate::engine::jobs::view_name(&v.sql)
                .unwrap_or_else(|| v.name.clone())
                .eq_ignore_ascii_case(name)
        })
    }

    /// Every SQL file of the set, views first.
    pub fn all(&self) -> impl Iterator<Item = &SqlFile> {
        self.views
            .iter()
            .chain(&self.open_data_views)
            .chain(&self.jobs)
            .chain(&self.partner)
            .chain(&self.refresh)
            .chain(&self.funding)
    }

    /// The copy of `queries/` compiled into the binary. Its metadata is checked by a test.
    pub fn bundled() -> QuerySet {
        let collect = |dir: Option<&Dir<'_>>, prefix: &str| {
            let mut files: Vec<SqlFile> = dir
                .map(|d| d.files().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.path().extension().is_some_and(|e| e == "sql"))
                .filter_map(|f| {
                    let name = f.path().file_stem()?.to_str()?.to_owned();
                    let file_name = f.path().file_name()?.to_str()?;
                    let meta = BUNDLED
                        .get_file(f.path().with_extension("toml"))
                        .and_then(|m| m.contents_utf8())
                        .map(str::to_owned);
                    let file = SqlFile::new(
                        name,
                        format!("{prefix}{file_name}"),
                        f.contents_utf8()?.to_owned(),
                        meta,
                    );
                    // The copy is compiled in: a file that does not parse is a defect of
                    // this build, which `every_bundled_sql_file_has_valid_metadata` catches.
                    Some(file.unwrap_or_else(|e| panic!("bundled queries: {e}")))
                })
                .collect();
            files.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
            files
        };
        let mut set = QuerySet {
            source: None,
            views: collect(BUNDLED.get_dir("views"), "views/"),
            open_data_views: collect(BUNDLED.get_dir("views/open_data"), "views/open_data/"),
            jobs: collect(Some(&BUNDLED), ""),
            partner: collect(BUNDLED.get_dir("partner"), "partner/"),
            refresh: collect(BUNDLED.get_dir("refresh"), "refresh/"),
            funding: collect(BUNDLED.get_dir("funding"), "funding/"),
        };
        set.inherit_open_data_metadata();
        set
    }
}

fn read_dir_sql(dir: &Path, prefix: &str) -> Result<Vec<SqlFile>, LoadError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let read_err = |source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if !path.is_file() || path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let sql = String::from_utf8(bytes).map_err(|_| LoadError::NotText(path.clone()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| LoadError::NotText(path.clone()))?
            .to_owned();
        let file_name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or(&name)
            .to_owned();
        let meta_path = path.with_extension("toml");
        let meta = if meta_path.is_file() {
            let bytes = std::fs::read(&meta_path).map_err(|source| LoadError::Read {
                path: meta_path.clone(),
                source,
            })?;
            Some(String::from_utf8(bytes).map_err(|_| LoadError::NotText(meta_path.clone()))?)
        } else {
            None
        };
        files.push(SqlFile::new(
            name,
            format!("{prefix}{file_name}"),
            sql,
            meta,
        )?);
    }
    files.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
    Ok(files)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_read_beside_the_sql_and_named_when_wrong() {
        let dir = std::env::temp_dir().join(format!("vrn-sna-queries-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.sql"), "SELECT 1 AS x").unwrap();
        std::fs::write(dir.join("a.toml"), "title = \"A table\"\n").unwrap();
        std::fs::write(dir.join("b.sql"), "SELECT 2 AS y").unwrap();
        let set = QuerySet::load(&dir).unwrap();
        assert_eq!(set.job("a").unwrap().title(), "A table");
        assert!(set.job("a").unwrap().meta_sha256().is_some());
        assert_eq!(set.job("b").unwrap().title(), "b");
        std::fs::write(dir.join("b.toml"), "title = 3\n").unwrap();
        let err = QuerySet::load(&dir).unwrap_err().to_string();
        assert!(err.starts_with("queries/b.toml: "), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_bundled_sql_file_has_valid_metadata() {
        fn count(dir: &Dir<'_>) -> usize {
            let here = dir
                .files()
                .filter(|f| f.path().extension().is_some_and(|e| e == "sql"))
                .count();
            here + dir.dirs().map(count).sum::<usize>()
        }
        let count = count(&BUNDLED);
        // Loading the directory names the file that does not parse.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        if let Err(e) = QuerySet::load(&dir) {
            panic!("{e}");
        }
        let set = QuerySet::bundled();
        assert_eq!(
            set.all().count(),
            count,
            "a bundled metadata file does not parse"
        );
        assert!(
            set.all()
                .all(|f| f.meta_text.is_some() && !f.meta.title.is_empty())
        );
    }

    #[test]
    fn bundled_queries_hold_the_views() {
        let set = QuerySet::bundled();
        assert!(set.views.iter().any(|v| v.sql.contains("sv_offences")));
        assert!(
            set.jobs
                .iter()
                .all(|j| !j.relative_path.starts_with("views/"))
        );
    }
}
