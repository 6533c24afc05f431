//! The bundle's charts, drawn with plotters from the result tables as `charts/<name>.svg` and
//! `charts/<name>.png`.
//!
//! Every chart is a [`Figure`]: its [`frame::Frame`] (title, subtitle with the period, legend
//! row, caption with source and definition), alt text, the tables it is drawn from, and a
//! [`Plot`] that draws the data into the space the frame leaves. The same drawing code renders
//! both formats, so the SVG and PNG always agree; SVGs are byte-identical for the same tables.
//! A chart whose data are empty is not drawn: [`render_all`] reports it as skipped, with why.

mod deprivation;
pub mod frame;
mod funding;
mod map;
mod offences;
mod people;
mod places;
mod spc;
pub mod style;
pub use crate::readable::thousands;
mod time;
mod trend;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::Serialize;

use self::frame::Frame;
use self::style::{GREY, INK, size};
use crate::bundle::results::{Table, TableError};
use crate::engine::capability::NotPossible;

/// Width of every chart in pixels: readable at 900 px without scaling.
pub const WIDTH: u32 = 900;

/// What a drawing step returns: plotters' backend errors are boxed so one drawing function
/// serves both backends.
pub type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Errors in making the charts.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A table was missing, unreadable or lacked a column.
    #[error("{0}")]
    Table(#[from] TableError),
    /// The boundaries file is not GeoJSON LSOA polygons.
    #[error("{0}")]
    Boundaries(#[from] crate::sources::import::place::BoundaryError),
    /// Drawing or writing a chart file failed.
    #[error("chart {chart} ({path}): {source}")]
    Draw {
        /// Chart name.
        chart: String,
        /// File being written.
        path: PathBuf,
        /// The backend's or the file system's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What the charts are drawn from, besides the tables.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The bundle's `tables/` directory.
    pub tables: PathBuf,
    /// The period in words, e.g. "April 2020 to September 2021".
    pub period: String,
    /// The serious-violence definition in words.
    pub definition: String,
    /// Where the police data come from, for captions: the force's extract, or police.uk.
    pub police_source: String,
    /// The priority-cohort age cutoff (under this age).
    pub cutoff: u32,
    /// The LSOA boundaries as GeoJSON text, with where it came from.
    pub boundaries: Option<(String, String)>,
    /// With a `[funding]` section: the funding year, harm years and weights in words, for the
    /// funding chart's caption.
    pub funding: Option<String>,
    /// The jobs the data could not support: a chart drawn from one of their tables is skipped,
    /// saying so and why, instead of failing on the missing table.
    pub not_possible: Vec<NotPossible>,
}

impl Inputs {
    /// Reads a table of the bundle.
    pub fn table(&self, name: &str) -> Result<Table, ChartError> {
        Ok(Table::read(&self.tables, name)?)
    }

    /// The caption of A&E charts: the source line, then `extra`.
    pub fn ae_caption(&self, extra: &str) -> String {
        format!(
            "Source: emergency department extract (attendances with injury intent recorded as \
             assault, by residents of the area); population: residents. {extra}"
        )
        .trim_end()
        .to_owned()
    }

    /// The standard caption: a source line and the serious-violence definition.
    pub fn police_caption(&self, extra: &str) -> String {
        format!(
            "Source: {}; population: residents of the extract's population table. {} {extra}",
            self.police_source, self.definition
        )
        .trim_end()
        .to_owned()
    }
}

/// A chart ready to render.
pub struct Figure {
    /// File stem: `charts/<name>.svg` and `.png`.
    pub name: &'static str,
    /// Title, subtitle, legend and caption.
    pub frame: Frame,
    /// Alt text: what the chart shows, in words.
    pub alt: String,
    /// The tables it is drawn from.
    pub tables: Vec<&'static str>,
    /// Height in pixels.
    pub height: u32,
    /// The data drawing.
    pub plot: Plot,
}

/// The data drawing of each kind of chart.
pub enum Plot {
    /// Monthly rates with bands.
    Trend(trend::Trend),
    /// Population pyramids of victims and offenders.
    AgeSex(people::AgeSex),
    /// Hour × weekday heatmap and hour profile.
    Time(Box<time::TimeHeatmap>),
    /// Rates by district with whiskers.
    Districts(places::Districts),
    /// Choropleth of LSOA rates with hot spots.
    Map(map::HotspotMap),
    /// Offence mix bars.
    OffenceMix(offences::OffenceMix),
    /// Lorenz curve of offences over offenders.
    Concentration(offences::Concentration),
    /// Knife and NTE shares by district.
    KnifeNte(places::KnifeNte),
    /// Harm against count by district.
    Harm(places::HarmVsCount),
    /// A monthly rate with SPC centre line, limits and signals.
    Spc(spc::SpcChart),
    /// Allocations stacked by component.
    Funding(funding::FundingBars),
    /// Rates by deprivation decile with the SII lines.
    Deprivation(deprivation::DeprivationPlot),
}

impl Plot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        match self {
            Plot::Trend(p) => p.draw(area),
            Plot::AgeSex(p) => p.draw(area),
            Plot::Time(p) => p.draw(area),
            Plot::Districts(p) => p.draw(area),
            Plot::Map(p) => p.draw(area),
            Plot::OffenceMix(p) => p.draw(area),
            Plot::Concentration(p) => p.draw(area),
            Plot::KnifeNte(p) => p.draw(area),
            Plot::Harm(p) => p.draw(area),
            Plot::Spc(p) => p.draw(area),
            Plot::Funding(p) => p.draw(area),
            Plot::Deprivation(p) => p.draw(area),
        }
    }
}

