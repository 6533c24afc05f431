//! `sna run` on the hand-made extract of `fixture.rs`: every headline measure and a sample of
//! rows of every other table, worked out by hand (see the tables in fixture.rs).
//!
//! Counts are exact; statistics are compared to 1e-9 with values computed independently: Byar
//! and Wilson from their closed forms below, exact Poisson limits from SciPy
//! (`chi2.ppf(0.025, 2x) / 2`, `chi2.ppf(0.975, 2x + 2) / 2`), Gi* from PySAL's formula.

use std::collections::HashMap;
use std::path::Path;

use crate::{Table, assert_success, close, count, fixture, num, sna, workdir};

const Z: f64 = 1.959963984540054;
/// Per-year rates of the fixture's period, calendar 2021 (365 days) with population year 2020
/// throughout: the rate over the period × 365.25/365 (person-years = residents × 365/365.25).
const A_YEAR: f64 = 365.25 / 365.0;

fn wilson(x: f64, n: f64) -> (f64, f64) {
    let centre = 2.0 * x + Z * Z;
    let spread = Z * (Z * Z + 4.0 * x * (1.0 - x / n)).sqrt();
    let denominator = 2.0 * (n + Z * Z);
    (
        100.0 * (centre - spread) / denominator,
        100.0 * (centre + spread) / denominator,
    )
}

fn byar(x: f64) -> (f64, f64) {
    let lower = x * (1.0 - 1.0 / (9.0 * x) - Z / (3.0 * x.sqrt())).powi(3);
    let x1 = x + 1.0;
    let upper = x1 * (1.0 - 1.0 / (9.0 * x1) + Z / (3.0 * x1.sqrt())).powi(3);
    (lower, upper)
}

fn ratio_limits(ratio: f64, a: f64, b: f64) -> (f64, f64) {
    let spread = Z * (1.0 / a + 1.0 / b).sqrt();
    ((ratio.ln() - spread).exp(), (ratio.ln() + spread).exp())
}

fn harm_days(code: &str) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference/offence_codes.csv");
    let table = Table::read(&path);
    num(table.row(&[("offence_code", code)]), "harm_days")
}

/// Asserts a measure's value, numerator, denominator and limits.
fn measure(
    headline: &Table,
    id: &str,
    value: f64,
    numerator: i64,
    denominator: Option<i64>,
    limits: Option<(f64, f64)>,
) -> HashMap<String, String> {
    let row = headline.row(&[("measure", id)]);
    close(row, "value", value);
    count(row, "numerator", numerator);
    match denominator {
        Some(d) => count(row, "denominator", d),
        None => assert_eq!(row["denominator"], "", "{id} denominator"),
    }
    match limits {
        Some((lower, upper)) => {
            close(row, "lower_95", lower);
            close(row, "upper_95", upper);
        }
        None => assert_eq!(
            (row["lower_95"].as_str(), row["upper_95"].as_str()),
            ("", ""),
            "{id}"
        ),
    }
    assert!(!row["definition"].is_empty(), "{id} has a definition");
    row.clone()
}

/// Runs the assessment on the fixture; the bundle is `<workdir>/bundle`.
fn run_fixture(name: &str) -> crate::Workdir {
    let dir = workdir(name);
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    let output = sna(&dir, &["run", "--out", "bundle", "--quiet"]);
    assert_success(&output);
    dir
}

