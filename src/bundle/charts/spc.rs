//! Statistical process control charts of the dashboard (`spc_police`, `spc_police_young`,
//! `spc_ae`): XmR charts as NHS England's "Making Data Count" draws them. A monthly rate with
//! its centre line (mean of the baseline months), control limits at the centre line ± 2.66 ×
//! the baseline's mean moving range, and each signal marked with its own shape (beyond a
//! limit, run of 7, trend of 6, two of three near a limit).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker, draw_marker};
use super::style::{self, BLUE, GREEN, GREY, INK, ORANGE, PURPLE, VERMILLION, size};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh, month_label, month_ticks};
use crate::stats::SpcFlags;

/// An SPC chart's data, read from the `spc` table.
#[derive(Debug, Clone)]
pub struct SpcChart {
    /// Months `YYYY-MM`.
    pub months: Vec<String>,
    /// Rate per 1,000 per month (`None` without population).
    pub rates: Vec<Option<f64>>,
    /// Months of the baseline that set the centre line and limits.
    pub baseline: usize,
    /// Centre line (mean of the baseline months).
    pub mean: f64,
    /// Lower control limit.
    pub lower: f64,
    /// Upper control limit.
    pub upper: f64,
    /// Per month: the rules that fire.
    pub flags: Vec<SpcFlags>,
    /// The series' state in words, e.g. "Step shift".
    pub state: String,
    /// Y axis description.
    pub y_label: String,
}

/// What distinguishes one SPC chart from another.
pub struct Spec {
    /// File stem.
    pub name: &'static str,
    /// Title.
    pub title: &'static str,
    /// Series key in the `spc` table.
    pub series: String,
    /// Words for the subtitle, after the period.
    pub what: String,
    /// Y axis description.
    pub y_label: String,
    /// Source sentence of the caption.
    pub source: String,
}

/// Builds the chart of `spec.series` from the `spc` table.
pub fn build(inputs: &Inputs, spec: Spec) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("spc")?;
    let mut chart = SpcChart {
        months: Vec::new(),
        rates: Vec::new(),
        baseline: 0,
        mean: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
        flags: Vec::new(),
        state: String::new(),
        y_label: spec.y_label.clone(),
    };
    let mut events = 0.0;
    for row in table.rows_where("series", &spec.series) {
        chart.months.push(row.text("month")?.to_owned());
        chart.rates.push(row.number("rate_per_1000")?);
        events += row.count("events")?;
        chart.baseline = row.count("baseline_months")? as usize;
        chart.mean = row.number("centre_line")?.unwrap_or(f64::NAN);
        chart.lower = row.number("lower_limit")?.unwrap_or(f64::NAN);
        chart.upper = row.number("upper_limit")?.unwrap_or(f64::NAN);
        chart.flags.push(SpcFlags {
            beyond_limit: row.flag("beyond_limit")?,
            run: row.flag("run")?,
            trend: row.flag("trend")?,
            two_of_three: row.flag("two_of_three")?,
        });
        chart.state = state_words(row.text("state")?).to_owned();
    }
    if chart.months.len() < 2 || events == 0.0 || !chart.upper.is_finite() {
        return Ok(Err(format!(
            "spc has no events or fewer than two months for {}",
            spec.series
        )));
    }
    let alt = chart.describe(&spec.what);
    Ok(Ok(Figure {
        name: spec.name,
        frame: Frame {
            title: spec.title.to_owned(),
            subtitle: format!("{}; {}", inputs.period, spec.what),
            legend: SpcChart::legend(),
            caption: format!(
                "{} XmR chart (NHS England, Making Data Count): centre line = mean of the first \
                 {} months (baseline); control limits = centre line ± 2.66 × their mean moving \
                 range. Signals: a month beyond a limit; 7 or more months in a row on one side \
                 of the centre line; 6 or more months each rising or each falling; 2 of 3 \
                 months in a row beyond two thirds of the way to a limit. State: {}.",
                spec.source,
                chart.baseline,
                chart.state.to_lowercase()
            ),
        },
        alt,
        tables: vec!["spc", "spc_signals"],
        height: 600,
        plot: Plot::Spc(chart),
    }))
}

/// A state's table value in words: `step_shift` → "Step shift".
fn state_words(key: &str) -> &'static str {
    use crate::stats::SpcState::*;
    [Stable, SinglePointException, StepShift, SignificantTrend]
        .into_iter()
        .find(|s| s.key() == key)
        .map_or("not assessed", |s| s.words())
}

