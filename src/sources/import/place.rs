//! Where a point is: the 2021 LSOA whose boundary holds it, and its British National Grid
//! easting and northing.
//!
//! LSOAs are found by point-in-polygon with the `geo` crate over an R-tree of their bounding
//! boxes (`rstar`), so each point is tested against the few polygons whose box holds it. A
//! point on the boundary of two LSOAs goes to the lower code, so the result does not depend
//! on the order of the features.
//!
//! Grid references come from longitude and latitude (WGS84) by `proj4rs`: the seven-parameter
//! Helmert transformation from WGS84 to OSGB36 followed by the Transverse Mercator projection
//! of the National Grid (EPSG:27700 as PROJ.4 writes it). Ordnance Survey gives the Helmert
//! approximation's accuracy as about 5 metres horizontally (OS, *A guide to coordinate systems
//! in Great Britain*, section 6.6), against under 0.1 m for OSTN15, whose grid this crate does
//! not carry. Police.uk points are themselves snapped to map points up to a few hundred
//! metres away, so the approximation is far below the data's own precision.

use geo::{BoundingRect, Coord, Intersects, MultiPolygon, Point};
use proj4rs::proj::Proj;
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

/// Boundaries that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// The file is not GeoJSON.
    #[error("{source_name}: not GeoJSON")]
    Json {
        /// The boundary file.
        source_name: String,
        /// The parser's error.
        #[source]
        source: geojson::Error,
    },
    /// The GeoJSON is not LSOA polygons.
    #[error("{source_name}: {message}")]
    Invalid {
        /// The boundary file.
        source_name: String,
        /// What is wrong, naming the feature.
        message: String,
    },
}

/// The coordinates the boundaries are drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// Longitude and latitude, WGS84 (GeoJSON's own).
    LonLat,
    /// British National Grid metres (as some ONS downloads are).
    Grid,
}

/// LSOA boundaries, indexed for point lookups.
pub struct Lsoas {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    shapes: Vec<(String, MultiPolygon<f64>)>,
    crs: Crs,
}

impl Lsoas {
    /// Reads a GeoJSON FeatureCollection of LSOA polygons ([`read_features`]). Coordinates
    /// in the hundreds of thousands are taken as British National Grid.
    pub fn from_geojson(source_name: &str, text: &str) -> Result<Lsoas, BoundaryError> {
        let error = |message: String| BoundaryError::Invalid {
            source_name: source_name.to_owned(),
            message,
        };
        let mut shapes = read_features(source_name, text)?;
        if shapes.is_empty() {
            return Err(error("no features".into()));
        }
        // The lower code first, so a point on a shared boundary goes to it.
        shapes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut boxes = Vec::with_capacity(shapes.len());
        let mut crs = Crs::LonLat;
        for (i, (code, shape)) in shapes.iter().enumerate() {
            let rect = shape
                .bounding_rect()
                .ok_or_else(|| error(format!("{code} has an empty geometry")))?;
            if rect.max().x.abs() > 180.0 || rect.max().y.abs() > 90.0 {
                crs = Crs::Grid;
            }
            boxes.push(GeomWithData::new(
                Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]),
                i,
            ));
        }
        Ok(Lsoas {
            tree: RTree::bulk_load(boxes),
            shapes,
            crs,
        })
    }

    /// The coordinates the boundaries use.
    pub fn crs(&self) -> Crs {
        self.crs
    }

    /// The number of LSOAs.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether there are none (never, once read).
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// The LSOA holding the point `(x, y)` in the boundaries' coordinates, if any.
    pub fn locate(&self, x: f64, y: f64) -> Option<&str> {
        let point = Point(Coord { x, y });
        self.tree
            .locate_all_at_point(&[x, y])
            .map(|candidate| candidate.data)
            .filter(|&i| self.shapes[i].1.intersects(&point))
            .min()
            .map(|i| self.shapes[i].0.as_str())
    }
}

/// The features of a GeoJSON FeatureCollection of LSOA polygons, each with its code (property
/// `lsoa_code`, or `LSOA21CD` as ONS names it), in file order. Used by the import's
/// point-in-polygon and by the hot-spot map.
pub fn read_features(
    source_name: &str,
    text: &str,
) -> Result<Vec<(String, MultiPolygon<f64>)>, BoundaryError> {
    let error = |message: String| BoundaryError::Invalid {
        source_name: source_name.to_owned(),
        message,
    };
    let geojson: geojson::GeoJson =
        text.parse()
            .map_err(|source: geojson::Error| BoundaryError::Json {
                source_name: source_name.to_owned(),
                source,
            })?;
    let geojson::GeoJson::FeatureCollection(collection) = geojson else {
        return Err(error("not a GeoJSON FeatureCollection".into()));
    };
    let mut shapes = Vec::new();
    for (i, feature) in collection.features.iter().enumerate() {
        let code = ["lsoa_code", "LSOA21CD"]
            .iter()
            .find_map(|key| feature.property(key).and_then(|v| v.as_str()))
            .ok_or_else(|| {
                error(format!(
                    "feature {i} has no string property `lsoa_code` or `LSOA21CD`"
                ))
            })?;
        let value = feature
            .geometry
            .as_ref()
            .map(|g| &g.value)
            .ok_or_else(|| error(format!("feature {i} ({code}) has no geometry")))?;
        let shape: MultiPolygon<f64> = match value {
            geojson::GeometryValue::Polygon { .. } => MultiPolygon(vec![
                geo::Polygon::try_from(value)
                    .map_err(|e| error(format!("feature {i} ({code}): {e}")))?,
            ]),
            geojson::GeometryValue::MultiPolygon { .. } => MultiPolygon::try_from(value)
                .map_err(|e| error(format!("feature {i} ({code}): {e}")))?,
            _ => {
                return Err(error(format!(
                    "feature {i} ({code}) is not a Polygon or MultiPolygon"
                )));
            }
        };
        shapes.push((code.to_owned(), shape));
    }
    Ok(shapes)
}

