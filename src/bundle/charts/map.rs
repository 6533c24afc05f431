//! `hotspot_map`: a choropleth of LSOA serious-violence rates from the bundled boundaries, with
//! Getis-Ord Gi* hot spots outlined, district boundaries and names, class breaks in a legend
//! and a scale bar.
//!
//! Longitude and latitude are projected equirectangularly about the area's mean latitude
//! (x = longitude × cos(latitude₀)), which keeps shapes and the aspect ratio true to within a
//! fraction of a percent across a county; one unit of either axis is then one degree of
//! latitude (111.32 km).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::Frame;
use super::style::{self, GREY, INK, size, viridis};
use super::{ChartError, DrawResult, Figure, Inputs, Plot, boxed_label};

mod geometry;

pub use geometry::*;

/// Chart title.
pub const TITLE: &str = "Serious violence by neighbourhood (LSOA), with hot spots";

const LEGEND_WIDTH: i32 = 290;
const KM_PER_DEGREE: f64 = 111.32;
const CLASSES: usize = 5;
/// Hot-spot outlines: Okabe-Ito orange, which stands out on every viridis class.
const HOTSPOT: RGBColor = style::ORANGE;

/// One LSOA ring, projected.
#[derive(Debug, Clone)]
struct Ring {
    points: Vec<(f64, f64)>,
    class: usize,
    hotspot: bool,
    area: f64,
}

/// The map's geometry and classes.
#[derive(Debug, Clone)]
pub struct HotspotMap {
    rings: Vec<Ring>,
    district_edges: Vec<((f64, f64), (f64, f64))>,
    labels: Vec<(String, (f64, f64))>,
    /// Class bounds: `breaks[k]..=breaks[k + 1]`.
    breaks: Vec<f64>,
    bounds: (f64, f64, f64, f64),
    hotspots: usize,
}

/// A projected or geographic point.
type Point = (f64, f64);
/// An LSOA code with its outer rings.
type Shape = (String, Vec<Vec<Point>>);
/// An edge keyed by its quantised end points, lower first.
type EdgeKey = ((i64, i64), (i64, i64));
/// How many rings share an edge, their districts, and the edge's end points.
type EdgeUse = (usize, Vec<String>, Point, Point);
/// A clipping edge: inside test, whether it is vertical, and its coordinate.
type ClipEdge = (fn(Point, f64) -> bool, bool, f64);

struct Lsoa {
    district: String,
    rate: f64,
    hotspot: bool,
}

