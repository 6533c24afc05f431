//! The tables and figures of a document (the report or the dashboard), laid out from the
//! `[[report]]` and `[[dashboard]]` placements in the metadata beside each SQL file.
//!
//! One loop serves every measure: a placement names a section of the document's template,
//! an order within it, and either a table (rows, columns, headings and formats) or a figure
//! drawn by the engine. The template asks for a section's items with `placed("<section>")`;
//! figures are numbered in the order the template shows them, and a placement in a section
//! the template does not have is an error naming the metadata file and the section.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use minijinja::{Environment, Value};
use serde::Serialize;

use crate::bundle::charts::ChartRecord;
use crate::bundle::results::{Row, Table, TableError};
use crate::bundle::table_view::{CellFormat, ColumnView, TableView, view};
use crate::engine::metadata::{Column, PlacedColumn, Placement};
use crate::engine::queries::SqlFile;

/// Which document a layout is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The assessment's `index.html` (`[[report]]` placements).
    Report,
    /// The dashboard's `index.html` (`[[dashboard]]` placements).
    Dashboard,
}

impl Document {
    fn key(self) -> &'static str {
        match self {
            Document::Report => "report",
            Document::Dashboard => "dashboard",
        }
    }

    /// The template of the document.
    pub fn template(self) -> &'static str {
        match self {
            Document::Report => "templates/report.html.j2",
            Document::Dashboard => "templates/dashboard.html.j2",
        }
    }

    fn placements(self, file: &SqlFile) -> &[Placement] {
        match self {
            Document::Report => &file.meta.report,
            Document::Dashboard => &file.meta.dashboard,
        }
    }
}

/// Errors in laying out a document.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A placed result table could not be read or lacks a column.
    #[error("{file}: {source}")]
    Table {
        /// The metadata file of the placement.
        file: String,
        /// The cause.
        #[source]
        source: TableError,
    },
    /// A placement is inconsistent (unknown chart, duplicate key, bad template in a caption).
    #[error("{file}: {message}")]
    Placement {
        /// The metadata file of the placement.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A caption or title of a placement, a template, failed to render.
    #[error("{file}: in `{text}`: {source}")]
    Render {
        /// The metadata file of the placement.
        file: String,
        /// The template text.
        text: String,
        /// minijinja's error.
        source: minijinja::Error,
    },
    /// A placement names a section the document's template does not have.
    #[error(
        "{file}: [[{key}]] places `{item}` in section `{section}`, which {template} does not have (its sections: {known})",
        key = document.key(),
        template = document.template()
    )]
    UnknownSection {
        /// The metadata file.
        file: String,
        /// The document.
        document: Document,
        /// The table key or figure name.
        item: String,
        /// The section asked for.
        section: String,
        /// The sections the template has.
        known: String,
    },
}

/// A figure as the documents show it: the chart's record and its number.
#[derive(Debug, Clone, Serialize)]
pub struct FigureView {
    /// Its number in the document (0: not numbered).
    pub number: usize,
    /// The chart: name, title, captions, tables, and whether it was drawn.
    #[serde(flatten)]
    pub chart: ChartRecord,
}

impl FigureView {
    /// The view of a chart record, not yet numbered.
    pub fn of(chart: &ChartRecord) -> FigureView {
        FigureView {
            number: 0,
            chart: chart.clone(),
        }
    }
}

/// One item of a section: a table or a figure.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The table's key or the figure's name.
    pub key: String,
    /// The table's caption.
    pub caption: String,
    /// The table, formatted.
    pub table: Option<TableView>,
    /// The figure.
    pub figure: Option<FigureView>,
    #[serde(skip)]
    section: String,
}

/// The items of every section of a document, in order.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    sections: BTreeMap<String, Vec<Item>>,
    /// Every placement's section, with its file and item, whether or not it had anything to
    /// show this run: a misspelt section is an error on every extract, not only on those
    /// where the item has rows.
    declared: BTreeMap<String, (String, String)>,
}