/// Longitude and latitude to British National Grid.
pub struct Grid {
    wgs84: Proj,
    bng: Proj,
}

/// EPSG:27700 with the OS seven-parameter Helmert shift from WGS84.
const BNG: &str = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 \
                   +ellps=airy +towgs84=446.448,-125.157,542.06,0.15,0.247,0.842,-20.489 \
                   +units=m +no_defs +type=crs";
const WGS84: &str = "+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs +type=crs";

impl Grid {
    /// The transformation.
    pub fn new() -> Grid {
        Grid {
            wgs84: Proj::from_proj_string(WGS84).expect("the WGS84 definition is valid"),
            bng: Proj::from_proj_string(BNG).expect("the EPSG:27700 definition is valid"),
        }
    }

    /// Easting and northing in metres of a longitude and latitude in degrees; `None` outside
    /// the valid range of the inputs.
    pub fn grid_reference(&self, longitude: f64, latitude: f64) -> Option<(f64, f64)> {
        if !(-180.0..=180.0).contains(&longitude) || !(-90.0..=90.0).contains(&latitude) {
            return None;
        }
        let mut point = (longitude.to_radians(), latitude.to_radians(), 0.0);
        proj4rs::transform::transform(&self.wgs84, &self.bng, &mut point).ok()?;
        (point.0.is_finite() && point.1.is_finite()).then_some((point.0, point.1))
    }
}

impl Default for Grid {
    fn default() -> Self {
        Grid::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The centroids of `data/reference/lsoa.csv`: code, longitude, latitude, easting,
    /// northing (ONS, computed with OSTN15).
    fn centroids() -> Vec<(String, f64, f64, f64, f64)> {
        let mut reader = csv::Reader::from_reader(crate::sources::reference::LSOA_CSV.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (code, lon, lat, e, n) = (
            at("lsoa_code"),
            at("longitude"),
            at("latitude"),
            at("easting"),
            at("northing"),
        );
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                let num = |i: usize| r[i].parse::<f64>().unwrap();
                (r[code].to_owned(), num(lon), num(lat), num(e), num(n))
            })
            .collect()
    }

    #[test]
    fn grid_references_agree_with_ons_within_the_helmert_accuracy() {
        let grid = Grid::new();
        let mut worst: f64 = 0.0;
        for (_, lon, lat, e, n) in centroids() {
            let (x, y) = grid.grid_reference(lon, lat).unwrap();
            worst = worst.max(((x - e).powi(2) + (y - n).powi(2)).sqrt());
        }
        // OS: about 5 m for the Helmert approximation; the ONS values are rounded to 1 m.
        assert!(worst < 7.0, "worst difference {worst} m");
        assert!(grid.grid_reference(200.0, 52.0).is_none());
    }

    #[test]
    fn points_are_placed_in_the_lsoa_whose_boundary_holds_them() {
        let lsoas = Lsoas::from_geojson(
            "bundled",
            crate::sources::reference::LSOA_BOUNDARIES_GEOJSON,
        )
        .unwrap();
        assert_eq!(lsoas.len(), 634);
        assert_eq!(lsoas.crs(), Crs::LonLat);
        let centroids = centroids();
        let inside = centroids
            .iter()
            .filter(|(code, lon, lat, _, _)| lsoas.locate(*lon, *lat) == Some(code.as_str()))
            .count();
        // Population-weighted centroids lie inside their LSOA but for odd shapes.
        assert!(
            inside * 100 >= centroids.len() * 98,
            "{inside} of {}",
            centroids.len()
        );
        // London is not in Leicestershire.
        assert_eq!(lsoas.locate(-0.1276, 51.5072), None);
    }

    #[test]
    fn a_shared_edge_goes_to_the_lower_code_and_bad_files_are_named() {
        let square = |code: &str, x0: f64| {
            format!(
                r#"{{"type":"Feature","properties":{{"LSOA21CD":"{code}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},0],[{x1},0],[{x1},1],[{x0},1],[{x0},0]]]}}}}"#,
                x1 = x0 + 1.0
            )
        };
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            square("E2", 1.0),
            square("E1", 0.0)
        );
        let lsoas = Lsoas::from_geojson("t", &text).unwrap();
        assert_eq!(lsoas.locate(1.0, 0.5), Some("E1"));
        assert_eq!(lsoas.locate(1.5, 0.5), Some("E2"));
        assert_eq!(lsoas.locate(2.5, 0.5), None);
        let err = Lsoas::from_geojson("t.geojson", r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":null}]}"#)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "t.geojson: feature 0 has no string property `lsoa_code` or `LSOA21CD`"
        );
    }
}