/// Builds the map from `lsoa_hotspots` and the boundaries.
pub fn build(inputs: &Inputs) -> Result<Result<Figure, String>, ChartError> {
    let table = inputs.table("lsoa_hotspots")?;
    let mut lsoas = BTreeMap::new();
    let mut offences = 0.0;
    for row in table.rows() {
        offences += row.count("offences")?;
        lsoas.insert(
            row.text("lsoa_code")?.to_owned(),
            Lsoa {
                district: row.text("district")?.to_owned(),
                rate: row.count("rate_per_1000_year")?,
                hotspot: row.flag("hotspot")?,
            },
        );
    }
    if offences == 0.0 {
        return Ok(Err("lsoa_hotspots has no offences in any LSOA".into()));
    }
    let Some((origin, text)) = &inputs.boundaries else {
        return Ok(Err("no LSOA boundaries were found".into()));
    };
    let shapes = read_boundaries(origin, text)?;
    let mut rates: Vec<f64> = lsoas.values().map(|l| l.rate).collect();
    rates.sort_by(f64::total_cmp);
    let breaks = class_breaks(&rates, CLASSES);

    let lat0 = {
        let (sum, n) = shapes
            .iter()
            .flat_map(|(_, rings)| rings.iter().flatten())
            .fold((0.0, 0.0), |(s, n), p| (s + p.1, n + 1.0));
        if n > 0.0 { sum / n } else { 0.0 }
    };
    let k = lat0.to_radians().cos();
    let mut rings = Vec::new();
    let mut edges: BTreeMap<EdgeKey, EdgeUse> = BTreeMap::new();
    let mut district_points: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for (code, outer_rings) in &shapes {
        let Some(lsoa) = lsoas.get(code) else {
            continue;
        };
        for ring in outer_rings {
            let points: Vec<(f64, f64)> = ring.iter().map(|&(lon, lat)| (lon * k, lat)).collect();
            let area = shoelace(&points).abs();
            let (cx, cy) = mean(&points);
            let entry = district_points
                .entry(lsoa.district.clone())
                .or_insert((0.0, 0.0, 0.0));
            *entry = (entry.0 + cx, entry.1 + cy, entry.2 + 1.0);
            for pair in points.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (ka, kb) = (quantise(a), quantise(b));
                let key = if ka <= kb { (ka, kb) } else { (kb, ka) };
                let e = edges.entry(key).or_insert((0, Vec::new(), a, b));
                e.0 += 1;
                e.1.push(lsoa.district.clone());
            }
            rings.push(Ring {
                points,
                class: class_of(&breaks, lsoa.rate),
                hotspot: lsoa.hotspot,
                area,
            });
        }
    }
    if rings.is_empty() {
        return Ok(Err(format!(
            "none of the LSOAs in lsoa_hotspots has a boundary in {origin} (for another area, \
             put its LSOA boundaries in <data>/reference/lsoa_boundaries.geojson)"
        )));
    }
    // Enclosing LSOAs first, so enclaves drawn later stay visible (rings have no holes here).
    rings.sort_by(|a, b| b.area.total_cmp(&a.area));
    // Edges between different districts, or on the area's edge, are district boundaries.
    let district_edges = edges
        .values()
        .filter(|(count, districts, _, _)| {
            *count == 1 || districts.iter().any(|d| *d != districts[0])
        })
        .map(|(_, _, a, b)| (*a, *b))
        .collect();
    let labels = district_points
        .into_iter()
        .map(|(name, (x, y, n))| (name, (x / n, y / n)))
        .collect();
    let bounds = rings.iter().flat_map(|r| r.points.iter()).fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(x0, y0, x1, y1), &(x, y)| (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
    );
    let hotspots = lsoas.values().filter(|l| l.hotspot).count();
    let map = HotspotMap {
        rings,
        district_edges,
        labels,
        breaks,
        bounds,
        hotspots,
    };
    let alt = format!(
        "Map of {} LSOAs shaded in {} classes of serious-violence offences per 1,000 residents \
         a year (light: {:.2} to {:.2}; dark: {:.2} to {:.2}), with district boundaries and names; {} \
         LSOAs identified as Gi* hot spots are outlined in orange; a black square marks the area enlarged in the inset.",
        lsoas.len(),
        map.breaks.len() - 1,
        map.breaks[0],
        map.breaks[1],
        map.breaks[map.breaks.len() - 2],
        map.breaks[map.breaks.len() - 1],
        hotspots
    );
    Ok(Ok(Figure {
        name: "hotspot_map",
        frame: Frame {
            title: TITLE.into(),
            subtitle: format!(
                "{}; offences per 1,000 residents a year by LSOA; hot spots by Getis-Ord Gi*",
                inputs.period
            ),
            legend: Vec::new(),
            caption: inputs.police_caption(&format!(
                "Classes are quintiles of the LSOA rates; rates are per resident, so city-centre \
                 rates reflect footfall, not residents. Hot spot: Gi* z > 0 on offence counts, \
                 its permutation p-value significant at 5% after Benjamini-Hochberg control \
                 across LSOAs (tables lsoa_hotspots, hotspot_clusters); the black square on \
                 the map is the inset. Boundaries: {origin} (ONS LSOA 2021, generalised; Open \
                 Government Licence v3.0, contains OS data © Crown copyright and database \
                 right)."
            )),
        },
        alt,
        tables: vec!["lsoa_hotspots"],
        height: 180 + map_height(map.bounds).max(590),
        plot: Plot::Map(map),
    }))
}

