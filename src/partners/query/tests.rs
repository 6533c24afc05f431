//! Tests of `query`.

use super::*;

#[test]
fn a_missing_table_is_read_from_the_planning_error() {
    use datafusion::common::Diagnostic;
    let plan = DataFusionError::Plan("table 'datafusion.public.offences' not found".into());
    // As the SQL planner returns it: with a diagnostic for the user.
    let error = plan.with_diagnostic(Diagnostic::new_error("table 'offences' not found", None));
    assert_eq!(missing_table(&error), Some("offences"));
    let column = DataFusionError::Plan("column 'offences' not found".into());
    assert_eq!(missing_table(&column), None);
    let text = DataFusionError::Execution("table 'offences' not found".into());
    assert_eq!(missing_table(&text), None, "only a planning error says so");
}

#[test]
fn formats_parse_and_print() {
    for name in ["table", "csv", "json", "parquet"] {
        let format: Format = name.parse().unwrap();
        assert_eq!(format.to_string(), name);
    }
    assert!("xml".parse::<Format>().unwrap_err().contains("xml"));
}

#[test]
fn long_statements_are_shortened_to_one_line() {
    let text = format!("CREATE VIEW v AS\n  SELECT {}", "x, ".repeat(40));
    let short = shorten(&text);
    assert!(short.starts_with("CREATE VIEW v AS SELECT x"));
    assert!(short.ends_with('…'));
}
