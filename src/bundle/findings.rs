//! Key findings in words, for the report and `summary.md`: the wording lives in the template
//! `templates/findings.j2` (one macro per finding, named by the headline measure it reports or
//! by its table, and the order of the findings); Rust only supplies the values, read from the
//! `headline` table (and, where present, the hot spots and their clusters, the year-on-year comparison, the
//! comparison with an earlier assessment, deprivation and the victim–offender overlap).
//!
//! Numbers are rounded for reading and never altered, by the functions here, which the
//! template uses as the filters `pct`, `rate`, `ratio` and `count`: percentages to one decimal
//! place (two under 1%), rates to two decimal places (three significant figures under 0.1),
//! rate ratios to one decimal place (two under 1), counts in full with thousands separators.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Object, Serde, Value};
use minijinja::{Environment, context};
use serde::Serialize;

use crate::bundle::report::TemplateError;
use crate::bundle::results::{Table, TableError};
use crate::readable::{count_text, pct_text, rate_text, ratio_text};

/// The findings template, compiled in.
const FINDINGS_TEMPLATE: &str = include_str!("../../templates/findings.j2");
/// Its name in error messages.
const FINDINGS_TEMPLATE_NAME: &str = "templates/findings.j2";

/// Errors in writing the key findings.
#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    /// A table the findings are read from was unreadable.
    #[error("{0}")]
    Table(#[from] TableError),
    /// The findings template failed to compile or render (a bug in an edited template).
    #[error("{0}")]
    Template(#[from] TemplateError),
}

impl From<FindingsError> for crate::bundle::report::ReportError {
    fn from(e: FindingsError) -> Self {
        match e {
            FindingsError::Table(e) => Self::Table(e),
            FindingsError::Template(e) => Self::Template(e),
        }
    }
}

/// What the key findings are read from.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    /// The `headline` table: one row per measure.
    pub headline: &'a Table,
    /// `lsoa_hotspots`.
    pub hotspots: Option<&'a Table>,
    /// `hotspot_clusters`.
    pub clusters: Option<&'a Table>,
    /// `year_on_year`.
    pub year_on_year: Option<&'a Table>,
    /// `deprivation`.
    pub deprivation: Option<&'a Table>,
    /// `victim_offender_overlap`.
    pub overlap: Option<&'a Table>,
    /// `age_sex`.
    pub age_sex: Option<&'a Table>,
    /// `offence_mix`.
    pub offence_mix: Option<&'a Table>,
    /// `hour_profile`.
    pub hour_profile: Option<&'a Table>,
    /// The comparison with an earlier assessment, in one sentence.
    pub comparison: Option<String>,
    /// Every small result table of the bundle by name, as rows of typed values (numbers,
    /// booleans, text; empty cells none), for findings that read a table directly.
    pub tables: BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>,
    /// The young-age cutoff (under-25s: 25).
    pub cutoff: u32,
}

impl<'a> Sources<'a> {
    /// The headline table alone.
    pub fn new(headline: &'a Table, cutoff: u32) -> Self {
        Self {
            headline,
            hotspots: None,
            clusters: None,
            year_on_year: None,
            deprivation: None,
            overlap: None,
            age_sex: None,
            offence_mix: None,
            hour_profile: None,
            comparison: None,
            tables: BTreeMap::new(),
            cutoff,
        }
    }
}

/// The key findings of a bundle's result tables in `tables_dir`: `headline`, with
/// `lsoa_hotspots`, `hotspot_clusters`, `year_on_year`, `deprivation` and
/// `victim_offender_overlap` where the run wrote them, and the comparison sentence of
/// `--compare`.
pub fn of_bundle(
    tables_dir: &std::path::Path,
    cutoff: u32,
    comparison: Option<String>,
) -> Result<Vec<String>, FindingsError> {
    let optional = |name: &str| {
        let present = tables_dir.join(format!("{name}.csv")).is_file();
        present.then(|| Table::read(tables_dir, name)).transpose()
    };
    // A shareable bundle withholds the headline: its findings are left out (every measure of
    // an empty table reads as null).
    let headline = match optional("headline")? {
        Some(table) => table,
        None => Table::empty(tables_dir, "headline"),
    };
    let hotspots = optional("lsoa_hotspots")?;
    let clusters = optional("hotspot_clusters")?;
    let year_on_year = optional("year_on_year")?;
    let deprivation = optional("deprivation")?;
    let overlap = optional("victim_offender_overlap")?;
    let age_sex = optional("age_sex")?;
    let offence_mix = optional("offence_mix")?;
    let hour_profile = optional("hour_profile")?;
    key_findings(&Sources {
        age_sex: age_sex.as_ref(),
        offence_mix: offence_mix.as_ref(),
        hour_profile: hour_profile.as_ref(),
        hotspots: hotspots.as_ref(),
        clusters: clusters.as_ref(),
        year_on_year: year_on_year.as_ref(),
        deprivation: deprivation.as_ref(),
        overlap: overlap.as_ref(),
        comparison,
        tables: small_tables(tables_dir)?,
        ..Sources::new(&headline, cutoff)
    })
}

