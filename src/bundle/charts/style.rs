//! The look shared by every chart: the bundled font, text sizes and a colour-blind-safe
//! palette (Okabe & Ito 2008, and viridis for continuous scales).

use std::sync::Once;

use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use plotters::style::text_anchor::Pos;
use plotters::style::{Color as _, FontStyle, IntoFont as _, RGBColor, TextStyle};

/// Font family name given to plotters. Glyphs come from the bundled DejaVu Sans
/// (`assets/fonts`, free licence in `LICENSE_DEJAVU`), registered under this name so PNGs never
/// depend on system fonts; SVG viewers get the same name as a CSS font list with a fallback.
pub const FONT: &str = "DejaVu Sans, sans-serif";

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

/// Registers the bundled font with plotters (once per process).
pub fn register_fonts() {
    REGISTER.call_once(|| {
        // Both files are compiled in and known to parse; a failure would be a packaging bug
        // caught by every chart test, so it is ignored here rather than threaded through.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, REGULAR);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, BOLD);
    });
}

/// Text sizes in plotters units (pixels × 1.24).
pub mod size {
    /// Chart title.
    pub const TITLE: f64 = 26.0;
    /// Subtitle under the title.
    pub const SUBTITLE: f64 = 19.0;
    /// Axis descriptions.
    pub const AXIS: f64 = 18.0;
    /// Tick labels, legends and annotations.
    pub const LABEL: f64 = 17.0;
    /// The caption at the foot of the chart.
    pub const CAPTION: f64 = 16.0;
}

/// Black text.
pub const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
/// Grey for secondary text, grid lines and reference lines.
pub const GREY: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
/// Light grey for shading (lockdowns) and outlines.
pub const LIGHT: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// Okabe-Ito orange.
pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// Okabe-Ito sky blue.
pub const SKY_BLUE: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
/// Okabe-Ito bluish green.
pub const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// Okabe-Ito blue.
pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Okabe-Ito vermillion.
pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Okabe-Ito reddish purple.
pub const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);

/// Okabe-Ito colours in the order categories take them (yellow left out: too pale on white).
pub const CATEGORICAL: [RGBColor; 6] = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY_BLUE];

/// A colour of the viridis scale, `t` from 0 (dark purple) to 1 (yellow).
pub fn viridis(t: f64) -> RGBColor {
    ViridisRGB.get_color(t.clamp(0.0, 1.0) as f32)
}

/// A text style of the bundled font.
pub fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    register_fonts();
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::default(),
    }
}

/// A bold text style of the bundled font.
pub fn bold(size: f64, color: RGBColor) -> TextStyle<'static> {
    register_fonts();
    TextStyle {
        font: (FONT, size, FontStyle::Bold).into_font(),
        color: color.to_backend_color(),
        pos: Pos::default(),
    }
}
