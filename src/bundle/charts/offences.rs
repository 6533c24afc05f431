//! `offence_mix` (offences by Home Office offence, grouped by offence group) and
//! `repeat_concentration` (the concentration curve of offences over offenders: each offence
//! once, as the headline's repeat-offender share counts them).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Frame, LegendEntry, Mark, Marker, draw_marker};
use super::style::{self, BLUE, CATEGORICAL, GREY, INK, size};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, axis_mesh, category_bars};

/// Title of `offence_mix`.
pub const MIX_TITLE: &str = "Offence mix of serious violence";
/// Title of `repeat_concentration`.
pub const CONCENTRATION_TITLE: &str = "How concentrated serious violence is among offenders";

/// One bar of the offence mix.
#[derive(Debug, Clone)]
pub struct OffenceBar {
    /// Offence name.
    pub offence: String,
    /// Index of its group in [`OffenceMix::groups`].
    pub group: usize,
    /// Offences.
    pub offences: f64,
    /// Percentage of all serious violence.
    pub pct: f64,
}

/// Bars by offence, grouped by offence group.
#[derive(Debug, Clone)]
pub struct OffenceMix {
    /// Groups, largest first.
    pub groups: Vec<String>,
    /// Bars in drawing order (by group, then by offences).
    pub bars: Vec<OffenceBar>,
}

/// The concentration (Lorenz-type) curve.
#[derive(Debug, Clone)]
pub struct Concentration {
    /// Cumulative (% offenders, % of offences with a known offender linked to one of them),
    /// from (0, 0).
    pub curve: Vec<(f64, f64)>,
    /// Repeat offenders (2+ offences): (% of offenders, % of offences with a known offender),
    /// the second being the headline's `repeat_offender_share_pct`.
    pub repeat: (f64, f64),
}

/// Builds `offence_mix`.
pub fn build_mix(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("offence_mix")?;
    let mut groups: Vec<(String, f64)> = Vec::new();
    let mut rows = Vec::new();
    for row in table.rows() {
        let group = row.text("ho_group")?.to_owned();
        if !groups.iter().any(|(g, _)| *g == group) {
            groups.push((group.clone(), row.count("group_offences")?));
        }
        rows.push((
            group,
            row.text("offence_name")?.to_owned(),
            row.count("offences")?,
            row.count("pct")?,
        ));
    }
    if rows.iter().all(|r| r.2 == 0.0) {
        return Ok(Err("offence_mix has no serious-violence offences".into()));
    }
    groups.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let groups: Vec<String> = groups.into_iter().map(|(g, _)| g).collect();
    let mut bars: Vec<OffenceBar> = rows
        .into_iter()
        .map(|(g, offence, offences, pct)| OffenceBar {
            offence,
            group: groups.iter().position(|x| *x == g).unwrap_or(0),
            offences,
            pct,
        })
        .collect();
    bars.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then(b.offences.total_cmp(&a.offences))
            .then(a.offence.cmp(&b.offence))
    });
    let legend = groups
        .iter()
        .enumerate()
        .map(|(i, g)| LegendEntry::new(g.clone(), CATEGORICAL[i % CATEGORICAL.len()], Mark::Block))
        .collect();
    let top = &bars[0];
    let alt = format!(
        "Horizontal bar chart of serious-violence offences by offence type, grouped by Home \
         Office offence group ({}); the largest is {} with {:.0} offences ({:.1}% of the total).",
        groups.join(", "),
        top.offence,
        top.offences,
        top.pct
    );
    let height = (240 + 34 * bars.len() as u32).max(400);
    Ok(Ok(Figure {
        name: "offence_mix",
        frame: Frame {
            title: MIX_TITLE.into(),
            subtitle: format!(
                "{}; offences by type, grouped by Home Office offence group",
                inputs.period
            ),
            legend,
            caption: inputs.police_caption(
                "Labels give the count and the percentage of all serious-violence offences. \
                 Offence types from the Home Office offence classification.",
            ),
        },
        alt,
        tables: vec!["offence_mix"],
        height,
        plot: Plot::OffenceMix(OffenceMix { groups, bars }),
    }))
}

