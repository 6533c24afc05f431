//! The dashboard's `index.html`, rendered with minijinja from `templates/dashboard.html.j2`.
//!
//! Rust gathers and formats what the page shows; the template decides how it reads. The page
//! is self-contained: relative links to its charts and CSV files, no scripts or external
//! resources, so it works from disk or from any static web server.

use std::path::Path;

use serde::Serialize;

use super::spc::Signal;
use crate::charts::ChartRecord;
use crate::charts::data::{Table, TableError};
use crate::output::{OutputError, write_text};
use crate::table_view::{CellFormat, HOTSPOT_COLUMNS, TableView, view};

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

/// The columns of `district_change` as the page shows them.
const DISTRICT_COLUMNS: [(&str, &str, CellFormat); 9] = [
    ("district", "District", CellFormat::Text),
    ("offences_previous", "Previous 12 months", CellFormat::Count),
    ("offences_current", "Last 12 months", CellFormat::Count),
    ("difference", "Difference", CellFormat::SignedCount),
    ("change_pct", "Change", CellFormat::SignedPct),
    (
        "rate_previous",
        "Rate per 1,000 before (95% CI)",
        CellFormat::RateCiOf("rate_previous_lower_95", "rate_previous_upper_95"),
    ),
    (
        "rate_current",
        "Rate per 1,000 now (95% CI)",
        CellFormat::RateCiOf("rate_current_lower_95", "rate_current_upper_95"),
    ),
    ("rate_difference", "Rate difference", CellFormat::SignedRate),
    ("caveat", "Caveat", CellFormat::Text),
];

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
    districts: TableView,
    hotspots: TableView,
}

/// Writes `dir/index.html` from the tables in `dir/tables`.
pub fn write(dir: &Path, inputs: &PageInputs) -> Result<(), PageError> {
    let tables = dir.join("tables");
    let all = |_: &crate::charts::data::Row| true;
    let districts = view(
        &Table::read(&tables, "district_change")?,
        "district_change",
        &all,
        usize::MAX,
        &DISTRICT_COLUMNS,
    )?;
    let hotspots = view(
        &Table::read(&tables, "hotspots_top10")?,
        "hotspots_top10",
        &all,
        usize::MAX,
        &HOTSPOT_COLUMNS,
    )?;
    let context = Context {
        page: inputs,
        districts,
        hotspots,
    };
    let mut env =
        crate::report::environment().map_err(|e| PageError::Template(format!("{e:#}")))?;
    env.add_template("dashboard.html", TEMPLATE)
        .map_err(|e| PageError::Template(format!("{e:#}")))?;
    let html = env
        .get_template("dashboard.html")
        .and_then(|t| t.render(minijinja::value::Serde(&context)))
        .map_err(|e| PageError::Template(format!("{e:#}")))?;
    write_text(&dir.join("index.html"), &html)?;
    Ok(())
}
