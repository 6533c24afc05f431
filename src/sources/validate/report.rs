//! The data-quality report `sna validate` prints and `sna run` saves: findings by file and
//! column, with examples, as text or JSON.

use super::*;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The extract is not usable until this is fixed.
    Error,
    /// Rows are left out of some measures or shown as unknown; the run proceeds.
    Warning,
}

/// One data-quality problem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Short identifier of the check, e.g. `null_required`, `unknown_lsoa`.
    pub check: String,
    /// The file, e.g. `offences.parquet`.
    pub file: String,
    /// The column, where the check is about one.
    pub column: Option<String>,
    /// Rows affected.
    pub rows: u64,
    /// Up to five example values or keys.
    pub examples: Vec<String>,
    /// A sentence saying what is wrong and what it means for the assessment.
    pub message: String,
}

/// Rows and nulls of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    /// File name.
    pub file: String,
    /// Rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Nulls per contract column, in contract order.
    pub nulls: Vec<(String, u64)>,
    /// Earliest and latest timestamp, for files that have one.
    pub time_range: Option<(String, String)>,
}

/// The whole data-quality report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The extract directory.
    pub data_dir: String,
    /// The configured period, `start..=end`.
    pub period: (String, String),
    /// The extract's form, in words.
    pub form: String,
    /// The optional sources found (`persons`, `ae_attendances`, `ambulance`) and those
    /// missing, whose measures are not possible.
    pub sources: Sources,
    /// The LSOA lookup used: `bundled` or the extract's own file.
    pub lsoa_lookup: String,
    /// The population's form, in words: by single year of age and sex, or all ages.
    #[serde(default)]
    pub population: String,
    /// Population years present, and the one used for the period.
    pub population_years: Vec<i64>,
    /// The population year for the period.
    pub population_year: i64,
    /// Per-file summaries.
    pub files: Vec<FileReport>,
    /// Problems found, errors first.
    pub findings: Vec<Finding>,
    /// Whether the report was read from the cache (the extract, configuration and build
    /// unchanged since it was made) rather than computed now.
    #[serde(skip)]
    pub from_cache: bool,
}

/// The optional sources of an extract.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sources {
    /// Present.
    pub found: Vec<String>,
    /// Absent: the measures that need them are not possible.
    pub missing: Vec<String>,
}

impl Report {
    /// True when no finding is an error: `sna run` may proceed.
    pub fn usable(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report as text for a terminal; values quoted from the data have control characters
    /// escaped.
    pub fn to_text(&self) -> String {
        crate::text::printable(&self.text()).into_owned()
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Data quality report for {}", self.data_dir);
        let _ = writeln!(
            out,
            "Period {} to {}; population year {} (years present: {}); LSOA lookup: {}",
            self.period.0,
            self.period.1,
            self.population_year,
            self.population_years
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.lsoa_lookup
        );
        let _ = writeln!(out, "Form: {}", self.form);
        let _ = writeln!(out, "Population: {}", self.population);
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        let _ = writeln!(
            out,
            "Optional sources found: {}; missing (their measures are not possible): {}",
            list(&self.sources.found),
            list(&self.sources.missing)
        );
        let _ = writeln!(out);
        for file in &self.files {
            let _ = write!(
                out,
                "{:<24} {:>12} rows {:>10}",
                file.file,
                group(file.rows),
                human_bytes(file.bytes)
            );
            if let Some((first, last)) = &file.time_range {
                let _ = write!(out, "   {first} to {last}");
            }
            let _ = writeln!(out);
            let nulls: Vec<String> = file
                .nulls
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| format!("{c} {}", group(*n)))
                .collect();
            if !nulls.is_empty() {
                let _ = writeln!(out, "{:<24} nulls: {}", "", nulls.join(", "));
            }
        }
        for (severity, heading) in [(Severity::Error, "Errors"), (Severity::Warning, "Warnings")] {
            let findings: Vec<&Finding> = self
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .collect();
            let _ = writeln!(out, "\n{heading} ({})", findings.len());
            for f in findings {
                let place = match &f.column {
                    Some(c) => format!("{}, column {c}", f.file),
                    None => f.file.clone(),
                };
                let _ = writeln!(out, "  {place}: {}", f.message);
                if !f.examples.is_empty() {
                    let _ = writeln!(out, "      e.g. {}", f.examples.join(", "));
                }
            }
        }
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings = self.findings.len() - errors;
        let _ = writeln!(
            out,
            "\n{}",
            if errors == 0 {
                format!("Usable: no errors, {warnings} warning(s).")
            } else {
                format!(
                    "NOT usable: {errors} error(s), {warnings} warning(s). Fix the errors above and validate again."
                )
            }
        );
        out
    }
}

pub(super) fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
