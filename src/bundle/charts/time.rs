//! `time_heatmap`: serious violence by hour of day and weekday as a heatmap with a colour
//! scale, above the hour-of-day profile with confidence intervals.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker};
use super::style::{self, BLUE, GREY, INK, LIGHT, size, viridis};
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

/// Chart title of the Cardiff Model's heatmap.
pub const ISTV_TITLE: &str =
    "When assaults seen at the emergency department happen: hour and day of the incident";

/// The heatmap and the hour profile.
#[derive(Debug, Clone)]
pub struct TimeHeatmap {
    /// Events per weekday (Monday first) and hour.
    pub cells: [[f64; 24]; 7],
    /// Per hour: (percentage of events, lower, upper).
    pub hours: Vec<(f64, f64, f64)>,
    /// Cells whose count is suppressed (a shareable bundle): drawn grey, not as zero.
    pub suppressed: [[bool; 24]; 7],
    /// Hours whose count is suppressed: no bar, a grey band.
    pub hours_suppressed: [bool; 24],
    /// What is counted, in the plural, with a capital for the colour scale: "Offences".
    pub counted: &'static str,
}

/// The tables and words of one heatmap.
struct Source {
    name: &'static str,
    title: &'static str,
    cells: &'static str,
    hours: &'static str,
    count: &'static str,
    counted: &'static str,
    hour_of: &'static str,
}

/// Builds the chart from `time_profile` and `hour_profile`.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let source = Source {
        name: "time_heatmap",
        title: TITLE,
        cells: "time_profile",
        hours: "hour_profile",
        count: "offences",
        counted: "Offences",
        hour_of: "hour of the offence",
    };
    let caption = inputs.police_caption(
        "Top: offences in each weekday-hour cell (colour scale, viridis). Bottom: share \
         of all offences committed in each hour, with Wilson 95% intervals.",
    );
    heatmap(inputs, &source, caption)
}

/// Builds the Cardiff Model's heatmap from `istv_incident_times` and `istv_incident_hours`:
/// assault attendances by the hour and weekday of the incident, not of arrival.
pub fn build_istv(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let source = Source {
        name: "istv_time_heatmap",
        title: ISTV_TITLE,
        cells: "istv_incident_times",
        hours: "istv_incident_hours",
        count: "attendances",
        counted: "Attendances",
        hour_of: "hour of the assault as the patient gave it",
    };
    let caption = "Source: emergency departments' ISTV returns (Information Sharing to Tackle \
        Violence, NHS ISB 1594): assault attendances arriving in the period, every patient \
        whether or not resident, by the date and time of the incident; attendances with no \
        incident time are left out. Top: attendances in each weekday-hour cell (colour scale, \
        viridis). Bottom: share of attendances by hour of the incident, with Wilson 95% \
        intervals."
        .to_owned();
    heatmap(inputs, &source, caption)
}