#[test]
fn headline_measures_match_hand_worked_values() {
    let dir = run_fixture("headline");
    let bundle = dir.join("bundle");
    let h = Table::read(&bundle.join("tables/headline.csv"));
    assert_eq!(h.rows.len(), 16, "all 16 measures");

    // 8 serious-violence offences (C01-C08) among 4,000 residents (population year 2020) over
    // calendar 2021: 4,000 × 365/365.25 person-years, so 8 / 3,997.26 × 1,000 = 2.0014 a year.
    measure(&h, "sv_offences", 8.0, 8, None, Some(byar(8.0)));
    measure(
        &h,
        "sv_rate_per_1000_year",
        2.0 * A_YEAR,
        8,
        Some(4000),
        Some((0.8634580441871254 * A_YEAR, 3.940797305048328 * A_YEAR)),
    );
    // 7 distinct victims (V1-V7), of whom 6 live in the area (V5 has no home recorded); 4
    // distinct offenders (O1-O4), all living in the area.
    measure(
        &h,
        "victim_prevalence_pct",
        0.15,
        6,
        Some(4000),
        Some(wilson(6.0, 4000.0)),
    );
    measure(
        &h,
        "offender_prevalence_pct",
        0.1,
        4,
        Some(4000),
        Some(wilson(4.0, 4000.0)),
    );
    // Victims with F/M: V1 M, V2 F, V3 M, V4 M, V5 M, V7 F (V6 is U): 4 of 6 male.
    measure(
        &h,
        "victims_male_pct",
        400.0 / 6.0,
        4,
        Some(6),
        Some(wilson(4.0, 6.0)),
    );
    // Offenders: O1, O2, O4 M; O3 F.
    measure(
        &h,
        "offenders_male_pct",
        75.0,
        3,
        Some(4),
        Some(wilson(3.0, 4.0)),
    );
    // Offenders under 25 on first offence: O1 (16), O3 (24); 25+: O2 (35), O4 (40).
    // (2 / 800) / (2 / 3200) = 4.
    measure(
        &h,
        "offender_rate_ratio_u25",
        4.0,
        2,
        Some(2),
        Some(ratio_limits(4.0, 2.0, 2.0)),
    );
    // Victims under 25: V1 (17), V4 (22), V7 (19); 25+: V2, V3, V6; V5 unknown age.
    measure(
        &h,
        "victim_rate_ratio_u25",
        4.0,
        3,
        Some(3),
        Some(ratio_limits(4.0, 3.0, 3.0)),
    );
    // Knife: C03, C05, C08. NTE: C02, C04, C08.
    measure(&h, "knife_pct", 37.5, 3, Some(8), Some(wilson(3.0, 8.0)));
    measure(&h, "nte_pct", 37.5, 3, Some(8), Some(wilson(3.0, 8.0)));
    // Offences with an offender: C01-C05, C08 (6). Linked to O1 (3 offences) or O2 (2): C01-C05.
    measure(
        &h,
        "repeat_offender_share_pct",
        500.0 / 6.0,
        5,
        Some(6),
        Some(wilson(5.0, 6.0)),
    );
    // Offences with an offender under 25 on it: C01, C02, C03 (O1), C08 (O3); O1 repeats.
    measure(
        &h,
        "repeat_offender_share_u25_pct",
        75.0,
        3,
        Some(4),
        Some(wilson(3.0, 4.0)),
    );
    // Hours: 15 (C01, C03, C06) and 23 (C02, C04, C08) tie at 3; the earliest wins.
    let peak = measure(&h, "peak_hour", 15.0, 3, Some(8), None);
    assert_eq!(peak["label"], "15:00–16:00");
    // Known LSOA: C01, C02, C08 (A1), C03 (A2) in Alpha; C04, C05 in Beta: Alpha 4 of 6.
    let top = measure(
        &h,
        "top_district_share_pct",
        400.0 / 6.0,
        4,
        Some(6),
        Some(wilson(4.0, 6.0)),
    );
    assert_eq!(top["label"], "Alpha");
    // Resident assault attendances in 2021: AE1, AE2, AE3 (AE4 lives outside, AE6 is 2020).
    measure(
        &h,
        "ae_assault_rate_per_1000_year",
        0.75 * A_YEAR,
        3,
        Some(4000),
        Some((0.15466803072390034 * A_YEAR, 2.191818267435581 * A_YEAR)),
    );
    // Conveyed assault incidents with known age: AM1 (20), AM2 (30), AM6 (24): 2 of 3 under 25.
    measure(
        &h,
        "ambulance_conveyed_u25_pct",
        200.0 / 3.0,
        2,
        Some(3),
        Some(wilson(2.0, 3.0)),
    );
}

