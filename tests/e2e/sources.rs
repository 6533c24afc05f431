//! Assessments from the sources an area actually has (issue 14, part 4): `persons`,
//! `ae_attendances` and `ambulance` are each optional; a measure whose source is missing is
//! listed as not possible, never written as zeros. (The open-data form is tested on real files
//! in `import.rs`.)

use crate::{Table, assert_success, fixture, sna, stdout, workdir};

#[test]
fn police_records_alone_give_the_police_measures_and_list_the_rest() {
    let dir = workdir("sources-police-only");
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    for name in ["persons", "ae_attendances", "ambulance"] {
        let path = dir.join(format!("extract/{name}.parquet"));
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }

    let output = sna(&dir, &["validate"]);
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.contains("Form: full"), "{text}");
    assert!(
        text.contains(
            "missing (their measures are not possible): persons, ae_attendances, ambulance"
        ),
        "{text}"
    );

    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let tables = dir.join("bundle/tables");
    let headline = Table::read(&tables.join("headline.csv"));
    let measures: Vec<&str> = headline
        .rows
        .iter()
        .map(|r| r["measure"].as_str())
        .collect();
    assert_eq!(
        measures,
        [
            "sv_offences",
            "sv_rate_per_1000",
            "knife_pct",
            "nte_pct",
            "peak_hour",
            "top_district_share_pct"
        ]
    );
    // Police-only measures run; those of people and health do not, and are not zeros.
    for present in [
        "areas",
        "time_profile",
        "offence_mix",
        "harm",
        "lsoa_hotspots",
        "year_on_year",
    ] {
        assert!(tables.join(format!("{present}.csv")).exists(), "{present}");
    }
    for absent in [
        "age_sex",
        "repeat_offending",
        "trend_ae_monthly",
        "ambulance",
        "knife",
    ] {
        assert!(!tables.join(format!("{absent}.csv")).exists(), "{absent}");
    }
    let trend = Table::read(&tables.join("trend_monthly.csv"));
    assert!(trend.rows.iter().all(|r| r["cohort"] == "all"));
    let quality = Table::read(&tables.join("data_quality.csv"));
    assert_eq!(quality.rows.len(), 3, "only the offences' checks");

    let html = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(html.contains("Not possible with these data (full extract)"));
    assert!(html.contains("emergency-department measures need an ae_attendances extract"));
    // A force's records never list the police.uk crime-type mix as missing.
    assert!(!html.contains("crime_types"));
    let readme = std::fs::read_to_string(tables.join("README.md")).unwrap();
    assert!(readme.contains("Not possible with these data, so not in this bundle: victims and offenders need a persons extract."));
}
