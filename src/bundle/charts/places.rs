//! District charts: `districts` (rates with whiskers against the area rate), `knife_nte`
//! (knife-enabled and night-time-economy shares) and `harm_vs_count` (harm beside volume).

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker, draw_marker};
use super::style::{self, BLUE, GREY, INK, VERMILLION, size};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh, category_label};
use crate::bundle::results::Table;

/// Title of `districts`.
pub const DISTRICTS_TITLE: &str = "Serious violence per 1,000 residents a year, by district";
/// Title of `knife_nte`.
pub const KNIFE_NTE_TITLE: &str = "Knife-enabled and night-time-economy shares, by district";
/// Title of `harm_vs_count`.
pub const HARM_TITLE: &str = "Crime harm against offence rate, by district";

/// A value with its 95% limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Estimate {
    /// The value.
    pub value: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// Rates by district against the area-wide rate.
#[derive(Debug, Clone)]
pub struct Districts {
    /// (district, rate) highest first.
    pub rows: Vec<(String, Estimate)>,
    /// The area-wide rate.
    pub area_rate: Option<f64>,
}

/// Knife and NTE shares by district.
#[derive(Debug, Clone)]
pub struct KnifeNte {
    /// (district, knife %, NTE %).
    pub rows: Vec<(String, Estimate, Estimate)>,
    /// Area-wide (knife %, NTE %).
    pub area: (Option<f64>, Option<f64>),
}

/// Harm per 1,000 against offences per 1,000 by district.
#[derive(Debug, Clone)]
pub struct HarmVsCount {
    /// (district, offences per 1,000, harm days per 1,000).
    pub points: Vec<(String, f64, f64)>,
    /// Area-wide mean harm days per offence (the reference line's slope).
    pub harm_per_offence: f64,
}

/// The headline value of `measure`, if the table has it.
fn headline(inputs: &Inputs, measure: &str) -> Result<Option<f64>, ChartError> {
    let table = inputs.table("headline")?;
    let value = table
        .rows_where("measure", measure)
        .next()
        .map(|r| r.number("value"));
    Ok(value.transpose()?.flatten())
}

fn estimate(row: &crate::bundle::results::Row, value: &str) -> Result<Estimate, ChartError> {
    Ok(Estimate {
        value: row.count(value)?,
        lower: row.count("lower_95")?,
        upper: row.count("upper_95")?,
    })
}

/// Builds `districts` from `areas` and `headline` (without the area-wide line when a
/// shareable bundle withholds the headline).
pub fn build_districts(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("areas")?;
    let mut rows = Vec::new();
    let mut suppressed = Vec::new();
    for row in table.rows_where("level", "district") {
        if row.text("area_code")?.is_empty() || row.count("population")? == 0.0 {
            continue;
        }
        // A shareable bundle's district whose count is suppressed has no rate to draw.
        if row.number("rate_per_1000_year")?.is_none()
            && row.flag("offences_suppressed").unwrap_or(false)
        {
            suppressed.push(row.text("area_name")?.to_owned());
            continue;
        }
        rows.push((
            row.text("area_name")?.to_owned(),
            estimate(&row, "rate_per_1000_year")?,
        ));
    }
    if rows.iter().all(|(_, e)| e.value == 0.0) {
        return Ok(Err(
            "areas has no serious-violence offences in any district".into(),
        ));
    }
    rows.sort_by(|a, b| b.1.value.total_cmp(&a.1.value).then(a.0.cmp(&b.0)));
    let withheld = inputs.not_possible.iter().any(|n| n.job == "headline");
    let area_rate = if withheld {
        None
    } else {
        headline(inputs, "sv_rate_per_1000_year")?
    };
    let top = &rows[0];
    let alt = format!(
        "Horizontal bar chart of serious-violence offences per 1,000 residents a year \
         for {} districts, highest first: {} at {:.2} (95% CI {:.2}-{:.2}){}.",
        rows.len(),
        top.0,
        top.1.value,
        top.1.lower,
        top.1.upper,
        area_rate.map_or(String::new(), |r| format!(
            "; a dashed line marks the area-wide rate of {r:.2}"
        ))
    );
    let height = 260 + 44 * rows.len() as u32;
    Ok(Ok(Figure {
        name: "districts",
        frame: Frame {
            title: DISTRICTS_TITLE.into(),
            subtitle: format!(
                "{}; offences per 1,000 residents a year (person-years of the period)",
                inputs.period
            ),
            legend: [
                LegendEntry::new("District rate", BLUE, Mark::Block),
                LegendEntry::new("95% confidence interval", INK, Mark::Line(Marker::None)),
            ]
            .into_iter()
            .chain(area_rate.map(|_| {
                LegendEntry::new("Area-wide rate", VERMILLION, Mark::Dashed(Marker::None))
            }))
            .collect(),
            caption: inputs.police_caption(&format!(
                "Offences placed by the LSOA where they occurred; offences with no known LSOA \
                 are left out. Intervals exact Poisson under 10, Byar otherwise.{}",
                if suppressed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Not shown, suppressed by disclosure control: {}.",
                        suppressed.join(", ")
                    )
                }
            )),
        },
        alt,
        tables: if withheld {
            vec!["areas"]
        } else {
            vec!["areas", "headline"]
        },
        height: height.max(420),
        plot: Plot::Districts(Districts { rows, area_rate }),
    }))
}

