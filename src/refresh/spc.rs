//! Statistical process control of the dashboard's monthly rates, as XmR charts the way NHS
//! England's "Making Data Count" draws them: the `spc` table (every month of every series with
//! its centre line (mean of the baseline months), mean moving range, limits (centre line ±
//! 2.66 × mean moving range), signal flags and the series' state) and the `spc_signals` table
//! (each signal as one row: a point beyond a limit, a run of 7 or more months on one side of
//! the centre line, a trend of 6 or more months rising or falling, two of three months beyond
//! two thirds of the way to a limit).
//!
//! The rules are [`crate::stats::spc_signals`]; this module applies them to the monthly tables
//! and says what each signal means in words.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;

use serde::Serialize;

use crate::bundle::results::{Table, TableError};
use crate::engine::capability::{Available, Capability, NotPossible};
use crate::output::{OutputError, TableFiles};
use crate::stats::{SPC_RUN_LENGTH, SPC_TREND_LENGTH, SpcResult, SpcState, spc_signals};

/// Errors in building the SPC tables.
#[derive(Debug, thiserror::Error)]
pub enum SpcError {
    /// A monthly table could not be read.
    #[error("{0}")]
    Table(#[from] TableError),
    /// An SPC table could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
}

/// One monthly series to chart.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    /// Series key in the tables, e.g. `police_all`.
    pub key: String,
    /// What it measures, e.g. "Serious violence offences per 1,000 residents, all ages".
    pub label: String,
    /// Source table, e.g. `trend_monthly`.
    pub table: &'static str,
    /// The cohort in the source table, e.g. `all` or `under_25`.
    pub cohort: String,
    /// The count column in the source table.
    pub events: &'static str,
    /// What the series needs of the data beyond its table's sources (the under-cutoff series
    /// needs ages, from a persons extract).
    pub needs: Option<Capability>,
    /// The dashboard chart drawn from it.
    pub chart: &'static str,
}

/// A series of [`series_specs`] the data cannot give, and why: it is not computed and its
/// chart is not drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotPossibleSeries {
    /// Series key, e.g. `police_under_25`.
    pub series: String,
    /// What it measures.
    pub label: String,
    /// The chart it would have been drawn in.
    pub chart: String,
    /// Why, in words.
    pub reason: String,
}

/// A series with its SPC result.
#[derive(Debug, Clone)]
pub struct Series {
    /// The spec.
    pub spec: SeriesSpec,
    /// Months `YYYY-MM` in order.
    pub months: Vec<String>,
    /// Events per month.
    pub events: Vec<f64>,
    /// Rate per 1,000 per month (`NaN` where there is no population).
    pub rates: Vec<f64>,
    /// Centre line, limits and flags.
    pub spc: SpcResult,
}

/// A signal as one row of `spc_signals`.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Series key.
    pub series: String,
    /// `beyond_limit`, `run`, `trend` or `two_of_three`.
    pub rule: &'static str,
    /// First month involved.
    pub first_month: String,
    /// Last month involved.
    pub last_month: String,
    /// Months involved.
    pub months: usize,
    /// `above`, `below`, `rising` or `falling`.
    pub direction: &'static str,
    /// The signal in words.
    pub description: String,
    /// The state of the series the signal belongs to.
    pub state: SpcState,
}

/// The dashboard's series: police all ages and under the cutoff, and A&E all ages.
pub fn series_specs(cutoff: u32) -> Vec<SeriesSpec> {
    vec![
        SeriesSpec {
            key: "police_all".into(),
            label: "Serious violence offences per 1,000 residents, all ages".into(),
            table: "trend_monthly",
            cohort: "all".into(),
            events: "offences",
            needs: None,
            chart: "spc_police",
        },
        SeriesSpec {
            key: format!("police_under_{cutoff}"),
            label: format!(
                "Serious violence offences involving under-{cutoff}s per 1,000 residents aged under {cutoff}"
            ),
            table: "trend_monthly",
            cohort: format!("under_{cutoff}"),
            events: "offences",
            needs: Some(Capability::Persons),
            chart: "spc_police_young",
        },
        SeriesSpec {
            key: "ae_all".into(),
            label: "Assault-related A&E attendances per 1,000 residents, all ages".into(),
            table: "trend_ae_monthly",
            cohort: "all".into(),
            events: "attendances",
            needs: None,
            chart: "spc_ae",
        },
    ]
}

