//! What each SQL file of `queries/` declares beside it in `<name>.toml`: its title and
//! description, its columns (meaning, heading, number format and tests), whether a view is
//! materialised and whether it follows the period, a partner table's disclosure layout, and
//! where its result appears in the report and the dashboard.
//!
//! This is the analyst's side of a measure, as dbt keeps a model's documentation and tests in
//! `schema.yml` beside its SQL: the report, the dashboard and `tables/README.md` are built
//! from it by one loop, so a new SQL file with metadata appears in them without any Rust
//! change. Dependencies are not declared: they are read from the SQL itself (see
//! [`crate::engine::jobs`]), so they cannot go stale. A SQL file without metadata still runs, titled
//! by its name. Unknown keys are errors, so a misspelt key is caught, not ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bundle::table_view::CellFormat;
use crate::engine::capability::Capability;

/// The metadata of one SQL file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// One-line title.
    #[serde(default)]
    pub title: String,
    /// What a row is and how the figures are defined.
    #[serde(default)]
    pub description: String,
    /// Views only: materialise the view once per run (it is read by many jobs).
    #[serde(default)]
    pub cache: bool,
    /// Views only: whether the rows follow the reporting period. Required of a view that reads
    /// `params` (which holds both the period and the period-free settings); a view that reads
    /// `period_months` or a period-bound view follows the period whatever it says.
    #[serde(default)]
    pub period: Option<bool>,
    /// Partner tables and assessment jobs: the layout disclosure control protects, e.g.
    /// `panel=cohort rows=district columns=month counts=offences` (a job's may leave out
    /// `columns=`: one count per row). A job without one is withheld from a shareable bundle.
    #[serde(default)]
    pub disclosure: Option<String>,
    /// Assessment jobs with a `disclosure` layout: for each count column, the columns derived
    /// from it (rates, shares, confidence limits), blanked where the count is suppressed.
    #[serde(default)]
    pub suppress_with: BTreeMap<String, Vec<String>>,
    /// Assessment jobs with a `disclosure` layout: columns derived from one row's count and
    /// repeated on every row of its grid, keyed `count@row` (e.g. `offences@Unknown` for the
    /// offences with a known area, the grid's total less its `Unknown` row, and the shares of
    /// it), blanked on every row of the grid (in its panel) where that row's count is
    /// suppressed.
    #[serde(default)]
    pub suppress_with_row: BTreeMap<String, Vec<String>>,
    /// Assessment jobs of one measure per row (the headline): in a shareable bundle a measure
    /// is published only when each count it is computed from is a published cell or known
    /// total of the protected tables (see `bundle::shareable::measures`).
    #[serde(default)]
    pub disclosure_rows: Option<MeasureRows>,
    /// Assessment jobs with a `disclosure` layout: rows left out of a shareable bundle, by a
    /// column's values (`{ level = ["locality"] }`), because their relations to the other rows
    /// cannot be declared (a locality groups wards or single LSOAs).
    #[serde(default)]
    pub withhold_rows: BTreeMap<String, Vec<String>>,
    /// The columns of the result, in order.
    #[serde(default)]
    pub columns: Vec<Column>,
    /// Tests of the whole result, checked after the job runs.
    #[serde(default)]
    pub tests: Vec<TableTest>,
    /// Where the result appears in the report.
    #[serde(default)]
    pub report: Vec<Placement>,
    /// Where the result appears in the dashboard (`refresh/` jobs).
    #[serde(default)]
    pub dashboard: Vec<Placement>,
    /// Rows of the result that define terms for the report's Methods section.
    #[serde(default)]
    pub glossary: Option<Glossary>,
    /// Jobs of the assessment the dashboard also runs, and over which months.
    #[serde(default)]
    pub refresh: Option<RefreshPeriod>,
    /// What the job needs of the data beyond the sources its SQL reads (`offence_times`,
    /// `home_office_codes`, ...): without it the job is listed as not possible.
    #[serde(default)]
    pub needs: Vec<Capability>,
    /// Sources the job reads but copes without, leaving out what it cannot give (it reads the
    /// `available` table to know).
    #[serde(default)]
    pub copes_without: Vec<Capability>,
}

/// The months over which `sna refresh` runs an assessment job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshPeriod {
    /// The dashboard's whole window (the SPC trends).
    Window,
    /// The last 12 complete months (before the jobs of `queries/refresh/`, which may read it).
    #[serde(rename = "last_12_months")]
    Last12Months,
}

/// The columns of a result holding terms and their definitions.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Glossary {
    /// The column of the term.
    pub term: String,
    /// The column of its definition.
    pub definition: String,
}