#[test]
fn every_table_matches_hand_worked_rows() {
    let dir = run_fixture("tables");
    let bundle = dir.join("bundle");
    let table = |name: &str| Table::read(&bundle.join(format!("tables/{name}.csv")));

    let trend = table("trend_monthly");
    assert_eq!(trend.rows.len(), 24, "12 months x 2 cohorts");
    let march = trend.row(&[("month", "2021-03"), ("cohort", "all")]);
    count(march, "offences", 2);
    count(march, "population", 4000);
    close(march, "rate_per_1000", 0.5);
    let march_young = trend.row(&[("month", "2021-03"), ("cohort", "under_25")]);
    count(march_young, "offences", 2);
    count(march_young, "population", 800);
    close(march_young, "rate_per_1000", 2.5);
    count(
        trend.row(&[("month", "2021-02"), ("cohort", "all")]),
        "offences",
        0,
    );
    count(
        trend.row(&[("month", "2021-10"), ("cohort", "under_25")]),
        "offences",
        1,
    );

    let ae = table("trend_ae_monthly");
    count(
        ae.row(&[("month", "2021-02"), ("cohort", "all")]),
        "attendances",
        1,
    );
    count(
        ae.row(&[("month", "2021-02"), ("cohort", "under_25")]),
        "attendances",
        1,
    );
    count(
        ae.row(&[("month", "2021-04"), ("cohort", "under_25")]),
        "attendances",
        0,
    );
    count(
        ae.row(&[("month", "2021-05"), ("cohort", "all")]),
        "attendances",
        0,
    );

    let age_sex = table("age_sex");
    let v40 = age_sex.row(&[("role", "victim"), ("age_band", "40-44"), ("sex", "M")]);
    // V3 (40, M); 400 men aged 40 in each of the 4 LSOAs.
    count(v40, "persons", 1);
    count(v40, "population", 1600);
    close(v40, "person_years", 1600.0 / A_YEAR);
    close(v40, "rate_per_1000_year", 0.625 * A_YEAR);
    count(
        age_sex.row(&[("role", "offender"), ("age_band", "10-14"), ("sex", "F")]),
        "persons",
        0,
    );

    let standardised = table("age_standardised");
    let all = standardised.row(&[("role", "victim"), ("sex", "all")]);
    count(all, "persons", 1);
    assert_eq!(
        all["dsr_per_100000_year"], "",
        "fewer than 10 persons: no DSR"
    );

    let ratios = table("rate_ratio_by_group");
    let vwi = ratios.row(&[("ho_group", "Violence with injury"), ("role", "victim")]);
    // First VWI offence per victim: V1 17, V2 30, V5 unknown, V6 50, V7 19.
    count(vwi, "young_persons", 2);
    count(vwi, "older_persons", 2);
    close(vwi, "rate_ratio", 4.0);
    let overall = ratios.row(&[("ho_group", "All serious violence"), ("role", "victim")]);
    count(overall, "young_persons", 3);
    let robbery = ratios.row(&[("ho_group", "Robbery"), ("role", "offender")]);
    count(robbery, "young_persons", 1);
    count(robbery, "older_persons", 0);
    assert_eq!(robbery["rate_ratio"], "");

    let mix = table("offence_mix");
    let abh = mix.row(&[("offence_code", "8N")]);
    count(abh, "offences", 5);
    close(abh, "pct", 62.5);
    count(abh, "group_offences", 6);
    count(mix.row(&[("offence_code", "5D")]), "knife_offences", 1);

    let times = table("time_profile");
    assert_eq!(times.rows.len(), 168);
    count(
        times.row(&[("weekday", "Friday"), ("hour", "15")]),
        "offences",
        1,
    );
    count(
        times.row(&[("weekday", "Sunday"), ("hour", "23")]),
        "offences",
        1,
    );
    count(
        times.row(&[("weekday", "Sunday"), ("hour", "2")]),
        "offences",
        1,
    );
    count(
        times.row(&[("weekday", "Monday"), ("hour", "15")]),
        "offences",
        0,
    );
    let hours = table("hour_profile");
    close(hours.row(&[("hour", "15")]), "pct", 37.5);

    let areas = table("areas");
    let alpha = areas.row(&[("level", "district"), ("area_name", "Alpha")]);
    count(alpha, "offences", 4);
    count(alpha, "population", 2000);
    close(alpha, "person_years", 2000.0 * 365.0 / 365.25);
    close(alpha, "rate_per_1000_year", 2.0 * A_YEAR);
    close(alpha, "share_pct", 400.0 / 6.0);
    count(alpha, "under_25_offences", 4);
    let unknown = areas.row(&[("level", "district"), ("area_name", "Unknown")]);
    count(unknown, "offences", 2);
    assert_eq!(unknown["share_pct"], "");
    count(
        areas.row(&[("level", "ward"), ("area_name", "Central")]),
        "offences",
        4,
    );
    count(
        areas.row(&[("level", "csp"), ("area_name", "Beta CSP")]),
        "under_25_offences",
        2,
    );

    // Gi* with each LSOA's nearest (hotspot_neighbours = 1): A1 <-> A2 (1,000 m), B1 <-> B2
    // (2,000 m), so W = 2 everywhere. Counts 3, 1, 1, 1: n = 4, Σ = 6, ȳ = 1.5, s² = 0.75,
    // sd(G) = √(2·2/3 · 0.75/(16 · 2.25)) = 1/6; A1: G = (3 + 1)/6, z = (4/6 − 2/4)·6 = 1;
    // B1 and B2: G = 2/6, z = −1.
    let hotspots = table("lsoa_hotspots");
    assert_eq!(hotspots.rows.len(), 4);
    let a1 = hotspots.row(&[("lsoa_code", "A1")]);
    count(a1, "offences", 3);
    close(a1, "rate_per_1000_year", 3.0 * A_YEAR);
    close(a1, "harm_days", 2.0 * harm_days("8N") + harm_days("5D"));
    close(a1, "gi_star_z", 1.0);
    close(a1, "gi_star_p", 0.31731050786291415);
    // A1's neighbour holds 1, and so does every other LSOA: every draw ties the observed
    // neighbourhood, so p_sim = (9,999 + 1)/(9,999 + 1).
    close(a1, "gi_star_p_sim", 1.0);
    assert_eq!(
        (a1["hotspot"].as_str(), a1["cluster_id"].as_str()),
        ("false", "")
    );
    close(hotspots.row(&[("lsoa_code", "A2")]), "gi_star_z", 1.0);
    close(hotspots.row(&[("lsoa_code", "B2")]), "gi_star_z", -1.0);
    // No hot spot, no cluster.
    assert!(table("hotspot_clusters").rows.is_empty());

    let repeats = table("repeat_offending");
    let three = repeats.row(&[
        ("population", "offenders"),
        ("breakdown", "events_per_person"),
        ("category", "3"),
    ]);
    count(three, "persons", 1);
    count(three, "events", 3);
    count(three, "events_total", 6);
    close(three, "pct_events", 50.0);
    let top = repeats.row(&[
        ("population", "offenders"),
        ("breakdown", "top_share"),
        ("category", "top_20pct"),
    ]);
    count(top, "persons", 1);
    count(top, "events", 3);
    let victims_once = repeats.row(&[
        ("population", "victims"),
        ("breakdown", "events_per_person"),
        ("category", "1"),
    ]);
    count(victims_once, "persons", 6);
    count(victims_once, "events_total", 8);
    let patients = repeats.row(&[
        ("population", "ae_patients"),
        ("breakdown", "events_per_person"),
        ("category", "2"),
    ]);
    count(patients, "persons", 1);
    count(patients, "events_total", 3);

    let nte = table("nte");
    let alpha_nte = nte.row(&[("breakdown", "district"), ("category", "Alpha")]);
    count(alpha_nte, "nte_offences", 2);
    close(alpha_nte, "nte_pct", 50.0);
    close(
        nte.row(&[("breakdown", "hour"), ("category", "23")]),
        "nte_pct",
        100.0,
    );

    let knife = table("knife");
    let young = knife.row(&[("breakdown", "cohort"), ("category", "under_25")]);
    count(young, "offences", 6);
    count(young, "knife_offences", 3);
    count(
        knife.row(&[("breakdown", "cohort"), ("category", "25_plus")]),
        "offences",
        1,
    );
    count(
        knife.row(&[("breakdown", "cohort"), ("category", "unknown")]),
        "offences",
        1,
    );

    let ambulance = table("ambulance");
    count(
        ambulance.row(&[("cohort", "all"), ("conveyed", "true")]),
        "incidents",
        4,
    );
    let young_conveyed = ambulance.row(&[("cohort", "under_25"), ("conveyed", "true")]);
    count(young_conveyed, "incidents", 2);
    count(young_conveyed, "cohort_incidents", 3);
    count(
        ambulance.row(&[("cohort", "unknown_age"), ("conveyed", "true")]),
        "incidents",
        1,
    );

    let harm = table("harm");
    let alpha_harm = harm.row(&[("district", "Alpha")]);
    let alpha_days = 2.0 * harm_days("8N") + harm_days("5D") + harm_days("34B");
    close(alpha_harm, "harm_days", alpha_days);
    close(alpha_harm, "harm_per_1000_year", alpha_days / 2.0 * A_YEAR);
    close(
        harm.row(&[("district", "Beta")]),
        "harm_days",
        harm_days("8N") + harm_days("1"),
    );

    let quality = table("data_quality");
    let outside = quality.row(&[("reason", "committed outside the period")]);
    count(outside, "rows", 4);
    count(outside, "total", 15);
    count(quality.row(&[("reason", "no LSOA recorded")]), "rows", 1);
    count(
        quality.row(&[("reason", "LSOA not in the area lookup")]),
        "rows",
        1,
    );
    count(
        quality.row(&[
            ("scope", "victims (distinct persons)"),
            ("reason", "unknown age on first offence"),
        ]),
        "rows",
        1,
    );
    count(
        quality.row(&[
            ("scope", "victims (distinct persons)"),
            ("reason", "sex U (unknown or other)"),
        ]),
        "rows",
        1,
    );
    count(
        quality.row(&[("reason", "crime_id not in offences (orphan persons)")]),
        "rows",
        1,
    );
    let non_resident = quality.row(&[("scope", "assault A&E attendances in the period")]);
    count(non_resident, "rows", 1);
    count(non_resident, "total", 4);
    count(
        quality.row(&[(
            "scope",
            "assault ambulance incidents conveyed in the period",
        )]),
        "rows",
        1,
    );

    let yoy = table("year_on_year");
    let all_sv = yoy.row(&[("offence_group", "All serious violence")]);
    count(all_sv, "current", 8);
    count(all_sv, "previous", 2);
    count(all_sv, "change", 6);
    close(all_sv, "change_pct", 300.0);
    close(all_sv, "ratio", 4.0);
    close(all_sv, "lower_95", 0.849427046567957);
    close(all_sv, "upper_95", 18.836226212300083);
    // 8 against 2: too few to test (issue 15 item 6; the old method said "not significant"),
    // and 2020-2021 hold all three of England's national lockdowns.
    assert_eq!(all_sv["significant"], "");
    assert_eq!(
        all_sv["disrupted"],
        "the first national lockdown, the second national lockdown and the third national lockdown"
    );
    assert!(
        all_sv["caveat"].starts_with("fewer than 10 offences in a year: too few to test; the years include the first national lockdown"),
        "{}",
        all_sv["caveat"]
    );
    assert_eq!(all_sv["previous_from"], "2020-01-01");
    let vwi = yoy.row(&[("offence_group", "Violence with injury")]);
    count(vwi, "current", 6);
    count(vwi, "previous", 1);
    let homicide = yoy.row(&[("offence_group", "Homicide")]);
    count(homicide, "previous", 0);
    assert_eq!(homicide["change_pct"], "");

    let svd = table("svd_outcomes");
    let admissions = svd.row(&[
        ("financial_year", "2020/21"),
        ("measure", "ae_knife_assault_admissions"),
        ("age_group", "all"),
    ]);
    count(admissions, "count", 2);
    count(admissions, "population", 4000);
    // April 2020 to March 2021: 365 days, so 4,000 × 365/365.25 person-years.
    close(admissions, "person_years", 4000.0 * 365.0 / 365.25);
    close(admissions, "rate_per_1000_year", 0.5 * A_YEAR);
    let knives = svd.row(&[
        ("financial_year", "2021/22"),
        ("measure", "knife_sv_offences"),
        ("age_group", "victims_25_and_under"),
    ]);
    count(knives, "count", 2);
    count(knives, "population", 800);
    count(
        svd.row(&[
            ("financial_year", "2021/22"),
            ("measure", "homicides"),
            ("age_group", "victim_under_25_knife"),
        ]),
        "count",
        1,
    );
    count(
        svd.row(&[
            ("financial_year", "2019/20"),
            ("measure", "homicides"),
            ("age_group", "all"),
        ]),
        "count",
        0,
    );
    // April 2019 to March 2020 holds 29 February 2020: 366 days of 4,000 residents (no
    // population year up to 2019, so the earliest, 2020).
    close(
        svd.row(&[
            ("financial_year", "2019/20"),
            ("measure", "homicides"),
            ("age_group", "all"),
        ]),
        "person_years",
        4000.0 * 366.0 / 365.25,
    );
}