/// Reads (LSOA code, outer rings as (lon, lat)) from GeoJSON with an `lsoa_code` property.
fn read_boundaries(origin: &str, text: &str) -> Result<Vec<Shape>, ChartError> {
    let features = crate::sources::import::place::read_features(origin, text)?;
    Ok(features
        .into_iter()
        .map(|(code, shape)| {
            let rings = shape
                .0
                .iter()
                .map(|polygon| polygon.exterior().coords().map(|c| (c.x, c.y)).collect())
                .collect();
            (code, rings)
        })
        .collect())
}

/// A rectangle of projected coordinates: (x0, y0, x1, y1).
type Bounds = (f64, f64, f64, f64);

impl HotspotMap {
    /// Draws the map, a zoomed inset of the hot spots, and the legend.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (width, height) = area.dim_in_pixel();
        let (map_area, side) = area.split_horizontally(width as i32 - LEGEND_WIDTH);
        let (mw, mh) = map_area.dim_in_pixel();
        let main = Transform::fit(self.bounds, f64::from(mw), f64::from(mh), 10.0);
        let inset = inset_bounds(&self.rings);
        self.draw_layer(&map_area, &main, None, 2)?;
        if let Some(b) = inset {
            let (a, c) = (main.px((b.0, b.3)), main.px((b.2, b.1)));
            map_area.draw(&Rectangle::new([a, c], RGBColor(0, 0, 0).stroke_width(2)))?;
        }
        self.draw_labels(&map_area, &main)?;