/// Lays out `document` from the placements of `files`, reading result tables from
/// `tables_dir`. `values` are what captions and headings may use (`{{ cutoff }}`); `charts`
/// are the figures drawn, and `chart_names` every chart the engine can draw for this
/// document. A placement whose result table was not written in this run (a job of a section
/// that is not configured, such as funding) is left out.
pub fn lay_out<'a>(
    document: Document,
    files: impl IntoIterator<Item = &'a SqlFile>,
    tables_dir: &Path,
    values: &Value,
    charts: &[ChartRecord],
    chart_names: &[&str],
) -> Result<Layout, LayoutError> {
    let env = Environment::new();
    let mut placed: Vec<(i64, Item)> = Vec::new();
    let mut keys = BTreeSet::new();
    let mut declared = BTreeMap::new();
    for file in files {
        let meta_file = format!("queries/{}", file.meta_file());
        let problem = |message: String| LayoutError::Placement {
            file: meta_file.clone(),
            message,
        };
        let render = |text: &str| {
            env.render_str(text, values)
                .map_err(|source| LayoutError::Render {
                    file: meta_file.clone(),
                    text: text.to_owned(),
                    source,
                })
        };
        for p in document.placements(file) {
            let item = p
                .table
                .clone()
                .or_else(|| p.figure.clone())
                .unwrap_or_default();
            declared
                .entry(p.section.clone())
                .or_insert_with(|| (meta_file.clone(), item));
            if let Some(name) = &p.figure {
                if !chart_names.contains(&name.as_str()) {
                    return Err(problem(format!(
                        "there is no chart `{name}`; the charts are: {}",
                        chart_names.join(", ")
                    )));
                }
                if !keys.insert(format!("figure {name}")) {
                    return Err(problem(format!("figure `{name}` is placed twice")));
                }
                let Some(chart) = charts.iter().find(|c| &c.name == name) else {
                    continue;
                };
                placed.push((
                    p.order,
                    Item {
                        key: name.clone(),
                        caption: String::new(),
                        table: None,
                        figure: Some(FigureView::of(chart)),
                        section: p.section.clone(),
                    },
                ));
                continue;
            }
            let key = p.table.clone().unwrap_or_default();
            if !keys.insert(format!("table {key}")) {
                return Err(problem(format!(
                    "table key `{key}` is used twice in the {}",
                    document.key()
                )));
            }
            let from = p.from.as_deref().unwrap_or(&file.name);
            if !tables_dir.join(format!("{from}.csv")).is_file() {
                if from != file.name {
                    return Err(problem(format!(
                        "table `{key}` is from `{from}`, which this run did not write"
                    )));
                }
                continue;
            }
            let table_error = |source| LayoutError::Table {
                file: meta_file.clone(),
                source,
            };
            let table = Table::read(tables_dir, from).map_err(table_error)?;
            let columns = columns(p, &file.meta.columns, &table, &render, &problem)?;
            let filter = |row: &Row| -> Result<bool, TableError> {
                for (column, value) in &p.filter {
                    if !value.matches(row.text(column)?) {
                        return Ok(false);
                    }
                }
                Ok(true)
            };
            let view = view(
                &table,
                from,
                &filter,
                p.limit.unwrap_or(usize::MAX),
                &columns,
            )
            .map_err(table_error)?;
            if p.only_with_rows && view.rows.is_empty() {
                continue;
            }
            placed.push((
                p.order,
                Item {
                    key,
                    caption: render(&p.caption)?,
                    table: Some(view),
                    figure: None,
                    section: p.section.clone(),
                },
            ));
        }
    }
    // Stable: equal orders keep the files' order.
    placed.sort_by_key(|(order, _)| *order);
    let mut sections: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for (_, item) in placed {
        sections.entry(item.section.clone()).or_default().push(item);
    }
    Ok(Layout { sections, declared })
}

/// The shown columns of a placement: headings and formats from the placement, else from the
/// job's `[[columns]]`, else the name as text.
fn columns(
    p: &Placement,
    declared: &[Column],
    table: &Table,
    render: &dyn Fn(&str) -> Result<String, LayoutError>,
    problem: &dyn Fn(String) -> LayoutError,
) -> Result<Vec<ColumnView>, LayoutError> {
    let mut out = Vec::new();
    for placed in &p.columns {
        let name = placed.name();
        let present = table.headers().iter().any(|h| h == name);
        let (label, format, limits, optional) = match placed {
            PlacedColumn::Name(_) => (None, None, None, false),
            PlacedColumn::Spec(s) => (s.label.clone(), s.format, s.limits.clone(), s.optional),
        };
        if !present {
            if optional {
                continue;
            }
            return Err(problem(format!(
                "table `{}` shows column `{name}`, which {} does not have",
                p.table.as_deref().unwrap_or_default(),
                table.path().display()
            )));
        }
        let column = declared.iter().find(|c| c.name == name);
        let label = label
            .or_else(|| column.and_then(|c| c.label.clone()))
            .unwrap_or_else(|| name.to_owned());
        let mut view = ColumnView::new(
            name,
            &render(&label)?,
            format
                .or_else(|| column.and_then(|c| c.format))
                .unwrap_or(CellFormat::Text),
        );
        if let Some(limits) = limits.or_else(|| column.and_then(|c| c.limits.clone())) {
            view.limits = limits;
        }
        out.push(view);
    }
    Ok(out)
}

/// What the template's `placed` function has handed out: figure numbers and the sections
/// asked for.
#[derive(Debug, Default)]
struct Handed {
    figures: usize,
    sections: BTreeSet<String>,
}

/// The `placed` function of a document's template, and the record that lets
/// [`Placed::check`] find placements the template never showed.
#[derive(Debug, Clone)]
pub struct Placed {
    layout: Arc<Layout>,
    handed: Arc<Mutex<Handed>>,
    number_figures: bool,
}