/// A chart as written, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct ChartRecord {
    /// File stem.
    pub name: String,
    /// Title.
    pub title: String,
    /// Subtitle.
    pub subtitle: String,
    /// Caption.
    pub caption: String,
    /// Alt text.
    pub alt: String,
    /// The tables it is drawn from (names, without `.csv`).
    pub tables: Vec<String>,
    /// Whether it was drawn; when not, `skipped` says why.
    pub drawn: bool,
    /// Why it was not drawn.
    pub skipped: Option<String>,
}

impl ChartRecord {
    /// The record of the chart `name`, titled `title`, not drawn because of `reason`.
    pub fn skipped(name: &str, title: &str, reason: String) -> ChartRecord {
        ChartRecord {
            name: name.to_owned(),
            title: title.to_owned(),
            subtitle: String::new(),
            caption: String::new(),
            alt: String::new(),
            tables: Vec::new(),
            drawn: false,
            skipped: Some(reason),
        }
    }
}

/// The charts in report order; each builder returns `Ok(Err(reason))` when its data are empty.
pub type Builder = fn(&Inputs) -> Result<Result<Figure, String>, ChartError>;

/// Every chart's name, title and builder, in the order of an SNA.
pub const CHARTS: [(&str, &str, Builder); 12] = [
    ("trend_police", trends::POLICE_TITLE, trends::police),
    ("trend_ae", trends::AE_TITLE, trends::ae),
    ("age_sex", people::TITLE, people::build),
    ("deprivation", deprivation::TITLE, deprivation::build),
    ("time_heatmap", time::TITLE, time::build),
    (
        "districts",
        places::DISTRICTS_TITLE,
        places::build_districts,
    ),
    ("hotspot_map", map::TITLE, map::build),
    ("offence_mix", offences::MIX_TITLE, offences::build_mix),
    (
        "repeat_concentration",
        offences::CONCENTRATION_TITLE,
        offences::build_concentration,
    ),
    (
        "knife_nte",
        places::KNIFE_NTE_TITLE,
        places::build_knife_nte,
    ),
    ("harm_vs_count", places::HARM_TITLE, places::build_harm),
    ("istv_time_heatmap", time::ISTV_TITLE, time::build_istv),
];