impl SpcChart {
    fn legend() -> Vec<LegendEntry> {
        vec![
            LegendEntry::new("Monthly rate", BLUE, Mark::Line(Marker::Circle)),
            LegendEntry::new("Centre line", INK, Mark::Line(Marker::None)),
            LegendEntry::new("Control limits", GREY, Mark::Dashed(Marker::None)),
            LegendEntry::new("Beyond a limit", VERMILLION, Mark::Point(Marker::Triangle)),
            LegendEntry::new("Run of 7", ORANGE, Mark::Point(Marker::Ring)),
            LegendEntry::new("Trend of 6", GREEN, Mark::Point(Marker::Diamond)),
            LegendEntry::new("2 of 3 near a limit", PURPLE, Mark::Point(Marker::Square)),
        ]
    }

    /// Alt text: the range, the centre line and the signals.
    pub fn describe(&self, what: &str) -> String {
        let values: Vec<f64> = self.rates.iter().flatten().copied().collect();
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let count = |f: fn(&SpcFlags) -> bool| self.flags.iter().filter(|x| f(x)).count();
        format!(
            "Statistical process control (XmR) chart of {what} per 1,000 residents by month, {} \
             to {}: monthly rates from {min:.3} to {max:.3}, centre line {:.3} (mean of the first \
             {} months), control limits {:.3} to {:.3}. Months beyond a limit: {}; months in a \
             run of 7 or more: {}; months in a trend of 6 or more: {}; months two of three near \
             a limit: {}. State: {}.",
            month_label(&self.months[0]),
            month_label(&self.months[self.months.len() - 1]),
            self.mean,
            self.baseline,
            self.lower,
            self.upper,
            count(|f| f.beyond_limit),
            count(|f| f.run),
            count(|f| f.trend),
            count(|f| f.two_of_three),
            self.state.to_lowercase(),
        )
    }

