//! Tests of `funding`.

use super::*;

fn area(name: &str, population: f64, crimes: f64, harm: f64) -> AreaInput {
    AreaInput {
        area: name.to_owned(),
        population,
        crimes,
        harm,
        current: None,
    }
}

/// A hand-worked example: a pot of £100,000 with the default weights.
///
/// | area | population | crimes | rate per 1,000 | harm |
/// | --- | --- | --- | --- | --- |
/// | North | 100,000 | 5,000 | 50 | 30,000 |
/// | South | 50,000 | 3,000 | 60 | 10,000 |
/// | West | 50,000 | 1,000 | 20 | 10,000 |
/// | total | 200,000 | | 130 | 50,000 |
///
/// Harm (65%, £65,000): North 30/50 → £39,000; South and West 10/50 → £13,000 each.
/// Rate (20%, £20,000): North 50/130 → £7,692.307…; South 60/130 → £9,230.769…;
/// West 20/130 → £3,076.923….
/// Population (15%, £15,000): North ½ → £7,500; South and West ¼ → £3,750 each.
/// Totals: North £54,192.31 (7,692.31 rounded down from .3077), South £25,980.77 (.7692
/// up), West £19,826.92 (.9231 down). Rounded sum: 54,192.31 + 25,980.77 + 19,826.92 =
/// 100,000.00: no adjustment.
#[test]
fn a_hand_worked_allocation() {
    let areas = [
        area("North", 100_000.0, 5_000.0, 30_000.0),
        area("South", 50_000.0, 3_000.0, 10_000.0),
        area("West", 50_000.0, 1_000.0, 10_000.0),
    ];
    let a = allocate(100_000.0, Weights::default(), &areas).unwrap();
    let row = |name: &str| a.areas.iter().find(|r| r.input.area == name).unwrap();
    assert_eq!(row("North").component_pence, [3_900_000, 769_231, 750_000]);
    assert_eq!(row("South").component_pence, [1_300_000, 923_077, 375_000]);
    assert_eq!(row("West").component_pence, [1_300_000, 307_692, 375_000]);
    assert_eq!(row("North").total_pence, 5_419_231);
    assert_eq!(row("South").total_pence, 2_598_077);
    assert_eq!(row("West").total_pence, 1_982_692);
    assert_eq!(a.rounded_sum_pence, 10_000_000);
    assert!(a.areas.iter().all(|r| r.adjustment_pence == 0));
    assert!((row("South").rate_per_1000 - 60.0).abs() < 1e-12);
    assert!(a.reconciliation().contains("no adjustment"));
}

/// Three equal areas sharing £100: each area's components are £21.666… (harm), £6.666…
/// (rate) and £5 (population), rounded half-up to £21.67, £6.67 and £5.00, so each area's
/// rounded total is £33.34 and the sum £100.02, 2p over the pot. All three gained the same
/// in rounding (0.667p), so the tie goes by name: A and B give a penny back.
///
/// Two areas sharing 1p: every component rounds to 0p, the sum is 1p short, and A (first
/// by name among equal remainders) gets it.
#[test]
fn pennies_lost_in_rounding_are_assigned_by_largest_remainder() {
    let areas = [
        area("C", 10.0, 1.0, 1.0),
        area("A", 10.0, 1.0, 1.0),
        area("B", 10.0, 1.0, 1.0),
    ];
    let a = allocate(100.0, Weights::default(), &areas).unwrap();
    assert_eq!(a.areas[0].component_pence, [2_167, 667, 500]);
    assert_eq!(a.rounded_sum_pence, 10_002);
    let totals: Vec<i64> = a.areas.iter().map(|r| r.total_pence).collect();
    assert_eq!(totals, [3_333, 3_333, 3_334], "A and B give a penny back");
    let adjustments: Vec<i64> = a.areas.iter().map(|r| r.adjustment_pence).collect();
    assert_eq!(adjustments, [-1, -1, 0]);
    let text = a.reconciliation();
    assert!(
        text.contains("-2p") && text.contains("gained") && text.contains("A -1p, B -1p"),
        "{text}"
    );

    let areas = [area("B", 1.0, 1.0, 1.0), area("A", 1.0, 1.0, 1.0)];
    let a = allocate(0.01, Weights::default(), &areas).unwrap();
    assert_eq!(a.rounded_sum_pence, 0);
    let totals: Vec<i64> = a.areas.iter().map(|r| r.total_pence).collect();
    assert_eq!(totals, [1, 0]);
    assert!(a.reconciliation().contains("lost"));
}

