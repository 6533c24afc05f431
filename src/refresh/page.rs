//! The dashboard's `index.html`, rendered with minijinja from `templates/dashboard.html.j2`.
//!
//! Rust gathers and formats what the page shows; the template decides how it reads. The page
//! is self-contained: relative links to its charts and CSV files, no scripts or external
//! resources, so it works from disk or from any static web server.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use super::spc::Signal;
use crate::charts::ChartRecord;
use crate::charts::data::{Row, Table, TableError};
use crate::findings::{count_text, pct_text, rate_text};
use crate::output::{OutputError, write_text};

const TEMPLATE: &str = include_str!("../../templates/dashboard.html.j2");

/// Errors in writing the page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A table the page shows was unreadable.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The template failed to render (a bug in an edited template, with its line).
    #[error("template templates/dashboard.html.j2: {0}")]
    Template(String),
    /// The page could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What the page says besides the tables.
#[derive(Debug, Clone, Serialize)]
pub struct PageInputs {
    /// Dashboard title.
    pub title: String,
    /// Last complete month, in words ("March 2024").
    pub data_up_to: String,
    /// Refresh time, "2024-04-02 03:00 UTC".
    pub refreshed_at: String,
    /// The whole window in words.
    pub window: String,
    /// Months in the window.
    pub window_months: u32,
    /// The last 12 months in words.
    pub last12: String,
    /// The previous 12 months in words.
    pub previous12: String,
    /// The serious-violence definition.
    pub definition: String,
    /// The priority-cohort cutoff.
    pub cutoff: u32,
    /// `vrn-sna <version>`.
    pub tool: String,
    /// Caveats about the window (e.g. fewer months than asked for).
    pub notes: Vec<String>,
    /// The charts, drawn or skipped.
    pub charts: Vec<ChartRecord>,
    /// The SPC signals.
    pub signals: Vec<SignalView>,
    /// Every table with its title, for the downloads list.
    pub tables: Vec<(String, String)>,
}

/// A signal as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SignalView {
    /// What the series measures.
    pub series: String,
    /// The rule in words.
    pub rule: String,
    /// The signal in words.
    pub description: String,
}

impl SignalView {
    /// A signal of the series labelled `series`.
    pub fn new(series: &str, signal: &Signal) -> SignalView {
        SignalView {
            series: series.to_owned(),
            rule: match signal.rule {
                "beyond_limit" => "Beyond a control limit",
                "run" => "Run of 8 or more",
                _ => "Trend of 6 or more",
            }
            .to_owned(),
            description: signal.description.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Context<'a> {
    page: &'a PageInputs,
    districts: Vec<Vec<String>>,
    hotspots: Vec<Vec<String>>,
}

/// Writes `dir/index.html` from the tables in `dir/tables`.
pub fn write(dir: &Path, inputs: &PageInputs) -> Result<(), PageError> {
    let tables = dir.join("tables");
    let districts = Table::read(&tables, "district_change")?
        .rows()
        .map(|r| district_row(&r))
        .collect::<Result<_, _>>()?;
    let hotspots = Table::read(&tables, "hotspots_top10")?
        .rows()
        .map(|r| hotspot_row(&r))
        .collect::<Result<_, _>>()?;
    let context = Context {
        page: inputs,
        districts,
        hotspots,
    };
    let mut env = Environment::new();
    env.add_template("dashboard.html", TEMPLATE)
        .map_err(|e| PageError::Template(format!("{e:#}")))?;
    let html = env
        .get_template("dashboard.html")
        .and_then(|t| t.render(minijinja::value::Serde(&context)))
        .map_err(|e| PageError::Template(format!("{e:#}")))?;
    write_text(&dir.join("index.html"), &html)?;
    Ok(())
}

fn optional(row: &Row<'_>, column: &str, format: fn(f64) -> String) -> Result<String, TableError> {
    Ok(row.number(column)?.map_or_else(|| "–".to_owned(), format))
}

fn with_ci(row: &Row<'_>, value: &str, lower: &str, upper: &str) -> Result<String, TableError> {
    Ok(
        match (row.number(value)?, row.number(lower)?, row.number(upper)?) {
            (Some(v), Some(lo), Some(hi)) => {
                format!("{} ({}–{})", rate_text(v), rate_text(lo), rate_text(hi))
            }
            (Some(v), _, _) => rate_text(v),
            _ => "–".to_owned(),
        },
    )
}

fn signed(v: f64, format: fn(f64) -> String) -> String {
    if v > 0.0 {
        format!("+{}", format(v))
    } else if v < 0.0 {
        format!("−{}", format(-v))
    } else {
        format(v)
    }
}

fn district_row(row: &Row<'_>) -> Result<Vec<String>, TableError> {
    Ok(vec![
        row.text("district")?.to_owned(),
        count_text(row.count("offences_previous")?),
        count_text(row.count("offences_current")?),
        signed(row.count("difference")?, count_text),
        optional(row, "change_pct", |v| format!("{}%", signed(v, pct_text)))?,
        with_ci(
            row,
            "rate_previous",
            "rate_previous_lower_95",
            "rate_previous_upper_95",
        )?,
        with_ci(
            row,
            "rate_current",
            "rate_current_lower_95",
            "rate_current_upper_95",
        )?,
        optional(row, "rate_difference", |v| signed(v, rate_text))?,
        row.text("caveat")?.to_owned(),
    ])
}

fn hotspot_row(row: &Row<'_>) -> Result<Vec<String>, TableError> {
    Ok(vec![
        count_text(row.count("rank")?),
        row.text("lsoa_code")?.to_owned(),
        row.text("lsoa_name")?.to_owned(),
        row.text("ward_name")?.to_owned(),
        row.text("district")?.to_owned(),
        count_text(row.count("offences")?),
        with_ci(row, "rate_per_1000", "lower_95", "upper_95")?,
        optional(row, "gi_star_z", |v| format!("{v:.2}"))?,
        if row.flag("hotspot")? { "yes" } else { "no" }.to_owned(),
    ])
}