/// Builds `knife_nte` from `knife`, `nte` and `headline`.
pub fn build_knife_nte(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let knife = inputs.table("knife")?;
    let nte = inputs.table("nte")?;
    let shares =
        |table: &Table, column: &str| -> Result<Vec<(String, f64, Estimate)>, ChartError> {
            let mut out = Vec::new();
            for row in table.rows_where("breakdown", "district") {
                let name = row.text("category")?;
                if name == "Unknown" || row.count("offences")? == 0.0 {
                    continue;
                }
                out.push((
                    name.to_owned(),
                    row.count("offences")?,
                    estimate(&row, column)?,
                ));
            }
            Ok(out)
        };
    let knife_rows = shares(&knife, "knife_pct")?;
    let nte_rows = shares(&nte, "nte_pct")?;
    if knife_rows.is_empty() {
        return Ok(Err(
            "knife has no district with serious-violence offences".into()
        ));
    }
    let mut rows: Vec<(String, f64, Estimate, Estimate)> = knife_rows
        .into_iter()
        .map(|(name, offences, k)| {
            let n = nte_rows
                .iter()
                .find(|(d, _, _)| *d == name)
                .map(|r| r.2)
                .unwrap_or_default();
            (name, offences, k, n)
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let area = (headline(inputs, "knife_pct")?, headline(inputs, "nte_pct")?);
    let rows: Vec<(String, Estimate, Estimate)> =
        rows.into_iter().map(|(d, _, k, n)| (d, k, n)).collect();
    let most_knife = rows
        .iter()
        .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
        .map(|r| (r.0.clone(), r.1.value))
        .unwrap_or_default();
    let most_nte = rows
        .iter()
        .max_by(|a, b| a.2.value.total_cmp(&b.2.value))
        .map(|r| (r.0.clone(), r.2.value))
        .unwrap_or_default();
    let alt = format!(
        "Dot plot of two percentages per district, districts ordered by number of offences: the \
         knife-enabled share (circles) is highest in {} ({:.1}%), the night-time-economy share \
         (triangles) highest in {} ({:.1}%); dashed lines mark the area-wide shares.",
        most_knife.0, most_knife.1, most_nte.0, most_nte.1
    );
    let height = 280 + 48 * rows.len() as u32;
    Ok(Ok(Figure {
        name: "knife_nte",
        frame: Frame {
            title: KNIFE_NTE_TITLE.into(),
            subtitle: format!(
                "{}; percentage of serious-violence offences in each district",
                inputs.period
            ),
            legend: vec![
                LegendEntry::new("Knife-enabled", BLUE, Mark::Point(Marker::Circle)),
                LegendEntry::new(
                    "Night-time economy",
                    VERMILLION,
                    Mark::Point(Marker::Triangle),
                ),
                LegendEntry::new("95% CI", INK, Mark::Line(Marker::None)),
                LegendEntry::new("Area-wide share", GREY, Mark::Dashed(Marker::None)),
            ],
            caption: inputs.police_caption(
                "Knife-enabled: knife or sharp instrument used or threatened (extract flag). \
                 Night-time economy: offence flagged as linked to the night-time economy. \
                 Districts ordered by offences, most first; Wilson 95% intervals.",
            ),
        },
        alt,
        tables: vec!["knife", "nte", "headline"],
        height: height.max(440),
        plot: Plot::KnifeNte(KnifeNte { rows, area }),
    }))
}

/// Builds `harm_vs_count` from `harm`.
pub fn build_harm(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("harm")?;
    let mut points = Vec::new();
    let (mut offences, mut harm) = (0.0, 0.0);
    for row in table.rows() {
        let district = row.text("district")?;
        if district == "Unknown" || row.count("population")? == 0.0 {
            continue;
        }
        offences += row.count("offences")?;
        harm += row.count("harm_days")?;
        points.push((
            district.to_owned(),
            row.count("rate_per_1000_year")?,
            row.count("harm_per_1000_year")?,
        ));
    }
    if offences == 0.0 {
        return Ok(Err("harm has no offences in any district".into()));
    }
    points.sort_by(|a, b| a.0.cmp(&b.0));
    let harm_per_offence = harm / offences;
    let most = points
        .iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .cloned()
        .unwrap_or_default();
    let alt = format!(
        "Scatter plot with one labelled point per district: offences per 1,000 residents a \
         year (horizontal) against Crime Harm Index days per 1,000 residents a year (vertical). \
         {} has the most harm per resident ({:.0} days per 1,000 a year). Points above the dashed line have a more \
         harmful offence mix than the area average of {:.0} days per offence.",
        most.0, most.2, harm_per_offence
    );
    Ok(Ok(Figure {
        name: "harm_vs_count",
        frame: Frame {
            title: HARM_TITLE.into(),
            subtitle: format!(
                "{}; harm spots beside hot spots, per 1,000 residents a year",
                inputs.period
            ),
            legend: vec![
                LegendEntry::new("District", BLUE, Mark::Point(Marker::Circle)),
                LegendEntry::new(
                    format!("Area average harm per offence ({harm_per_offence:.0} days)"),
                    GREY,
                    Mark::Dashed(Marker::None),
                ),
            ],
            caption: inputs.police_caption(
                "Harm: Crime Harm Index days per offence (sentencing-guideline starting points, \
                 data/reference/offence_codes.csv; indicative weights) summed per district.",
            ),
        },
        alt,
        tables: vec!["harm"],
        height: 640,
        plot: Plot::Harm(HarmVsCount {
            points,
            harm_per_offence,
        }),
    }))
}

/// Pixels needed for the longest of `labels` in the tick-label style, plus padding.
fn label_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
) -> DrawResult<u32>
where
    DB::ErrorType: 'static,
{
    let style = style::text(size::LABEL, INK);
    let mut widest = 0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(label, &style)?.0);
    }
    Ok(widest + 24)
}