fn heatmap(
    inputs: &Inputs,
    source: &Source,
    caption: String,
) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table(source.cells)?;
    let mut cells = [[0.0; 24]; 7];
    let mut suppressed = [[false; 24]; 7];
    for row in table.rows() {
        let day = row.count("weekday_number")? as usize;
        let hour = row.count("hour")? as usize;
        if (1..=7).contains(&day) && hour < 24 {
            match row.number(source.count)? {
                Some(v) => cells[day - 1][hour] = v,
                // Empty: suppressed in a shareable bundle; an internal one has no empty count.
                None => suppressed[day - 1][hour] = true,
            }
        }
    }
    let total: f64 = cells.iter().flatten().sum();
    if total == 0.0 {
        return Ok(Err(format!("{} has no {}", source.cells, source.count)));
    }
    let profile = inputs.table(source.hours)?;
    let mut hours = vec![(0.0, 0.0, 0.0); 24];
    let mut hours_suppressed = [false; 24];
    for row in profile.rows() {
        let hour = row.count("hour")? as usize;
        if hour < 24 && row.number(source.count)?.is_none() {
            hours_suppressed[hour] = true;
        } else if hour < 24 {
            hours[hour] = (
                row.count("pct")?,
                row.count("lower_95")?,
                row.count("upper_95")?,
            );
        }
    }
    let chart = TimeHeatmap {
        cells,
        hours,
        suppressed,
        hours_suppressed,
        counted: source.counted,
    };
    let alt = chart.describe(total);
    let any_suppressed =
        suppressed.iter().flatten().any(|s| *s) || hours_suppressed.contains(&true);
    let caption = if any_suppressed {
        format!(
            "{caption} Grey: suppressed by disclosure control (a small count, or one hidden to \
             protect it)."
        )
    } else {
        caption
    };
    Ok(Ok(Figure {
        name: source.name,
        frame: Frame {
            title: source.title.into(),
            subtitle: format!("{}; {} (UK clock time)", inputs.period, source.hour_of),
            legend: vec![
                LegendEntry::new(
                    format!("Share of {} in the hour (%)", source.count),
                    BLUE,
                    Mark::Block,
                ),
                LegendEntry::new("95% confidence interval", INK, Mark::Line(Marker::None)),
            ]
            .into_iter()
            .chain(any_suppressed.then(|| LegendEntry::new("Suppressed", LIGHT, Mark::Block)))
            .collect(),
            caption,
        },
        alt,
        tables: vec![source.cells, source.hours],
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
        let counted = self.counted.to_lowercase();
        let hidden = self.suppressed.iter().flatten().filter(|s| **s).count();
        let hidden_hours = self.hours_suppressed.iter().filter(|s| **s).count();
        if hidden + hidden_hours > 0 {
            // With counts suppressed, neither the total nor the busiest cell can be stated.
            return format!(
                "Heatmap of {counted} by weekday (rows, Monday at the top) and hour of day \
                 (columns), {hidden} of its 168 cells suppressed by disclosure control (grey); \
                 the busiest published cell is {} {:02}:00-{:02}:59 with {:.0} {counted}. Below, \
                 a bar chart of each hour's share of {counted}, {hidden_hours} hours suppressed.",
                WEEKDAYS[peak.1], peak.2, peak.2, peak.0
            );
        }
        format!(
            "Heatmap of {total:.0} {counted} by weekday (rows, Monday at the top) and hour of day \
             (columns); the busiest cell is {} {:02}:00-{:02}:59 with {:.0} {counted}. Below, a \
             bar chart of each hour's share of {counted} peaks at {:02}:00 ({:.1}%).",
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
            let hidden = &self.suppressed[d];
            chart.draw_series(row.iter().enumerate().map(|(h, &v)| {
                let fill = if hidden[h] {
                    LIGHT.filled()
                } else {
                    viridis(v / max).filled()
                };
                Rectangle::new([(h as f64, y - 0.5), (h as f64 + 1.0, y + 0.5)], fill)
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
            self.counted,
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
        let share = format!("Share of {} (%)", self.counted.to_lowercase());
        axis_mesh(&mut profile, "Hour of day", &share)
            .disable_x_mesh()
            .x_labels(13)
            .x_label_formatter(&|v: &f64| format!("{:02}", *v as i64))
            .y_labels(5)
            .draw()?;
        let top = self.top_pct();
        for (h, &(pct, lo, hi)) in self.hours.iter().enumerate() {
            let x = h as f64;
            if self.hours_suppressed[h] {
                profile.draw_series([Rectangle::new(
                    [(x + 0.12, 0.0), (x + 0.88, top)],
                    LIGHT.filled(),
                )])?;
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::charts::Plot;

    fn inputs(dir: &std::path::Path) -> Inputs {
        Inputs {
            tables: dir.to_path_buf(),
            period: "April 2020 to September 2021".into(),
            definition: String::new(),
            police_source: "police recorded crime".into(),
            cutoff: 25,
            boundaries: None,
            funding: None,
            not_possible: Vec::new(),
        }
    }

    /// Tables of a shareable bundle: Monday 03:00 and the hour 3 suppressed (empty). They are
    /// drawn grey, not as zero; the alt text states no total and the caption says what grey is.
    #[test]
    fn suppressed_cells_are_grey_not_zero() {
        let dir = tempfile::tempdir().unwrap();
        let mut cells = String::from("weekday,weekday_number,hour,offences,offences_suppressed\n");
        let mut hours =
            String::from("hour,offences,offences_suppressed,total,pct,lower_95,upper_95\n");
        for (d, day) in WEEKDAYS.iter().enumerate() {
            for h in 0..24 {
                if d == 0 && h == 3 {
                    cells.push_str(&format!("{day},1,3,,true\n"));
                } else {
                    cells.push_str(&format!("{day},{},{h},10,false\n", d + 1));
                }
            }
        }
        for h in 0..24 {
            if h == 3 {
                hours.push_str("3,,true,1680,,,\n");
            } else {
                hours.push_str(&format!("{h},70,false,1680,4.1,3.5,4.9\n"));
            }
        }
        std::fs::write(dir.path().join("time_profile.csv"), cells).unwrap();
        std::fs::write(dir.path().join("hour_profile.csv"), hours).unwrap();
        let figure = build(&inputs(dir.path())).unwrap().unwrap();
        let Plot::Time(chart) = &figure.plot else {
            panic!("not a heatmap")
        };
        assert!(chart.suppressed[0][3] && chart.hours_suppressed[3]);
        assert_eq!(chart.suppressed.iter().flatten().filter(|s| **s).count(), 1);
        assert!(
            figure.alt.contains("1 of its 168 cells suppressed"),
            "{}",
            figure.alt
        );
        assert!(!figure.alt.contains("Heatmap of 1670"), "{}", figure.alt);
        assert!(figure.frame.caption.contains("Grey: suppressed"));
        assert!(figure.frame.legend.iter().any(|l| l.label == "Suppressed"));
        // It draws.
        let out = tempfile::tempdir().unwrap();
        crate::bundle::charts::render(&figure, out.path()).unwrap();
        assert!(out.path().join("time_heatmap.svg").is_file());
    }
}
