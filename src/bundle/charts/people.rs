//! `age_sex`: victims and offenders per 1,000 residents a year by 5-year age band and sex, as two
//! population pyramids side by side on one scale (females left, males right).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::frame::{Frame, LegendEntry, Mark, Marker};
use super::style::{self, BLUE, INK, LIGHT, ORANGE, size};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh, category_label};

/// Chart title.
pub const TITLE: &str = "Victims and offenders per 1,000 residents a year, by age and sex";

/// One bar: rate with limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bar {
    /// Persons per 1,000.
    pub rate: f64,
    /// Lower 95% limit.
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
    /// Its count is suppressed (a shareable bundle): drawn as a grey band, not as zero.
    pub suppressed: bool,
}

/// The two pyramids.
#[derive(Debug, Clone)]
pub struct AgeSex {
    /// Age bands, youngest first.
    pub bands: Vec<String>,
    /// Per role (victims, offenders): per band, (female, male).
    pub panels: Vec<(String, Vec<(Bar, Bar)>)>,
}

/// Builds the chart from `age_sex`.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("age_sex")?;
    let mut bands: Vec<(i64, String)> = Vec::new();
    let mut persons = 0.0;
    for row in table.rows() {
        let band = row.text("age_band")?;
        let start = band
            .trim_end_matches('+')
            .split('-')
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        if !bands.iter().any(|(_, b)| b == band) {
            bands.push((start, band.to_owned()));
        }
        persons += row.count("persons")?;
    }
    if persons == 0.0 {
        return Ok(Err(
            "age_sex has no victims or offenders of known age and sex".into(),
        ));
    }
    bands.sort();
    let bands: Vec<String> = bands.into_iter().map(|(_, b)| b).collect();
    let mut panels = Vec::new();
    for (role, label) in [("victim", "Victims"), ("offender", "Offenders")] {
        let mut bars = vec![(Bar::default(), Bar::default()); bands.len()];
        for row in table.rows_where("role", role) {
            let Some(i) = bands
                .iter()
                .position(|b| b == row.text("age_band").unwrap_or(""))
            else {
                continue;
            };
            let bar = Bar {
                rate: row.number("rate_per_1000_year")?.unwrap_or(0.0),
                lower: row.number("lower_95")?.unwrap_or(0.0),
                upper: row.number("upper_95")?.unwrap_or(0.0),
                // Empty: suppressed in a shareable bundle; an internal one has no empty count.
                suppressed: row.number("persons")?.is_none(),
            };
            match row.text("sex")? {
                "F" => bars[i].0 = bar,
                "M" => bars[i].1 = bar,
                _ => {}
            }
        }
        panels.push((label.to_owned(), bars));
    }
    let chart = AgeSex { bands, panels };
    let any_suppressed = chart
        .panels
        .iter()
        .flat_map(|(_, bars)| bars)
        .any(|(f, m)| f.suppressed || m.suppressed);
    let alt = chart.describe();
    Ok(Ok(Figure {
        name: "age_sex",
        frame: Frame {
            title: TITLE.into(),
            subtitle: format!(
                "{}; distinct persons by age and sex on their first offence",
                inputs.period
            ),
            legend: [
                LegendEntry::new("Female (left)", ORANGE, Mark::Block),
                LegendEntry::new("Male (right)", BLUE, Mark::Block),
                LegendEntry::new("95% confidence interval", INK, Mark::Line(Marker::None)),
            ]
            .into_iter()
            .chain(
                any_suppressed
                    .then(|| LegendEntry::new("Suppressed (small numbers)", LIGHT, Mark::Block)),
            )
            .collect(),
            caption: inputs.police_caption(&format!(
                "Persons with unknown age or sex are left out. Rates are per 1,000 residents of \
                 the same age band and sex a year (persons over the period's person-years); intervals exact Poisson under \
                 10 persons, Byar otherwise.{}",
                if any_suppressed {
                    " Grey bands: counts suppressed by disclosure control, with their rates."
                } else {
                    ""
                }
            )),
        },
        alt,
        tables: vec!["age_sex"],
        height: 700,
        plot: Plot::AgeSex(chart),
    }))
}

impl AgeSex {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (label, bars) in &self.panels {
            let mut best = (0.0, String::new());
            for (band, (f, m)) in self.bands.iter().zip(bars) {
                for (sex, bar) in [("females", f), ("males", m)] {
                    if bar.rate > best.0 {
                        best = (bar.rate, format!("{sex} aged {band}"));
                    }
                }
            }
            parts.push(format!(
                "{}: highest among {} ({:.2} per 1,000 a year)",
                label.to_lowercase(),
                best.1,
                best.0
            ));
        }
        format!(
            "Two population pyramids of persons per 1,000 residents a year by 5-year age band, females \
             to the left and males to the right; {}.",
            parts.join("; ")
        )
    }

    /// Draws both pyramids.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let top = self
            .panels
            .iter()
            .flat_map(|(_, bars)| bars.iter().flat_map(|(f, m)| [f.upper, m.upper]))
            .fold(0.0_f64, f64::max)
            .max(1e-9)
            * 1.05;
        let n = self.bands.len() as f64;
        let (width, _) = area.dim_in_pixel();
        let panes = area.split_horizontally(width as i32 / 2);
        for (pane, (label, bars)) in [panes.0, panes.1].iter().zip(&self.panels) {
            let mut chart = ChartBuilder::on(pane)
                .caption(label, style::bold(size::AXIS, INK))
                .margin_left(6)
                .margin_right(16)
                .x_label_area_size(44)
                .y_label_area_size(84)
                .build_cartesian_2d(-top..top, -0.5..(n - 0.5))?;
            let bands = self.bands.clone();
            axis_mesh(&mut chart, "Persons per 1,000 residents a year", "Age band")
                .y_labels(self.bands.len())
                .y_label_formatter(&move |v: &f64| category_label(&bands, *v))
                .x_labels(6)
                .x_label_formatter(&|v: &f64| super::tick_label(&v.abs()))
                .disable_y_mesh()
                .draw()?;
            for (i, (f, m)) in bars.iter().enumerate() {
                let y = i as f64;
                for (suppressed, from, to) in [(f.suppressed, -top, 0.0), (m.suppressed, 0.0, top)]
                {
                    if suppressed {
                        chart.draw_series([Rectangle::new(
                            [(from, y - 0.38), (to, y + 0.38)],
                            LIGHT.filled(),
                        )])?;
                    }
                }
                chart.draw_series([
                    Rectangle::new([(-f.rate, y - 0.38), (0.0, y + 0.38)], ORANGE.filled()),
                    Rectangle::new([(0.0, y - 0.38), (m.rate, y + 0.38)], BLUE.filled()),
                ])?;
                for (lo, hi) in [(-f.upper, -f.lower), (m.lower, m.upper)] {
                    if hi > lo {
                        chart.draw_series([
                            PathElement::new(vec![(lo, y), (hi, y)], INK.stroke_width(1)),
                            PathElement::new(
                                vec![(lo, y - 0.2), (lo, y + 0.2)],
                                INK.stroke_width(1),
                            ),
                            PathElement::new(
                                vec![(hi, y - 0.2), (hi, y + 0.2)],
                                INK.stroke_width(1),
                            ),
                        ])?;
                    }
                }
            }
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n - 0.5)],
                INK.stroke_width(1),
            )))?;
        }
        Ok(())
    }
}