/// Splits `specs` into the series the data can give and those they cannot, with why: a series
/// whose table's job is not possible (no A&E series without an ae_attendances extract), or
/// that needs what the data lack (no under-cutoff series without persons).
pub fn possible(
    specs: Vec<SeriesSpec>,
    not_possible: &[NotPossible],
    available: &Available,
) -> (Vec<SeriesSpec>, Vec<NotPossibleSeries>) {
    let mut run = Vec::new();
    let mut not = Vec::new();
    for spec in specs {
        let reason = match not_possible.iter().find(|n| n.job == spec.table) {
            Some(job) => Some(job.reason.clone()),
            None => spec
                .needs
                .filter(|c| !available.has(*c))
                .map(|c| c.missing().to_owned()),
        };
        match reason {
            Some(reason) => not.push(NotPossibleSeries::of(&spec, reason)),
            None => run.push(spec),
        }
    }
    (run, not)
}

impl NotPossibleSeries {
    fn of(spec: &SeriesSpec, reason: String) -> NotPossibleSeries {
        NotPossibleSeries {
            series: spec.key.clone(),
            label: spec.label.clone(),
            chart: spec.chart.to_owned(),
            reason,
        }
    }
}

/// Reads each series from its monthly table in `tables` and applies the SPC rules, with the
/// first `baseline` months (all when fewer) setting the centre line and limits. A series whose
/// table has no rows of its cohort is left out, with why (the table cannot give it; an empty
/// chart would say nothing).
pub fn compute(
    tables: &Path,
    specs: &[SeriesSpec],
    baseline: usize,
) -> Result<(Vec<Series>, Vec<NotPossibleSeries>), SpcError> {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for spec in specs {
        let table = Table::read(tables, spec.table)?;
        let mut rows = Vec::new();
        for row in table.rows_where("cohort", &spec.cohort) {
            rows.push((
                row.text("month")?.to_owned(),
                row.count(spec.events)?,
                row.number("rate_per_1000")?.unwrap_or(f64::NAN),
            ));
        }
        if rows.is_empty() {
            left_out.push(NotPossibleSeries::of(
                spec,
                format!("{} has no rows of cohort {}", spec.table, spec.cohort),
            ));
            continue;
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let rates: Vec<f64> = rows.iter().map(|r| r.2).collect();
        out.push(Series {
            spec: spec.clone(),
            spc: spc_signals(&rates, baseline),
            months: rows.iter().map(|r| r.0.clone()).collect(),
            events: rows.iter().map(|r| r.1).collect(),
            rates,
        });
    }
    Ok((out, left_out))
}

/// The signals of a series, one per point beyond a limit and one per run or trend.
pub fn signals(series: &Series) -> Vec<Signal> {
    let spc = &series.spc;
    let mut out = Vec::new();
    let signal = |rule, a: usize, b: usize, direction, description: String| Signal {
        series: series.spec.key.clone(),
        rule,
        first_month: series.months[a].clone(),
        last_month: series.months[b].clone(),
        months: b - a + 1,
        direction,
        description,
        state: spc.state,
    };
    for (i, flags) in spc.flags.iter().enumerate() {
        if flags.beyond_limit {
            let above = series.rates[i] > spc.upper;
            out.push(signal(
                "beyond_limit",
                i,
                i,
                if above { "above" } else { "below" },
                format!(
                    "{}: {:.3} per 1,000 is {} the {} control limit ({:.3})",
                    month_words(&series.months[i]),
                    series.rates[i],
                    if above { "above" } else { "below" },
                    if above { "upper" } else { "lower" },
                    if above { spc.upper } else { spc.lower },
                ),
            ));
        }
    }
    for (a, b) in stretches(spc.flags.len(), |i| {
        spc.flags[i].run.then(|| series.rates[i] > spc.mean)
    }) {
        let above = series.rates[a] > spc.mean;
        out.push(signal(
            "run",
            a,
            b,
            if above { "above" } else { "below" },
            format!(
                "{} to {}: {} months in a row {} the centre line ({:.3}); a run of {} or more is a signal",
                month_words(&series.months[a]),
                month_words(&series.months[b]),
                b - a + 1,
                if above { "above" } else { "below" },
                spc.mean,
                SPC_RUN_LENGTH
            ),
        ));
    }
    // A trend's direction is that of the steps into its points; a turning point ends one
    // trend and starts the next, so it belongs to both.
    let step = |i: usize| -> Option<bool> {
        let flagged = i > 0 && spc.flags[i].trend && spc.flags[i - 1].trend;
        (flagged && series.rates[i] != series.rates[i - 1])
            .then(|| series.rates[i] > series.rates[i - 1])
    };
    for (a, b) in stretches(spc.flags.len(), step) {
        let (first, last) = (a - 1, b);
        let rising = series.rates[b] > series.rates[a - 1];
        out.push(signal(
            "trend",
            first,
            last,
            if rising { "rising" } else { "falling" },
            format!(
                "{} to {}: {} months each {} than the month before; a trend of {} or more is a signal",
                month_words(&series.months[first]),
                month_words(&series.months[last]),
                last - first + 1,
                if rising { "higher" } else { "lower" },
                SPC_TREND_LENGTH
            ),
        ));
    }
    // Two of three: flagged months on the same side at most two apart are one signal.
    let near: Vec<(usize, bool)> = (0..spc.flags.len())
        .filter(|&i| spc.flags[i].two_of_three)
        .map(|i| (i, series.rates[i] > spc.mean))
        .collect();
    let mut groups: Vec<Vec<(usize, bool)>> = Vec::new();
    for (i, above) in near {
        match groups.last_mut() {
            Some(g) if g[g.len() - 1].1 == above && i - g[g.len() - 1].0 <= 2 => g.push((i, above)),
            _ => groups.push(vec![(i, above)]),
        }
    }
    for g in groups {
        let ((a, above), b) = (g[0], g[g.len() - 1].0);
        let line = if above {
            spc.mean + 2.0 * (spc.upper - spc.mean) / 3.0
        } else {
            spc.mean - 2.0 * (spc.mean - spc.lower) / 3.0
        };
        out.push(signal(
            "two_of_three",
            a,
            b,
            if above { "above" } else { "below" },
            format!(
                "{} to {}: {} of {} months {} {:.3}, two thirds of the way to the {} control limit; two of three consecutive months there is a signal",
                month_words(&series.months[a]),
                month_words(&series.months[b]),
                g.len(),
                b - a + 1,
                if above { "above" } else { "below" },
                line,
                if above { "upper" } else { "lower" },
            ),
        ));
    }
    out.sort_by(|x, y| {
        (&x.first_month, x.rule, &x.last_month).cmp(&(&y.first_month, y.rule, &y.last_month))
    });
    out
}

/// Maximal stretches of consecutive indexes with the same `Some` class.
fn stretches(len: usize, class: impl Fn(usize) -> Option<bool>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, bool)> = None;
    for i in 0..=len {
        let c = if i < len { class(i) } else { None };
        match (start, c) {
            (Some((_, s)), Some(now)) if s == now => {}
            (Some((a, _)), _) => {
                out.push((a, i - 1));
                start = c.map(|now| (i, now));
            }
            (None, Some(now)) => start = Some((i, now)),
            (None, None) => {}
        }
    }
    out
}

