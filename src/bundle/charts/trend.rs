//! Monthly rate charts (`trend_police`, `trend_ae`): all ages and the priority cohort, each with
//! its 95% confidence band, with England's national lockdowns shaded where they fall.

use chrono::{Datelike, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{LegendEntry, Mark, Marker, draw_marker};
use super::style::{self, BLUE, GREY, LIGHT, VERMILLION, size};
use super::{ChartError, DrawResult, Inputs, axis_mesh, month_label, month_ticks};
use crate::bundle::results::Table;

/// England's national lockdowns (stay-at-home rules), first and last day. Source: Institute
/// for Government, "Timeline of UK government coronavirus lockdowns and restrictions"; the
/// first is counted until hospitality reopened on 4 July 2020.
pub const LOCKDOWNS: [(&str, &str); 3] = [
    ("2020-03-23", "2020-07-03"),
    ("2020-11-05", "2020-12-02"),
    ("2021-01-06", "2021-03-28"),
];

/// A monthly rate with its lower and upper 95% limits.
pub type Estimate = (f64, f64, f64);

/// One line of a trend chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Marker at each month.
    pub marker: Marker,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// (rate, lower, upper) per month, aligned with [`Trend::months`].
    pub points: Vec<Option<Estimate>>,
}

/// A monthly trend chart.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Months `YYYY-MM` in order.
    pub months: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// Y axis description.
    pub y_label: String,
    /// Shaded spans in month-index coordinates.
    pub shading: Vec<(f64, f64)>,
}

/// Reads a monthly table with `month`, `cohort`, `rate_per_1000`, `lower_95`, `upper_95`.
/// Returns `None` when the table has no rows or no events at all.
pub fn from_table(
    table: &Table,
    ctx: &Inputs,
    event_column: &str,
    y_label: &str,
) -> Result<Option<Trend>, ChartError> {
    let mut months: Vec<String> = Vec::new();
    let mut events = 0.0;
    for row in table.rows() {
        let month = row.text("month")?.to_owned();
        if !months.contains(&month) {
            months.push(month);
        }
        events += row.count(event_column)?;
    }
    if months.is_empty() || events == 0.0 {
        return Ok(None);
    }
    months.sort();
    let young = format!("under_{}", ctx.cutoff);
    let cohorts = [
        ("all", "All ages".to_owned(), BLUE, Marker::Circle, false),
        (
            young.as_str(),
            format!("Under-{}s", ctx.cutoff),
            VERMILLION,
            Marker::Triangle,
            true,
        ),
    ];
    let mut series = Vec::new();
    for (cohort, label, color, marker, dashed) in cohorts {
        let mut points = vec![None; months.len()];
        for row in table.rows_where("cohort", cohort) {
            let month = row.text("month")?;
            let Some(i) = months.iter().position(|m| m == month) else {
                continue;
            };
            if let (Some(rate), Some(lo), Some(hi)) = (
                row.number("rate_per_1000")?,
                row.number("lower_95")?,
                row.number("upper_95")?,
            ) {
                points[i] = Some((rate, lo, hi));
            }
        }
        if points.iter().any(Option::is_some) {
            series.push(Series {
                label,
                color,
                marker,
                dashed,
                points,
            });
        }
    }
    let shading = lockdown_spans(&months);
    Ok(Some(Trend {
        months,
        series,
        y_label: y_label.to_owned(),
        shading,
    }))
}

