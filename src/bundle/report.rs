//! The bundle's documents: `index.html` (the SNA report, self-contained and offline) and
//! `summary.md` (the key findings for a board paper), rendered with minijinja from the
//! templates in `templates/`.
//!
//! Rust gathers what the report says (findings, figures with numbers, formatted tables, data
//! sources, definitions); the templates decide how it reads, so wording and layout can be
//! edited without touching the pipeline.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::bundle::charts::ChartRecord;
use crate::bundle::findings;
use crate::bundle::layout::{self, Document, LayoutError, Placed};
use crate::bundle::results::{Table, TableError};
use crate::config::Config;
use crate::engine::capability::NotPossible;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, write_text};
use crate::readable::short;
use crate::sources::contract::Form;

const REPORT_TEMPLATE: &str = include_str!("../../templates/report.html.j2");
const SUMMARY_TEMPLATE: &str = include_str!("../../templates/summary.md.j2");
const MACROS_TEMPLATE: &str = include_str!("../../templates/macros.html.j2");
const BASE_TEMPLATE: &str = include_str!("../../templates/base.html.j2");
const METHODS_MD: &str = include_str!("../../docs/methods.md");

/// The report's methods: `docs/methods.md` from its first section on, headings one level down,
/// as HTML. One text for the documentation and the report, so they cannot disagree.
fn methods_html() -> String {
    use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
    let body = METHODS_MD
        .find("\n## ")
        .map_or(METHODS_MD, |i| &METHODS_MD[i + 1..]);
    let down = |level: HeadingLevel| match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    };
    let events = Parser::new(body).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: down(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(down(level))),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// A template environment holding `base.html` (the page and style sheet both documents
/// extend) and `macros.html` (the `figure`, `table` and `items` macros they share).
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("base.html", BASE_TEMPLATE)?;
    env.add_template("macros.html", MACROS_TEMPLATE)?;
    Ok(env)
}

/// A template that failed to compile or render: a bug in an edited template (minijinja's
/// message gives the line).
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// minijinja failed.
    #[error("template {name}: {context}{source}")]
    Render {
        /// Template name.
        name: String,
        /// What was being rendered, e.g. "finding `x`: ", or nothing.
        context: String,
        /// minijinja's error.
        source: minijinja::Error,
    },
    /// The template renders but does not say what it must.
    #[error("template {name}: {problem}")]
    Invalid {
        /// Template name.
        name: String,
        /// What is missing or wrong.
        problem: String,
    },
}

impl TemplateError {
    /// A constructor of errors of the template `name` from minijinja's.
    pub fn render(name: &str) -> impl Fn(minijinja::Error) -> TemplateError + '_ {
        move |source| TemplateError::Render {
            name: name.to_owned(),
            context: String::new(),
            source,
        }
    }
}