/// Result tables of at most this many rows are given to the template whole.
const SMALL_TABLE_ROWS: usize = 1000;

/// Every result table in `dir` of at most [`SMALL_TABLE_ROWS`] rows, as typed rows.
fn small_tables(
    dir: &std::path::Path,
) -> Result<BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>, TableError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "csv"))
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = BTreeMap::new();
    for name in names {
        let table = Table::read(dir, &name)?;
        if table.rows().count() > SMALL_TABLE_ROWS {
            continue;
        }
        out.insert(name, typed_rows(&table)?);
    }
    Ok(out)
}

/// A table's rows with numbers as numbers, `true`/`false` as booleans and empty cells none.
fn typed_rows(table: &Table) -> Result<Vec<BTreeMap<String, serde_json::Value>>, TableError> {
    let mut rows = Vec::new();
    for row in table.rows() {
        let mut out = BTreeMap::new();
        for column in table.headers() {
            let text = row.text(column)?;
            let value = match text {
                "" => serde_json::Value::Null,
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                _ => match text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(n) => serde_json::Value::Number(n),
                    None => serde_json::Value::String(text.to_owned()),
                },
            };
            out.insert(column.clone(), value);
        }
        rows.push(out);
    }
    Ok(rows)
}

/// Sentences for the key findings, in the order the template gives, one per finding. A
/// finding whose macro gives nothing (a null measure: too few data) is left out.
pub fn key_findings(sources: &Sources<'_>) -> Result<Vec<String>, FindingsError> {
    render(FINDINGS_TEMPLATE_NAME, FINDINGS_TEMPLATE, values(sources)?)
}

/// Adds the number filters `pct`, `rate`, `ratio` and `count` (the functions below) to `env`.
pub fn add_filters(env: &mut Environment<'_>) {
    env.add_filter("pct", pct_text);
    env.add_filter("rate", rate_text);
    env.add_filter("ratio", ratio_text);
    env.add_filter("count", count_text);
    env.add_filter("p", p_text);
}

/// A p-value for reading: three decimal places, "<0.001" below that.
pub fn p_text(v: f64) -> String {
    if v < 0.001 {
        "<0.001".to_owned()
    } else {
        format!("{v:.3}")
    }
}

