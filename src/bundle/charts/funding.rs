//! `funding`: each area's allocation as a bar stacked by component (crime harm, crime rate,
//! population), with its current allocation marked where known. Drawn only when `sna.toml` has
//! a `[funding]` section.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker, draw_marker};
use super::style::{self, BLUE, GREEN, INK, ORANGE, size};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, category_bars, thousands};

/// Title of `funding`.
pub const TITLE: &str = "Funding allocation by area";

/// The components in stacking order, with their colours and the table's columns.
const PARTS: [(&str, RGBColor, &str); 3] = [
    ("Crime harm", BLUE, "harm_funding"),
    ("Crime rate", ORANGE, "rate_funding"),
    ("Population", GREEN, "population_funding"),
];

/// One area's bar: the components in pounds and the current allocation.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Area name.
    pub area: String,
    /// Pounds by component, in [`PARTS`] order.
    pub parts: [f64; 3],
    /// The area's total, including any rounding adjustment.
    pub total: f64,
    /// The current allocation, when the inputs gave one.
    pub current: Option<f64>,
}

/// The stacked bars, largest allocation first.
#[derive(Debug, Clone)]
pub struct FundingBars {
    /// Bars in drawing order (largest first).
    pub bars: Vec<Bar>,
}

/// Builds `funding` from the bundle's `funding` table; skipped when there is none.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let Some(note) = &inputs.funding else {
        return Ok(Err("sna.toml has no [funding] section".into()));
    };
    let table = inputs.table("funding")?;
    let mut bars = Vec::new();
    // An open-data extract's harm is estimated from police.uk crime types (`harm_basis`).
    let mut estimated = false;
    for row in table.rows() {
        estimated |= row.text("harm_basis").is_ok_and(|b| !b.is_empty());
        let area = row.text("area")?;
        if area == "Total" {
            continue;
        }
        let mut parts = [0.0; 3];
        for (part, (_, _, column)) in parts.iter_mut().zip(PARTS) {
            *part = row.count(column)?;
        }
        bars.push(Bar {
            area: area.to_owned(),
            parts,
            total: row.count("total")?,
            current: row.count("current").ok(),
        });
    }
    if bars.is_empty() {
        return Ok(Err("funding has no areas".into()));
    }
    bars.sort_by(|a, b| b.total.total_cmp(&a.total).then(a.area.cmp(&b.area)));
    let pot: f64 = bars.iter().map(|b| b.total).sum();
    let first = &bars[0];
    let mut alt = format!(
        "Horizontal bars, one per area, largest first, each split into the crime harm, crime \
         rate and population components of its allocation. {} receives the most: £{} of £{} \
         ({:.1}%).",
        first.area,
        thousands(first.total.round()),
        thousands(pot.round()),
        100.0 * first.total / pot
    );
    let mut legend: Vec<LegendEntry> = PARTS
        .iter()
        .map(|(label, color, _)| LegendEntry::new(*label, *color, Mark::Block))
        .collect();
    if bars.iter().any(|b| b.current.is_some()) {
        legend.push(LegendEntry::new(
            "Current allocation",
            INK,
            Mark::Point(Marker::Diamond),
        ));
        alt.push_str(" Diamonds mark each area's current allocation.");
    }
    let height = 300 + 44 * bars.len() as u32;
    Ok(Ok(Figure {
        name: "funding",
        frame: Frame {
            title: TITLE.into(),
            subtitle: "Allocation in pounds, by component of the formula".into(),
            legend,
            caption: if estimated {
                format!(
                    "Source: police.uk street-level crimes (every crime, not only serious \
                     violence) and residents; harm estimated from police.uk crime types with \
                     the weights of data/reference/police_uk_harm.csv. {note}"
                )
            } else {
                format!(
                    "Source: police recorded crime extract (every recorded offence, not only \
                     serious violence) and residents; Crime Harm Index weights from \
                     data/reference/offence_codes.csv. {note}"
                )
            },
        },
        alt,
        tables: vec!["funding"],
        height: height.max(440),
        plot: Plot::Funding(FundingBars { bars }),
    }))
}

impl FundingBars {
    /// Draws the stacked bars, the current-allocation diamonds and each total.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let names: Vec<String> = self.bars.iter().rev().map(|b| b.area.clone()).collect();
        let label = style::text(size::LABEL, INK);
        let top = self
            .bars
            .iter()
            .map(|b| b.total.max(b.current.unwrap_or(0.0)))
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.25;
        let mut chart = category_bars(area, &names, top, "Allocation (£)")?;
        for (i, bar) in self.bars.iter().rev().enumerate() {
            let y = i as f64;
            let mut from = 0.0;
            for (value, (_, color, _)) in bar.parts.iter().zip(PARTS) {
                chart.draw_series([Rectangle::new(
                    [(from, y - 0.34), (from + value, y + 0.34)],
                    color.filled(),
                )])?;
                // A white rule between segments, so they separate without relying on colour.
                chart.draw_series([PathElement::new(
                    vec![(from + value, y - 0.34), (from + value, y + 0.34)],
                    WHITE.stroke_width(2),
                )])?;
                from += value;
            }
            chart.draw_series([Text::new(
                format!(" £{}", thousands(bar.total.round())),
                (bar.total.max(bar.current.unwrap_or(0.0)) + top * 0.01, y),
                label.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            )])?;
            if let Some(current) = bar.current {
                let at = chart.backend_coord(&(current, y));
                draw_marker(chart.plotting_area(), Marker::Diamond, at, INK)?;
            }
        }
        Ok(())
    }
}