/// One column of a result.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Column name as the SQL writes it.
    pub name: String,
    /// Its meaning, for `tables/README.md`.
    #[serde(default)]
    pub description: String,
    /// Heading in the report's tables (default: the name).
    #[serde(default)]
    pub label: Option<String>,
    /// How the report shows it (default `text`).
    #[serde(default)]
    pub format: Option<CellFormat>,
    /// For the `*_ci` formats: the lower and upper limit columns (default `lower_95`,
    /// `upper_95`).
    #[serde(default)]
    pub limits: Option<[String; 2]>,
    /// Test: no row is null.
    #[serde(default)]
    pub not_null: bool,
    /// Test: no value appears twice.
    #[serde(default)]
    pub unique: bool,
    /// Test: every non-null value is one of these.
    #[serde(default)]
    pub accepted_values: Vec<String>,
    /// Test: every non-null value is at least this.
    #[serde(default)]
    pub min: Option<f64>,
    /// Test: every non-null value is at most this.
    #[serde(default)]
    pub max: Option<f64>,
}

/// A test of a whole result.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableTest {
    /// The column summed.
    pub column: String,
    /// Its total within each group (e.g. 100 for percentages).
    pub sums_to: f64,
    /// Columns forming the groups (none: the whole table).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Allowed difference from `sums_to` (rounding), default 0.5.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Only rows whose columns have these values (as text).
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, FilterValue>,
}

fn default_tolerance() -> f64 {
    0.5
}

/// A value a filter compares a column with.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// Text.
    Text(String),
    /// `true`/`false`.
    Flag(bool),
    /// A whole number.
    Integer(i64),
    /// Any of these texts.
    AnyOf(Vec<String>),
}

impl FilterValue {
    /// Whether a cell, as the result's CSV writes it, matches.
    pub fn matches(&self, cell: &str) -> bool {
        match self {
            FilterValue::Text(t) => t == cell,
            FilterValue::Flag(b) => cell == if *b { "true" } else { "false" },
            // As a number, so 1 matches a float column's 1.0.
            FilterValue::Integer(i) => cell.parse::<f64>().is_ok_and(|v| v == *i as f64),
            FilterValue::AnyOf(list) => list.iter().any(|t| t == cell),
        }
    }
}

/// One appearance of a result in a document: a table or a figure.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// The section of the document, e.g. `places` (sections are the template's).
    pub section: String,
    /// Position within the section: lower comes first; ties keep file order.
    #[serde(default)]
    pub order: i64,
    /// A table: its key (unique across the document).
    #[serde(default)]
    pub table: Option<String>,
    /// A figure: the chart's name (charts are drawn by the engine).
    #[serde(default)]
    pub figure: Option<String>,
    /// The result table shown (default: this job's).
    #[serde(default)]
    pub from: Option<String>,
    /// The table's caption; `{{ cutoff }}` and the document's other values may be used.
    #[serde(default)]
    pub caption: String,
    /// Only rows whose columns have these values.
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, FilterValue>,
    /// At most this many rows.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The columns shown, in order, by name or with their own heading and format.
    #[serde(default)]
    pub columns: Vec<PlacedColumn>,
    /// Leave the table out when no row matches (instead of showing "No rows").
    #[serde(default)]
    pub only_with_rows: bool,
}

/// A column of a placed table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PlacedColumn {
    /// By name: heading and format come from the job's `[[columns]]`.
    Name(String),
    /// With its own heading or format.
    Spec(ColumnOverride),
}

/// A placed column with its own heading or format.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnOverride {
    /// Column name.
    pub name: String,
    /// Heading; may use `{{ cutoff }}`.
    #[serde(default)]
    pub label: Option<String>,
    /// Format.
    #[serde(default)]
    pub format: Option<CellFormat>,
    /// Limit columns for the `*_ci` formats.
    #[serde(default)]
    pub limits: Option<[String; 2]>,
    /// Leave the column out when the result lacks it.
    #[serde(default)]
    pub optional: bool,
}

impl PlacedColumn {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            PlacedColumn::Name(n) => n,
            PlacedColumn::Spec(s) => &s.name,
        }
    }
}