        let legend_bottom = self.draw_legend(&side, &main)?;
        if let Some(b) = inset {
            let (sw, _) = side.dim_in_pixel();
            let top = legend_bottom + 14;
            let size_px = (i32::try_from(sw).unwrap_or(0) - 16).min(height as i32 - top - 8);
            if size_px > 80 {
                let frame = side.margin(top, 0, 8, 0);
                let box_area = frame
                    .clone()
                    .shrink((0, 24), (size_px as u32, size_px as u32));
                frame.draw(&Text::new(
                    "Inset: the hot spots",
                    (0, 0),
                    style::bold(size::LABEL - 1.0, INK),
                ))?;
                let t =
                    Transform::fit(b, f64::from(size_px as u32), f64::from(size_px as u32), 0.0);
                self.draw_layer(&box_area, &t, Some(b), 3)?;
                box_area.draw(&Rectangle::new(
                    [(0, 0), (size_px - 1, size_px - 1)],
                    RGBColor(0, 0, 0).stroke_width(2),
                ))?;
            }
        }
        Ok(())
    }

    /// Fills, district boundaries and hot-spot outlines, clipped to `clip_to` when given.
    fn draw_layer<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        t: &Transform,
        clip_to: Option<Bounds>,
        hot_width: u32,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let classes = self.breaks.len() - 1;
        for ring in &self.rings {
            let points = match clip_to {
                Some(b) => clip(&ring.points, b),
                None => ring.points.clone(),
            };
            if points.len() < 3 {
                continue;
            }
            let pixels: Vec<(i32, i32)> = points.iter().map(|&p| t.px(p)).collect();
            area.draw(&Polygon::new(
                pixels.clone(),
                class_color(ring.class, classes).filled(),
            ))?;
            let mut outline = pixels;
            outline.push(outline[0]);
            area.draw(&PathElement::new(outline, WHITE.mix(0.35).stroke_width(1)))?;
        }
        let keep =
            |a: (f64, f64), b: (f64, f64)| clip_to.is_none_or(|c| contains(c, a) && contains(c, b));
        for &(a, b) in &self.district_edges {
            if keep(a, b) {
                area.draw(&PathElement::new(
                    vec![t.px(a), t.px(b)],
                    INK.stroke_width(2),
                ))?;
            }
        }
        for ring in self.rings.iter().filter(|r| r.hotspot) {
            for pair in ring.points.windows(2) {
                if keep(pair[0], pair[1]) {
                    area.draw(&PathElement::new(
                        vec![t.px(pair[0]), t.px(pair[1])],
                        HOTSPOT.stroke_width(hot_width),
                    ))?;
                }
            }
        }
        Ok(())
    }

    fn draw_labels<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        t: &Transform,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let label = style::bold(size::LABEL - 1.0, INK);
        let (aw, _) = area.dim_in_pixel();
        let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
        for (name, at) in &self.labels {
            let (w, h) = area.estimate_text_size(name, &label)?;
            let (w, h) = (w as i32 + 6, h as i32 + 4);
            let (mut cx, mut cy) = t.px(*at);
            cx = cx.clamp(w / 2 + 2, aw as i32 - w / 2 - 2);
            while placed.iter().any(|&(a, b, c, d)| {
                cx - w / 2 < c && cx + w / 2 > a && cy - h / 2 < d && cy + h / 2 > b
            }) {
                cy += h;
            }
            placed.push((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2));
            boxed_label(area, name, (cx, cy), &label)?;
        }
        Ok(())
    }

    /// The legend: classes, hot-spot outline, district boundary, scale bar. Returns its bottom.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        legend: &DrawingArea<DB, Shift>,
        main: &Transform,
    ) -> DrawResult<i32>
    where
        DB::ErrorType: 'static,
    {
        let classes = self.breaks.len() - 1;
        let text = style::text(size::LABEL, INK);
        let centred = |s: &TextStyle<'static>| s.clone().pos(Pos::new(HPos::Left, VPos::Center));
        let mut y = 4;
        legend.draw(&Text::new(
            "Offences per 1,000 residents a year",
            (8, y),
            style::bold(size::LABEL - 1.0, INK),
        ))?;
        y += 26;
        for k in (0..classes).rev() {
            legend.draw(&Rectangle::new(
                [(8, y), (36, y + 20)],
                class_color(k, classes).filled(),
            ))?;
            legend.draw(&Rectangle::new(
                [(8, y), (36, y + 20)],
                GREY.stroke_width(1),
            ))?;
            legend.draw(&Text::new(
                format!("{:.2} – {:.2}", self.breaks[k], self.breaks[k + 1]),
                (44, y + 10),
                centred(&text),
            ))?;
            y += 26;
        }
        y += 6;
        legend.draw(&Rectangle::new(
            [(8, y), (36, y + 20)],
            class_color(classes - 1, classes).filled(),
        ))?;
        legend.draw(&PathElement::new(
            vec![(8, y), (36, y), (36, y + 20), (8, y + 20), (8, y)],
            HOTSPOT.stroke_width(3),
        ))?;
        legend.draw(&Text::new(
            format!("Gi* hot spot ({} LSOAs)", self.hotspots),
            (44, y + 10),
            centred(&text),
        ))?;
        y += 28;
        legend.draw(&PathElement::new(
            vec![(8, y + 10), (36, y + 10)],
            INK.stroke_width(2),
        ))?;
        legend.draw(&Text::new(
            "District boundary",
            (44, y + 10),
            centred(&text),
        ))?;
        y += 32;
        let (x0, _, x1, _) = self.bounds;
        let km = if (x1 - x0) * KM_PER_DEGREE > 60.0 {
            10.0
        } else {
            5.0
        };
        let bar = (km / KM_PER_DEGREE * main.scale).round() as i32;
        legend.draw(&Rectangle::new([(8, y), (8 + bar, y + 7)], INK.filled()))?;
        legend.draw(&Text::new(
            format!("{km:.0} km (main map); north is up"),
            (8, y + 11),
            style::text(size::LABEL - 2.0, GREY),
        ))?;
        Ok(y + 30)
    }
}

#[cfg(test)]
mod tests;
