//! `deprivation`: rates per 1,000 residents a year by IMD decile, each decile at its place in the
//! population ranked from most to least deprived (the relative rank the slope index of
//! inequality is defined on), with 95% intervals and each measure's fitted SII line.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::frame::{Frame, LegendEntry, Mark, Marker, draw_marker};
use super::style::{BLUE, ORANGE, VERMILLION};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh};

/// Title of `deprivation`.
pub const TITLE: &str = "Serious violence by deprivation";

/// The measures drawn, with their labels, colours and markers.
const MEASURES: [(&str, &str, RGBColor, Marker); 3] = [
    ("victims", "Victims (by home)", BLUE, Marker::Circle),
    (
        "offenders",
        "Offenders (by home)",
        VERMILLION,
        Marker::Triangle,
    ),
    ("offences", "Offences (by place)", ORANGE, Marker::Square),
];

/// One measure: its points `(rank, rate, lower, upper)` and its fitted line's two ends.
#[derive(Debug, Clone)]
pub struct Series {
    color: RGBColor,
    marker: Marker,
    points: Vec<(f64, f64, f64, f64)>,
    line: Option<((f64, f64), (f64, f64))>,
}

/// The three measures.
#[derive(Debug, Clone)]
pub struct DeprivationPlot {
    series: Vec<Series>,
}

/// Builds `deprivation` from the `deprivation` table; skipped when it has no residents.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("deprivation")?;
    let mut series = Vec::new();
    let mut victims_sii = None;
    for (measure, _, color, marker) in MEASURES {
        let mut rows: Vec<(i64, f64, f64, f64, f64)> = Vec::new();
        let mut sii = None;
        for row in table.rows_where("measure", measure) {
            let decile: i64 = row.text("decile")?.parse().unwrap_or(0);
            let value = |c: &str| row.number(c).map(|v| v.unwrap_or(0.0));
            rows.push((
                decile,
                value("population")?,
                value("rate_per_1000_year")?,
                value("lower_95")?,
                value("upper_95")?,
            ));
            sii = row.number("sii")?;
        }
        rows.sort_by_key(|r| r.0);
        let total: f64 = rows.iter().map(|r| r.1).sum();
        if total <= 0.0 {
            continue;
        }
        // Relative rank: the midpoint of each decile's share of the population.
        let mut cumulative = 0.0;
        let mut points = Vec::new();
        let (mut weighted_rank, mut weighted_rate) = (0.0, 0.0);
        for &(_, population, rate, lower, upper) in &rows {
            let share = population / total;
            let rank = cumulative + share / 2.0;
            cumulative += share;
            weighted_rank += share * rank;
            weighted_rate += share * rate;
            points.push((rank, rate, lower, upper));
        }
        // The SII's line: slope −SII (vrn-sna's multiplier is −1) through the weighted means,
        // as the weighted least-squares fit passes through them; drawn only above zero.
        let line = sii.map(|sii| {
            let slope = -sii;
            let start = weighted_rate - slope * weighted_rank;
            let end = start + slope;
            if end >= 0.0 {
                ((0.0, start), (1.0, end))
            } else {
                ((0.0, start), (-start / slope, 0.0))
            }
        });
        if measure == "victims" {
            victims_sii = sii;
        }
        series.push(Series {
            color,
            marker,
            points,
            line,
        });
    }
    if series.is_empty() {
        return Ok(Err("deprivation has no residents in any decile".into()));
    }
    // Without a persons extract there are offences only.
    let people = table.rows_where("measure", "victims").next().is_some();
    let alt = format!(
        "Points for each IMD decile, most deprived on the left, of {} per 1,000 residents a year, \
         with 95% intervals and a fitted straight line per measure. Rates fall from the most to \
         the least deprived neighbourhoods{}.",
        if people {
            "victims and offenders by where they live and offences by where they happened"
        } else {
            "offences by where they happened"
        },
        victims_sii
            .map(|s| format!(
                "; the slope index of inequality for victims is {s:.2} per 1,000 a year"
            ))
            .unwrap_or_default()
    );
    let mut legend: Vec<LegendEntry> = MEASURES
        .iter()
        .filter(|(m, ..)| table.rows_where("measure", m).next().is_some())
        .map(|(_, label, color, marker)| LegendEntry::new(*label, *color, Mark::Point(*marker)))
        .collect();
    legend.push(LegendEntry::new(
        "Fitted lines (SII), in each colour",
        BLUE,
        Mark::Dashed(Marker::None),
    ));
    Ok(Ok(Figure {
        name: "deprivation",
        frame: Frame {
            title: TITLE.into(),
            subtitle: format!(
                "{}; per 1,000 residents a year by IMD 2019 decile, most deprived on the left",
                inputs.period
            ),
            legend,
            caption: inputs.police_caption(&format!(
                "Deciles of the Index of Multiple Deprivation 2019 (1 = most deprived tenth of \
                 neighbourhoods in England), each placed at the midpoint of its share of the \
                 area's residents. Dashed lines: the weighted straight-line fit whose slope is the \
                 slope index of inequality (PHE phe_sii method); lines stop at zero.{} Exact \
                 Poisson or Byar 95% intervals.",
                if people {
                    " Victims and offenders by home LSOA on their first offence."
                } else {
                    ""
                }
            )),
        },
        alt,
        tables: vec!["deprivation"],
        height: 560,
        plot: Plot::Deprivation(DeprivationPlot { series }),
    }))
}

impl DeprivationPlot {
    /// Draws the points with whiskers and the fitted lines.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let top = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.3))
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(24)
            .margin_top(8)
            .x_label_area_size(56)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..1.0, 0.0..top)?;
        axis_mesh(
            &mut chart,
            "Residents ranked from most (0) to least (1) deprived",
            "Per 1,000 residents a year",
        )
        .x_labels(6)
        .y_labels(6)
        .draw()?;
        for series in &self.series {
            if let Some((from, to)) = series.line {
                chart.draw_series(DashedLineSeries::new(
                    vec![from, to],
                    8,
                    5,
                    series.color.stroke_width(2),
                ))?;
            }
            for &(rank, rate, lower, upper) in &series.points {
                chart.draw_series([PathElement::new(
                    vec![(rank, lower), (rank, upper)],
                    series.color.stroke_width(2),
                )])?;
                let at = chart.backend_coord(&(rank, rate));
                draw_marker(chart.plotting_area(), series.marker, at, series.color)?;
            }
        }
        Ok(())
    }
}
