//! The bundle's documents: `index.html` (the SNA report, self-contained and offline) and
//! `summary.md` (the key findings for a board paper), rendered with minijinja from the
//! templates in `templates/`.
//!
//! Rust gathers what the report says (findings, figures with numbers, formatted tables, data
//! sources, definitions); the templates decide how it reads, so wording and layout can be
//! edited without touching the pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::charts::ChartRecord;
use crate::charts::data::{Row, Table, TableError};
use crate::config::Config;
use crate::findings;
use crate::output::{OutputError, write_text};
use crate::table_view::{CellFormat, HOTSPOT_COLUMNS, TableView, view};

const REPORT_TEMPLATE: &str = include_str!("../templates/report.html.j2");
const SUMMARY_TEMPLATE: &str = include_str!("../templates/summary.md.j2");
const MACROS_TEMPLATE: &str = include_str!("../templates/macros.html.j2");

/// A template environment holding `macros.html` (the `figure` and `table` macros shared by
/// the report and the dashboard), for a document template to import from.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("macros.html", MACROS_TEMPLATE)?;
    Ok(env)
}

/// The order figures appear in the report, which numbers them.
pub const FIGURE_ORDER: [&str; 12] = [
    "trend_police",
    "age_sex",
    "deprivation",
    "districts",
    "hotspot_map",
    "harm_vs_count",
    "time_heatmap",
    "offence_mix",
    "knife_nte",
    "repeat_concentration",
    "trend_ae",
    "funding",
];

/// Errors in writing the documents.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A table the report needs was unreadable.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A template failed to render (a bug in an edited template, with its line).
    #[error("template {name}: {message}")]
    Template {
        /// Template name.
        name: String,
        /// minijinja's message.
        message: String,
    },
    /// A document could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A source file of the run, for the report's data-sources section.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Path as given.
    pub path: String,
    /// Rows.
    pub rows: u64,
}

/// What the report is built from, besides the tables.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// The run's configuration.
    pub config: &'a Config,
    /// Population year used.
    pub population_year: i64,
    /// Inputs with rows.
    pub sources: Vec<Source>,
    /// Charts, drawn or skipped.
    pub charts: &'a [ChartRecord],
    /// Every job (table) name with its one-line title.
    pub tables: Vec<(String, String)>,
    /// Generation time, RFC 3339.
    pub generated_at: String,
    /// With `--compare`: the headline measures beside an earlier bundle's.
    pub comparison: Option<crate::compare::Comparison>,
    /// With a `[funding]` section: the formula in words and the reconciliation with the pot.
    pub funding: Option<FundingText>,
}

/// One row of the report's comparison table, formatted.
#[derive(Debug, Serialize)]
struct ChangeView {
    label: String,
    then: String,
    now: String,
    change: String,
    overlap: String,
}

/// The report's "what changed" section.
#[derive(Debug, Serialize)]
struct ComparisonView {
    summary: String,
    previous: String,
    differences: Vec<crate::compare::Difference>,
    rows: Vec<ChangeView>,
}

fn comparison_view(c: &crate::compare::Comparison) -> ComparisonView {
    let value = |v: crate::compare::Estimate| match v {
        (Some(x), Some(lo), Some(hi)) => format!("{} ({}–{})", short(x), short(lo), short(hi)),
        (Some(x), _, _) => short(x),
        _ => "–".to_owned(),
    };
    ComparisonView {
        summary: c.summary(),
        previous: c.previous.clone(),
        differences: c.differences.clone(),
        rows: c
            .measures
            .iter()
            .map(|m| ChangeView {
                label: m.label.clone(),
                then: value(m.then),
                now: value(m.now),
                change: m.change().map_or_else(
                    || "–".to_owned(),
                    |d| {
                        if d > 0.0 {
                            format!("+{}", short(d))
                        } else if d < 0.0 {
                            format!("−{}", short(-d))
                        } else {
                            "0".to_owned()
                        }
                    },
                ),
                overlap: match m.intervals_overlap() {
                    Some(true) => "yes".to_owned(),
                    Some(false) => "no".to_owned(),
                    None => "–".to_owned(),
                },
            })
            .collect(),
    }
}