#[test]
fn change_against_the_current_allocation() {
    let mut areas = vec![area("A", 10.0, 1.0, 1.0), area("B", 10.0, 1.0, 3.0)];
    areas[0].current = Some(400.0);
    areas[1].current = Some(0.0);
    let a = allocate(1_000.0, Weights::default(), &areas).unwrap();
    // A: harm 650 × 1/4 = 162.50, rate 200 × ½ = 100, population 150 × ½ = 75 → £337.50.
    assert_eq!(a.areas[0].total_pence, 33_750);
    assert_eq!(a.areas[0].change_pence(), Some(-6_250));
    assert!((a.areas[0].change_pct().unwrap() - -15.625).abs() < 1e-9);
    assert_eq!(a.areas[1].change_pct(), None, "no percentage of zero");
}

#[test]
fn weights_parse_check_and_shift() {
    let w = Weights::parse("rate=0.2, harm=0.65,population=0.15").unwrap();
    assert_eq!(w, Weights::default());
    for (text, needle) in [
        ("harm=0.7,rate=0.2,population=0.15", "sum to"),
        (
            "harm=0.65,rate=0.2,people=0.15",
            "unknown component `people`",
        ),
        ("harm=0.65,rate=0.35", "no weight for `population`"),
        ("harm=1.2,rate=-0.2,population=0", "between 0 and 1"),
        (
            "harm=lots,rate=0.2,population=0.15",
            "`lots` is not a number",
        ),
        ("harm=0.5,harm=0.35,rate=0.15", "given twice"),
        ("harm", "not name=number"),
    ] {
        let error = Weights::parse(text).unwrap_err().to_string();
        assert!(error.contains(needle), "{text}: {error}");
    }
    // Harm +10 points: 0.75; rate and population share 0.25 in the ratio 20:15.
    let up = w.shifted("harm", 0.10);
    assert!((up.harm - 0.75).abs() < 1e-12);
    assert!((up.rate - 0.25 * 20.0 / 35.0).abs() < 1e-12);
    assert!((up.population - 0.25 * 15.0 / 35.0).abs() < 1e-12);
    assert!(up.checked().is_ok());
    let down = w.shifted("population", -0.10);
    assert!((down.population - 0.05).abs() < 1e-12);
    assert!((down.harm + down.rate + down.population - 1.0).abs() < 1e-12);
}

#[test]
fn sensitivity_moves_each_weight_both_ways() {
    let areas = [
        area("North", 100_000.0, 5_000.0, 30_000.0),
        area("South", 50_000.0, 3_000.0, 10_000.0),
        area("West", 50_000.0, 1_000.0, 10_000.0),
    ];
    let rows = sensitivity(100_000.0, Weights::default(), &areas).unwrap();
    let labels: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "harm_plus10",
            "harm_minus10",
            "rate_plus10",
            "rate_minus10",
            "population_plus10",
            "population_minus10"
        ]
    );
    for (_, totals) in &rows {
        assert_eq!(totals.iter().sum::<i64>(), 10_000_000);
    }
    // More weight on harm favours North, which has 60% of the harm.
    assert!(rows[0].1[0] > 5_419_231 && rows[1].1[0] < 5_419_231);
    // Harm 0.75, rate 0.25×20/35, population 0.25×15/35: North =
    // 75,000×0.6 + 14,285.714…×50/130 + 10,714.285…×0.5 = 45,000 + 5,494.51 + 5,357.14.
    assert_eq!(rows[0].1[0], 4_500_000 + 549_451 + 535_714);
}

