//! The dashboard's `index.html`, rendered with minijinja from `templates/dashboard.html.j2`.
//!
//! Rust gathers and formats what the page shows; the template decides how it reads. The page
//! is self-contained: relative links to its charts and CSV files, no scripts or external
//! resources, so it works from disk or from any static web server.

use std::path::Path;

use serde::Serialize;

use super::spc::{NotPossibleSeries, Signal};
use crate::bundle::charts::ChartRecord;
use crate::bundle::layout::{self, Document, LayoutError, Placed};
use crate::bundle::results::TableError;
use crate::engine::capability::NotPossible;
use crate::engine::queries::SqlFile;
use crate::output::{OutputError, write_text};

const TEMPLATE: &str = include_str!("../../templates/dashboard.html.j2");

/// Errors in writing the page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A table the page shows was unreadable.
    #[error("{0}")]
    Table(#[from] TableError),
    /// The template failed to render (a bug in an edited template, with its line).
    #[error("{0}")]
    Template(#[from] crate::bundle::report::TemplateError),
    /// The page could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// The metadata placed a table wrongly.
    #[error("{0}")]
    Layout(#[from] Box<LayoutError>),
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
    /// The serious-violence definition (of the extract's form).
    pub definition: String,
    /// Where the police data come from.
    pub police_source: String,
    /// The extract's form in words: `full` or `open-data`.
    pub form: &'static str,
    /// When a month counts as complete, for these data.
    pub complete_months: &'static str,
    /// The priority-cohort cutoff.
    pub cutoff: u32,
    /// Whether the data give ages (a persons or an A&E extract), so that the priority cohort
    /// means something here.
    pub ages: bool,
    /// `vrn-sna <version>`.
    pub tool: String,
    /// Caveats about the window (e.g. fewer months than asked for).
    pub notes: Vec<String>,
    /// The charts, drawn or skipped.
    pub charts: Vec<ChartRecord>,
    /// Months of each SPC chart's baseline (fewer when the window is shorter).
    pub spc_baseline: usize,
    /// Each SPC series' state.
    pub states: Vec<StateView>,
    /// The SPC signals.
    pub signals: Vec<SignalView>,
    /// Every table with its title, for the downloads list.
    pub tables: Vec<(String, String)>,
    /// The dashboard's jobs these data cannot support, with why.
    pub not_possible: Vec<NotPossible>,
    /// The SPC series these data cannot give, with why.
    pub series_not_possible: Vec<NotPossibleSeries>,
}

/// A series' SPC state as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StateView {
    /// What the series measures.
    pub series: String,
    /// The state in words, e.g. "Step shift".
    pub state: String,
}

impl StateView {
    /// The state of `series`, labelled with what it measures.
    pub fn new(series: &super::spc::Series) -> StateView {
        StateView {
            series: series.spec.label.clone(),
            state: series.spc.state.words().to_owned(),
        }
    }
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
                "run" => "Run of 7 or more",
                "trend" => "Trend of 6 or more",
                _ => "Two of three near a limit",
            }
            .to_owned(),
            description: signal.description.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Context<'a> {
    page: &'a PageInputs,
}

/// Writes `dir/index.html` from the tables in `dir/tables`, placing those of the dashboard's
/// own jobs that ran (`refresh_jobs`, of `queries/refresh/`).
pub fn write(dir: &Path, inputs: &PageInputs, refresh_jobs: &[&SqlFile]) -> Result<(), PageError> {
    let tables = dir.join("tables");
    let context = Context { page: inputs };
    let layout = layout::lay_out(
        Document::Dashboard,
        refresh_jobs.iter().copied(),
        &tables,
        &minijinja::Value::from(minijinja::value::Serde(inputs)),
        &inputs.charts,
        &[],
    )
    .map_err(Box::new)?;
    let error = crate::bundle::report::TemplateError::render("templates/dashboard.html.j2");
    let mut env = crate::bundle::report::environment().map_err(&error)?;
    let placed = Placed::register(&mut env, layout, false);
    env.add_template("dashboard.html", TEMPLATE)
        .map_err(&error)?;
    let html = env
        .get_template("dashboard.html")
        .and_then(|t| t.render(minijinja::value::Serde(&context)))
        .map_err(&error)?;
    placed.check(Document::Dashboard).map_err(Box::new)?;
    write_text(&dir.join("index.html"), &html)?;
    Ok(())
}
