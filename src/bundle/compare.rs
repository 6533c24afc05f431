//! What changed since the last assessment: `sna run --compare PREVIOUS_BUNDLE` sets each
//! headline measure of an earlier bundle beside this run's, with their confidence intervals,
//! the change and whether the intervals overlap. Figures made under different definitions are
//! not comparable, so every difference of definition (the serious-violence definition, the age
//! cutoff, the hot-spot neighbours, distance and permutations, the headline SQL, the length of
//! the period) is listed first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use serde::Serialize;

use crate::bundle::results::{Table, TableError};
use crate::config::Config;

/// Errors in reading the earlier bundle.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The directory is not an assessment bundle.
    #[error(
        "--compare {0}: not an assessment bundle written by sna run (no manifest.json of that kind)"
    )]
    NotABundle(PathBuf),
    /// A table could not be read.
    #[error("--compare: {0}")]
    Table(#[from] TableError),
}

/// One difference of definition between the two assessments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What differs.
    pub setting: String,
    /// In the earlier bundle.
    pub then: String,
    /// In this run.
    pub now: String,
}

/// Headline measures of bundles written before rates over the period were per year: rates over
/// the whole period, since replaced by `sv_rate_per_1000_year` and
/// `ae_assault_rate_per_1000_year`.
pub const PERIOD_RATES: [&str; 2] = ["sv_rate_per_1000", "ae_assault_rate_per_1000"];

/// A value with its lower and upper 95% limits, each absent when the table has none.
pub type Estimate = (Option<f64>, Option<f64>, Option<f64>);

/// One headline measure then and now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureChange {
    /// Measure identifier.
    pub measure: String,
    /// Its label.
    pub label: String,
    /// Earlier value and 95% limits.
    pub then: Estimate,
    /// This run's value and 95% limits.
    pub now: Estimate,
}

impl MeasureChange {
    /// `now − then`.
    pub fn change(&self) -> Option<f64> {
        Some(self.now.0? - self.then.0?)
    }

    /// Whether the two 95% intervals overlap; `None` without both intervals.
    pub fn intervals_overlap(&self) -> Option<bool> {
        let (then_lo, then_hi) = (self.then.1?, self.then.2?);
        let (now_lo, now_hi) = (self.now.1?, self.now.2?);
        Some(then_lo <= now_hi && now_lo <= then_hi)
    }
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The earlier bundle.
    pub previous: String,
    /// Its period, `start to end`.
    pub previous_period: String,
    /// Differences of definition; empty when the two are comparable.
    pub differences: Vec<Difference>,
    /// Every headline measure of either, in this run's order then the earlier's.
    pub measures: Vec<MeasureChange>,
}

impl Comparison {
    /// True when nothing differs: the same definitions and the same values.
    pub fn no_change(&self) -> bool {
        self.differences.is_empty()
            && self
                .measures
                .iter()
                .all(|m| m.then.0 == m.now.0 && m.then.1 == m.now.1 && m.then.2 == m.now.2)
    }

    /// A sentence for the report and the key findings.
    pub fn summary(&self) -> String {
        if self.no_change() {
            return format!(
                "Compared with the assessment of {} ({}): no change in definitions or in any headline measure.",
                self.previous_period, self.previous
            );
        }
        let apart = self
            .measures
            .iter()
            .filter(|m| m.intervals_overlap() == Some(false))
            .count();
        // Of the measures both assessments give with an interval.
        let compared = self
            .measures
            .iter()
            .filter(|m| m.intervals_overlap().is_some())
            .count();
        let mut text = format!(
            "Compared with the assessment of {}: {} of {} headline measures have 95% intervals that do not overlap",
            self.previous_period, apart, compared
        );
        if self.differences.is_empty() {
            text.push('.');
        } else {
            text.push_str(&format!(
                ", but {} definition(s) differ, so the figures are not comparable as they stand.",
                self.differences.len()
            ));
        }
        text
    }

