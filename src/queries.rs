//! The SQL jobs and views in `queries/`: loading them, and reading the header comment that
//! documents each output table.
//!
//! Analysts read and extend `queries/`. When the configured directory exists it is used as it
//! is; otherwise the copy compiled into the binary is used, so `sna` also works away from a
//! checkout. The manifest records which, with a hash of every file.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/queries");

/// Errors in loading SQL files.
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
    #[error("{0}: SQL file is not UTF-8 text")]
    NotText(PathBuf),
}

/// One SQL file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// File stem: the job's output table name, or the view file's name.
    pub name: String,
    /// Path relative to the queries directory, e.g. `views/10_sv_offences.sql`.
    pub relative_path: String,
    /// The SQL text.
    pub sql: String,
}

impl SqlFile {
    /// SHA-256 of the text, hex.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(self.sql.as_bytes()))
    }

    /// The value of a `-- key: value` line in the header comment, e.g. `disclosure`.
    pub fn directive(&self, key: &str) -> Option<String> {
        self.header()
            .columns
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The documentation in the leading `--` comment block: the first line is the title, lines
    /// of the form `column: meaning` document columns, other lines are description.
    pub fn header(&self) -> TableDoc {
        let mut doc = TableDoc::default();
        for line in self.sql.lines() {
            let Some(text) = line.trim_start().strip_prefix("--") else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if doc.title.is_empty() {
                doc.title = text.to_owned();
            } else if let Some((column, meaning)) = column_line(text) {
                doc.columns.push((column.to_owned(), meaning.to_owned()));
            } else {
                if !doc.description.is_empty() {
                    doc.description.push(' ');
                }
                doc.description.push_str(text);
            }
        }
        doc
    }
}

fn column_line(text: &str) -> Option<(&str, &str)> {
    let (column, meaning) = text.split_once(": ")?;
    let is_identifier = !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    is_identifier.then_some((column, meaning.trim()))
}

/// A table's documentation, from its SQL file's header comment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableDoc {
    /// One-line title.
    pub title: String,
    /// Free-text description.
    pub description: String,
    /// `(column, meaning)` pairs in order.
    pub columns: Vec<(String, String)>,
}

/// The views and jobs of one queries directory.
#[derive(Debug, Clone)]
pub struct QuerySet {
    /// Where they came from: a directory, or `None` for the copy built into the binary.
    pub source: Option<PathBuf>,
    /// View definitions (`views/*.sql`), in file-name order.
    pub views: Vec<SqlFile>,
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
    /// Loads `dir` if it exists, else the bundled copy.
    pub fn load(dir: &Path) -> Result<QuerySet, LoadError> {
        if dir.is_dir() {
            Ok(QuerySet {
                source: Some(dir.to_path_buf()),
                views: read_dir_sql(&dir.join("views"), "views/")?,
                jobs: read_dir_sql(dir, "")?,
                partner: read_dir_sql(&dir.join("partner"), "partner/")?,
                refresh: read_dir_sql(&dir.join("refresh"), "refresh/")?,
                funding: read_dir_sql(&dir.join("funding"), "funding/")?,
            })
        } else {
            Ok(QuerySet::bundled())
        }
    }

    /// The job named `name` (a top-level `queries/<name>.sql`).
    pub fn job(&self, name: &str) -> Option<&SqlFile> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// Every SQL file of the set, views first.
    pub fn all(&self) -> impl Iterator<Item = &SqlFile> {
        self.views
            .iter()
            .chain(&self.jobs)
            .chain(&self.partner)
            .chain(&self.refresh)
            .chain(&self.funding)
    }

    /// The copy of `queries/` compiled into the binary.
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
                    Some(SqlFile {
                        name,
                        relative_path: format!("{prefix}{file_name}"),
                        sql: f.contents_utf8()?.to_owned(),
                    })
                })
                .collect();
            files.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
            files
        };
        QuerySet {
            source: None,
            views: collect(BUNDLED.get_dir("views"), "views/"),
            jobs: collect(Some(&BUNDLED), ""),
            partner: collect(BUNDLED.get_dir("partner"), "partner/"),
            refresh: collect(BUNDLED.get_dir("refresh"), "refresh/"),
            funding: collect(BUNDLED.get_dir("funding"), "funding/"),
        }
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
        let file_name = path.file_name().and_then(|s| s.to_str()).unwrap_or(&name);
        files.push(SqlFile {
            relative_path: format!("{prefix}{file_name}"),
            name,
            sql,
        });
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
    fn header_comment_documents_the_table() {
        let file = SqlFile {
            name: "t".into(),
            relative_path: "t.sql".into(),
            sql: "-- Offences by hour\n-- One row per hour.\n-- hour: hour of day 0-23\n-- offences: count\n\nSELECT 1".into(),
        };
        let doc = file.header();
        assert_eq!(doc.title, "Offences by hour");
        assert_eq!(doc.description, "One row per hour.");
        assert_eq!(
            doc.columns,
            vec![
                ("hour".to_owned(), "hour of day 0-23".to_owned()),
                ("offences".to_owned(), "count".to_owned())
            ]
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