/// Builds `repeat_concentration` from `offender_concentration`: each offence counts once (the
/// share of offences with a known offender linked to at least one of the offenders so far),
/// the headline's definition, so the repeat offenders' point is the headline's share.
pub fn build_concentration(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("offender_concentration")?;
    let mut curve = vec![(0.0, 0.0)];
    let mut repeat = (0.0, 0.0);
    for row in table.rows() {
        let point = (
            row.count("cum_offenders_pct")?,
            row.count("cum_distinct_offences_pct")?,
        );
        if row.count("offences_per_offender")? >= 2.0 {
            repeat = point;
        }
        curve.push(point);
    }
    if curve.len() < 2 {
        return Ok(Err("offender_concentration has no offenders".into()));
    }
    let alt = format!(
        "Concentration curve: cumulative percentage of offences with a known offender that are \
         linked to at least one of the offenders so far, against cumulative percentage of \
         offenders, most prolific first, above the dashed line of equality. Repeat offenders (2 \
         or more offences) are {:.1}% of offenders and are linked to {:.1}% of offences with a \
         known offender (the headline's repeat-offender share).",
        repeat.0, repeat.1
    );
    Ok(Ok(Figure {
        name: "repeat_concentration",
        frame: Frame {
            title: CONCENTRATION_TITLE.into(),
            subtitle: format!(
                "{}; offenders ranked by their number of offences",
                inputs.period
            ),
            legend: vec![
                LegendEntry::new(
                    "Offenders, most prolific first",
                    BLUE,
                    Mark::Line(Marker::Circle),
                ),
                LegendEntry::new("Line of equality", GREY, Mark::Dashed(Marker::None)),
            ],
            caption: inputs.police_caption(
                "Offenders include suspects. Each offence counts once, however many offenders it \
                 has: the curve gives the share of offences with a known offender linked to at \
                 least one offender as prolific as that or more, the definition of the headline's \
                 repeat-offender share. The further the curve bows above the line of equality, \
                 the more offending is concentrated in few people.",
            ),
        },
        alt,
        tables: vec!["offender_concentration"],
        height: 700,
        plot: Plot::Concentration(Concentration { curve, repeat }),
    }))
}

impl OffenceMix {
    /// Draws the grouped bars with count and share labels.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let names: Vec<String> = self.bars.iter().rev().map(|b| b.offence.clone()).collect();
        let label = style::text(size::LABEL, INK);
        let top = self
            .bars
            .iter()
            .map(|b| b.offences)
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.3;
        let mut chart =
            category_bars(area, &names, top, "Serious-violence offences in the period")?;
        for (i, bar) in self.bars.iter().rev().enumerate() {
            let y = i as f64;
            let color = CATEGORICAL[bar.group % CATEGORICAL.len()];
            chart.draw_series([Rectangle::new(
                [(0.0, y - 0.36), (bar.offences, y + 0.36)],
                color.filled(),
            )])?;
            chart.draw_series([Text::new(
                format!(
                    " {} ({:.1}%)",
                    crate::readable::thousands(bar.offences),
                    bar.pct
                ),
                (bar.offences + top * 0.005, y),
                label.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            )])?;
        }
        // A rule between groups, so group membership does not rest on colour alone.
        let mut previous = None;
        for (i, bar) in self.bars.iter().rev().enumerate() {
            if previous.is_some_and(|g| g != bar.group) {
                let y = i as f64 - 0.5;
                chart.draw_series([PathElement::new(
                    vec![(0.0, y), (top, y)],
                    GREY.stroke_width(1),
                )])?;
            }
            previous = Some(bar.group);
        }
        Ok(())
    }
}

impl Concentration {
    /// Draws the curve, the line of equality and the repeat-offender annotation.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(40)
            .margin_top(8)
            .x_label_area_size(48)
            .y_label_area_size(84)
            .build_cartesian_2d(0.0..100.0, 0.0..100.0)?;
        axis_mesh(
            &mut chart,
            "Cumulative % of offenders (most prolific first)",
            "Cumulative % of offences with a known offender",
        )
        .x_labels(11)
        .y_labels(11)
        .draw()?;
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (100.0, 100.0)],
            8,
            5,
            GREY.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(self.curve.clone(), BLUE.stroke_width(3)))?;
        let plot = chart.plotting_area().clone();
        for p in &self.curve {
            draw_marker(&plot, Marker::Circle, plot.map_coordinate(p), BLUE)?;
        }
        let (rx, ry) = self.repeat;
        if rx > 0.0 {
            chart.draw_series([
                PathElement::new(vec![(rx, 0.0), (rx, ry)], INK.stroke_width(1)),
                PathElement::new(vec![(0.0, ry), (rx, ry)], INK.stroke_width(1)),
            ])?;
        }
        let style = style::text(size::LABEL, INK);
        let lines = [
            format!("Repeat offenders (2+ offences): {rx:.1}% of offenders,"),
            format!("linked to {ry:.1}% of offences with a known offender"),
            "(each offence once, as in the headline).".to_owned(),
        ];
        for (i, line) in lines.iter().enumerate() {
            chart.draw_series([Text::new(
                line.clone(),
                (97.0, 6.0 + 5.0 * (lines.len() - 1 - i) as f64),
                style.clone().pos(Pos::new(HPos::Right, VPos::Bottom)),
            )])?;
        }
        Ok(())
    }
}
