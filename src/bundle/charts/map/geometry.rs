//! The map's geometry: quantile classes, rings in kilometres, clipping to the inset, and the
//! map's height.

use super::*;

/// Quantile class bounds of sorted `values`: `classes + 1` bounds from the minimum to the
/// maximum, duplicates removed (so fewer classes when many values tie, e.g. at zero).
pub fn class_breaks(sorted: &[f64], classes: usize) -> Vec<f64> {
    if sorted.is_empty() {
        return vec![0.0, 1.0];
    }
    let mut breaks = vec![sorted[0]];
    for k in 1..classes {
        let index = (k * sorted.len()).div_ceil(classes).saturating_sub(1);
        let value = sorted[index.min(sorted.len() - 1)];
        if value > *breaks.last().unwrap_or(&f64::NEG_INFINITY) {
            breaks.push(value);
        }
    }
    let max = sorted[sorted.len() - 1];
    if max > *breaks.last().unwrap_or(&f64::NEG_INFINITY) || breaks.len() == 1 {
        breaks.push(max.max(breaks[0] + 1e-9));
    }
    breaks
}

/// The class of `value`: the first class whose upper bound it does not exceed.
pub fn class_of(breaks: &[f64], value: f64) -> usize {
    let classes = breaks.len().saturating_sub(1).max(1);
    (1..breaks.len())
        .find(|&k| value <= breaks[k])
        .map_or(classes - 1, |k| k - 1)
}

/// The fill colour of class `k` of `n`: light (low) to dark (high) along viridis.
pub(super) fn class_color(k: usize, n: usize) -> RGBColor {
    if n <= 1 {
        return viridis(0.5);
    }
    viridis(1.0 - k as f64 / (n - 1) as f64 * 0.9)
}

pub(super) fn quantise((x, y): (f64, f64)) -> (i64, i64) {
    ((x * 1e6).round() as i64, (y * 1e6).round() as i64)
}

pub(super) fn shoelace(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum::<f64>()
        / 2.0
}

pub(super) fn mean(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len().max(1) as f64;
    let (x, y) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    (x / n, y / n)
}

/// Where projected coordinates land in a pixel rectangle, one scale for both axes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Transform {
    bounds: Bounds,
    pub(super) scale: f64,
    left: f64,
    top: f64,
}

impl Transform {
    /// Fits `bounds` centred in a `width` × `height` pixel box with `pad` pixels each side.
    pub(super) fn fit(bounds: Bounds, width: f64, height: f64, pad: f64) -> Transform {
        let (x0, y0, x1, y1) = bounds;
        let scale = ((width - 2.0 * pad) / (x1 - x0)).min((height - 2.0 * pad) / (y1 - y0));
        Transform {
            bounds,
            scale,
            left: (width - (x1 - x0) * scale) / 2.0,
            top: (height - (y1 - y0) * scale) / 2.0,
        }
    }

    pub(super) fn px(&self, (x, y): (f64, f64)) -> (i32, i32) {
        (
            (self.left + (x - self.bounds.0) * self.scale).round() as i32,
            (self.top + (self.bounds.3 - y) * self.scale).round() as i32,
        )
    }
}

/// Clips a closed ring to a rectangle (Sutherland-Hodgman). Hand-written: these fifteen
/// lines are all the inset needs, where a geometry crate would bring a whole boolean-ops
/// engine.
pub(super) fn clip(ring: &[(f64, f64)], (x0, y0, x1, y1): Bounds) -> Vec<(f64, f64)> {
    let edges: [ClipEdge; 4] = [
        (|p, v| p.0 >= v, true, x0),
        (|p, v| p.0 <= v, true, x1),
        (|p, v| p.1 >= v, false, y0),
        (|p, v| p.1 <= v, false, y1),
    ];
    let mut points = ring.to_vec();
    for (inside, vertical, v) in edges {
        let input = std::mem::take(&mut points);
        for (i, &b) in input.iter().enumerate() {
            let a = input[(i + input.len() - 1) % input.len()];
            let cross = |a: (f64, f64), b: (f64, f64)| {
                if vertical {
                    let t = (v - a.0) / (b.0 - a.0);
                    (v, a.1 + t * (b.1 - a.1))
                } else {
                    let t = (v - a.1) / (b.1 - a.1);
                    (a.0 + t * (b.0 - a.0), v)
                }
            };
            match (inside(a, v), inside(b, v)) {
                (true, true) => points.push(b),
                (true, false) => points.push(cross(a, b)),
                (false, true) => {
                    points.push(cross(a, b));
                    points.push(b);
                }
                (false, false) => {}
            }
        }
    }
    points
}

pub(super) fn contains((x0, y0, x1, y1): Bounds, (x, y): (f64, f64)) -> bool {
    x >= x0 && x <= x1 && y >= y0 && y <= y1
}

/// Pixel height the main map needs at the chart's width, for the figure's height.
pub(super) fn map_height(bounds: Bounds) -> u32 {
    let width = f64::from(crate::bundle::charts::WIDTH) - f64::from(LEGEND_WIDTH as u32) - 16.0;
    let (x0, y0, x1, y1) = bounds;
    (width * (y1 - y0) / (x1 - x0).max(1e-12))
        .round()
        .clamp(300.0, 900.0) as u32
}

/// The inset's extent: the hot spots with a margin, at least 4 km across, made square.
pub(super) fn inset_bounds(rings: &[Ring]) -> Option<Bounds> {
    let hot = rings
        .iter()
        .filter(|r| r.hotspot)
        .flat_map(|r| r.points.iter());
    let (x0, y0, x1, y1) = hot.fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
    );
    if !x0.is_finite() {
        return None;
    }
    let half = ((x1 - x0).max(y1 - y0) * 0.6).max(2.0 / KM_PER_DEGREE);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    Some((cx - half, cy - half, cx + half, cy + half))
}