    /// The comparison as a table: one row per measure.
    pub fn batch(&self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let text = |f: &dyn Fn(&MeasureChange) -> String| -> ArrayRef {
            Arc::new(StringArray::from(
                self.measures.iter().map(f).collect::<Vec<_>>(),
            ))
        };
        let number = |f: &dyn Fn(&MeasureChange) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(
                self.measures.iter().map(f).collect::<Vec<_>>(),
            ))
        };
        RecordBatch::try_from_iter([
            ("measure", text(&|m| m.measure.clone())),
            ("label", text(&|m| m.label.clone())),
            ("previous", number(&|m| m.then.0)),
            ("previous_lower_95", number(&|m| m.then.1)),
            ("previous_upper_95", number(&|m| m.then.2)),
            ("current", number(&|m| m.now.0)),
            ("current_lower_95", number(&|m| m.now.1)),
            ("current_upper_95", number(&|m| m.now.2)),
            ("change", number(&|m| m.change())),
            (
                "intervals_overlap",
                Arc::new(BooleanArray::from(
                    self.measures
                        .iter()
                        .map(MeasureChange::intervals_overlap)
                        .collect::<Vec<_>>(),
                )),
            ),
        ])
    }
}

/// The settings whose difference makes two assessments' figures not comparable, as text.
fn definitions(config: &serde_json::Value) -> BTreeMap<&'static str, String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(unset)".to_owned(),
        other => other.to_string(),
    };
    let sv = &config["serious_violence"];
    BTreeMap::from([
        ("serious-violence offence groups", text(&sv["ho_groups"])),
        ("public places only", text(&sv["public_place_only"])),
        ("domestic abuse excluded", text(&sv["exclude_domestic"])),
        (
            "priority cohort age cutoff",
            text(&config["young_age_cutoff"]),
        ),
        ("hot-spot neighbours", text(&config["hotspot_neighbours"])),
        ("hot-spot distance (m)", text(&config["hotspot_distance_m"])),
        (
            "hot-spot permutations",
            text(&config["hotspot_permutations"]),
        ),
    ])
}

/// Months in a period given as two `YYYY-MM-DD` texts.
fn months(start: &str, end: &str) -> Option<i64> {
    use chrono::Datelike;
    let start: chrono::NaiveDate = start.parse().ok()?;
    let end: chrono::NaiveDate = end.parse().ok()?;
    Some(i64::from(
        end.year() * 12 + end.month0() as i32 - start.year() * 12 - start.month0() as i32 + 1,
    ))
}

/// What this run is, for comparing it with an earlier bundle.
#[derive(Debug, Clone, Copy)]
pub struct Now<'a> {
    /// Its configuration.
    pub config: &'a Config,
    /// The SHA-256 of its headline SQL.
    pub headline_sql: &'a str,
    /// Its population's form (`by_age_sex` or `all_ages`), as the manifest records it.
    pub population_form: &'a str,
}

