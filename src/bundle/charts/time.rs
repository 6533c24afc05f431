//! `time_heatmap`: serious violence by hour of day and weekday as a heatmap with a colour
//! scale, above the hour-of-day profile with confidence intervals.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker};
use super::style::{self, BLUE, GREY, INK, size, viridis};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh, category_label};

/// Chart title.
pub const TITLE: &str = "When serious violence happens: hour of day and day of week";

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const LEGEND_WIDTH: i32 = 110;

/// The heatmap and the hour profile.
#[derive(Debug, Clone)]
pub struct TimeHeatmap {
    /// Offences per weekday (Monday first) and hour.
    pub cells: [[f64; 24]; 7],
    /// Per hour: (percentage of offences, lower, upper).
    pub hours: Vec<(f64, f64, f64)>,
}

/// Builds the chart from `time_profile` and `hour_profile`.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("time_profile")?;
    let mut cells = [[0.0; 24]; 7];
    for row in table.rows() {
        let day = row.count("weekday_number")? as usize;
        let hour = row.count("hour")? as usize;
        if (1..=7).contains(&day) && hour < 24 {
            cells[day - 1][hour] = row.count("offences")?;
        }
    }
    let total: f64 = cells.iter().flatten().sum();
    if total == 0.0 {
        return Ok(Err("time_profile has no offences".into()));
    }
    let profile = inputs.table("hour_profile")?;
    let mut hours = vec![(0.0, 0.0, 0.0); 24];
    for row in profile.rows() {
        let hour = row.count("hour")? as usize;
        if hour < 24 {
            hours[hour] = (
                row.count("pct")?,
                row.count("lower_95")?,
                row.count("upper_95")?,
            );
        }
    }
    let chart = TimeHeatmap { cells, hours };
    let alt = chart.describe(total);
    Ok(Ok(Figure {
        name: "time_heatmap",
        frame: Frame {
            title: TITLE.into(),
            subtitle: format!("{}; hour of the offence (UK clock time)", inputs.period),
            legend: vec![
                LegendEntry::new("Share of offences in the hour (%)", BLUE, Mark::Block),
                LegendEntry::new("95% confidence interval", INK, Mark::Line(Marker::None)),
            ],
            caption: inputs.police_caption(
                "Top: offences in each weekday-hour cell (colour scale, viridis). Bottom: share \
                 of all offences committed in each hour, with Wilson 95% intervals.",
            ),
        },
        alt,
        tables: vec!["time_profile", "hour_profile"],
        height: 760,
        plot: Plot::Time(Box::new(chart)),
    }))
}

impl TimeHeatmap {
    fn describe(&self, total: f64) -> String {
        let mut peak = (0.0, 0, 0);
        for (d, row) in self.cells.iter().enumerate() {
            for (h, &v) in row.iter().enumerate() {
                if v > peak.0 {
                    peak = (v, d, h);
                }
            }
        }
        let peak_hour = (0..24)
            .max_by(|a, b| self.hours[*a].0.total_cmp(&self.hours[*b].0).then(b.cmp(a)))
            .unwrap_or(0);
        format!(
            "Heatmap of {total:.0} offences by weekday (rows, Monday at the top) and hour of day \
             (columns); the busiest cell is {} {:02}:00-{:02}:59 with {:.0} offences. Below, a bar \
             chart of each hour's share of offences peaks at {:02}:00 ({:.1}%).",
            WEEKDAYS[peak.1], peak.2, peak.2, peak.0, peak_hour, self.hours[peak_hour].0
        )
    }

    /// Draws the heatmap, its colour scale and the hour profile.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (_, height) = area.dim_in_pixel();
        let (upper, lower) = area.split_vertically(height as i32 * 11 / 20);
        let (width, _) = upper.dim_in_pixel();
        let (heat, legend) = upper.split_horizontally(width as i32 - LEGEND_WIDTH);
        let max = self
            .cells
            .iter()
            .flatten()
            .fold(0.0_f64, |m, v| m.max(*v))
            .max(1.0);