fn whisker<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    (lo, hi): (f64, f64),
    y: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    if hi > lo {
        chart.draw_series([
            PathElement::new(vec![(lo, y), (hi, y)], INK.stroke_width(2)),
            PathElement::new(vec![(lo, y - 0.12), (lo, y + 0.12)], INK.stroke_width(2)),
            PathElement::new(vec![(hi, y - 0.12), (hi, y + 0.12)], INK.stroke_width(2)),
        ])?;
    }
    Ok(())
}

/// A chart with one row per district, the first at the top, over x from 0 to `x_max`;
/// draws its axes and returns it for the data.
fn district_rows<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    names: impl DoubleEndedIterator<Item = String>,
    x_max: f64,
    x_desc: &str,
    margin_top: u32,
) -> DrawResult<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>>
where
    DB::ErrorType: 'static,
{
    let names: Vec<String> = names.rev().collect();
    let n = names.len();
    let mut chart = ChartBuilder::on(area)
        .margin_left(8)
        .margin_right(30)
        .margin_top(margin_top)
        .x_label_area_size(48)
        .y_label_area_size(label_width(area, &names)?)
        .build_cartesian_2d(0.0..x_max, -0.5..(n as f64 - 0.5))?;
    axis_mesh(&mut chart, x_desc, "")
        .disable_y_mesh()
        .y_labels(2 * n + 1)
        .y_label_formatter(&|v: &f64| category_label(&names, *v))
        .draw()?;
    Ok(chart)
}

impl Districts {
    /// Draws horizontal bars with whiskers and the area-rate line.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = self.rows.len();
        let top = self
            .rows
            .iter()
            .map(|r| r.1.upper)
            .chain(self.area_rate)
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.1;
        let names = self.rows.iter().map(|r| r.0.clone());
        let mut chart = district_rows(area, names, top, "Offences per 1,000 residents a year", 30)?;
        for (i, (_, e)) in self.rows.iter().rev().enumerate() {
            let y = i as f64;
            chart.draw_series([Rectangle::new(
                [(0.0, y - 0.32), (e.value, y + 0.32)],
                BLUE.filled(),
            )])?;
            whisker(&mut chart, (e.lower, e.upper), y)?;
        }
        if let Some(rate) = self.area_rate {
            chart.draw_series(DashedLineSeries::new(
                vec![(rate, -0.5), (rate, n as f64 - 0.5)],
                8,
                5,
                VERMILLION.stroke_width(2),
            ))?;
            chart.draw_series([Text::new(
                format!("Area-wide {rate:.2}"),
                (rate, n as f64 - 0.5),
                style::text(size::LABEL, VERMILLION).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )])?;
        }
        Ok(())
    }
}