/// Compares the earlier bundle `previous` with this run (`now`, whose tables are in `tables`).
pub fn compare(previous: &Path, now: &Now<'_>, tables: &Path) -> Result<Comparison, CompareError> {
    let (config, headline_sql) = (now.config, now.headline_sql);
    let not_a_bundle = || CompareError::NotABundle(previous.to_path_buf());
    let manifest: serde_json::Value = std::fs::read_to_string(previous.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(not_a_bundle)?;
    let is_bundle = manifest["kind"] == crate::staging::OutputKind::Bundle.marker()
        || (manifest["kind"].is_null() && manifest["jobs"].is_array());
    if !is_bundle {
        return Err(not_a_bundle());
    }
    let then_config = &manifest["config"];
    let now_config = serde_json::to_value(config).expect("the configuration serialises");
    let (then_defs, now_defs) = (definitions(then_config), definitions(&now_config));
    let mut differences: Vec<Difference> = then_defs
        .iter()
        .filter(|(k, v)| now_defs.get(*k) != Some(v))
        .map(|(k, v)| Difference {
            setting: (*k).to_owned(),
            then: v.clone(),
            now: now_defs.get(k).cloned().unwrap_or_default(),
        })
        .collect();
    let then_sql = manifest["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["job"] == "headline"))
        .and_then(|j| j["sql_sha256"].as_str())
        .unwrap_or_default()
        .to_owned();
    if then_sql != headline_sql {
        differences.push(Difference {
            setting: "headline SQL (queries/headline.sql)".to_owned(),
            then: format!("sha256 {}", &then_sql.get(..12).unwrap_or("(none)")),
            now: format!("sha256 {}", &headline_sql.get(..12).unwrap_or("(none)")),
        });
    }
    // The denominators: residents of all ages instead of by age and sex (bundles written before
    // the manifest said had a population by age and sex). Another population year is not a
    // difference: each period has its own residents.
    let then_form = manifest["population_form"].as_str().unwrap_or("by_age_sex");
    if then_form != now.population_form {
        differences.push(Difference {
            setting: "population (the denominators)".to_owned(),
            then: then_form.replace('_', " "),
            now: now.population_form.replace('_', " "),
        });
    }
    let period = |c: &serde_json::Value| {
        (
            c["start"].as_str().unwrap_or_default().to_owned(),
            c["end"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let (then_start, then_end) = period(then_config);
    let (then_months, now_months) = (
        months(&then_start, &then_end),
        months(&config.start.to_string(), &config.end.to_string()),
    );
    if then_months != now_months {
        differences.push(Difference {
            setting: "months in the period (counts are over the period)".to_owned(),
            then: then_months.map_or_else(|| "unknown".to_owned(), |m| m.to_string()),
            now: now_months.map_or_else(|| "unknown".to_owned(), |m| m.to_string()),
        });
    }
    let then_table = Table::read(&previous.join("tables"), "headline")?;
    let now_table = Table::read(tables, "headline")?;
    let read = |table: &Table| -> Result<Vec<(String, String, Estimate)>, TableError> {
        table
            .rows()
            .map(|r| {
                Ok((
                    r.text("measure")?.to_owned(),
                    r.text("label")?.to_owned(),
                    (
                        r.number("value")?,
                        r.number("lower_95")?,
                        r.number("upper_95")?,
                    ),
                ))
            })
            .collect()
    };
    let (then_rows, now_rows) = (read(&then_table)?, read(&now_table)?);
    // Bundles written before rates were a year gave `sv_rate_per_1000` and
    // `ae_assault_rate_per_1000` over the whole period: a different measure, said so here and
    // listed apart from the `_year` measures rather than compared with them.
    let period_rates: Vec<&str> = then_rows
        .iter()
        .map(|(m, _, _)| m.as_str())
        .filter(|m| PERIOD_RATES.contains(m))
        .collect();
    if !period_rates.is_empty() {
        differences.push(Difference {
            setting: format!("headline rates ({}; not compared)", period_rates.join(", ")),
            then: "per 1,000 residents over the whole period".to_owned(),
            now: "per 1,000 residents a year (`_year` measures, over person-years)".to_owned(),
        });
    }
    let mut measures: Vec<MeasureChange> = Vec::new();
    for (measure, label, now) in &now_rows {
        let then = then_rows.iter().find(|(m, _, _)| m == measure).map(|r| r.2);
        measures.push(MeasureChange {
            measure: measure.clone(),
            label: label.clone(),
            then: then.unwrap_or((None, None, None)),
            now: *now,
        });
    }
    for (measure, label, then) in &then_rows {
        if !now_rows.iter().any(|(m, _, _)| m == measure) {
            measures.push(MeasureChange {
                measure: measure.clone(),
                label: label.clone(),
                then: *then,
                now: (None, None, None),
            });
        }
    }
    Ok(Comparison {
        previous: previous.display().to_string(),
        previous_period: format!("{then_start} to {then_end}"),
        differences,
        measures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(then: [f64; 3], now: [f64; 3]) -> MeasureChange {
        MeasureChange {
            measure: "m".into(),
            label: "M".into(),
            then: (Some(then[0]), Some(then[1]), Some(then[2])),
            now: (Some(now[0]), Some(now[1]), Some(now[2])),
        }
    }

    #[test]
    fn intervals_overlap_or_not() {
        assert_eq!(
            change([10.0, 8.0, 12.0], [11.0, 9.0, 13.0]).intervals_overlap(),
            Some(true)
        );
        assert_eq!(
            change([10.0, 8.0, 12.0], [15.0, 12.0, 18.0]).intervals_overlap(),
            Some(true),
            "touching"
        );
        assert_eq!(
            change([10.0, 8.0, 12.0], [15.0, 13.0, 18.0]).intervals_overlap(),
            Some(false)
        );
        assert_eq!(
            change([10.0, 8.0, 12.0], [15.0, 13.0, 18.0]).change(),
            Some(5.0)
        );
        let mut no_ci = change([1.0, 0.0, 2.0], [1.0, 0.0, 2.0]);
        no_ci.now.1 = None;
        assert_eq!(no_ci.intervals_overlap(), None);
    }

    #[test]
    fn months_of_a_period() {
        assert_eq!(months("2020-04-01", "2021-09-30"), Some(18));
        assert_eq!(months("2021-01-01", "2021-12-31"), Some(12));
        assert_eq!(months("2021-01-15", "2021-01-20"), Some(1));
    }
}
