//! Tests of `map`.

use super::*;

#[test]
fn clipping_keeps_the_part_inside() {
    let square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
    let clipped = clip(&square, (1.0, 1.0, 3.0, 3.0));
    assert_eq!(
        shoelace(&[clipped.clone(), vec![clipped[0]]].concat()).abs(),
        1.0
    );
    assert!(clip(&square, (5.0, 5.0, 6.0, 6.0)).is_empty());
}

#[test]
fn quintile_breaks_and_classes() {
    let values: Vec<f64> = (1..=10).map(f64::from).collect();
    let breaks = class_breaks(&values, 5);
    assert_eq!(breaks, vec![1.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    assert_eq!(class_of(&breaks, 1.0), 0);
    assert_eq!(class_of(&breaks, 2.0), 0);
    assert_eq!(class_of(&breaks, 3.0), 1);
    assert_eq!(class_of(&breaks, 10.0), 4);
}

#[test]
fn tied_values_give_fewer_classes() {
    let values = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0];
    let breaks = class_breaks(&values, 5);
    assert_eq!(breaks, vec![0.0, 1.0, 3.0]);
    assert_eq!(class_of(&breaks, 0.0), 0);
    assert_eq!(class_of(&breaks, 2.0), 1);
    assert_eq!(class_breaks(&[2.0, 2.0], 5).len(), 2);
}

#[test]
fn reads_polygons_and_names_bad_features() {
    let text = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"lsoa_code":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
    let shapes = read_boundaries("b.geojson", text).unwrap();
    assert_eq!(shapes[0].0, "A");
    assert_eq!(shapes[0].1[0].len(), 4);
    let bad = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
    let e = read_boundaries("b.geojson", bad).unwrap_err().to_string();
    assert!(e.contains("b.geojson") && e.contains("lsoa_code"), "{e}");
}