impl Placed {
    /// Adds `placed(section)` to `env`: the items of the section, with drawn figures numbered
    /// in the order they are asked for when `number_figures`.
    pub fn register(env: &mut Environment<'_>, layout: Layout, number_figures: bool) -> Placed {
        let placed = Placed {
            layout: Arc::new(layout),
            handed: Arc::new(Mutex::new(Handed::default())),
            number_figures,
        };
        let shown = placed.clone();
        env.add_function("has_placed", move |section: &str| -> bool {
            shown
                .layout
                .sections
                .get(section)
                .is_some_and(|items| !items.is_empty())
        });
        let state = placed.clone();
        env.add_function("placed", move |section: &str| -> Value {
            let mut handed = state.handed.lock().unwrap_or_else(|e| e.into_inner());
            handed.sections.insert(section.to_owned());
            let mut items = state
                .layout
                .sections
                .get(section)
                .cloned()
                .unwrap_or_default();
            for item in &mut items {
                if let Some(f) = item.figure.as_mut().filter(|f| f.chart.drawn)
                    && state.number_figures
                {
                    handed.figures += 1;
                    f.number = handed.figures;
                }
            }
            Value::from(minijinja::value::Serde(&items))
        });
        placed
    }

    /// Fails when an item was placed in a section the document's template never asked for.
    pub fn check(&self, document: Document) -> Result<(), LayoutError> {
        let handed = self.handed.lock().unwrap_or_else(|e| e.into_inner());
        for (section, (file, item)) in &self.layout.declared {
            if handed.sections.contains(section) {
                continue;
            }
            return Err(LayoutError::UnknownSection {
                file: file.clone(),
                document,
                item: item.clone(),
                section: section.clone(),
                known: handed
                    .sections
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::metadata::Metadata;

    fn job(name: &str, meta: &str) -> SqlFile {
        let dir =
            std::env::temp_dir().join(format!("vrn-sna-layout-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.sql")), "SELECT 1").unwrap();
        std::fs::write(dir.join(format!("{name}.toml")), meta).unwrap();
        let set = crate::engine::queries::QuerySet::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        set.jobs.into_iter().next().unwrap()
    }

    #[test]
    fn placements_fill_sections_in_order_with_formatted_rows() {
        let dir = std::env::temp_dir().join(format!("vrn-sna-layout-t-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("things.csv"),
            "kind,n,rate,lower_95,upper_95\na_b,1234,1.5,1,2\nc,5,,,\n",
        )
        .unwrap();
        let meta = r#"
title = "Things"
[[columns]]
name = "n"
label = "Count under {{ cutoff }}"
format = "count"
[[report]]
section = "s"
order = 20
table = "second"
caption = "Under {{ cutoff }}"
where = { kind = "c" }
columns = ["kind", "n"]
[[report]]
section = "s"
order = 10
table = "first"
columns = ["kind", { name = "rate", format = "rate_ci", label = "Rate" }, { name = "gone", optional = true }]
"#;
        assert!(Metadata::parse("x", meta).is_ok());
        let file = job("things", meta);
        let values = Value::from(minijinja::value::Serde(serde_json::json!({"cutoff": 25})));
        let layout = lay_out(Document::Report, [&file], &dir, &values, &[], &[]).unwrap();
        let items = &layout.sections["s"];
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, "first");
        let first = items[0].table.as_ref().unwrap();
        assert_eq!(first.columns, ["kind", "Rate"]);
        assert_eq!(first.rows[0], ["a b", "1.50 (1.00–2.00)"]);
        let second = items[1].table.as_ref().unwrap();
        assert_eq!(items[1].caption, "Under 25");
        assert_eq!(second.columns, ["kind", "Count under 25"]);
        assert_eq!(second.rows, [["c", "5"]]);

        // The template asks only for other sections: the placement is named.
        let mut env = Environment::new();
        let placed = Placed::register(&mut env, layout, true);
        env.render_str("{{ placed('t') }}", ()).unwrap();
        let err = placed.check(Document::Report).unwrap_err();
        assert!(
            err.to_string()
                .contains("queries/things.toml: [[report]] places `second` in section `s`, which templates/report.html.j2 does not have (its sections: t)"),
            "{err}"
        );
        env.render_str("{{ placed('s') }}", ()).unwrap();
        placed.check(Document::Report).unwrap();

        // A column the result lacks is named.
        let bad = job(
            "things",
            "[[report]]\nsection = \"s\"\ntable = \"t\"\ncolumns = [\"nope\"]",
        );
        let err = lay_out(Document::Report, [&bad], &dir, &values, &[], &[]).unwrap_err();
        assert!(err.to_string().contains("column `nope`"), "{err}");
        // An unknown chart is named with the known ones.
        let bad = job("things", "[[report]]\nsection = \"s\"\nfigure = \"pie\"");
        let err = lay_out(Document::Report, [&bad], &dir, &values, &[], &["bars"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("no chart `pie`; the charts are: bars"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
