//! Bad input: every kind gets a clear message naming the problem, a non-zero exit, no panic and
//! no bundle.

use std::path::Path;

use arrow::datatypes::{DataType, Field};

use crate::{assert_success, fixture, sna, stderr, stdout, workdir};

/// Sets up a workdir with the fixture extract and config; returns it.
fn setup(name: &str) -> crate::Workdir {
    let dir = workdir(name);
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    dir
}

/// Runs `sna` expecting failure; returns stderr, checking there was no panic.
fn fails(dir: &Path, args: &[&str]) -> String {
    let output = sna(dir, args);
    let err = stderr(&output);
    assert!(
        !output.status.success(),
        "expected failure for {args:?}; stdout:\n{}",
        stdout(&output)
    );
    assert_ne!(output.status.code(), Some(101), "panicked: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    err
}

/// Runs an assessment expecting failure and that no bundle (or staging directory) is left.
fn run_fails(dir: &Path) -> String {
    let err = fails(dir, &["run", "--out", "bundle"]);
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bundle"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    err
}

fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[test]
fn missing_file_is_named() {
    let dir = setup("missing-file");
    std::fs::remove_file(dir.join("extract/population.parquet")).unwrap();
    let err = fails(&dir, &["validate"]);
    assert_mentions(&err, &["population.parquet", "missing"]);
    let err = run_fails(&dir);
    assert_mentions(&err, &["population.parquet", "missing"]);
}

#[test]
fn optional_ambulance_file_may_be_absent() {
    let dir = setup("no-ambulance");
    std::fs::remove_file(dir.join("extract/ambulance.parquet")).unwrap();
    assert_success(&sna(&dir, &["validate"]));
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let headline = std::fs::read_to_string(dir.join("bundle/tables/headline.csv")).unwrap();
    assert!(
        !headline.contains("ambulance_conveyed_u25_pct"),
        "absent without an ambulance file"
    );
}

#[test]
fn file_that_is_not_parquet_is_named() {
    let dir = setup("not-parquet");
    std::fs::write(
        dir.join("extract/offences.parquet"),
        "crime_id,offence_code\nC1,8N\n",
    )
    .unwrap();
    let err = fails(&dir, &["validate"]);
    assert_mentions(&err, &["offences.parquet", "not a Parquet file"]);
    run_fails(&dir);
}

#[test]
fn truncated_file_is_named() {
    let dir = setup("truncated");
    let path = dir.join("extract/ae_attendances.parquet");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(&dir, &["validate"]);
    assert_mentions(&err, &["ae_attendances.parquet", "truncated or corrupt"]);
    run_fails(&dir);
}

#[test]
fn column_of_the_wrong_kind_is_named() {
    let dir = setup("wrong-kind");
    // `age` written as text.
    crate::fixture::write_parquet(
        &dir.join("extract/persons.parquet"),
        "crime_id,person_id,role,age,sex,home_lsoa\nC01,V1,victim,seventeen,M,A1\n",
        vec![
            Field::new("crime_id", DataType::Utf8, true),
            Field::new("person_id", DataType::Utf8, true),
            Field::new("role", DataType::Utf8, true),
            Field::new("age", DataType::Utf8, true),
            Field::new("sex", DataType::Utf8, true),
            Field::new("home_lsoa", DataType::Utf8, true),
        ],
    );
    let err = fails(&dir, &["validate"]);
    assert_mentions(&err, &["persons.parquet", "`age`", "Utf8", "integer"]);
    run_fails(&dir);
}

#[test]
fn missing_column_is_named() {
    let dir = setup("missing-column");
    crate::fixture::write_parquet(
        &dir.join("extract/ambulance.parquet"),
        "incident_id,called_at,age,sex,lsoa_code,assault\nAM1,2021-03-01T01:00:00,20,M,A1,true\n",
        vec![
            Field::new("incident_id", DataType::Utf8, true),
            Field::new(
                "called_at",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
                true,
            ),
            Field::new("age", DataType::Int32, true),
            Field::new("sex", DataType::Utf8, true),
            Field::new("lsoa_code", DataType::Utf8, true),
            Field::new("assault", DataType::Boolean, true),
        ],
    );
    let err = fails(&dir, &["validate"]);
    assert_mentions(&err, &["ambulance.parquet", "`conveyed`", "missing"]);
}

#[test]
fn data_errors_are_reported_with_examples_and_block_the_run() {
    let dir = setup("data-errors");
    // A duplicated crime_id, an offence code that does not exist, a role outside the allowed set.
    let offences = "\
crime_id,offence_code,committed_at,recorded_date,lsoa_code,location_type,domestic,knife,nte,easting,northing
C01,8N,2021-03-05T15:30:00,2021-03-05,A1,street,false,false,false,1000,1000
C01,8N,2021-03-06T15:30:00,2021-03-06,A1,street,false,false,false,1000,1000
C02,ZZ9,2021-03-07T15:30:00,2021-03-07,A1,street,false,false,false,1000,1000
";
    crate::fixture::write_parquet(
        &dir.join("extract/offences.parquet"),
        offences,
        crate::fixture::offence_fields(),
    );
    crate::fixture::write_parquet(
        &dir.join("extract/persons.parquet"),
        "crime_id,person_id,role,age,sex,home_lsoa\nC01,V1,witness,17,M,A1\n",
        ["crime_id", "person_id", "role", "age", "sex", "home_lsoa"]
            .iter()
            .map(|c| {
                let kind = if *c == "age" {
                    DataType::Int32
                } else {
                    DataType::Utf8
                };
                Field::new(*c, kind, true)
            })
            .collect(),
    );
    let output = sna(&dir, &["validate"]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert_mentions(
        &report,
        &[
            "offences.parquet, column crime_id",
            "C01",
            "offences.parquet, column offence_code",
            "\"ZZ9\"",
            "persons.parquet, column role",
            "\"witness\"",
            "NOT usable",
        ],
    );
    let err = run_fails(&dir);
    assert_mentions(&err, &["data errors", "ZZ9", "witness"]);
}

#[test]
fn config_errors_name_the_key_or_value() {
    let dir = setup("config-errors");
    let cases: &[(&str, &[&str])] = &[
        ("titel = \"typo\"\n", &["titel", "unknown field"]),
        (
            "start = 2022-01-01\nend = 2021-01-01\n",
            &["`start`", "reversed"],
        ),
        (
            "[serious_violence]\nho_groups = [\"Knife crime\"]\n",
            &["Knife crime", "ho_groups"],
        ),
        ("young_age_cutoff = 0\n", &["young_age_cutoff"]),
        ("young_age_cutoff = -3\n", &["young_age_cutoff"]),
        ("start = \"2021-02-30\"\n", &["2021-02-30"]),
    ];
    for (text, needles) in cases {
        std::fs::write(dir.join("bad.toml"), text).unwrap();
        let err = fails(
            &dir,
            &["--config", "bad.toml", "validate", "--data", "extract"],
        );
        assert_mentions(&err, needles);
        assert_mentions(&err, &["bad.toml"]);
        let err = fails(
            &dir,
            &[
                "--config", "bad.toml", "run", "--data", "extract", "--out", "bundle",
            ],
        );
        assert_mentions(&err, needles);
        assert!(!dir.join("bundle").exists());
    }
    let err = fails(&dir, &["--config", "absent.toml", "validate"]);
    assert_mentions(&err, &["absent.toml"]);
    let err = fails(
        &dir,
        &[
            "run",
            "--start",
            "2022-01-01",
            "--end",
            "2021-01-01",
            "--out",
            "bundle",
        ],
    );
    assert_mentions(&err, &["reversed"]);
    assert!(!dir.join("bundle").exists());
}

#[test]
fn failed_run_leaves_the_previous_bundle_untouched() {
    let dir = setup("keep-previous");
    assert_success(&sna(&dir, &["run", "--out", "bundle", "--quiet"]));
    let before = std::fs::read(dir.join("bundle/tables/headline.csv")).unwrap();
    std::fs::write(dir.join("extract/population.parquet"), b"PAR1 not really").unwrap();
    let err = fails(&dir, &["run", "--out", "bundle"]);
    assert_mentions(&err, &["population.parquet"]);
    assert_eq!(
        std::fs::read(dir.join("bundle/tables/headline.csv")).unwrap(),
        before
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
}

#[test]
fn missing_data_directory_is_named() {
    let dir = workdir("no-data-dir");
    let err = fails(&dir, &["validate", "--data", "nowhere"]);
    assert_mentions(&err, &["nowhere", "does not exist"]);
}

/// Scrambles bytes in the middle of a Parquet file's data pages; the footer stays intact.
pub fn scramble_pages(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    for b in &mut bytes[100_000..100_400] {
        *b = b.wrapping_mul(7).wrapping_add(13);
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn corrupt_data_pages_are_named_without_a_backtrace() {
    let dir = workdir("corrupt-pages");
    crate::copy_sample_extract(&dir);
    scramble_pages(&dir.join("extract/offences.parquet"));
    let err = fails(&dir, &["validate", "--data", "extract"]);
    assert_mentions(&err, &["offences.parquet", "cannot be read"]);
    assert!(!err.contains("stack backtrace"), "{err}");
    let err = fails(&dir, &["run", "--data", "extract", "--out", "bundle"]);
    assert_mentions(&err, &["offences.parquet", "cannot be read"]);
    assert!(!dir.join("bundle").exists());
}