/// The chart `sna run` adds when `sna.toml` has a `[funding]` section.
pub const FUNDING_CHARTS: [(&str, &str, Builder); 1] =
    [("funding", funding::TITLE, funding::build)];

/// The dashboard's charts over its whole window: the SPC charts.
pub const DASHBOARD_TREND_CHARTS: [(&str, &str, Builder); 3] = [
    ("spc_police", dashboard::POLICE_TITLE, dashboard::police),
    ("spc_police_young", dashboard::YOUNG_TITLE, dashboard::young),
    ("spc_ae", dashboard::AE_TITLE, dashboard::ae),
];

/// The dashboard's charts over its last 12 months.
pub const DASHBOARD_RECENT_CHARTS: [(&str, &str, Builder); 1] =
    [("time_heatmap", time::TITLE, time::build)];

/// Draws every chart of the assessment into `dir` (SVG and PNG); returns a record per chart,
/// drawn or skipped.
pub fn render_all(inputs: &Inputs, dir: &Path) -> Result<Vec<ChartRecord>, ChartError> {
    render_set(&CHARTS, inputs, dir)
}

/// Draws the charts of `set` into `dir` (SVG and PNG); returns a record per chart, drawn or
/// skipped.
pub fn render_set(
    set: &[(&str, &str, Builder)],
    inputs: &Inputs,
    dir: &Path,
) -> Result<Vec<ChartRecord>, ChartError> {
    style::register_fonts();
    std::fs::create_dir_all(dir).map_err(|e| ChartError::Draw {
        chart: "all".into(),
        path: dir.to_path_buf(),
        source: e.into(),
    })?;
    let mut records = Vec::new();
    for &(name, title, build) in set {
        let built = match build(inputs) {
            Err(ChartError::Table(TableError::Read { path, .. }))
                if !path.exists()
                    && let Some(not) = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .and_then(|job| inputs.not_possible.iter().find(|n| n.job == job)) =>
            {
                if not.reason.starts_with(crate::bundle::shareable::WITHHELD) {
                    // The chart draws on more than one table: name the one withheld.
                    Err(format!("{} (table `{}`)", not.reason, not.job))
                } else {
                    Err(format!("not possible with these data: {}", not.reason))
                }
            }
            other => other?,
        };
        match built {
            Ok(figure) => {
                render(&figure, dir)?;
                records.push(ChartRecord {
                    name: name.to_owned(),
                    title: figure.frame.title.clone(),
                    subtitle: figure.frame.subtitle.clone(),
                    caption: figure.frame.caption.clone(),
                    alt: figure.alt.clone(),
                    tables: figure.tables.iter().map(|t| (*t).to_owned()).collect(),
                    drawn: true,
                    skipped: None,
                });
            }
            Err(reason) => records.push(ChartRecord::skipped(name, title, reason)),
        }
    }
    Ok(records)
}

/// Writes `dir/<name>.svg` and `dir/<name>.png`.
pub fn render(figure: &Figure, dir: &Path) -> Result<(), ChartError> {
    let size = (WIDTH, figure.height);
    let svg = dir.join(format!("{}.svg", figure.name));
    let error = |path: &Path, source| ChartError::Draw {
        chart: figure.name.to_owned(),
        path: path.to_path_buf(),
        source,
    };
    draw_on(SVGBackend::new(&svg, size).into_drawing_area(), figure).map_err(|e| error(&svg, e))?;
    let png = dir.join(format!("{}.png", figure.name));
    draw_on(BitMapBackend::new(&png, size).into_drawing_area(), figure)
        .map_err(|e| error(&png, e))?;
    Ok(())
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, figure: &Figure) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = frame::draw(&root, &figure.frame)?;
    figure.plot.draw(&area)?;
    root.present()?;
    Ok(())
}