impl Trend {
    /// Legend entries: each line, its band, and the lockdown shading when shown.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let mut legend: Vec<LegendEntry> = self
            .series
            .iter()
            .map(|s| {
                let mark = if s.dashed {
                    Mark::Dashed(s.marker)
                } else {
                    Mark::Line(s.marker)
                };
                LegendEntry::new(s.label.clone(), s.color, mark)
            })
            .collect();
        legend.push(LegendEntry::new(
            "95% confidence interval",
            GREY,
            Mark::Band,
        ));
        if !self.shading.is_empty() {
            legend.push(LegendEntry::new("National lockdown", LIGHT, Mark::Block));
        }
        legend
    }

    /// A sentence describing the chart for alt text.
    pub fn describe(&self, what: &str) -> String {
        let mut parts = Vec::new();
        for s in &self.series {
            let values: Vec<f64> = s.points.iter().flatten().map(|p| p.0).collect();
            let (min, max) = min_max(&values);
            parts.push(format!(
                "{} from {:.2} to {:.2} per 1,000 per month",
                s.label.to_lowercase(),
                min,
                max
            ));
        }
        format!(
            "Line chart of monthly {what} per 1,000 residents, {} to {}: {}.{}",
            month_label(&self.months[0]),
            month_label(&self.months[self.months.len() - 1]),
            parts.join("; "),
            if self.shading.is_empty() {
                ""
            } else {
                " National lockdown months are shaded."
            }
        )
    }

    /// Draws the chart into `area`.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = self.months.len();
        let top = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().flatten().map(|p| p.2))
            .fold(0.0_f64, f64::max);
        let top = if top > 0.0 { top * 1.08 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(24)
            .margin_top(6)
            .x_label_area_size(46)
            .y_label_area_size(82)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..top)?;
        let ticks = month_ticks(&self.months);
        axis_mesh(&mut chart, "Month", &self.y_label)
            .x_labels(n.min(60))
            .x_label_formatter(&ticks)
            .draw()?;
        for &(a, b) in &self.shading {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, top)],
                LIGHT.mix(0.6).filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                "Lockdown",
                ((a + b) / 2.0, top),
                style::text(size::LABEL - 2.0, GREY).pos(Pos::new(HPos::Center, VPos::Top)),
            )))?;
        }
        for s in &self.series {
            for run in runs(&s.points) {
                let mut band: Vec<(f64, f64)> = run.iter().map(|&(i, p)| (i, p.2)).collect();
                band.extend(run.iter().rev().map(|&(i, p)| (i, p.1)));
                chart.draw_series(std::iter::once(Polygon::new(
                    band,
                    s.color.mix(0.18).filled(),
                )))?;
            }
        }
        for s in &self.series {
            for run in runs(&s.points) {
                let line: Vec<(f64, f64)> = run.iter().map(|&(i, p)| (i, p.0)).collect();
                if s.dashed {
                    chart.draw_series(DashedLineSeries::new(
                        line,
                        9,
                        5,
                        s.color.stroke_width(3),
                    ))?;
                } else {
                    chart.draw_series(LineSeries::new(line, s.color.stroke_width(3)))?;
                }
            }
            let plot = chart.plotting_area();
            for (i, p) in s.points.iter().enumerate() {
                if let Some(p) = p {
                    let at = plot.map_coordinate(&(i as f64, p.0));
                    draw_marker(plot, s.marker, at, s.color)?;
                }
            }
        }
        Ok(())
    }
}

/// Consecutive months with values, as (index, point) runs (gaps break lines and bands).
fn runs(points: &[Option<Estimate>]) -> Vec<Vec<(f64, Estimate)>> {
    let mut out: Vec<Vec<(f64, Estimate)>> = vec![Vec::new()];
    for (i, p) in points.iter().enumerate() {
        match p {
            Some(p) => out.last_mut().map(|r| r.push((i as f64, *p))).unwrap_or(()),
            None => out.push(Vec::new()),
        }
    }
    out.into_iter().filter(|r| !r.is_empty()).collect()
}

/// The lockdowns as spans of month-index coordinates (month i covers i-0.5 to i+0.5).
pub fn lockdown_spans(months: &[String]) -> Vec<(f64, f64)> {
    let Some(first) = months.first().and_then(|m| month_start(m)) else {
        return Vec::new();
    };
    let n = months.len() as f64;
    let position = |date: NaiveDate| {
        let offset = (date.year() - first.year()) * 12 + date.month() as i32 - first.month() as i32;
        let days = days_in_month(date);
        offset as f64 + (date.day() - 1) as f64 / days as f64 - 0.5
    };
    LOCKDOWNS
        .iter()
        .filter_map(|(a, b)| {
            let a = NaiveDate::parse_from_str(a, "%Y-%m-%d").ok()?;
            let b = NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()?.succ_opt()?;
            let (start, end) = (position(a).max(-0.5), position(b).min(n - 0.5));
            (end > start).then_some((start, end))
        })
        .collect()
}

fn month_start(month: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|next| next.pred_opt())
        .map_or(30, |last| last.day())
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockdowns_fall_on_their_months() {
        let months: Vec<String> = ["2020-04", "2020-05", "2020-06", "2020-07", "2020-08"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let spans = lockdown_spans(&months);
        assert_eq!(spans.len(), 1);
        let (a, b) = spans[0];
        assert_eq!(a, -0.5);
        // ends after 3 July: 3 of July's 31 days into month index 3
        assert!((b - (3.0 + 3.0 / 31.0 - 0.5)).abs() < 1e-12, "{b}");
        assert!(lockdown_spans(&["2019-01".to_owned()]).is_empty());
    }

    #[test]
    fn at_most_eight_month_labels() {
        for (n, step) in [(6, 1), (18, 3), (36, 6), (60, 12)] {
            let months: Vec<String> = (0..n)
                .map(|i| format!("{}-{:02}", 2020 + i / 12, i % 12 + 1))
                .collect();
            let ticks = crate::bundle::charts::month_ticks(&months);
            let labelled: Vec<usize> = (0..n).filter(|&i| !ticks(&(i as f64)).is_empty()).collect();
            assert_eq!(
                labelled,
                (0..n).step_by(step).collect::<Vec<_>>(),
                "{n} months"
            );
            assert!(labelled.len() <= 8);
            assert_eq!(ticks(&0.5), "");
        }
        assert_eq!(
            crate::bundle::charts::month_ticks(&["2020-04".to_owned()])(&0.0),
            "Apr 2020"
        );
    }

    #[test]
    fn gaps_break_runs() {
        let p = Some((1.0, 0.5, 1.5));
        assert_eq!(runs(&[p, p, None, p]).len(), 2);
        assert!(runs(&[None]).is_empty());
    }
}
