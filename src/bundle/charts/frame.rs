//! What every chart has around its plot: title, subtitle, a legend row above the plot (so it
//! never covers data) and a wrapped caption with the source and definition at the foot.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::DrawResult;
use super::style::{self, GREY, INK, size};

/// Left and right margin of the chart, in pixels.
pub const MARGIN: i32 = 18;
const LINE_GAP: i32 = 5;

/// How a series is drawn, so a legend entry can show the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A solid line with a marker.
    Line(Marker),
    /// A dashed line with a marker.
    Dashed(Marker),
    /// A filled box (bars, areas).
    Block,
    /// A translucent band (confidence intervals).
    Band,
    /// A marker alone.
    Point(Marker),
}

/// Point markers, so colour is never the only cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Filled circle.
    Circle,
    /// Filled triangle.
    Triangle,
    /// Filled square.
    Square,
    /// Open circle drawn around a point.
    Ring,
    /// Open diamond drawn around a point.
    Diamond,
    /// No marker.
    None,
}

/// One entry of the legend row.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    /// Label.
    pub label: String,
    /// Colour of the series.
    pub color: RGBColor,
    /// How the series is drawn.
    pub mark: Mark,
}

impl LegendEntry {
    /// A legend entry.
    pub fn new(label: impl Into<String>, color: RGBColor, mark: Mark) -> LegendEntry {
        LegendEntry {
            label: label.into(),
            color,
            mark,
        }
    }
}

/// The words around a chart.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Title.
    pub title: String,
    /// Subtitle: the area and period.
    pub subtitle: String,
    /// Legend entries drawn in a row under the subtitle.
    pub legend: Vec<LegendEntry>,
    /// Caption: source and definition.
    pub caption: String,
}

/// Draws the frame on `root` and returns the area left for the plot.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    frame: &Frame,
) -> DrawResult<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    let (width, height) = root.dim_in_pixel();
    let width = width as i32;
    let height = height as i32;
    let title = style::bold(size::TITLE, INK);
    let subtitle = style::text(size::SUBTITLE, GREY);
    let caption = style::text(size::CAPTION, GREY);

    let mut y = 12;
    for line in wrap(root, &frame.title, &title, width - 2 * MARGIN)? {
        root.draw(&Text::new(line, (MARGIN, y), title.clone()))?;
        y += text_height(root, &title)? + LINE_GAP;
    }
    for line in wrap(root, &frame.subtitle, &subtitle, width - 2 * MARGIN)? {
        root.draw(&Text::new(line, (MARGIN, y), subtitle.clone()))?;
        y += text_height(root, &subtitle)? + LINE_GAP;
    }
    if !frame.legend.is_empty() {
        y += 4;
        y = draw_legend_row(root, &frame.legend, MARGIN, y, width - 2 * MARGIN)?;
    }
    y += 8;

    let caption_lines = wrap(root, &frame.caption, &caption, width - 2 * MARGIN)?;
    let line_height = text_height(root, &caption)? + 3;
    let caption_top = height - 10 - line_height * caption_lines.len() as i32;
    for (i, line) in caption_lines.iter().enumerate() {
        root.draw(&Text::new(
            line.clone(),
            (MARGIN, caption_top + i as i32 * line_height),
            caption.clone(),
        ))?;
    }
    let bottom = height - caption_top + 6;
    Ok(root.margin(y, bottom, 0, 0))
}

/// Draws legend entries left to right from (x, y), wrapping to new rows; returns the y below.
pub fn draw_legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    x0: i32,
    y0: i32,
    max_width: i32,
) -> DrawResult<i32>
where
    DB::ErrorType: 'static,
{
    let label = style::text(size::LABEL, INK);
    let row_height = text_height(area, &label)?.max(14) + 8;
    let (mut x, mut y) = (x0, y0);
    for entry in entries {
        let (w, _) = area.estimate_text_size(&entry.label, &label)?;
        let needed = 36 + w as i32 + 22;
        if x > x0 && x + needed > x0 + max_width {
            x = x0;
            y += row_height;
        }
        let mid = y + row_height / 2 - 3;
        draw_swatch(area, entry, (x, mid))?;
        area.draw(&Text::new(
            entry.label.clone(),
            (x + 36, mid),
            label.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += needed;
    }
    Ok(y + row_height)
}

/// Draws a legend swatch 28 px wide centred vertically on `mid`.
fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entry: &LegendEntry,
    (x, mid): (i32, i32),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let color = entry.color;
    match entry.mark {
        Mark::Line(marker) => {
            area.draw(&PathElement::new(
                vec![(x, mid), (x + 28, mid)],
                color.stroke_width(3),
            ))?;
            draw_marker(area, marker, (x + 14, mid), color)?;
        }
        Mark::Dashed(marker) => {
            for (a, b) in [(0, 7), (11, 17), (21, 28)] {
                area.draw(&PathElement::new(
                    vec![(x + a, mid), (x + b, mid)],
                    color.stroke_width(3),
                ))?;
            }
            draw_marker(area, marker, (x + 14, mid), color)?;
        }
        Mark::Block => {
            area.draw(&Rectangle::new(
                [(x + 4, mid - 8), (x + 24, mid + 8)],
                color.filled(),
            ))?;
        }
        Mark::Band => {
            area.draw(&Rectangle::new(
                [(x, mid - 7), (x + 28, mid + 7)],
                color.mix(0.25).filled(),
            ))?;
        }
        Mark::Point(marker) => draw_marker(area, marker, (x + 14, mid), color)?,
    }
    Ok(())
}

/// Draws a marker at a pixel position of `area`.
pub fn draw_marker<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    marker: Marker,
    at: (i32, i32),
    color: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let screen = area.strip_coord_spec();
    let base = area.get_base_pixel();
    let at = (at.0 - base.0, at.1 - base.1);
    match marker {
        Marker::Circle => screen.draw(&Circle::new(at, 5, color.filled()))?,
        Marker::Triangle => screen.draw(&TriangleMarker::new(at, 7, color.filled()))?,
        Marker::Square => screen.draw(&Rectangle::new(
            [(at.0 - 5, at.1 - 5), (at.0 + 5, at.1 + 5)],
            color.filled(),
        ))?,
        Marker::Ring => screen.draw(&Circle::new(at, 9, color.stroke_width(3)))?,
        Marker::Diamond => screen.draw(&PathElement::new(
            vec![
                (at.0, at.1 - 12),
                (at.0 + 12, at.1),
                (at.0, at.1 + 12),
                (at.0 - 12, at.1),
                (at.0, at.1 - 12),
            ],
            color.stroke_width(3),
        ))?,
        Marker::None => {}
    }
    Ok(())
}

/// Height in pixels of a line of `style`.
pub fn text_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    style: &TextStyle,
) -> DrawResult<i32>
where
    DB::ErrorType: 'static,
{
    Ok(area.estimate_text_size("Hg", style)?.1 as i32)
}

/// Splits `text` into lines no wider than `max_width` pixels, breaking at spaces.
pub fn wrap<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    style: &TextStyle,
    max_width: i32,
) -> DrawResult<Vec<String>>
where
    DB::ErrorType: 'static,
{
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && area.estimate_text_size(&candidate, style)?.0 as i32 > max_width
            {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    Ok(lines)
}