        let mut chart = ChartBuilder::on(&heat)
            .margin_left(8)
            .margin_right(8)
            .x_label_area_size(44)
            .y_label_area_size(104)
            .build_cartesian_2d(0.0..24.0, -0.5..6.5)?;
        let days: Vec<String> = WEEKDAYS.iter().rev().map(|d| (*d).to_owned()).collect();
        axis_mesh(&mut chart, "Hour of day", "")
            .disable_mesh()
            .x_labels(13)
            .x_label_formatter(&|v: &f64| format!("{:02}", *v as i64))
            .y_labels(15)
            .y_label_formatter(&move |v: &f64| category_label(&days, *v))
            .draw()?;
        for (d, row) in self.cells.iter().enumerate() {
            let y = 6.0 - d as f64;
            chart.draw_series(row.iter().enumerate().map(|(h, &v)| {
                Rectangle::new(
                    [(h as f64, y - 0.5), (h as f64 + 1.0, y + 0.5)],
                    viridis(v / max).filled(),
                )
            }))?;
        }

        // Colour scale: a vertical bar of viridis with labelled ticks.
        let (_, lh) = legend.dim_in_pixel();
        let (bar_top, bar_bottom) = (24, lh as i32 - 44);
        let x0 = 8;
        let steps = 50;
        for i in 0..steps {
            let t = i as f64 / steps as f64;
            let y1 = bar_bottom - ((bar_bottom - bar_top) as f64 * t) as i32;
            let y0 = bar_bottom - ((bar_bottom - bar_top) as f64 * (t + 1.0 / steps as f64)) as i32;
            legend.draw(&Rectangle::new(
                [(x0, y0), (x0 + 18, y1)],
                viridis(t).filled(),
            ))?;
        }
        legend.draw(&Rectangle::new(
            [(x0, bar_top), (x0 + 18, bar_bottom)],
            GREY.stroke_width(1),
        ))?;
        let label = style::text(size::LABEL, INK);
        for t in [0.0, 0.5, 1.0] {
            let y = bar_bottom - ((bar_bottom - bar_top) as f64 * t) as i32;
            legend.draw(&PathElement::new(
                vec![(x0 + 18, y), (x0 + 23, y)],
                INK.stroke_width(1),
            ))?;
            legend.draw(&Text::new(
                format!("{:.0}", max * t),
                (x0 + 27, y),
                label.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        legend.draw(&Text::new(
            "Offences",
            (x0, 4),
            style::bold(size::LABEL, INK),
        ))?;

        let mut profile = ChartBuilder::on(&lower)
            .margin_left(8)
            .margin_right(8 + LEGEND_WIDTH as u32)
            .margin_top(14)
            .x_label_area_size(44)
            .y_label_area_size(104)
            .build_cartesian_2d(0.0..24.0, 0.0..self.top_pct())?;
        axis_mesh(&mut profile, "Hour of day", "Share of offences (%)")
            .disable_x_mesh()
            .x_labels(13)
            .x_label_formatter(&|v: &f64| format!("{:02}", *v as i64))
            .y_labels(5)
            .draw()?;
        for (h, &(pct, lo, hi)) in self.hours.iter().enumerate() {
            let x = h as f64;
            profile.draw_series([Rectangle::new(
                [(x + 0.12, 0.0), (x + 0.88, pct)],
                BLUE.filled(),
            )])?;
            if hi > lo {
                profile.draw_series([
                    PathElement::new(vec![(x + 0.5, lo), (x + 0.5, hi)], INK.stroke_width(1)),
                    PathElement::new(vec![(x + 0.35, lo), (x + 0.65, lo)], INK.stroke_width(1)),
                    PathElement::new(vec![(x + 0.35, hi), (x + 0.65, hi)], INK.stroke_width(1)),
                ])?;
            }
        }
        Ok(())
    }

    fn top_pct(&self) -> f64 {
        self.hours
            .iter()
            .map(|h| h.2)
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.08
    }
}