impl KnifeNte {
    /// Draws the two shares per district with whiskers and the area-wide lines.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = self.rows.len();
        let top = self
            .rows
            .iter()
            .flat_map(|r| [r.1.upper, r.2.upper])
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.1;
        let names = self.rows.iter().map(|r| r.0.clone());
        let mut chart = district_rows(
            area,
            names,
            top.min(100.0),
            "Share of serious-violence offences (%)",
            8,
        )?;
        for (share, color) in [(self.area.0, BLUE), (self.area.1, VERMILLION)] {
            if let Some(v) = share {
                chart.draw_series(DashedLineSeries::new(
                    vec![(v, -0.5), (v, n as f64 - 0.5)],
                    8,
                    5,
                    color.mix(0.7).stroke_width(2),
                ))?;
            }
        }
        for (i, (_, knife, nte)) in self.rows.iter().rev().enumerate() {
            let y = i as f64;
            for (e, dy, marker, color) in [
                (knife, 0.17, Marker::Circle, BLUE),
                (nte, -0.17, Marker::Triangle, VERMILLION),
            ] {
                whisker(&mut chart, (e.lower, e.upper), y + dy)?;
                let plot = chart.plotting_area();
                let at = plot.map_coordinate(&(e.value, y + dy));
                draw_marker(plot, marker, at, color)?;
            }
        }
        Ok(())
    }
}

impl HarmVsCount {
    /// Draws the scatter with labels placed clear of each other.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let x_top = self
            .points
            .iter()
            .map(|p| p.1)
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.15;
        let y_top = self
            .points
            .iter()
            .map(|p| p.2)
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.15;
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(30)
            .margin_top(8)
            .x_label_area_size(48)
            .y_label_area_size(96)
            .build_cartesian_2d(0.0..x_top, 0.0..y_top)?;
        axis_mesh(
            &mut chart,
            "Serious-violence offences per 1,000 residents a year",
            "Harm days per 1,000 residents a year",
        )
        .draw()?;
        let slope = self.harm_per_offence;
        let end_x = x_top.min(y_top / slope.max(1e-12));
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (end_x, end_x * slope)],
            8,
            5,
            GREY.stroke_width(2),
        ))?;
        let plot = chart.plotting_area().clone();
        let screen = plot.strip_coord_spec();
        let base = plot.get_base_pixel();
        let label = style::text(size::LABEL, INK);
        let mut taken: Vec<(i32, i32, i32, i32)> = Vec::new();
        let mut pixels = Vec::new();
        for (_, x, y) in &self.points {
            let at = plot.map_coordinate(&(*x, *y));
            pixels.push((at.0 - base.0, at.1 - base.1));
            taken.push((
                at.0 - base.0 - 6,
                at.1 - base.1 - 6,
                at.0 - base.0 + 6,
                at.1 - base.1 + 6,
            ));
            draw_marker(&plot, Marker::Circle, at, BLUE)?;
        }
        let (w_area, h_area) = screen.dim_in_pixel();
        for ((name, _, _), (px, py)) in self.points.iter().zip(pixels) {
            let (w, h) = screen.estimate_text_size(name, &label)?;
            let (w, h) = (w as i32, h as i32);
            let candidates = [
                (px + 9, py - h / 2),
                (px - 9 - w, py - h / 2),
                (px - w / 2, py - h - 8),
                (px - w / 2, py + 8),
                (px + 9, py - h - 6),
                (px - 9 - w, py + 6),
            ];
            let fits = |&(x, y): &(i32, i32)| {
                x >= 0
                    && y >= 0
                    && x + w <= w_area as i32
                    && y + h <= h_area as i32
                    && !taken
                        .iter()
                        .any(|&(a, b, c, d)| x < c && x + w > a && y < d && y + h > b)
            };
            let (x, y) = candidates
                .iter()
                .copied()
                .find(fits)
                .unwrap_or(candidates[0]);
            taken.push((x, y, x + w, y + h));
            screen.draw(&Text::new(name.clone(), (x, y), label.clone()))?;
        }
        Ok(())
    }
}