/// Renders the findings template `source` with `values`: each name in its `order` list is a
/// macro called for one sentence.
fn render(name: &str, source: &str, values: Value) -> Result<Vec<String>, FindingsError> {
    let error = |problem: String| TemplateError::Invalid {
        name: name.to_owned(),
        problem,
    };
    let render_error = |context: String| {
        move |source| TemplateError::Render {
            name: name.to_owned(),
            context,
            source,
        }
    };
    let mut env = Environment::new();
    add_filters(&mut env);
    // Not an HTML name, so nothing is escaped here (the report escapes the sentences).
    let mut captured = env
        .template_from_named_str(name, source)
        .and_then(|t| t.render_captured(values))
        .map_err(render_error(String::new()))?;
    let order = captured
        .state()
        .lookup("order")
        .ok_or_else(|| error("no `order` list of findings is set".to_owned()))?;
    let ids = order
        .try_iter()
        .map_err(render_error("`order`: ".to_owned()))?
        .map(|id| {
            id.as_str()
                .map(str::to_owned)
                .ok_or_else(|| error(format!("`order`: {id} is not the name of a finding")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sentences = captured.with_state_mut(|state| {
        let mut out = Vec::new();
        for id in &ids {
            if state.lookup(id).is_none() {
                return Err(error(format!(
                    "`order` names `{id}`, but no macro has that name"
                )));
            }
            let text = state
                .call_macro(id, &[])
                .map_err(render_error(format!("finding `{id}`: ")))?;
            let text = text.trim();
            if !text.is_empty() {
                out.push(text.to_owned());
            }
        }
        Ok(out)
    })?;
    Ok(sentences)
}

/// One headline measure.
#[derive(Debug, Clone, Default, Serialize)]
struct Measure {
    label: String,
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
}

/// The headline measures by id; an id not in the table reads as a measure with every number
/// null, so the template can test `m.<id>.value is not none` alone.
#[derive(Debug)]
struct Measures(BTreeMap<String, Value>);

impl Object for Measures {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        Some(
            self.0
                .get(key)
                .cloned()
                .unwrap_or_else(|| Value::from(Serde(Measure::default()))),
        )
    }
}

/// A cluster of hot spots, from `hotspot_clusters`.
#[derive(Debug, Serialize)]
struct Cluster {
    /// Hot-spot LSOAs in it.
    lsoas: f64,
    /// Its wards, most offences first.
    wards: Vec<String>,
    /// Its districts, most offences first.
    districts: Vec<String>,
    offences: f64,
    share_pct: Option<f64>,
    share_lower: Option<f64>,
    share_upper: Option<f64>,
}

/// From `lsoa_hotspots` and `hotspot_clusters`.
#[derive(Debug, Serialize)]
struct Hotspots {
    /// LSOAs that are hot spots.
    hot: usize,
    /// LSOAs in the table.
    lsoas: usize,
    /// The clusters, most offences first (empty without `hotspot_clusters`).
    clusters: Vec<Cluster>,
}

/// The "All serious violence" row of `year_on_year`.
#[derive(Debug, Serialize)]
struct YearOnYear {
    change_pct: Option<f64>,
    current: Option<f64>,
    previous: Option<f64>,
    /// None when either year has too few offences to test.
    significant: Option<bool>,
    /// The quasi-Poisson dispersion of the 24 monthly counts (None when not computed).
    dispersion: Option<f64>,
    /// The quasi-Poisson p-value (None when too few to test).
    p_value: Option<f64>,
    /// The disrupted periods either year includes, in words.
    disrupted: Option<String>,
}

/// Victims' rates per 1,000 a year in the most (decile 1) and least (10) deprived tenths, and
/// the slope and relative indices of inequality, from `deprivation`.
#[derive(Debug, Default, Serialize)]
struct Deprivation {
    most: Option<f64>,
    least: Option<f64>,
    sii: Option<f64>,
    sii_lower: Option<f64>,
    sii_upper: Option<f64>,
    rii: Option<f64>,
    rii_lower: Option<f64>,
    rii_upper: Option<f64>,
}

/// From `victim_offender_overlap` (breakdown "all"; nulls read as zero).
#[derive(Debug, Serialize)]
struct Overlap {
    victims: f64,
    offenders: f64,
    /// Victims who were also offenders.
    both: f64,
    victim_pct: f64,
    offender_pct: f64,
}

/// Values other than the headline measures.
#[derive(Debug, Serialize)]
struct Data {
    hotspots: Option<Hotspots>,
    year_on_year: Option<YearOnYear>,
    comparison: Option<String>,
    deprivation: Option<Deprivation>,
    overlap: Option<Overlap>,
    age_peaks: Option<profiles::AgePeaks>,
    offence_mix: Option<profiles::OffenceMix>,
    time_peaks: Option<profiles::TimePeaks>,
}

/// The template's values: `m` (headline measures by id), `cutoff` and `data`.
fn values(sources: &Sources<'_>) -> Result<Value, TableError> {
    let mut measures = BTreeMap::new();
    for row in sources.headline.rows() {
        let id = row.text("measure")?;
        if measures.contains_key(id) {
            continue;
        }
        let measure = Measure {
            label: row.text("label")?.to_owned(),
            value: row.number("value")?,
            numerator: row.number("numerator")?,
            denominator: row.number("denominator")?,
            lower: row.number("lower_95")?,
            upper: row.number("upper_95")?,
        };
        measures.insert(id.to_owned(), Value::from(Serde(measure)));
    }
    let data = Data {
        hotspots: sources
            .hotspots
            .map(|table| hotspots(table, sources.clusters))
            .transpose()?,
        year_on_year: match sources.year_on_year {
            Some(table) => year_on_year(table)?,
            None => None,
        },
        comparison: sources.comparison.clone(),
        deprivation: sources.deprivation.map(deprivation).transpose()?,
        overlap: match sources.overlap {
            Some(table) => overlap(table)?,
            None => None,
        },
        age_peaks: sources.age_sex.map(profiles::age_peaks).transpose()?,
        offence_mix: match sources.offence_mix {
            Some(table) => profiles::offence_mix(table)?,
            None => None,
        },
        time_peaks: sources.hour_profile.map(profiles::time_peaks).transpose()?,
    };
    Ok(context! {
        m => Value::from_object(Measures(measures)),
        cutoff => sources.cutoff,
        data => Value::from(Serde(data)),
        tables => Value::from(Serde(&sources.tables)),
    })
}

/// How many LSOAs are hot spots, and their clusters in the order of `hotspot_clusters` (by
/// `cluster_id`: most offences first).
fn hotspots(table: &Table, clusters: Option<&Table>) -> Result<Hotspots, TableError> {
    let list = |text: &str| -> Vec<String> {
        text.split("; ")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut rows = Vec::new();
    for row in clusters.iter().flat_map(|t| t.rows()) {
        rows.push((
            row.count("cluster_id")?,
            Cluster {
                lsoas: row.count("lsoas")?,
                wards: list(row.text("wards")?),
                districts: list(row.text("districts")?),
                offences: row.count("offences")?,
                share_pct: row.number("share_pct")?,
                share_lower: row.number("share_lower_95")?,
                share_upper: row.number("share_upper_95")?,
            },
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Hotspots {
        hot: table
            .rows()
            .filter(|r| r.flag("hotspot").unwrap_or(false))
            .count(),
        lsoas: table.rows().count(),
        clusters: rows.into_iter().map(|(_, c)| c).collect(),
    })
}

/// The last 12 months against the 12 before, when the table has the row.
fn year_on_year(table: &Table) -> Result<Option<YearOnYear>, TableError> {
    let Some(row) = table
        .rows_where("offence_group", "All serious violence")
        .next()
    else {
        return Ok(None);
    };
    Ok(Some(YearOnYear {
        change_pct: row.number("change_pct")?,
        current: row.number("current")?,
        previous: row.number("previous")?,
        significant: match row.text("significant")? {
            "" => None,
            text => Some(text == "true"),
        },
        dispersion: row.number("dispersion").ok().flatten(),
        p_value: row.number("p_value").ok().flatten(),
        disrupted: match row.text("disrupted") {
            Ok("") | Err(_) => None,
            Ok(text) => Some(text.to_owned()),
        },
    }))
}

/// Victims by deprivation: the most and least deprived deciles, and the indices (given on every
/// row; the last victims row's are used).
fn deprivation(table: &Table) -> Result<Deprivation, TableError> {
    let mut out = Deprivation::default();
    for row in table.rows_where("measure", "victims") {
        let rate = row.number("rate_per_1000_year")?;
        match row.text("decile")? {
            "1" => out.most = rate,
            "10" => out.least = rate,
            _ => {}
        }
        out.sii = row.number("sii")?;
        out.sii_lower = row.number("sii_lower_95")?;
        out.sii_upper = row.number("sii_upper_95")?;
        out.rii = row.number("rii")?;
        out.rii_lower = row.number("rii_lower_95")?;
        out.rii_upper = row.number("rii_upper_95")?;
    }
    Ok(out)
}

/// The victim–offender overlap, when the table has both roles.
fn overlap(table: &Table) -> Result<Option<Overlap>, TableError> {
    let mut victims = None;
    let mut offenders = None;
    for row in table.rows_where("breakdown", "all") {
        let values = (
            row.count("persons")?,
            row.count("in_both_roles")?,
            row.count("pct")?,
        );
        match row.text("role")? {
            "victim" => victims = Some(values),
            "offender" => offenders = Some(values),
            _ => {}
        }
    }
    let (Some((victims, both, victim_pct)), Some((offenders, _, offender_pct))) =
        (victims, offenders)
    else {
        return Ok(None);
    };
    Ok(Some(Overlap {
        victims,
        offenders,
        both,
        victim_pct,
        offender_pct,
    }))
}

mod profiles;

#[cfg(test)]
mod tests;