#[test]
fn bundle_has_both_formats_readme_and_manifest() {
    let dir = run_fixture("bundle");
    let bundle = dir.join("bundle");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    let jobs = manifest["jobs"].as_array().unwrap();
    assert!(jobs.len() >= 16, "every job is in the manifest");
    for job in jobs {
        let name = job["job"].as_str().unwrap();
        assert!(
            bundle.join(format!("tables/{name}.csv")).is_file(),
            "{name}.csv"
        );
        assert!(
            bundle.join(format!("tables/{name}.parquet")).is_file(),
            "{name}.parquet"
        );
    }
    let inputs = manifest["inputs"].as_array().unwrap();
    assert!(inputs.iter().any(
        |i| i["path"].as_str().unwrap().ends_with("offences.parquet")
            && i["rows"] == 15
            && i["sha256"].as_str().unwrap().len() == 64
    ));
    assert!(
        inputs
            .iter()
            .any(|i| i["path"].as_str().unwrap().ends_with("reference/lsoa.csv"))
    );
    assert_eq!(manifest["population_year"], 2020);
    assert_eq!(manifest["config"]["young_age_cutoff"], 25);
    let readme = std::fs::read_to_string(bundle.join("tables/README.md")).unwrap();
    assert!(readme.contains("## headline") && readme.contains("| `rate_per_1000` |"));
    // Rates over the period say they are a year; the monthly series that they are in the month.
    assert!(readme.contains(
        "| `rate_per_1000_year` | offences per 1,000 residents a year (offences / person_years × 1,000) |"
    ));
    assert!(readme.contains("offences in the month per 1,000 residents in the month"));
    let parent = bundle.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no staging directory left behind");
}