/// Errors in writing the documents.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A table the report needs was unreadable.
    #[error("{0}")]
    Table(#[from] TableError),
    /// A template failed to render (a bug in an edited template, with its line).
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// A document could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// The metadata placed a table or figure wrongly.
    #[error("{0}")]
    Layout(#[from] Box<LayoutError>),
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
    /// Whether the population is of all ages only (no age or sex), so no rates by age or sex.
    pub population_all_ages: bool,
    /// Inputs with rows.
    pub sources: Vec<Source>,
    /// Charts, drawn or skipped.
    pub charts: &'a [ChartRecord],
    /// The jobs, whose metadata places their tables and figures.
    pub queries: &'a QuerySet,
    /// The extract's form.
    pub form: Form,
    /// The jobs these data cannot support, with why: left out of the report and listed.
    pub not_possible: &'a [NotPossible],
    /// Generation time, RFC 3339.
    pub generated_at: String,
    /// With `--compare`: the headline measures beside an earlier bundle's.
    pub comparison: Option<crate::bundle::compare::Comparison>,
    /// With a `[funding]` section: the formula in words and the reconciliation with the pot.
    pub funding: Option<FundingText>,
    /// With `--shareable`: the disclosure control applied, and what was withheld.
    pub shareable: Option<&'a crate::bundle::shareable::Shareable>,
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
    differences: Vec<crate::bundle::compare::Difference>,
    rows: Vec<ChangeView>,
}

fn comparison_view(c: &crate::bundle::compare::Comparison) -> ComparisonView {
    let value = |v: crate::bundle::compare::Estimate| match v {
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

/// The words of the report's funding section.
#[derive(Debug, Clone, Serialize)]
pub struct FundingText {
    /// The pot, periods and weights.
    pub words: String,
    /// How the rounded totals reconcile with the pot.
    pub reconciliation: String,
}

/// The report's account of a shareable bundle's disclosure control.
#[derive(Debug, Serialize)]
struct ShareableView {
    notice: String,
    withheld: Vec<crate::bundle::shareable::Withheld>,
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
    population_all_ages: bool,
    threshold: u32,
    sources: Vec<Source>,
    findings: Vec<String>,
    all_tables: Vec<(String, String)>,
    methods: Vec<Method>,
    /// `docs/methods.md`, rendered.
    methods_html: String,
    funding: Option<FundingText>,
    comparison: Option<ComparisonView>,
    form: &'static str,
    not_possible: Vec<NotPossible>,
    /// With `--shareable`: the disclosure notice and the withheld tables and files.
    shareable: Option<ShareableView>,
    /// The numbered sections from 3, each `(id, heading, short name for the navigation)`;
    /// the template shows those with something placed in them.
    sections: Vec<(&'static str, String, &'static str)>,
    /// What the Cardiff Model section is and what it is not.
    cardiff_note: &'static str,
}

/// The report's numbered sections from 3, in order: `(id, heading, navigation name)`.
fn sections(cutoff: u32) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("trends", "Trends".to_owned(), "Trends"),
        (
            "people",
            format!("People: age, sex and under-{cutoff}s"),
            "People",
        ),
        ("places", "Places".to_owned(), "Places"),
        ("times", "Times".to_owned(), "Times"),
        (
            "weapons",
            "Offence mix, weapons and the night-time economy".to_owned(),
            "Weapons and NTE",
        ),
        (
            "repeat",
            "Repeat offending and victimisation".to_owned(),
            "Repeat offending",
        ),
        ("health", "Health: A&E and ambulance".to_owned(), "Health"),
        (
            "cardiff",
            "Violence seen by the emergency department: the Cardiff Model".to_owned(),
            "Cardiff Model",
        ),
    ]
}

/// The Cardiff Model section's opening words.
const CARDIFF_NOTE: &str = "Emergency departments record, for every patient injured by \
    violence, when and where the assault happened and how (the Information Sharing to Tackle \
    Violence return, ISTV), and share it with the community safety partnership: the Cardiff \
    Model. Much of this violence is never reported to the police, so these figures show places \
    and times that police records miss. They count every patient treated, wherever they live, by \
    the incident's time and place as the patient gave it; they are not linked to police records, \
    so the two are compared as counts side by side.";

/// Writes `index.html` and `summary.md` into `dir` (the staged bundle).
pub fn write(dir: &Path, inputs: &ReportInputs) -> Result<Vec<String>, ReportError> {
    let tables_dir = dir.join("tables");
    // The jobs that ran: a job the data cannot support has no table to place.
    let ran: Vec<&SqlFile> = inputs
        .queries
        .jobs
        .iter()
        .filter(|j| !inputs.not_possible.iter().any(|n| n.job == j.name))
        .collect();
    let findings = findings::of_bundle(
        &tables_dir,
        inputs.config.young_age_cutoff,
        inputs.comparison.as_ref().map(|c| c.summary()),
    )?;
    let context = Context {
        title: inputs.config.title.clone(),
        period: inputs.config.period_words(),
        start: inputs.config.start.to_string(),
        end: inputs.config.end.to_string(),
        generated_at: inputs.generated_at.clone(),
        tool: crate::readable::tool(),
        definition: inputs.config.serious_violence.describe_for(inputs.form),
        cutoff: inputs.config.young_age_cutoff,
        population_year: inputs.population_year,
        population_all_ages: inputs.population_all_ages,
        threshold: inputs.config.disclosure_threshold,
        sources: inputs.sources.clone(),
        findings: findings.clone(),
        all_tables: ran.iter().map(|j| (j.name.clone(), j.title())).collect(),
        funding: inputs.funding.clone(),
        comparison: inputs.comparison.as_ref().map(comparison_view),
        methods: methods(&ran, &tables_dir)?,
        methods_html: methods_html(),
        form: inputs.form.label(),
        not_possible: inputs
            .not_possible
            .iter()
            .filter(|n| n.listed && !n.reason.starts_with(crate::bundle::shareable::WITHHELD))
            .cloned()
            .collect(),
        shareable: inputs.shareable.map(|s| ShareableView {
            notice: s.notice(),
            withheld: s
                .withheld
                .iter()
                .chain(&s.measures_withheld)
                .cloned()
                .collect(),
        }),
        sections: sections(inputs.config.young_age_cutoff),
        cardiff_note: CARDIFF_NOTE,
    };
    let layout = layout::lay_out(
        Document::Report,
        // The funding section's placements only when the run allocates funding: the template
        // shows that section only then.
        ran.iter().copied().chain(
            inputs
                .queries
                .funding
                .iter()
                .filter(|_| inputs.funding.is_some()),
        ),
        &tables_dir,
        &minijinja::Value::from(minijinja::value::Serde(&context)),
        inputs.charts,
        &report_charts(),
    )
    .map_err(Box::new)?;
    let mut env = environment().map_err(TemplateError::render("templates/macros.html.j2"))?;
    let placed = Placed::register(&mut env, layout, true);
    env.add_template("report.html", REPORT_TEMPLATE)
        .map_err(TemplateError::render("templates/report.html.j2"))?;
    env.add_template("summary.md", SUMMARY_TEMPLATE)
        .map_err(TemplateError::render("templates/summary.md.j2"))?;
    for (name, file, source) in [
        ("report.html", "index.html", "templates/report.html.j2"),
        ("summary.md", "summary.md", "templates/summary.md.j2"),
    ] {
        let text = env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(&context)))
            .map_err(TemplateError::render(source))?;
        write_text(&dir.join(file), &text)?;
        if name == "report.html" {
            placed.check(Document::Report).map_err(Box::new)?;
        }
    }
    Ok(findings)
}

/// The terms the jobs' results define (`glossary` in their metadata), in job order.
fn methods(jobs: &[&SqlFile], tables_dir: &Path) -> Result<Vec<Method>, ReportError> {
    let mut out = Vec::new();
    for job in jobs {
        let Some(glossary) = &job.meta.glossary else {
            continue;
        };
        let table = Table::read(tables_dir, &job.name)?;
        for row in table.rows() {
            out.push(Method {
                label: row.text(&glossary.term)?.to_owned(),
                definition: row.text(&glossary.definition)?.to_owned(),
            });
        }
    }
    Ok(out)
}

/// Every chart the assessment can draw.
fn report_charts() -> Vec<&'static str> {
    crate::bundle::charts::CHARTS
        .iter()
        .chain(&crate::bundle::charts::FUNDING_CHARTS)
        .map(|c| c.0)
        .collect()
}