/// The mesh every cartesian chart uses: light grid, axis descriptions and tick labels in the
/// bundled font.
pub fn axis_mesh<'a, 'b, DB: DrawingBackend>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    y_desc: &str,
) -> plotters::chart::MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(style::text(size::AXIS, INK))
        .label_style(style::text(size::LABEL, INK))
        .bold_line_style(GREY.mix(0.25))
        .light_line_style(TRANSPARENT)
        .axis_style(GREY)
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label);
    mesh
}

/// A tick label with no needless decimals: whole numbers with thousands separators, others
/// with up to two decimal places.
pub fn tick_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        thousands(v.round())
    } else {
        let text = format!("{v:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A chart of horizontal bars: one row per name of `names` (bottom to top, at positions 0, 1,
/// 2, ...), values from 0 to `top` along the x axis described by `x_desc`, the names' axis as
/// wide as the longest name. The mesh is drawn; the bars are the caller's.
pub fn category_bars<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    names: &[String],
    top: f64,
    x_desc: &str,
) -> DrawResult<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let n = names.len();
    let label = style::text(size::LABEL, INK);
    let mut widest = 0;
    for name in names {
        widest = widest.max(area.estimate_text_size(name, &label)?.0);
    }
    let (width, _) = area.dim_in_pixel();
    let y_area = (widest + 24).min(width * 11 / 20);
    let mut chart = ChartBuilder::on(area)
        .margin_left(8)
        .margin_right(24)
        .margin_top(8)
        .x_label_area_size(48)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0.0..top, -0.5..(n as f64 - 0.5))?;
    axis_mesh(&mut chart, x_desc, "")
        .disable_y_mesh()
        .x_labels(6)
        .y_labels(2 * n + 1)
        .y_label_formatter(&|v: &f64| category_label(names, *v))
        .draw()?;
    Ok(chart)
}

