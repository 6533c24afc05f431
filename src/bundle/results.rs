//! Result tables: a job's output (`tables/<job>.csv`) read back for the charts, the report,
//! the findings, the dashboard and comparisons.
//!
//! The tables are aggregates (hundreds of rows even for England and Wales), so each is read
//! whole; values are looked up by column name so the SQL can add columns freely.

use std::path::{Path, PathBuf};

/// A table that is missing, unreadable or lacks a column a chart needs.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be read as CSV.
    #[error("{path}: {source}")]
    Read {
        /// The CSV file.
        path: PathBuf,
        /// The CSV reader's error.
        source: csv::Error,
    },
    /// A column is missing or a value is not what it should be.
    #[error("{path}: {problem}")]
    Invalid {
        /// The CSV file.
        path: PathBuf,
        /// What is wrong, naming the column and value.
        problem: String,
    },
}

/// One result table as read from its CSV file.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    headers: Vec<String>,
    records: Vec<csv::StringRecord>,
}

impl Table {
    /// Reads `dir/<name>.csv`.
    pub fn read(dir: &Path, name: &str) -> Result<Table, TableError> {
        let path = dir.join(format!("{name}.csv"));
        let error = |source: csv::Error| TableError::Read {
            path: path.clone(),
            source,
        };
        let mut reader = csv::Reader::from_path(&path).map_err(error)?;
        let headers = reader
            .headers()
            .map_err(error)?
            .iter()
            .map(str::to_owned)
            .collect();
        let records = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(error)?;
        Ok(Table {
            path,
            headers,
            records,
        })
    }

    /// A table with no columns and no rows, standing for `dir/<name>.csv` where there is none.
    pub fn empty(dir: &Path, name: &str) -> Table {
        Table {
            path: dir.join(format!("{name}.csv")),
            headers: Vec::new(),
            records: Vec::new(),
        }
    }

    /// The CSV file the table came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names in order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The rows in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records
            .iter()
            .enumerate()
            .map(move |(index, record)| Row {
                table: self,
                index,
                record,
            })
    }

    /// The rows whose `column` equals `value`.
    pub fn rows_where<'a>(
        &'a self,
        column: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = Row<'a>> + 'a {
        self.rows()
            .filter(move |row| row.text(column).is_ok_and(|v| v == value))
    }

    fn column(&self, name: &str) -> Result<usize, TableError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| TableError::Invalid {
                path: self.path.clone(),
                problem: format!("no column `{name}`"),
            })
    }
}

/// One row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    index: usize,
    record: &'a csv::StringRecord,
}

impl<'a> Row<'a> {
    /// The value of `column` as text ("" for null).
    pub fn text(&self, column: &str) -> Result<&'a str, TableError> {
        let i = self.table.column(column)?;
        Ok(self.record.get(i).unwrap_or(""))
    }

    /// The value of `column` as a number; `None` for null.
    pub fn number(&self, column: &str) -> Result<Option<f64>, TableError> {
        let text = self.text(column)?;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>()
            .map(Some)
            .map_err(|_| TableError::Invalid {
                path: self.table.path.clone(),
                problem: format!(
                    "row {}, column `{column}`: `{text}` is not a number",
                    self.index + 2
                ),
            })
    }

    /// The value of `column` as a number, with null read as zero (counts).
    pub fn count(&self, column: &str) -> Result<f64, TableError> {
        Ok(self.number(column)?.unwrap_or(0.0))
    }

    /// The value of `column` as a boolean (`true`/`false`).
    pub fn flag(&self, column: &str) -> Result<bool, TableError> {
        Ok(self.text(column)? == "true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (PathBuf, Table) {
        let dir = std::env::temp_dir().join(format!(
            "vrn-sna-data-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.csv"), text).unwrap();
        let t = Table::read(&dir, "t").unwrap();
        (dir, t)
    }

    #[test]
    fn reads_values_by_column_name() {
        let (dir, t) = table("a,b,c\nx,1.5,\ny,2,true\n");
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows[0].text("a").unwrap(), "x");
        assert_eq!(rows[0].number("b").unwrap(), Some(1.5));
        assert_eq!(rows[0].number("c").unwrap(), None);
        assert_eq!(rows[0].count("c").unwrap(), 0.0);
        assert!(rows[1].flag("c").unwrap());
        assert_eq!(t.rows_where("a", "y").count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_column_and_value() {
        let (dir, t) = table("a,b\nx,seven\n");
        let row = t.rows().next().unwrap();
        let e = row.number("b").unwrap_err().to_string();
        assert!(
            e.contains("t.csv") && e.contains("`b`") && e.contains("seven") && e.contains("row 2"),
            "{e}"
        );
        let e = row.text("missing").unwrap_err().to_string();
        assert!(e.contains("no column `missing`"), "{e}");
        assert!(
            Table::read(&dir, "absent")
                .unwrap_err()
                .to_string()
                .contains("absent.csv")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