#[test]
fn bad_allocations_are_refused_with_reasons() {
    let good = [area("A", 10.0, 1.0, 1.0), area("B", 10.0, 1.0, 1.0)];
    for pot in [0.0, -5.0, f64::NAN] {
        assert!(matches!(
            allocate(pot, Weights::default(), &good),
            Err(FundingError::Pot(_))
        ));
    }
    let twice = [area("A", 10.0, 1.0, 1.0), area("A", 10.0, 1.0, 1.0)];
    assert!(matches!(
        allocate(10.0, Weights::default(), &twice),
        Err(FundingError::DuplicateArea(a)) if a == "A"
    ));
    let empty = [area("A", 0.0, 1.0, 1.0)];
    assert!(matches!(
        allocate(10.0, Weights::default(), &empty),
        Err(FundingError::NoPopulation(a)) if a == "A"
    ));
    let no_harm = [area("A", 10.0, 1.0, 0.0), area("B", 10.0, 1.0, 0.0)];
    let error = allocate(10.0, Weights::default(), &no_harm).unwrap_err();
    assert!(
        matches!(error, FundingError::ZeroComponent("harm")),
        "{error}"
    );
    // With weight 0 on harm, zero harm is fine.
    let weights = Weights::parse("harm=0,rate=0.5,population=0.5").unwrap();
    assert!(allocate(10.0, weights, &no_harm).is_ok());
    assert!(matches!(
        allocate(10.0, Weights::default(), &[]),
        Err(FundingError::NoAreas)
    ));
}

#[test]
fn amounts_as_spreadsheets_export_them() {
    assert_eq!(parse_amount("£1,234,567.89"), Some(1_234_567.89));
    assert_eq!(parse_amount(" 1 234 "), Some(1234.0));
    assert_eq!(parse_amount("12.5"), Some(12.5));
    assert_eq!(parse_amount(""), None);
    assert_eq!(parse_amount("n/a"), None);
    assert_eq!(money(123_456_789), "£1,234,567.89");
    assert_eq!(money(5), "£0.05");
}

#[test]
fn inputs_are_read_in_any_column_order_with_errors_naming_area_and_column() {
    let dir = std::env::temp_dir().join(format!("vrn-funding-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("areas.csv");
    std::fs::write(
        &path,
        "\u{feff}Harm,Area,Notes,Population,Crimes,Current\n\
         \"12,345.5\",North,x,\"100,000\",5000,\"£50,000.00\"\n\
         10000,South,,50000,3000,\n",
    )
    .unwrap();
    let areas = read_inputs(&path).unwrap();
    assert_eq!(areas.len(), 2);
    assert_eq!(areas[0].area, "North");
    assert_eq!(areas[0].harm, 12_345.5);
    assert_eq!(areas[0].population, 100_000.0);
    assert_eq!(areas[0].current, Some(50_000.0));
    assert_eq!(areas[1].current, None);
    std::fs::write(&path, "area,population,crimes,harm\nNorth,100,5,-1\n").unwrap();
    let error = read_inputs(&path).unwrap_err().to_string();
    assert!(
        error.contains("line 2")
            && error.contains("North")
            && error.contains("harm")
            && error.contains("negative"),
        "{error}"
    );
    std::fs::write(&path, "area,population,crimes,harm\nNorth,100,,1\n").unwrap();
    let error = read_inputs(&path).unwrap_err().to_string();
    assert!(
        error.contains("crimes") && error.contains("no value"),
        "{error}"
    );
    std::fs::write(&path, "area,population,harm\nNorth,100,1\n").unwrap();
    let error = read_inputs(&path).unwrap_err().to_string();
    assert!(error.contains("no column `crimes`"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
