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

/// Census 2021 usual residents of each bundled LSOA, all ages: the six broad groups of
/// `data/reference/population_census2021.csv` summed here, independently of the tool.
fn census_residents() -> u64 {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/reference/population_census2021.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[2].parse::<u64>().unwrap())
        .sum()
}

/// `sna import police-uk DIR --out X && sna run --data X`, with nothing else (issue 14): the
/// import writes the bundled Census 2021 residents as a population of all ages, and the run
/// gives rates of all residents from it, listing what needs ages as not possible.
#[test]
fn police_uk_alone_runs_on_the_bundled_census_residents() {
    let dir = workdir("sources-police-uk-census");
    let open = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/open/police-uk");
    let output = sna(
        &dir,
        &["import", "police-uk", open.to_str().unwrap(), "--out", "x"],
    );
    assert_success(&output);
    assert!(
        stderr(&output).contains("Population: the bundled Census 2021 usual residents, all ages"),
        "{}",
        stderr(&output)
    );
    let residents = census_residents();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("x/population_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["lsoas"], 634);
    assert_eq!(report["residents"], residents);
    assert_eq!(report["year"], 2021);

    // The three months of the files, as the config gives them.
    std::fs::write(
        dir.join("sna.toml"),
        "start = 2019-12-01\nend = 2020-02-29\n",
    )
    .unwrap();
    let output = sna(&dir, &["validate", "--data", "x"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Population: all ages"),
        "{}",
        stdout(&output)
    );

    assert_success(&sna(
        &dir,
        &[
            "run",
            "--data",
            "x",
            "--start",
            "2019-12-01",
            "--end",
            "2020-02-29",
            "--out",
            "bundle",
            "--quiet",
        ],
    ));
    let headline = Table::read(&dir.join("bundle/tables/headline.csv"));
    let offences = crate::num(headline.row(&[("measure", "sv_offences")]), "value");
    // December 2019 to February 2020: 31 + 31 + 29 days of the Census residents.
    let person_years = residents as f64 * 91.0 / 365.25;
    crate::close(
        headline.row(&[("measure", "sv_rate_per_1000_year")]),
        "value",
        1000.0 * offences / person_years,
    );
    let trend = Table::read(&dir.join("bundle/tables/trend_monthly.csv"));
    assert_eq!(trend.rows.len(), 3, "one row a month, no cohort series");
    for row in &trend.rows {
        assert_eq!(row["cohort"], "all");
        assert_eq!(row["population"], residents.to_string());
    }
    let manifest = std::fs::read_to_string(dir.join("bundle/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"population_form\": \"all_ages\""),
        "{manifest}"
    );
    let report = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(report.contains("all ages only (no single years of age or sex)"));

    // A later import (next month's download, say) keeps it, and says what it is.
    let output = sna(
        &dir,
        &["import", "police-uk", open.to_str().unwrap(), "--out", "x"],
    );
    assert_success(&output);
    assert!(
        stderr(&output).contains("Kept the population an earlier import added: the bundled Census 2021 usual residents, all ages"),
        "{}",
        stderr(&output)
    );
    // The import's manifest names where its population came from.
    let import_manifest = std::fs::read_to_string(dir.join("x/manifest.json")).unwrap();
    assert!(
        import_manifest.contains("Census 2021 usual residents"),
        "{import_manifest}"
    );
}

/// A force's records with a population of all ages only: rates of all residents as usual;
/// every rate by age or sex is listed as not possible, never computed over no residents.
#[test]
fn a_population_of_all_ages_gives_no_rates_by_age_or_sex() {
    let dir = workdir("sources-all-ages-population");
    crate::copy_sample_extract(&dir);
    // The assessment with the sample's population by age and sex, to compare with.
    assert_success(&sna(
        &dir,
        &["run", "--data", "extract", "--out", "by-age", "--quiet"],
    ));
    // The Census residents as the import writes them.
    let open = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/open/police-uk");
    assert_success(&sna(
        &dir,
        &[
            "import",
            "police-uk",
            open.to_str().unwrap(),
            "--out",
            "x",
            "--quiet",
        ],
    ));
    std::fs::copy(
        dir.join("x/population.parquet"),
        dir.join("extract/population.parquet"),
    )
    .unwrap();

    assert_success(&sna(
        &dir,
        &[
            "run",
            "--data",
            "extract",
            "--out",
            "bundle",
            "--quiet",
            "--compare",
            "by-age",
        ],
    ));
    // The comparison names the change of denominators, and counts only the measures both give.
    let comparison = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(
        comparison.contains("population (the denominators)"),
        "not named"
    );
    assert!(
        comparison.contains("of 13 headline measures have 95% intervals"),
        "the two under-25 ratios are not in both, peak_hour has no interval"
    );
    let tables = dir.join("bundle/tables");
    for job in [
        "age_sex",
        "age_standardised",
        "cohorts",
        "rate_ratio_by_group",
    ] {
        assert!(!tables.join(format!("{job}.csv")).exists(), "{job}");
    }
    let report = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    assert!(
        report.contains("rates by age or sex need residents by single year of age and sex"),
        "the report lists why"
    );
    let headline = Table::read(&tables.join("headline.csv"));
    let measures: Vec<&str> = headline
        .rows
        .iter()
        .map(|r| r["measure"].as_str())
        .collect();
    assert!(measures.contains(&"sv_rate_per_1000_year"));
    assert!(
        measures.contains(&"victim_prevalence_pct"),
        "all residents: possible"
    );
    for measure in ["offender_rate_ratio_u25", "victim_rate_ratio_u25"] {
        assert!(
            !measures.contains(&measure),
            "{measure}: needs residents by age"
        );
    }
    // The series of the under-25 cohort need their residents: only `all` is given.
    for table in ["trend_monthly", "trend_ae_monthly"] {
        let rows = Table::read(&tables.join(format!("{table}.csv")));
        assert!(rows.rows.iter().all(|r| r["cohort"] == "all"), "{table}");
        assert_eq!(rows.rows.len(), 18, "{table}");
    }
    let svd = Table::read(&tables.join("svd_outcomes.csv"));
    assert!(svd.rows.iter().all(|r| r["age_group"] == "all"));
    assert!(!svd.rows.is_empty());

    // A population with ages but no sex is neither form: an error naming the column.
    let population = dir.join("extract/population.parquet");
    crate::fixture::write_parquet(
        &population,
        "year,lsoa_code,age,population\n2021,E01013600,20,5\n",
        vec![
            arrow::datatypes::Field::new("year", arrow::datatypes::DataType::Int32, false),
            arrow::datatypes::Field::new("lsoa_code", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("age", arrow::datatypes::DataType::Int32, false),
            arrow::datatypes::Field::new("population", arrow::datatypes::DataType::Int32, false),
        ],
    );
    let output = sna(&dir, &["validate", "--data", "extract"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("population.parquet: column `sex` is missing"),
        "{}",
        stderr(&output)
    );
}

/// A force's export may carry columns of its own beside the contract's (the data contract
/// allows extra columns); one named like a column the views take from the code table
/// (`offence_name`, `ho_group`, `harm_days`) neither clashes with it nor stands in for it.
#[test]
fn offences_with_their_own_offence_name_group_and_harm_give_the_same_serious_violence() {
    let dir = workdir("offences-extra-columns");
    crate::copy_sample_extract(&dir);
    let sql = "SELECT offence_name, ho_group, COUNT(*) AS offences, SUM(harm_days) AS harm \
               FROM sv_offences_all GROUP BY offence_name, ho_group ORDER BY offence_name, ho_group";
    let query = |data: &str| {
        let output = sna(
            &dir,
            &[
                "query",
                "--data",
                data,
                "--no-cache",
                "--format",
                "csv",
                sql,
            ],
        );
        assert_success(&output);
        stdout(&output)
    };
    let plain = query("extract");
    assert!(plain.lines().count() > 3, "{plain}");
    // The same offences with a force's own wording, group and harm in columns of those names.
    let written = sna(
        &dir,
        &[
            "query",
            "--data",
            "extract",
            "--no-cache",
            "--format",
            "parquet",
            "--output",
            "offences.parquet",
            "SELECT *, 'force wording' AS offence_name, 'Other' AS ho_group, \
             CAST(999 AS BIGINT) AS harm_days FROM offences",
        ],
    );
    assert_success(&written);
    std::fs::create_dir_all(dir.join("own")).unwrap();
    for entry in std::fs::read_dir(dir.join("extract")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("own").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::rename(
        dir.join("offences.parquet"),
        dir.join("own/offences.parquet"),
    )
    .unwrap();
    let own = query("own");
    assert!(!own.contains("force wording"), "{own}");
    assert_eq!(own, plain);
}