/// A metadata file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("{file}: {source}")]
    Toml {
        /// The file, relative to the queries directory.
        file: String,
        /// TOML's error, which names the line and key.
        source: toml::de::Error,
    },
    /// The file parses but says something inconsistent.
    #[error("{file}: {problem}")]
    Invalid {
        /// The file, relative to the queries directory.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

impl Metadata {
    /// Parses the text of `file` (named in errors), and checks what TOML cannot.
    pub fn parse(file: &str, text: &str) -> Result<Metadata, MetadataError> {
        let error = |problem: String| MetadataError::Invalid {
            file: file.to_owned(),
            problem,
        };
        let meta: Metadata = toml::from_str(text).map_err(|source| MetadataError::Toml {
            file: file.to_owned(),
            source,
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for column in &meta.columns {
            if !seen.insert(column.name.as_str()) {
                return Err(error(format!("column `{}` is listed twice", column.name)));
            }
        }
        for (document, placements) in [("report", &meta.report), ("dashboard", &meta.dashboard)] {
            for p in placements {
                match (&p.table, &p.figure) {
                    (Some(_), None) | (None, Some(_)) => {}
                    _ => {
                        return Err(error(format!(
                            "each [[{document}]] entry is either a table or a figure (section `{}`)",
                            p.section
                        )));
                    }
                }
                if p.table.is_some() && p.columns.is_empty() {
                    return Err(error(format!(
                        "[[{document}]] table `{}` lists no columns",
                        p.table.as_deref().unwrap_or_default()
                    )));
                }
            }
        }
        for c in &meta.columns {
            let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
            if !finite(c.min) || !finite(c.max) || c.min.zip(c.max).is_some_and(|(lo, hi)| lo > hi)
            {
                return Err(error(format!(
                    "column `{}`: min and max must be numbers with min no greater than max",
                    c.name
                )));
            }
        }
        for t in &meta.tests {
            if !t.sums_to.is_finite() || !t.tolerance.is_finite() || t.tolerance < 0.0 {
                return Err(error(format!(
                    "the test of `{}` needs a finite sums_to and a tolerance of zero or more",
                    t.column
                )));
            }
        }
        Ok(meta)
    }

    /// The declared column `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_declares_columns_tests_and_placements() {
        let meta = Metadata::parse(
            "t.toml",
            r#"
title = "Offences by hour"
description = "One row per hour."

[[columns]]
name = "hour"
description = "hour of day"
not_null = true
unique = true
min = 0
max = 23

[[columns]]
name = "rate"
label = "Rate per 1,000"
format = "rate_ci"

[[tests]]
column = "pct"
sums_to = 100

[[report]]
section = "times"
order = 10
table = "hours"
caption = "By hour"
where = { breakdown = ["all", "cohort"], conveyed = true }
columns = ["hour", { name = "rate", label = "Rate", optional = true }]
"#,
        )
        .unwrap();
        assert_eq!(meta.title, "Offences by hour");
        assert_eq!(meta.column("hour").unwrap().max, Some(23.0));
        assert_eq!(
            meta.column("rate").unwrap().format,
            Some(CellFormat::RateCi)
        );
        assert_eq!(meta.tests[0].tolerance, 0.5);
        let p = &meta.report[0];
        assert!(p.filter["conveyed"].matches("true"));
        assert!(!p.filter["conveyed"].matches("false"));
        assert!(p.filter["breakdown"].matches("cohort"));
        assert!(!p.filter["breakdown"].matches("top_share"));
        assert_eq!(p.columns[0].name(), "hour");
        assert!(matches!(&p.columns[1], PlacedColumn::Spec(s) if s.optional));
    }

    #[test]
    fn mistakes_are_named() {
        let err = Metadata::parse("t.toml", "titel = \"x\"").unwrap_err();
        assert!(err.to_string().starts_with("t.toml: "), "{err}");
        assert!(err.to_string().contains("titel"), "{err}");
        let err = Metadata::parse(
            "t.toml",
            "[[report]]\nsection = \"x\"\ntable = \"a\"\nfigure = \"b\"\ncolumns = [\"c\"]",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("either a table or a figure"),
            "{err}"
        );
        let err =
            Metadata::parse("t.toml", "[[report]]\nsection = \"x\"\ntable = \"a\"").unwrap_err();
        assert!(err.to_string().contains("lists no columns"), "{err}");
        let err = Metadata::parse(
            "t.toml",
            "[[columns]]\nname = \"a\"\n[[columns]]\nname = \"a\"",
        )
        .unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        let err = Metadata::parse("t.toml", "[[columns]]\nname = \"a\"\nformat = \"percent\"")
            .unwrap_err();
        assert!(err.to_string().contains("percent"), "{err}");
    }
}

/// `disclosure_rows`: how the measures of a table repeat the protected tables' counts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureRows {
    /// The column naming the measure of each row.
    pub key: String,
    /// The column of each measure's numerator.
    pub numerator: String,
    /// The column of each measure's denominator.
    pub denominator: String,
    /// For each measure that may be published, the counts its numerator and denominator
    /// repeat; a measure not listed is withheld.
    pub measures: BTreeMap<String, MeasureCells>,
}

/// The counts one measure repeats: `EVENTS [AXIS=VALUE ...]`, terms joined by ` + ` or ` - `,
/// `{column}` filled from the row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureCells {
    /// The numerator's count.
    pub numerator: String,
    /// The denominator's count; none when it is residents (published census figures).
    #[serde(default)]
    pub denominator: Option<String>,
    /// The numerator is the largest of its cells (a peak hour, a top district): withholding
    /// the measure because that cell is suppressed would say the largest count is a hidden
    /// one, so such a bundle is refused instead.
    #[serde(default)]
    pub largest: bool,
}