/// A number rounded for reading: whole numbers as counts, others to three significant figures.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        findings::count_text(v)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The words of the report's funding section.
#[derive(Debug, Clone, Serialize)]
pub struct FundingText {
    /// The pot, periods and weights.
    pub words: String,
    /// How the rounded totals reconcile with the pot.
    pub reconciliation: String,
}

#[derive(Debug, Serialize)]
struct FigureView {
    number: usize,
    name: String,
    title: String,
    subtitle: String,
    caption: String,
    alt: String,
    tables: Vec<String>,
    drawn: bool,
    skipped: Option<String>,
}

#[derive(Debug, Serialize)]
struct Method {
    label: String,
    definition: String,
}

#[derive(Debug, Serialize)]
struct Context {
    title: String,
    period: String,
    start: String,
    end: String,
    generated_at: String,
    tool: String,
    definition: String,
    cutoff: u32,
    population_year: i64,
    threshold: u32,
    sources: Vec<Source>,
    findings: Vec<String>,
    figures: BTreeMap<String, FigureView>,
    tables: BTreeMap<String, TableView>,
    all_tables: Vec<(String, String)>,
    methods: Vec<Method>,
    funding: Option<FundingText>,
    comparison: Option<ComparisonView>,
}

/// Writes `index.html` and `summary.md` into `dir` (the staged bundle).
pub fn write(dir: &Path, inputs: &ReportInputs) -> Result<Vec<String>, ReportError> {
    let tables_dir = dir.join("tables");
    let headline = Table::read(&tables_dir, "headline")?;
    let hotspots = Table::read(&tables_dir, "lsoa_hotspots")?;
    let year_on_year = Table::read(&tables_dir, "year_on_year")?;
    let optional = |name: &str| {
        let present = tables_dir.join(format!("{name}.csv")).is_file();
        present.then(|| Table::read(&tables_dir, name)).transpose()
    };
    let (deprivation, overlap) = (
        optional("deprivation")?,
        optional("victim_offender_overlap")?,
    );
    let findings = findings::key_findings(&findings::Sources {
        hotspots: Some(&hotspots),
        year_on_year: Some(&year_on_year),
        deprivation: deprivation.as_ref(),
        overlap: overlap.as_ref(),
        comparison: inputs.comparison.as_ref().map(|c| c.summary()),
        ..findings::Sources::new(&headline, inputs.config.young_age_cutoff)
    })?;
    let context = Context {
        title: inputs.config.title.clone(),
        period: inputs.config.period_words(),
        start: inputs.config.start.to_string(),
        end: inputs.config.end.to_string(),
        generated_at: inputs.generated_at.clone(),
        tool: format!("vrn-sna {}", env!("CARGO_PKG_VERSION")),
        definition: inputs.config.serious_violence.describe(),
        cutoff: inputs.config.young_age_cutoff,
        population_year: inputs.population_year,
        threshold: inputs.config.disclosure_threshold,
        sources: inputs.sources.clone(),
        findings: findings.clone(),
        figures: figures(inputs.charts),
        tables: tables(&tables_dir, inputs.config.young_age_cutoff)?,
        all_tables: inputs.tables.clone(),
        funding: inputs.funding.clone(),
        comparison: inputs.comparison.as_ref().map(comparison_view),
        methods: headline
            .rows()
            .map(|r| {
                Ok(Method {
                    label: r.text("label")?.to_owned(),
                    definition: r.text("definition")?.to_owned(),
                })
            })
            .collect::<Result<_, TableError>>()?,
    };
    let template_error = |name: &str, e: minijinja::Error| ReportError::Template {
        name: name.to_owned(),
        message: format!("{e:#}"),
    };
    let mut env = environment().map_err(|e| template_error("templates/macros.html.j2", e))?;
    env.add_template("report.html", REPORT_TEMPLATE)
        .map_err(|e| template_error("templates/report.html.j2", e))?;
    env.add_template("summary.md", SUMMARY_TEMPLATE)
        .map_err(|e| template_error("templates/summary.md.j2", e))?;
    for (name, file, source) in [
        ("report.html", "index.html", "templates/report.html.j2"),
        ("summary.md", "summary.md", "templates/summary.md.j2"),
    ] {
        let text = env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(&context)))
            .map_err(|e| template_error(source, e))?;
        write_text(&dir.join(file), &text)?;
    }
    Ok(findings)
}