use crate::readable::month_words;

/// Writes `tables/spc.{csv,parquet}` and `tables/spc_signals.{csv,parquet}`.
pub fn write(tables: &Path, series: &[Series]) -> Result<Vec<Signal>, SpcError> {
    let mut columns: (Vec<String>, Vec<String>, Vec<i64>, Vec<Option<f64>>) = Default::default();
    let mut baselines: Vec<i64> = Vec::new();
    let mut limits: (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) = Default::default();
    let mut flags: (Vec<bool>, Vec<bool>, Vec<bool>, Vec<bool>) = Default::default();
    let mut states: Vec<&str> = Vec::new();
    let mut all_signals = Vec::new();
    for s in series {
        for (i, month) in s.months.iter().enumerate() {
            columns.0.push(s.spec.key.clone());
            columns.1.push(month.clone());
            columns.2.push(s.events[i] as i64);
            columns.3.push(s.rates[i].is_finite().then_some(s.rates[i]));
            limits.0.push(s.spc.mean);
            limits.1.push(s.spc.mean_moving_range);
            limits.2.push(s.spc.lower);
            limits.3.push(s.spc.upper);
            baselines.push(s.spc.baseline as i64);
            flags.0.push(s.spc.flags[i].beyond_limit);
            flags.1.push(s.spc.flags[i].run);
            flags.2.push(s.spc.flags[i].trend);
            flags.3.push(s.spc.flags[i].two_of_three);
            states.push(s.spc.state.key());
        }
        all_signals.extend(signals(s));
    }
    let batch = RecordBatch::try_from_iter([
        ("series", Arc::new(StringArray::from(columns.0)) as ArrayRef),
        ("month", Arc::new(StringArray::from(columns.1))),
        ("events", Arc::new(Int64Array::from(columns.2))),
        ("rate_per_1000", Arc::new(Float64Array::from(columns.3))),
        ("baseline_months", Arc::new(Int64Array::from(baselines))),
        ("centre_line", Arc::new(Float64Array::from(limits.0))),
        ("mean_moving_range", Arc::new(Float64Array::from(limits.1))),
        ("lower_limit", Arc::new(Float64Array::from(limits.2))),
        ("upper_limit", Arc::new(Float64Array::from(limits.3))),
        ("beyond_limit", Arc::new(BooleanArray::from(flags.0))),
        ("run", Arc::new(BooleanArray::from(flags.1))),
        ("trend", Arc::new(BooleanArray::from(flags.2))),
        ("two_of_three", Arc::new(BooleanArray::from(flags.3))),
        ("state", Arc::new(StringArray::from(states))),
    ]);
    write_batch(tables, "spc", batch)?;
    let signals_batch = RecordBatch::try_from_iter([
        (
            "series",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.series.as_str()),
            )) as ArrayRef,
        ),
        (
            "rule",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.rule),
            )),
        ),
        (
            "first_month",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.first_month.as_str()),
            )),
        ),
        (
            "last_month",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.last_month.as_str()),
            )),
        ),
        (
            "months",
            Arc::new(Int64Array::from_iter_values(
                all_signals.iter().map(|s| s.months as i64),
            )),
        ),
        (
            "direction",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.direction),
            )),
        ),
        (
            "description",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.description.as_str()),
            )),
        ),
        (
            "state",
            Arc::new(StringArray::from_iter_values(
                all_signals.iter().map(|s| s.state.key()),
            )),
        ),
    ]);
    write_batch(tables, "spc_signals", signals_batch)?;
    Ok(all_signals)
}