    /// Draws the chart into `area`.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = self.months.len();
        // The axis frames the limits and the data rather than starting at zero, so that
        // month-to-month variation is visible; it never goes below zero (rates cannot).
        let values = self.rates.iter().flatten().copied();
        let high = values.clone().fold(self.upper, f64::max);
        let low = values.fold(self.lower, f64::min).max(0.0);
        // Room above and below for the signal marks drawn off the points.
        let pad = 0.18 * (high - low).max(high * 0.05);
        let (bottom, top) = ((low - pad).max(0.0), high + pad);
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(70)
            .margin_top(6)
            .x_label_area_size(46)
            .y_label_area_size(82)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), bottom..top)?;
        let ticks = month_ticks(&self.months);
        axis_mesh(&mut chart, "Month", &self.y_label)
            .x_labels(n.min(60))
            .x_label_formatter(&ticks)
            .draw()?;
        let span = (-0.5, n as f64 - 0.5);
        chart.draw_series(LineSeries::new(
            [(span.0, self.mean), (span.1, self.mean)],
            INK.stroke_width(2),
        ))?;
        for limit in [self.lower, self.upper] {
            if limit >= bottom {
                chart.draw_series(DashedLineSeries::new(
                    [(span.0, limit), (span.1, limit)],
                    9,
                    5,
                    GREY.stroke_width(2),
                ))?;
            }
        }
        // The end of the baseline, whose months set the centre line and limits.
        if self.baseline > 0 && self.baseline < n {
            let x = self.baseline as f64 - 0.5;
            chart.draw_series(DashedLineSeries::new(
                [(x, bottom), (x, top)],
                4,
                4,
                GREY.stroke_width(1),
            ))?;
            let plot = chart.plotting_area();
            let (px, py) = plot.map_coordinate(&(x, top));
            let base = plot.get_base_pixel();
            plot.strip_coord_spec().draw(&Text::new(
                "Baseline",
                (px - 6 - base.0, py + 4 - base.1),
                style::text(size::LABEL - 1.0, GREY).pos(Pos::new(HPos::Right, VPos::Top)),
            ))?;
        }
        let plot = chart.plotting_area();
        let label = style::text(size::LABEL - 1.0, GREY).pos(Pos::new(HPos::Left, VPos::Center));
        for (value, text) in [
            (self.upper, "UCL"),
            (self.mean, "Centre"),
            (self.lower, "LCL"),
        ] {
            if value >= bottom {
                let (x, y) = plot.map_coordinate(&(span.1, value));
                plot.strip_coord_spec().draw(&Text::new(
                    text,
                    (x + 6 - plot.get_base_pixel().0, y - plot.get_base_pixel().1),
                    label.clone(),
                ))?;
            }
        }
        let line: Vec<(f64, f64)> = self
            .rates
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|r| (i as f64, r)))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), BLUE.stroke_width(3)))?;
        let plot = chart.plotting_area();
        for (i, r) in self.rates.iter().enumerate() {
            let Some(r) = r else { continue };
            let at = plot.map_coordinate(&(i as f64, *r));
            draw_marker(plot, Marker::Circle, at, BLUE)?;
            let flags = self.flags[i];
            if flags.run {
                draw_marker(plot, Marker::Ring, at, ORANGE)?;
            }
            if flags.trend {
                draw_marker(plot, Marker::Diamond, at, GREEN)?;
            }
            // Beyond-limit triangles and two-of-three squares sit off the point, on the side
            // of the limit it is near; a square takes the nearer place.
            let away = if *r > self.mean { -1 } else { 1 };
            let mut offset = 16;
            if flags.two_of_three {
                draw_marker(plot, Marker::Square, (at.0, at.1 + away * offset), PURPLE)?;
                offset += 14;
            }
            if flags.beyond_limit {
                draw_marker(
                    plot,
                    Marker::Triangle,
                    (at.0, at.1 + away * offset),
                    VERMILLION,
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spc_signals;

    /// A hand-made series with a rising trend, two of three months near the upper limit and
    /// a point beyond it, written as the `spc` table. Baseline (first 12): centre line
    /// 11.85 / 12 = 0.9875, mean moving range 0.75 / 11, limits 0.806 to 1.169, two thirds
    /// of the way to the upper limit 1.108.
    fn write_table(dir: &std::path::Path) {
        let mut rates = vec![1.0, 1.05, 0.95, 1.0, 1.05, 0.95, 1.0, 1.05, 0.95, 1.0];
        rates.extend([0.9, 0.95, 1.0, 1.05, 1.1, 1.15]);
        rates.extend([
            1.02, 0.98, 1.0, 1.03, 0.97, 1.0, 1.02, 0.98, 1.0, 1.01, 0.99, 1.0,
        ]);
        rates.extend([1.13, 1.0, 1.13, 1.0, 1.0]);
        rates.push(1.6);
        let spc = spc_signals(&rates, 12);
        let mut csv = String::from(
            "series,month,events,rate_per_1000,baseline_months,centre_line,mean_moving_range,\
             lower_limit,upper_limit,beyond_limit,run,trend,two_of_three,state\n",
        );
        for (i, r) in rates.iter().enumerate() {
            let f = spc.flags[i];
            csv.push_str(&format!(
                "police_all,{}-{:02},{},{r},{},{},{},{},{},{},{},{},{},{}\n",
                2021 + i / 12,
                i % 12 + 1,
                (r * 1000.0) as i64,
                spc.baseline,
                spc.mean,
                spc.mean_moving_range,
                spc.lower,
                spc.upper,
                f.beyond_limit,
                f.run,
                f.trend,
                f.two_of_three,
                spc.state.key()
            ));
        }
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("spc.csv"), csv).unwrap();
    }

    #[test]
    fn every_kind_of_signal_is_drawn_and_described() {
        let dir = std::env::temp_dir().join(format!("vrn-sna-spc-chart-{}", std::process::id()));
        write_table(&dir.join("tables"));
        let inputs = Inputs {
            tables: dir.join("tables"),
            period: "January 2021 to May 2023".into(),
            definition: "Serious violence = test.".into(),
            police_source: "police recorded crime extract".into(),
            cutoff: 25,
            boundaries: None,
            funding: None,
            not_possible: Vec::new(),
        };
        let spec = Spec {
            name: "spc_police",
            title: "Test",
            series: "police_all".into(),
            what: "test offences".into(),
            y_label: "Offences per 1,000 residents in the month".into(),
            source: inputs.police_caption(""),
        };
        let figure = build(&inputs, spec).unwrap().unwrap();
        assert!(
            figure.alt.contains("Months beyond a limit: 1;"),
            "{}",
            figure.alt
        );
        assert!(
            figure.alt.contains("months in a trend of 6 or more: 6;"),
            "{}",
            figure.alt
        );
        assert!(
            figure
                .alt
                .contains("months two of three near a limit: 2. State: significant trend."),
            "{}",
            figure.alt
        );
        assert!(
            figure.frame.caption.contains("mean of the first 12 months"),
            "{}",
            figure.frame.caption
        );
        super::super::style::register_fonts();
        super::super::render(&figure, &dir).unwrap();
        assert!(dir.join("spc_police.png").is_file());
        let svg = std::fs::read_to_string(dir.join("spc_police.svg")).unwrap();
        assert!(svg.contains("Beyond a limit") && svg.contains("Trend of 6"));
        assert!(svg.contains("2 of 3 near a limit"));
    }
}