/// A formatter for a categorical axis drawn on f64 positions 0, 1, 2, ...: the label of each
/// whole position, nothing between.
pub fn category_label(labels: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

/// Tick labels for a month axis with month `i` at position `i`: whole positions only, every
/// first, third, sixth ... month labelled so that at most eight labels show.
pub fn month_ticks(months: &[String]) -> impl Fn(&f64) -> String + use<> {
    let step = [1, 2, 3, 6, 12, 24]
        .into_iter()
        .find(|s| months.len().div_ceil(*s) <= 8)
        .unwrap_or(60);
    let months = months.to_vec();
    move |v: &f64| {
        let i = v.round();
        if (v - i).abs() > 1e-6 || i < 0.0 || i as usize >= months.len() {
            return String::new();
        }
        let i = i as usize;
        if i.is_multiple_of(step) {
            month_label(&months[i])
        } else {
            String::new()
        }
    }
}

/// `YYYY-MM` as "Apr 2020".
pub fn month_label(month: &str) -> String {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%b %Y").to_string())
        .unwrap_or_else(|_| month.to_owned())
}

mod dashboard {
    use super::*;

    pub const POLICE_TITLE: &str = "Serious violence per 1,000 residents: is it changing?";
    pub const YOUNG_TITLE: &str = "Serious violence involving young people: is it changing?";
    pub const AE_TITLE: &str = "Assault-related A&E attendances: is it changing?";

    pub fn police(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
        spc::build(
            inputs,
            spc::Spec {
                name: "spc_police",
                title: POLICE_TITLE,
                series: "police_all".into(),
                what: "serious violence offences, all ages".into(),
                y_label: "Offences per 1,000 residents in the month".into(),
                source: inputs.police_caption(""),
            },
        )
    }

    pub fn young(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
        let c = inputs.cutoff;
        spc::build(
            inputs,
            spc::Spec {
                name: "spc_police_young",
                title: YOUNG_TITLE,
                series: format!("police_under_{c}"),
                what: format!("offences with a victim or offender aged under {c}"),
                y_label: format!("Offences per 1,000 under-{c}s in the month"),
                source: inputs.police_caption(&format!("Rate per 1,000 residents aged under {c}.")),
            },
        )
    }

    pub fn ae(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
        spc::build(
            inputs,
            spc::Spec {
                name: "spc_ae",
                title: AE_TITLE,
                series: "ae_all".into(),
                what: "assault-related A&E attendances by residents, all ages".into(),
                y_label: "Attendances per 1,000 residents in the month".into(),
                source: inputs.ae_caption(""),
            },
        )
    }
}

/// The monthly trend charts: the police and A&E rates, all ages and the priority cohort.
mod trends {
    use super::*;

    pub const POLICE_TITLE: &str = "Serious violence per 1,000 residents, by month";
    pub const AE_TITLE: &str = "Assault-related A&E attendances per 1,000 residents, by month";

    const BANDS: &str = "Bands: 95% CI (exact Poisson under 10, Byar otherwise).";

    pub fn police(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
        let c = inputs.cutoff;
        build(
            inputs,
            Spec {
                name: "trend_police",
                title: POLICE_TITLE,
                table: "trend_monthly",
                events: "offences",
                y_label: "Offences per 1,000 residents in the month",
                what: "serious violence offences",
                caption: Inputs::police_caption,
                cohort_note: format!(
                    "Under-{c}s: offences with a victim or offender aged under {c}, per 1,000 \
                     residents aged under {c}."
                ),
            },
        )
    }

    pub fn ae(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
        let c = inputs.cutoff;
        build(
            inputs,
            Spec {
                name: "trend_ae",
                title: AE_TITLE,
                table: "trend_ae_monthly",
                events: "attendances",
                y_label: "Attendances per 1,000 residents in the month",
                what: "assault-related A&E attendances by residents",
                caption: Inputs::ae_caption,
                cohort_note: format!(
                    "Under-{c}s by age on arrival, per 1,000 residents aged under {c}."
                ),
            },
        )
    }

    struct Spec {
        name: &'static str,
        title: &'static str,
        table: &'static str,
        events: &'static str,
        y_label: &'static str,
        what: &'static str,
        /// The source line and definition, given the rest of the caption.
        caption: fn(&Inputs, &str) -> String,
        /// What the cohort series is, when the table has one.
        cohort_note: String,
    }

    fn build(inputs: &Inputs, spec: Spec) -> Result<Result<Figure, String>, ChartError> {
        let table = inputs.table(spec.table)?;
        let Some(trend) = trend::from_table(&table, inputs, spec.events, spec.y_label)? else {
            return Ok(Err(format!("{} has no {}", spec.table, spec.what)));
        };
        // Without ages (no persons extract) the table has the all-ages series only.
        let cohort = table
            .rows()
            .any(|r| r.text("cohort").is_ok_and(|c| c != "all"));
        let (series, note) = if cohort {
            (
                format!("all ages and under-{}s", inputs.cutoff),
                format!("{} {BANDS}", spec.cohort_note),
            )
        } else {
            ("all ages".to_owned(), BANDS.to_owned())
        };
        Ok(Ok(Figure {
            name: spec.name,
            alt: trend.describe(spec.what),
            frame: Frame {
                title: spec.title.into(),
                subtitle: format!("{}; {series}", inputs.period),
                legend: trend.legend(),
                caption: (spec.caption)(inputs, &note),
            },
            tables: vec![spec.table],
            height: 560,
            plot: Plot::Trend(trend),
        }))
    }
}

/// Draws a text label with a white box behind it, centred on `at` (pixels of `area`).
pub fn boxed_label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    style: &TextStyle,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.estimate_text_size(text, style)?;
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new(
        [
            (at.0 - w / 2 - 3, at.1 - h / 2 - 2),
            (at.0 + w / 2 + 3, at.1 + h / 2 + 2),
        ],
        WHITE.mix(0.85).filled(),
    ))?;
    area.draw(&Text::new(
        text.to_owned(),
        at,
        style.clone().pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        )),
    ))?;
    Ok(())
}
