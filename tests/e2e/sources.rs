//! Assessments from the sources an area actually has (issue 14, part 4): `persons`,
//! `ae_attendances` and `ambulance` are each optional; a measure whose source is missing is
//! listed as not possible, never written as zeros. (The open-data form is tested on real files
//! in `import.rs`.)

use crate::{Table, assert_success, fixture, sna, stderr, stdout, workdir};

/// The hand-made extract in `dir/extract` without persons, A&E or ambulance: a force's offence
/// records alone.
fn police_only(name: &str) -> crate::Workdir {
    let dir = workdir(name);
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    for name in ["persons", "ae_attendances", "ambulance"] {
        let path = dir.join(format!("extract/{name}.parquet"));
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    dir
}

#[test]
fn police_records_alone_give_the_police_measures_and_list_the_rest() {
    let dir = police_only("sources-police-only");

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
            "sv_rate_per_1000_year",
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

#[test]
fn police_records_alone_refresh_the_dashboard_and_write_the_partner_pack_they_support() {
    let dir = police_only("sources-police-only-refresh");
    let out = sna(&dir, &["refresh", "--dashboard", "site/dashboard"]);
    assert_success(&out);
    // Offences from 31 December 2019 to 5 January 2022: January 2020 to December 2021.
    assert!(
        stderr(&out).contains("data up to 2021-12 (24 months)"),
        "{}",
        stderr(&out)
    );
    let site = dir.join("site/dashboard");
    let spc = Table::read(&site.join("tables/spc.csv"));
    assert_eq!(spc.rows.len(), 24);
    assert!(spc.rows.iter().all(|r| r["series"] == "police_all"));
    // A force's records have times: the time heatmap is drawn; the cohort and A&E charts are not.
    for drawn in ["spc_police", "time_heatmap"] {
        assert!(
            site.join(format!("charts/{drawn}.png")).is_file(),
            "{drawn}"
        );
    }
    for absent in ["spc_police_young", "spc_ae"] {
        assert!(
            !site.join(format!("charts/{absent}.png")).exists(),
            "{absent}"
        );
    }
    assert!(!site.join("tables/trend_ae_monthly.csv").exists());
    let manifest = crate::refresh::manifest(&dir);
    assert_eq!(manifest["form"], "full");
    assert_eq!(
        crate::refresh::names(&manifest["not_possible"], "job"),
        ["trend_ae_monthly"]
    );
    assert_eq!(
        crate::refresh::names(&manifest["spc_series_not_possible"], "series"),
        ["police_under_25", "ae_all"]
    );
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    for words in [
        "Not possible with these data (full extract), so not on this dashboard:",
        "aged under 25: <strong>not possible with these data</strong> (victims and offenders need a persons extract)",
        "(<code>trend_ae_monthly</code>): emergency-department measures need an ae_attendances extract.",
        "Police data: police recorded crime extract.",
        "Serious violence = Homicide, Violence with injury and Robbery",
    ] {
        assert!(html.contains(words), "{words}");
    }
    assert!(!html.contains("open-data proxy"));

    // The partner pack: the tables of offences alone, through disclosure control; the tables of
    // people and of A&E are listed with why.
    let out = sna(&dir, &["export", "--partner", "--out", "pack"]);
    assert_success(&out);
    let pack = dir.join("pack");
    let written = [
        "lsoa_year",
        "district_month",
        "district_hour_weekday",
        "district_year_group",
    ];
    crate::partner::check_tables(&pack, 5, &written);
    for absent in ["district_age_sex", "ae_district_month"] {
        assert!(!pack.join(format!("{absent}.csv")).exists(), "{absent}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["form"], "full");
    assert_eq!(
        crate::refresh::names(&manifest["tables"], "name"),
        [
            "district_hour_weekday",
            "district_month",
            "district_year_group",
            "lsoa_year"
        ]
    );
    assert_eq!(
        crate::refresh::names(&manifest["not_possible"], "job"),
        ["ae_district_month", "district_age_sex"]
    );
    let readme = std::fs::read_to_string(pack.join("README.md")).unwrap();
    assert!(readme.contains("## Not possible with these data (full extract)"));
    assert!(readme.contains("(`district_age_sex`): victims and offenders need a persons extract."));
    assert!(!readme.contains("## district_age_sex"));
}