#[test]
fn same_inputs_give_identical_tables() {
    let (a, b) = (run_fixture("determinism-a"), run_fixture("determinism-b"));
    let (first, second) = (a.join("bundle"), b.join("bundle"));
    for entry in std::fs::read_dir(first.join("tables")).unwrap() {
        let name = entry.unwrap().file_name();
        let a = std::fs::read(first.join("tables").join(&name)).unwrap();
        let b = std::fs::read(second.join("tables").join(&name)).unwrap();
        assert!(a == b, "{name:?} differs between runs");
    }
}

/// The victim–offender overlap on the fixture with one more row: offender O1 (16 on C01) is
/// also the victim of C05 (17, male). Victims V1–V7 and O1 = 8; offenders O1–O4 = 4 (O5's
/// offence is not serious violence). O1 is in both: 1 of 8 victims (12.5%, Wilson 2.24% to
/// 47.09%) and 1 of 4 offenders (25%). Under 25 on their first offence: victims V1 (17), V4
/// (22), V7 (19) and O1 (17) = 4, so 1 of 4; offenders O1 (16) and O3 (24) = 2, so 1 of 2. The
/// one repeat victim, V1, is not an offender: 0 of 1.
#[test]
fn victims_who_are_also_offenders() {
    let dir = crate::workdir("overlap");
    crate::fixture::write_extract(&dir.join("extract"));
    let persons = format!("{}C05,O1,victim,17,M,A1\n", crate::fixture::PERSONS);
    crate::fixture::write_parquet(
        &dir.join("extract/persons.parquet"),
        &persons,
        crate::fixture::person_fields(),
    );
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    crate::assert_success(&crate::sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let t = crate::Table::read(&dir.join("bundle/tables/victim_offender_overlap.csv"));
    let check = |breakdown: &str, category: &str, role: &str, persons: i64, both: i64| {
        let row = t.row(&[
            ("breakdown", breakdown),
            ("category", category),
            ("role", role),
        ]);
        crate::count(row, "persons", persons);
        crate::count(row, "in_both_roles", both);
        crate::close(row, "pct", 100.0 * both as f64 / persons as f64);
    };
    check("all", "all", "victim", 8, 1);
    check("all", "all", "offender", 4, 1);
    check("cohort", "under_25", "victim", 4, 1);
    check("cohort", "under_25", "offender", 2, 1);
    check("repeat_victims", "two or more offences", "victim", 1, 0);
    // Wilson limits of 1 in 8: 2.24% to 47.09%.
    let all = t.row(&[("breakdown", "all"), ("role", "victim")]);
    let lower: f64 = all["lower_95"].parse().unwrap();
    let upper: f64 = all["upper_95"].parse().unwrap();
    assert!(
        (lower - 2.2411).abs() < 1e-3 && (upper - 47.0888).abs() < 1e-3,
        "{lower} {upper}"
    );
    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    assert!(
        summary.contains("1 people were both victims and offenders")
            || summary.contains("1 person"),
        "{summary}"
    );
}

/// `sna run --compare`: the same data and configuration compare as no change; a changed
/// definition is listed before the measures; a real change (one serious-violence offence fewer)
/// shows in the measures with the definitions unchanged.
#[test]
fn compare_with_an_earlier_bundle() {
    let dir = crate::workdir("compare");
    crate::fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "--out", out, "--quiet"];
        args.extend_from_slice(extra);
        crate::assert_success(&crate::sna(&dir, &args));
    };
    run("first", &[]);
    run("same", &["--compare", "first"]);
    let html = std::fs::read_to_string(dir.join("same/index.html")).unwrap();
    assert!(html.contains("What changed since the last assessment"));
    assert!(
        html.contains("no change in definitions or in any headline measure"),
        "no change"
    );
    let t = crate::Table::read(&dir.join("same/tables/comparison.csv"));
    let offences = t.row(&[("measure", "sv_offences")]);
    assert_eq!(offences["current"], "8.0");
    assert_eq!(offences["change"], "0.0");
    assert_eq!(offences["intervals_overlap"], "true");

    // A different definition: domestic abuse included.
    std::fs::write(
        dir.join("sna.toml"),
        format!(
            "{}\n[serious_violence]\nexclude_domestic = false\n",
            crate::fixture::CONFIG
        ),
    )
    .unwrap();
    run("wider", &["--compare", "first"]);
    let html = std::fs::read_to_string(dir.join("wider/index.html")).unwrap();
    let differs = html
        .find("Definitions that differ")
        .expect("differences listed");
    let measures = html.find("Headline measures then and now").unwrap();
    assert!(differs < measures, "differences first");
    assert!(html.contains("domestic abuse excluded") && html.contains("not comparable"));
    let t = crate::Table::read(&dir.join("wider/tables/comparison.csv"));
    assert_eq!(
        t.row(&[("measure", "sv_offences")])["change"],
        "1.0",
        "C10 now counts"
    );

    // A real change: C01 removed from the extract, same definitions.
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    crate::assert_success(&crate::sna(
        &dir,
        &[
            "query",
            "SELECT * FROM offences WHERE crime_id <> 'C01'",
            "--format",
            "parquet",
            "--output",
            "fewer.parquet",
        ],
    ));
    std::fs::rename(
        dir.join("fewer.parquet"),
        dir.join("extract/offences.parquet"),
    )
    .unwrap();
    run("later", &["--compare", "first"]);
    let html = std::fs::read_to_string(dir.join("later/index.html")).unwrap();
    assert!(!html.contains("Definitions that differ"));
    // Of the 16 measures, peak_hour has no interval: 15 are compared.
    assert!(html.contains("0 of 15 headline measures have 95% intervals that do not overlap"));
    let t = crate::Table::read(&dir.join("later/tables/comparison.csv"));
    let offences = t.row(&[("measure", "sv_offences")]);
    assert_eq!(offences["change"], "-1.0");
    assert_eq!(offences["previous"], "8.0");

    // A bundle written before rates were a year: its rates over the whole period are named as a
    // difference of definition and listed apart, not compared with the rates a year.
    let headline = dir.join("first/tables/headline.csv");
    let old = std::fs::read_to_string(&headline)
        .unwrap()
        .replace("sv_rate_per_1000_year,", "sv_rate_per_1000,");
    std::fs::write(&headline, old).unwrap();
    run("old", &["--compare", "first"]);
    let html = std::fs::read_to_string(dir.join("old/index.html")).unwrap();
    assert!(
        html.contains("headline rates (sv_rate_per_1000; not compared)"),
        "{html}"
    );
    assert!(html.contains("per 1,000 residents over the whole period"));
    let t = crate::Table::read(&dir.join("old/tables/comparison.csv"));
    assert_eq!(t.row(&[("measure", "sv_rate_per_1000")])["current"], "");
    assert_eq!(
        t.row(&[("measure", "sv_rate_per_1000_year")])["previous"],
        ""
    );

    // Something that is not a bundle is refused, and nothing is written.
    let output = crate::sna(&dir, &["run", "--out", "nope", "--compare", "extract"]);
    assert!(!output.status.success());
    assert!(crate::stderr(&output).contains("not an assessment bundle"));
    assert!(!dir.join("nope").exists());
}