fn write_batch(
    tables: &Path,
    name: &str,
    batch: Result<RecordBatch, arrow::error::ArrowError>,
) -> Result<(), SpcError> {
    let path = tables.join(format!("{name}.csv"));
    let batch = batch.map_err(OutputError::at(&path))?;
    let mut files = TableFiles::create(tables, name, batch.schema())?;
    files.write(&batch)?;
    files.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rates: &[f64]) -> Series {
        let months: Vec<String> = (0..rates.len())
            .map(|i| format!("{}-{:02}", 2021 + i / 12, i % 12 + 1))
            .collect();
        Series {
            spec: series_specs(25).remove(0),
            events: rates.iter().map(|r| r * 100.0).collect(),
            spc: spc_signals(rates, 12),
            months,
            rates: rates.to_vec(),
        }
    }

    #[test]
    fn series_the_data_cannot_give_are_left_out_with_why() {
        use crate::sources::contract::{self, Extract, Form};
        // A force's offences and population, without persons or A&E.
        let extract = Extract::of_tables(Form::Full, &[&contract::OFFENCES, &contract::POPULATION]);
        let available = Available::of(&extract);
        let not_possible = [NotPossible {
            job: "trend_ae_monthly".into(),
            title: "A&E".into(),
            reason: "no A&E here".into(),
            listed: true,
        }];
        let (run, not) = possible(series_specs(25), &not_possible, &available);
        let run: Vec<&str> = run.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(run, ["police_all"]);
        let not: Vec<(&str, &str, &str)> = not
            .iter()
            .map(|n| (n.series.as_str(), n.chart.as_str(), n.reason.as_str()))
            .collect();
        assert_eq!(
            not,
            [
                (
                    "police_under_25",
                    "spc_police_young",
                    Capability::Persons.missing()
                ),
                ("ae_all", "spc_ae", "no A&E here"),
            ]
        );

        // A table without the cohort's rows gives no series, rather than an empty one.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("trend_monthly.csv"),
            "month,cohort,offences,rate_per_1000\n2021-02,all,3,0.3\n2021-01,all,2,0.2\n",
        )
        .unwrap();
        let specs: Vec<SeriesSpec> = series_specs(25).into_iter().take(2).collect();
        let (series, left_out) = compute(dir.path(), &specs, 12).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].months, ["2021-01", "2021-02"]);
        assert_eq!(series[0].events, [2.0, 3.0]);
        assert_eq!(left_out.len(), 1);
        assert_eq!(left_out[0].series, "police_under_25");
        assert_eq!(
            left_out[0].reason,
            "trend_monthly has no rows of cohort under_25"
        );
    }

    #[test]
    fn a_point_beyond_the_upper_limit_is_one_signal() {
        let mut rates = vec![1.0, 1.1, 0.9, 1.0, 1.1, 0.9, 1.0, 1.1, 0.9, 1.0, 1.1, 0.9];
        rates.extend([1.0, 1.1, 0.9, 1.0, 1.1, 0.9, 5.0]);
        let found = signals(&series(&rates));
        let beyond: Vec<&Signal> = found.iter().filter(|s| s.rule == "beyond_limit").collect();
        assert_eq!(beyond.len(), 1, "{found:?}");
        assert_eq!(beyond[0].first_month, "2022-07");
        assert_eq!(beyond[0].direction, "above");
        assert!(
            beyond[0]
                .description
                .starts_with("July 2022: 5.000 per 1,000 is above the upper control limit")
        );
    }

    #[test]
    fn a_run_of_seven_below_the_centre_line_is_one_signal_and_six_is_none() {
        // Baseline (first 12): seven 0.9s, then 1.3, 0.9, 1.3, 0.9, 1.3: centre line 1.0.
        let mut rates = vec![0.9; 7];
        rates.extend([1.3, 0.9, 1.3, 0.9, 1.3, 0.9, 1.3]);
        let found = signals(&series(&rates));
        let runs: Vec<&Signal> = found.iter().filter(|s| s.rule == "run").collect();
        assert_eq!(runs.len(), 1, "{found:?}");
        assert_eq!(
            (
                runs[0].first_month.as_str(),
                runs[0].last_month.as_str(),
                runs[0].months,
                runs[0].direction
            ),
            ("2021-01", "2021-07", 7, "below")
        );
        assert!(
            runs[0]
                .description
                .contains("7 months in a row below the centre line (1.000)")
        );
        assert_eq!(runs[0].state, SpcState::StepShift);
        let mut six = vec![0.9; 6];
        six.extend([1.3, 0.9, 1.3, 0.9, 1.3, 0.9, 1.2]);
        assert!(signals(&series(&six)).iter().all(|s| s.rule != "run"));
    }

    #[test]
    fn two_of_three_near_a_limit_is_one_signal() {
        // Baseline 1.0, 1.1, 0.9 four times: centre line 1.0; moving ranges seven of 0.1 and
        // four of 0.2, mean 1.5 / 11; two thirds of the way to the upper limit:
        // 1.0 + 2/3 × 2.66 × 1.5 / 11 = 1.2418.
        let mut rates = [1.0, 1.1, 0.9].repeat(4);
        rates.extend([1.3, 1.0, 1.3, 1.0]);
        let found = signals(&series(&rates));
        let near: Vec<&Signal> = found.iter().filter(|s| s.rule == "two_of_three").collect();
        assert_eq!(near.len(), 1, "{found:?}");
        assert_eq!(
            (
                near[0].first_month.as_str(),
                near[0].last_month.as_str(),
                near[0].months,
                near[0].direction
            ),
            ("2022-01", "2022-03", 3, "above")
        );
        assert!(
            near[0]
                .description
                .starts_with("January 2022 to March 2022: 2 of 3 months above 1.242"),
            "{}",
            near[0].description
        );
        assert_eq!(near[0].state, SpcState::SinglePointException);
    }

    #[test]
    fn rising_then_falling_trends_share_the_turning_point() {
        let rates = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0];
        let found = signals(&series(&rates));
        let trends: Vec<(&str, &str, usize, &str)> = found
            .iter()
            .filter(|s| s.rule == "trend")
            .map(|s| {
                (
                    s.first_month.as_str(),
                    s.last_month.as_str(),
                    s.months,
                    s.direction,
                )
            })
            .collect();
        assert_eq!(
            trends,
            [
                ("2021-01", "2021-06", 6, "rising"),
                ("2021-06", "2021-11", 6, "falling")
            ]
        );
        let five = [1.0, 1.1, 1.2, 1.3, 1.4, 1.0, 1.2, 1.0, 1.2];
        assert!(signals(&series(&five)).iter().all(|s| s.rule != "trend"));
    }
}