fn figures(charts: &[ChartRecord]) -> BTreeMap<String, FigureView> {
    let mut number = 0;
    let mut out = BTreeMap::new();
    for name in FIGURE_ORDER {
        let Some(chart) = charts.iter().find(|c| c.name == name) else {
            continue;
        };
        if chart.drawn {
            number += 1;
        }
        out.insert(
            name.to_owned(),
            FigureView {
                number: if chart.drawn { number } else { 0 },
                name: chart.name.clone(),
                title: chart.title.clone(),
                subtitle: chart.subtitle.clone(),
                caption: chart.caption.clone(),
                alt: chart.alt.clone(),
                tables: chart.tables.clone(),
                drawn: chart.drawn,
                skipped: chart.skipped.clone(),
            },
        );
    }
    out
}

/// The tables shown in the report, formatted.
fn tables(dir: &Path, cutoff: u32) -> Result<BTreeMap<String, TableView>, ReportError> {
    use CellFormat::*;
    let mut out = BTreeMap::new();
    let mut add = |key: &str,
                   table: &str,
                   filter: &dyn Fn(&Row) -> bool,
                   limit: usize,
                   columns: &[(&str, &str, CellFormat)]|
     -> Result<(), ReportError> {
        let t = Table::read(dir, table)?;
        out.insert(key.to_owned(), view(&t, table, filter, limit, columns)?);
        Ok(())
    };
    let all = |_: &Row| true;
    add(
        "year_on_year",
        "year_on_year",
        &all,
        usize::MAX,
        &[
            ("ho_group", "Offence group", Text),
            ("current", "Last 12 months", Count),
            ("previous", "12 months before", Count),
            ("change", "Change", Count),
            ("change_pct", "Change (%)", Pct),
            ("ratio", "Ratio (95% CI)", RatioCi),
            ("significant", "Significant", YesNo),
        ],
    )?;
    add(
        "rate_ratio",
        "rate_ratio_by_group",
        &all,
        usize::MAX,
        &[
            ("ho_group", "Offence group", Text),
            ("role", "Role", Text),
            ("young_persons", &format!("Under {cutoff}"), Count),
            ("young_rate_per_1000", "Rate per 1,000", Rate),
            ("older_persons", &format!("{cutoff} and over"), Count),
            ("older_rate_per_1000", "Rate per 1,000", Rate),
            ("rate_ratio", "Rate ratio (95% CI)", RatioCi),
        ],
    )?;
    if dir.join("deprivation.csv").is_file() {
        add(
            "deprivation",
            "deprivation",
            &|r: &Row| r.text("measure").is_ok_and(|m| m == "victims"),
            usize::MAX,
            &[
                ("decile", "IMD decile (1 = most deprived)", Text),
                ("count", "Victims (by home)", Count),
                ("population", "Residents", Count),
                ("rate_per_1000_year", "Per 1,000 a year (95% CI)", RateCi),
            ],
        )?;
    }
    if dir.join("victim_offender_overlap.csv").is_file() {
        add(
            "overlap",
            "victim_offender_overlap",
            &|r: &Row| {
                r.text("breakdown")
                    .is_ok_and(|b| b == "all" || b == "cohort")
            },
            usize::MAX,
            &[
                ("category", "Group", Text),
                ("role", "Share of", Text),
                ("persons", "Persons", Count),
                ("in_both_roles", "Also in the other role", Count),
                ("pct", "Share (%, 95% CI)", PctCi),
            ],
        )?;
    }
    add(
        "age_standardised",
        "age_standardised",
        &all,
        usize::MAX,
        &[
            ("role", "Role", Text),
            ("sex", "Sex", Text),
            ("persons", "Persons", Count),
            (
                "dsr_per_100000",
                "Age-standardised rate per 100,000 (95% CI)",
                RateCi,
            ),
        ],
    )?;
    for (key, level) in [("districts", "district"), ("csps", "csp")] {
        add(
            key,
            "areas",
            &|r: &Row| r.text("level").is_ok_and(|l| l == level),
            usize::MAX,
            &[
                ("area_name", "Area", Text),
                ("offences", "Offences", Count),
                ("population", "Residents", Count),
                ("rate_per_1000", "Rate per 1,000 (95% CI)", RateCi),
                ("share_pct", "Share of offences (%)", Decimal),
            ],
        )?;
    }
    let areas = Table::read(dir, "areas")?;
    if areas.rows_where("level", "locality").next().is_some() {
        add(
            "localities",
            "areas",
            &|r: &Row| r.text("level").is_ok_and(|l| l == "locality"),
            usize::MAX,
            &[
                ("area_name", "Locality", Text),
                ("district", "District", Text),
                ("offences", "Offences", Count),
                ("population", "Residents", Count),
                ("rate_per_1000", "Rate per 1,000 (95% CI)", RateCi),
                ("share_pct", "Share of offences (%)", Decimal),
                (
                    "under_25_pct",
                    &format!("Involving under-{cutoff}s (%)"),
                    Pct,
                ),
            ],
        )?;
    }
    add("hotspots", "lsoa_hotspots", &all, 10, &HOTSPOT_COLUMNS)?;
    add(
        "knife_cohort",
        "knife",
        &|r: &Row| r.text("breakdown").is_ok_and(|b| b == "cohort"),
        usize::MAX,
        &[
            ("category", "Cohort", Text),
            ("offences", "Offences", Count),
            ("knife_offences", "Knife-enabled", Count),
            ("knife_pct", "Knife-enabled (%, 95% CI)", PctCi),
        ],
    )?;
    add(
        "repeat",
        "repeat_offending",
        &|r: &Row| r.text("breakdown").is_ok_and(|b| b == "top_share"),
        usize::MAX,
        &[
            ("population", "Population", Text),
            ("category", "Group", Text),
            ("persons", "Persons", Count),
            ("events", "Events", Count),
            ("pct_events", "Share of events (%, 95% CI)", PctCi),
        ],
    )?;
    add(
        "repeat_counts",
        "repeat_offending",
        &|r: &Row| r.text("breakdown").is_ok_and(|b| b == "events_per_person"),
        usize::MAX,
        &[
            ("population", "Population", Text),
            ("category", "Events per person", Text),
            ("persons", "Persons", Count),
            ("pct_persons", "Share of persons (%)", Pct),
            ("events", "Events", Count),
            ("pct_events", "Share of events (%, 95% CI)", PctCi),
        ],
    )?;
    add(
        "ambulance",
        "ambulance",
        &|r: &Row| r.flag("conveyed").unwrap_or(false),
        usize::MAX,
        &[
            ("cohort", "Cohort", Text),
            ("incidents", "Conveyed to A&E", Count),
            ("cohort_incidents", "All assault incidents", Count),
            ("pct", "Conveyed (%, 95% CI)", PctCi),
        ],
    )?;
    add(
        "svd_outcomes",
        "svd_outcomes",
        &all,
        usize::MAX,
        &[
            ("financial_year", "Financial year", Text),
            ("measure", "Measure", Text),
            ("age_group", "Age group", Text),
            ("count", "Count", Count),
            ("rate_per_1000", "Rate per 1,000 (95% CI)", RateCi),
        ],
    )?;
    if dir.join("funding.csv").is_file() {
        let funding = Table::read(dir, "funding")?;
        let mut columns = vec![
            ("area", "Area", Text),
            ("population", "Residents", Count),
            ("crimes", "Recorded crimes", Count),
            ("rate_per_1000", "Crimes per 1,000", Rate),
            ("harm", "Harm (days)", Count),
            ("harm_funding", "Harm share", Money),
            ("rate_funding", "Rate share", Money),
            ("population_funding", "Population share", Money),
            ("total", "Allocation", Money),
        ];
        if funding
            .rows()
            .next()
            .is_some_and(|r| r.text("current").is_ok())
        {
            columns.extend([
                ("current", "Current", Money),
                ("change", "Change", Money),
                ("change_pct", "Change (%)", Pct),
            ]);
        }
        add("funding", "funding", &all, usize::MAX, &columns)?;
    }
    add(
        "data_quality",
        "data_quality",
        &all,
        usize::MAX,
        &[
            ("scope", "Scope", Text),
            ("reason", "Reason", Text),
            ("consequence", "Consequence", Text),
            ("rows", "Rows", Count),
            ("total", "Out of", Count),
            ("pct", "%", Pct),
        ],
    )?;
    Ok(out)
}