/// `deprivation` on the fixture: LSOAs A1, A2 are IMD decile 1 and B1, B2 decile 10, 2,000
/// residents each side. Serious violence in calendar 2021 (365 days = 365/365.25 years): decile
/// 1 has C01, C02, C03, C08 = 4 offences, so 1,000 × 4 / (2,000 × 365/365.25) = 2.001369 per
/// 1,000 a year; decile 10 has C04, C05 = 2. Victims by home: V1 (A1), V2 (A1), V3 (A2), V7
/// (A1) in decile 1; V4 (B2) and V6 (B1) in decile 10. With two deciles there is no SII (PHE's
/// method needs at least five quantiles).
#[test]
fn deprivation_rates_by_decile() {
    let dir = crate::workdir("deprivation");
    crate::fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    crate::assert_success(&crate::sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let t = crate::Table::read(&dir.join("bundle/tables/deprivation.csv"));
    let years = 365.0 / 365.25;
    let most = t.row(&[("measure", "offences"), ("decile", "1")]);
    crate::count(most, "count", 4);
    crate::close(most, "rate_per_1000_year", 1000.0 * 4.0 / (2000.0 * years));
    crate::count(
        t.row(&[("measure", "offences"), ("decile", "10")]),
        "count",
        2,
    );
    crate::count(
        t.row(&[("measure", "victims"), ("decile", "1")]),
        "count",
        4,
    );
    crate::count(
        t.row(&[("measure", "victims"), ("decile", "10")]),
        "count",
        2,
    );
    assert_eq!(most["sii"], "", "no SII from two deciles");
    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    assert!(
        summary.contains(
            "were 2.0 times as likely to be victims of serious violence as those of the least deprived tenth (2.00 against 1.00 per 1,000 a year)."
        ),
        "{summary}"
    );
}

/// Where people live, the cohort deep-dives and the most prolific offenders (issue 18, items 2
/// and 5) on the fixture with one more victim: V8 (45, F) on C02, living outside the area
/// (E01999999). The period is 365 days: a year is 365/365.25 of a Julian year.
///
/// By home LSOA: victims V1, V2, V7 (A1) and V3 (A2) live in Alpha, V4 (B2) and V6 (B1) in
/// Beta, V5 has no home, V8 lives outside; offenders O1, O4 (A1) and O3 (A2) in Alpha, O2 (B1)
/// in Beta; A&E assault patients of 2021 P1 (A1, twice) in Alpha and P2 (B1) in Beta (P3 lives
/// outside, AE5 is not an assault, P5's attendance is in 2020). Offences by place: C01, C02,
/// C08 (A1) and C03 (A2) in Alpha, C04 (B1) and C05 (B2) in Beta. Each district has 2,000
/// residents.
///
/// Cohorts: victims with a recorded sex F: V2, V7, V8 (3 of 7), M: V1, V3, V4, V5 (4); with a
/// recorded age: 7, of whom V1 (17) is under 18 and V4 (22), V7 (19) are 18-24. Offenders: F
/// O3 (1 of 4); under 18 O1 (16), 18-24 O3 (24). Residents: 2,000 F, 2,000 M, 800 aged 10
/// (under 18), none aged 18-24 (so no rate).
///
/// Prolific: 4 offenders, so the top 1% is ceil(0.04) = 1 person: O1, with 3 offences (C01,
/// C02, C03) of the 8 serious-violence offences: 37.5%; male, under 25; C01 and C02 are
/// violence with injury, C03 robbery.
#[test]
fn where_people_live_cohorts_and_prolific_offenders() {
    let dir = crate::workdir("home-cohorts");
    crate::fixture::write_extract(&dir.join("extract"));
    let persons = format!("{}C02,V8,victim,45,F,E01999999\n", crate::fixture::PERSONS);
    crate::fixture::write_parquet(
        &dir.join("extract/persons.parquet"),
        &persons,
        crate::fixture::person_fields(),
    );
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    crate::assert_success(&crate::sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let tables = dir.join("bundle/tables");
    let years = 365.0 / 365.25;
    let rate = |count: f64, residents: f64| 1000.0 * count / (residents * years);

    let home = crate::Table::read(&tables.join("home_rates.csv"));
    for (level, name, residents, [offences, victims, offenders, patients]) in [
        ("area", "All", 4000.0, [6, 6, 4, 2]),
        ("district", "Alpha", 2000.0, [4, 4, 3, 1]),
        ("district", "Beta", 2000.0, [2, 2, 1, 1]),
    ] {
        let row = home.row(&[("level", level), ("area_name", name)]);
        for (measure, count) in [
            ("offences", offences),
            ("victims", victims),
            ("offenders", offenders),
            ("ae_patients", patients),
        ] {
            crate::count(row, measure, count);
            crate::close(
                row,
                &format!("{measure}_rate"),
                rate(count as f64, residents),
            );
        }
    }
    // Ward North is B1 alone: O2, V6, P2 and C04.
    let north = home.row(&[("level", "ward"), ("area_name", "North")]);
    crate::count(north, "victims", 1);
    crate::close(north, "victims_rate", rate(1.0, 1000.0));

    let residence = crate::Table::read(&tables.join("residence.csv"));
    for (measure, place, persons, total) in [
        ("victims", "in the area", 6, 8),
        ("victims", "outside the area", 1, 8),
        ("victims", "unknown", 1, 8),
        ("offenders", "in the area", 4, 4),
        ("offenders", "outside the area", 0, 4),
    ] {
        let row = residence.row(&[("measure", measure), ("residence", place)]);
        crate::count(row, "persons", persons);
        crate::close(row, "pct", 100.0 * persons as f64 / total as f64);
    }

    let cohorts = crate::Table::read(&tables.join("cohorts.csv"));
    for (cohort, role, persons, total, residents) in [
        ("female", "victim", 3, 7, Some(2000.0)),
        ("male", "victim", 4, 7, Some(2000.0)),
        ("female", "offender", 1, 4, Some(2000.0)),
        ("under 18", "victim", 1, 7, Some(800.0)),
        ("18-24", "victim", 2, 7, None),
        ("under 18", "offender", 1, 4, Some(800.0)),
        ("18-24", "offender", 1, 4, None),
    ] {
        let row = cohorts.row(&[("cohort", cohort), ("role", role)]);
        crate::count(row, "persons", persons);
        crate::count(row, "role_total", total);
        crate::close(row, "pct", 100.0 * persons as f64 / total as f64);
        match residents {
            Some(r) => crate::close(row, "rate_per_1000_year", rate(persons as f64, r)),
            None => assert_eq!(row["rate_per_1000_year"], "", "{cohort} {role}"),
        }
    }

    let prolific = crate::Table::read(&tables.join("prolific_offenders.csv"));
    for (breakdown, category, count, total) in [
        ("group", "top 1% of offenders", 1, 4),
        ("offences", "linked to them", 3, 8),
        ("sex", "M", 1, 1),
        ("cohort", "under_25", 1, 1),
        ("offence_group", "Violence with injury", 2, 3),
        ("offence_group", "Robbery", 1, 3),
    ] {
        let row = prolific.row(&[("breakdown", breakdown), ("category", category)]);
        crate::count(row, "count", count);
        crate::count(row, "total", total);
        crate::close(row, "pct", 100.0 * count as f64 / total as f64);
    }

    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    for sentence in [
        "1 victim (12.5% of victims) and 0 offenders (0.00% of offenders) lived outside the area",
        "Women and girls were 42.9% of victims (95% CI 15.8%–75.0%) and 25.0% of offenders",
        "The most prolific 1% of offenders (1 person) were linked to 37.5% (95% CI 13.7%–69.4%) of serious violence offences.",
    ] {
        assert!(summary.contains(sentence), "{sentence}\n{summary}");
    }
    let html = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(html.contains("Women and girls against men and boys, as victims and offenders"));
    assert!(html.contains("The most prolific 1% of offenders: their share of offences"));
}

/// Prevalence of residents and the age of criminal responsibility (issue 15, items 2 and 3),
/// on the fixture with two more people: offender O6, recorded aged 8 on C04 (home B1), and
/// victim V8 (45, F) on C02, living outside the area. The old methods gave a victim
/// prevalence of 8 in 4,000 and an offender rate ratio of (3/800)/(2/3200) = 6; now victims
/// count only residents (V1-V4, V6, V7: 6; V5 has no home, V8 lives elsewhere) and the
/// under-25 offenders start at 10 (O1 16, O3 24; O6 is left out), against 800 residents aged
/// 10 to 24: (2/800)/(2/3200) = 4. Offenders O1-O4 and O6 live in the area: 5 of 4,000.
#[test]
fn prevalence_counts_residents_and_offender_ratios_start_at_ten() {
    let dir = crate::workdir("residents-age-ten");
    crate::fixture::write_extract(&dir.join("extract"));
    let persons = format!(
        "{}C04,O6,offender,8,M,B1\nC02,V8,victim,45,F,E01999999\n",
        crate::fixture::PERSONS
    );
    crate::fixture::write_parquet(
        &dir.join("extract/persons.parquet"),
        &persons,
        crate::fixture::person_fields(),
    );
    std::fs::write(dir.join("sna.toml"), crate::fixture::CONFIG).unwrap();
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let tables = dir.join("bundle/tables");
    let h = Table::read(&tables.join("headline.csv"));
    measure(
        &h,
        "victim_prevalence_pct",
        0.15,
        6,
        Some(4000),
        Some(wilson(6.0, 4000.0)),
    );
    measure(
        &h,
        "offender_prevalence_pct",
        0.125,
        5,
        Some(4000),
        Some(wilson(5.0, 4000.0)),
    );
    measure(
        &h,
        "offender_rate_ratio_u25",
        4.0,
        2,
        Some(2),
        Some(ratio_limits(4.0, 2.0, 2.0)),
    );
    let ratios = Table::read(&tables.join("rate_ratio_by_group.csv"));
    let all = ratios.row(&[("ho_group", "All serious violence"), ("role", "offender")]);
    count(all, "young_persons", 2);
    count(all, "young_population", 800);
    let quality = Table::read(&tables.join("data_quality.csv"));
    for (scope, reason, rows, total) in [
        ("victims (distinct persons)", "home outside the area", 1, 8),
        ("victims (distinct persons)", "no home recorded", 1, 8),
        (
            "offenders (distinct persons)",
            "home outside the area",
            0,
            5,
        ),
        (
            "offenders (distinct persons)",
            "recorded under 10, below the age of criminal responsibility",
            1,
            5,
        ),
    ] {
        let row = quality.row(&[("scope", scope), ("reason", reason)]);
        count(row, "rows", rows);
        count(row, "total", total);
    }
}

/// Rates a year over person-years where the period spans two population years: the fixture over
/// 1 July 2021 to 31 December 2022 (549 days). The period's mid-point falls in 2022, so its
/// population year is 2022 (8,000 residents, Alpha 4,000), but July-December 2021 (184 days)
/// take their own population year, 2021 → 2020 (4,000; Alpha 2,000). Person-years:
/// (4,000 × 184 + 8,000 × 365) / 365.25 = 3,656,000 / 365.25 = 10,009.58. Serious violence in the
/// period: C05, C06, C07, C08 and C14 = 5 offences, so 5 / 10,009.58 × 1,000 = 0.49952 per 1,000
/// a year. The old ways gave 5 / 8,000 × 1,000 = 0.625 (per 1,000 over the period) or, with
/// the one population year and days / 365.25, 5 / (8,000 × 549 / 365.25) × 1,000 = 0.41584.
/// Alpha: C08 and C14 (A1) = 2 over (2,000 × 184 + 4,000 × 365) / 365.25 person-years.
#[test]
fn rates_a_year_take_each_months_own_population_year() {
    let dir = workdir("person-years");
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    let output = sna(
        &dir,
        &[
            "run",
            "--start",
            "2021-07-01",
            "--end",
            "2022-12-31",
            "--out",
            "bundle",
            "--quiet",
        ],
    );
    assert_success(&output);
    let tables = dir.join("bundle/tables");
    let h = Table::read(&tables.join("headline.csv"));
    let person_years = (4000.0 * 184.0 + 8000.0 * 365.0) / 365.25;
    measure(&h, "sv_offences", 5.0, 5, None, Some(byar(5.0)));
    let rate = h.row(&[("measure", "sv_rate_per_1000_year")]);
    close(rate, "value", 1000.0 * 5.0 / person_years);
    assert!((num(rate, "value") - 0.49952).abs() < 5e-6);
    // Not the rate over the period, nor the one-population-year rate a year.
    assert!((num(rate, "value") - 0.625).abs() > 0.1);
    assert!((num(rate, "value") - 5000.0 / (8000.0 * 549.0 / 365.25)).abs() > 0.05);
    // Exact Poisson limits on the count of 5 (1.6235 to 11.6683, under 10 events), over the
    // same person-years.
    assert!((num(rate, "lower_95") - 1000.0 * 1.6235 / person_years).abs() < 1e-5);
    assert!((num(rate, "upper_95") - 1000.0 * 11.6683 / person_years).abs() < 1e-5);
    // The counts for the whole period and the period's residents stay as they were.
    count(rate, "numerator", 5);
    count(rate, "denominator", 8000);

    let areas = Table::read(&tables.join("areas.csv"));
    let alpha = areas.row(&[("level", "district"), ("area_name", "Alpha")]);
    count(alpha, "offences", 2);
    count(alpha, "population", 4000);
    let alpha_years = (2000.0 * 184.0 + 4000.0 * 365.0) / 365.25;
    close(alpha, "person_years", alpha_years);
    close(alpha, "rate_per_1000_year", 2000.0 / alpha_years);

    let summary = std::fs::read_to_string(dir.join("bundle/summary.md")).unwrap();
    assert!(
        summary.contains(
            "There were 5 serious violence offences in the period: 0.50 per 1,000 residents a year"
        ),
        "{summary}"
    );
}
