//! `sna run --shareable` (issue 16 item 6): the bundle's tables under the partner pack's
//! disclosure control, the undeclared ones withheld with their charts and report sections.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::{Table, assert_success, read_json, sna, stderr, stdout, workdir};

/// The `field` of every object in the JSON array `array`.
fn names<'a>(array: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w[field].as_str().unwrap())
        .collect()
}

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/sample")
        .display()
        .to_string()
}

/// The tables the bundled queries declare for disclosure control, with each count column and
/// the columns blanked with it.
const DECLARED: &[(&str, &str, &[&str])] = &[
    (
        "age_sex",
        "persons",
        &["rate_per_1000_year", "lower_95", "upper_95"],
    ),
    (
        "areas",
        "offences",
        &[
            "rate_per_1000_year",
            "lower_95",
            "upper_95",
            "share_pct",
            "share_lower_95",
            "share_upper_95",
            "under_25_pct",
        ],
    ),
    ("areas", "under_25_offences", &["under_25_pct"]),
    ("hour_profile", "offences", &["pct", "lower_95", "upper_95"]),
    ("knife", "offences", &["knife_pct", "lower_95", "upper_95"]),
    (
        "knife",
        "knife_offences",
        &["knife_pct", "lower_95", "upper_95"],
    ),
    ("nte", "offences", &["nte_pct", "lower_95", "upper_95"]),
    ("nte", "nte_offences", &["nte_pct", "lower_95", "upper_95"]),
    (
        "istv_incident_hours",
        "attendances",
        &["pct", "lower_95", "upper_95"],
    ),
    ("istv_incident_times", "attendances", &[]),
    (
        "istv_means",
        "attendances",
        &["pct", "lower_95", "upper_95"],
    ),
    ("time_profile", "offences", &[]),
    (
        "trend_ae_monthly",
        "attendances",
        &["rate_per_1000", "lower_95", "upper_95"],
    ),
    (
        "trend_monthly",
        "offences",
        &["rate_per_1000", "lower_95", "upper_95"],
    ),
];

/// The keys that identify a row of each declared table.
fn key(table: &str, row: &std::collections::HashMap<String, String>) -> String {
    let columns: &[&str] = match table {
        "hour_profile" | "istv_incident_hours" => &["hour"],
        "time_profile" | "istv_incident_times" => &["weekday", "hour"],
        "istv_means" => &["means"],
        "knife" | "nte" => &["breakdown", "category"],
        "areas" => &["level", "area_name"],
        "age_sex" => &["role", "age_band", "sex"],
        _ => &["month", "cohort"],
    };
    columns
        .iter()
        .map(|c| row[*c].clone())
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn shareable_bundle_of_the_sample_publishes_only_protected_tables() {
    let dir = workdir("shareable-sample");
    let data = sample();
    assert_success(&sna(&dir, &["run", "--data", &data, "--out", "internal"]));
    let output = sna(
        &dir,
        &["run", "--shareable", "--data", &data, "--out", "shared"],
    );
    assert_success(&output);
    let shared = dir.join("shared");
    let threshold = 5;

    // Only the declared tables are published.
    let published: BTreeSet<String> = std::fs::read_dir(shared.join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut expected: BTreeSet<String> = DECLARED
        .iter()
        .map(|(t, _, _)| *t)
        .chain(["headline"])
        .flat_map(|t| [format!("{t}.csv"), format!("{t}.parquet")])
        .collect();
    expected.insert("README.md".into());
    assert_eq!(published, expected);
    assert!(!shared.join("data_quality.json").exists());

    // Each count: never 1 to threshold - 1; empty exactly where flagged, with its derived
    // columns; otherwise the internal bundle's value.
    let mut suppressed = 0;
    let mut hidden: BTreeMap<(String, String), bool> = BTreeMap::new();
    for (table, count, derived) in DECLARED {
        let mine = Table::read(&shared.join(format!("tables/{table}.csv")));
        let theirs = Table::read(&dir.join(format!("internal/tables/{table}.csv")));
        assert_eq!(mine.rows.len(), theirs.rows.len(), "{table}");
        // Rows in the order of their axes, whatever the job's order (which may follow the
        // counts); each the internal bundle's row of the same axes.
        let by_key: BTreeMap<String, &std::collections::HashMap<String, String>> =
            theirs.rows.iter().map(|r| (key(table, r), r)).collect();
        assert_eq!(by_key.len(), theirs.rows.len(), "{table}: keys not unique");
        for row in &mine.rows {
            let original = by_key[&key(table, row)];
            let flag = &row[&format!("{count}_suppressed")];
            let value = &row[*count];
            *hidden
                .entry((table.to_string(), key(table, row)))
                .or_default() |= flag == "true";
            if flag == "true" {
                suppressed += 1;
                assert_eq!(value, "", "{table} {row:?}");
                for column in *derived {
                    assert_eq!(row[*column], "", "{table}.{column} {row:?}");
                }
            } else {
                assert_eq!(flag, "false");
                let n: i64 = value.parse().unwrap();
                assert!(
                    n == 0 || n >= threshold,
                    "{table}: a count of {n} is published: {row:?}"
                );
                assert_eq!(value, &original[*count], "{table} {row:?}");
                for column in *derived {
                    // Blank where any count it is derived from is suppressed.
                    let blanked = DECLARED
                        .iter()
                        .filter(|(t, _, d)| t == table && d.contains(column))
                        .any(|(_, c, _)| row[&format!("{c}_suppressed")] == "true");
                    let expected = if blanked { "" } else { &original[*column] };
                    assert_eq!(row[*column], expected, "{table}.{column} {row:?}");
                }
            }
        }
    }
    assert!(
        suppressed > 0,
        "the sample's weekday x hour table has small cells"
    );
    // No hour differenced out of two tables: an hour published in the hour profile has no
    // weekday cell hidden alone in weekday x hour.
    for (hours, cells) in [
        ("hour_profile", "time_profile"),
        ("istv_incident_hours", "istv_incident_times"),
    ] {
        for hour in 0..24 {
            let hour = hour.to_string();
            let alone = hidden
                .iter()
                .filter(|((t, k), h)| t == cells && k.ends_with(&format!("/{hour}")) && **h)
                .count();
            if !hidden[&(hours.to_owned(), hour.clone())] {
                assert_ne!(alone, 1, "{cells} hour {hour}: one weekday hidden alone");
            }
        }
    }

    // The same count in two tables is hidden in both or neither: each district's offences in
    // `knife` and `nte`, each hour's in `nte` and `hour_profile`.
    let flags = |table: &str, breakdown: &str| -> BTreeMap<String, String> {
        Table::read(&shared.join(format!("tables/{table}.csv")))
            .rows
            .iter()
            .filter(|r| r["breakdown"] == breakdown)
            .map(|r| (r["category"].clone(), r["offences_suppressed"].clone()))
            .collect()
    };
    let districts = flags("knife", "district");
    assert!(districts.len() > 2, "{districts:?}");
    assert_eq!(districts, flags("nte", "district"));
    for (hour, flag) in flags("nte", "hour") {
        if let Some(&hidden) = hidden.get(&("hour_profile".to_owned(), hour.clone())) {
            assert_eq!(flag == "true", hidden, "hour {hour}");
        }
    }

    // `sna audit-pack` audits the bundle from its files and manifest alone: it passes at the
    // threshold, fails at a stricter protection, and refuses an internal bundle.
    let output = sna(&dir, &["audit-pack", "shared"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("PASS"), "{}", stdout(&output));
    let output = sna(&dir, &["audit-pack", "shared", "--protection", "40"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("FAIL"), "{}", stdout(&output));
    let output = sna(&dir, &["audit-pack", "internal"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("not a shareable bundle"),
        "{}",
        stderr(&output)
    );

    // The manifest records the control and what was withheld.
    let manifest = read_json(&shared.join("manifest.json"));
    let control = &manifest["shareable"];
    assert_eq!(control["threshold"], threshold);
    assert_eq!(control["protection"], threshold);
    assert!(control["audit_programs"].as_u64().unwrap() > 0);
    let withheld = names(&control["withheld"], "name");
    for name in ["lsoa_hotspots", "data_quality", "data_quality.json"] {
        assert!(
            withheld.contains(&name),
            "{name} not withheld: {withheld:?}"
        );
    }
    // Nor are the withheld tables' row counts.
    let mut jobs: Vec<&str> = manifest["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    jobs.sort_unstable();
    let mut declared: Vec<&str> = DECLARED
        .iter()
        .map(|(t, _, _)| *t)
        .chain(["headline"])
        .collect();
    declared.sort_unstable();
    declared.dedup();
    assert_eq!(jobs, declared);
    let internal = read_json(&dir.join("internal/manifest.json"));
    assert!(internal.get("shareable").is_none());
    // Charts of withheld tables are skipped, saying why; the others drawn.
    for chart in manifest["charts"].as_array().unwrap() {
        let name = chart["name"].as_str().unwrap();
        let drawn = chart["drawn"].as_bool().unwrap();
        match name {
            "trend_police" | "trend_ae" | "time_heatmap" | "istv_time_heatmap" | "age_sex"
            | "districts" | "knife_nte" => {
                assert!(drawn, "{name}")
            }
            _ => assert!(!drawn, "{name} drawn from a withheld table"),
        }
    }
    // The district chart is drawn from the protected `areas` and the headline's area-wide
    // rate; the age-sex pyramids mark suppressed bands grey.
    let chart = |name: &str| {
        manifest["charts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        chart("districts")["tables"],
        serde_json::json!(["areas", "headline"])
    );
    assert!(
        chart("age_sex")["caption"]
            .as_str()
            .unwrap()
            .contains("Grey bands: counts suppressed by disclosure control"),
        "{}",
        chart("age_sex")
    );
    // A ward hidden alone in its district would be differenced out of the district's count:
    // every district has no ward or at least two hidden.
    let areas = Table::read(&shared.join("tables/areas.csv"));
    let mut hidden_wards: BTreeMap<String, usize> = BTreeMap::new();
    for row in areas.rows.iter().filter(|r| r["level"] == "ward") {
        *hidden_wards.entry(row["district"].clone()).or_default() +=
            usize::from(row["offences_suppressed"] == "true");
    }
    assert!(hidden_wards.values().any(|n| *n > 0), "{hidden_wards:?}");
    assert!(hidden_wards.values().all(|n| *n != 1), "{hidden_wards:?}");
    // The headline publishes the measures whose every count is a published cell or known
    // total of the protected tables, each equal to the internal bundle's row; the others
    // (counts of persons, which no shared table publishes) are withheld and listed.
    let headline = Table::read(&shared.join("tables/headline.csv"));
    let internal_headline = Table::read(&dir.join("internal/tables/headline.csv"));
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
            "top_district_share_pct",
            "ae_assault_rate_per_1000_year"
        ]
    );
    for row in &headline.rows {
        let original = internal_headline
            .rows
            .iter()
            .find(|r| r["measure"] == row["measure"])
            .unwrap();
        assert_eq!(row, original);
    }
    // The peak hour's offences are the hour profile's published count of that hour.
    let peak = &headline.rows[4];
    let hour: f64 = peak["value"].parse().unwrap();
    let profile = Table::read(&shared.join("tables/hour_profile.csv"));
    let cell = profile
        .rows
        .iter()
        .find(|r| r["hour"] == format!("{hour}"))
        .unwrap();
    assert_eq!(cell["offences"], peak["numerator"]);
    let measures_withheld = names(&control["measures_withheld"], "name");
    assert!(
        measures_withheld.contains(&"headline: victim_prevalence_pct"),
        "{measures_withheld:?}"
    );
    assert_eq!(control["measures"].as_array().unwrap().len(), 7);
    assert!(chart("knife_nte")["drawn"].as_bool().unwrap());

    // The report states the method, lists what was withheld and has no withheld section.
    let report = std::fs::read_to_string(shared.join("index.html")).unwrap();
    assert!(report.contains("Disclosure: shareable."), "notice");
    assert!(!report.contains("for use within the partnership"));
    assert!(report.contains("counts from 1 to 4 are suppressed"));
    assert!(report.contains("id=\"withheld\""));
    assert!(report.contains("<code>lsoa_hotspots</code>"));
    assert!(
        !report.contains("<section id=\"repeat\""),
        "section repeat is in the shareable report"
    );
    for section in ["people", "places"] {
        assert!(
            report.contains(&format!("<section id=\"{section}\"")),
            "section {section} is not in the shareable report"
        );
    }
    assert!(report.contains("<section id=\"times\""));
    // The knife table is shared: its cohort breakdown is in the report, suppressed cells as
    // dashes.
    let weapons = report
        .split("<section id=\"weapons\"")
        .nth(1)
        .expect("weapons section")
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        weapons.contains("Knife-enabled offences by age cohort"),
        "{weapons}"
    );
    assert!(report.contains("<section id=\"cardiff\""));
    assert!(!report.contains("tables/lsoa_hotspots.csv"));
    assert!(report.contains("There were 5,229 serious violence offences in the period"));
    assert!(!report.contains("Residents recorded as victims"));
    let internal_report = std::fs::read_to_string(dir.join("internal/index.html")).unwrap();
    assert!(internal_report.contains("for use within the partnership"));
    assert!(internal_report.contains("<section id=\"places\""));
}

/// A declared layout that does not fit its table stops the run naming the file; nothing is
/// written.
#[test]
fn shareable_run_refuses_a_layout_that_does_not_fit() {
    let dir = workdir("shareable-layout");
    crate::measures::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
        &dir.join("queries"),
    );
    let toml = dir.join("queries/hour_profile.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "suppress_with = { offences = [\"pct\", \"lower_95\", \"upper_95\"] }",
        "suppress_with = { offences = [\"pct\", \"share\"] }",
    );
    std::fs::write(&toml, text).unwrap();
    std::fs::write(dir.join("sna.toml"), "queries_dir = \"queries\"\n").unwrap();
    let output = sna(
        &dir,
        &["run", "--shareable", "--data", &sample(), "--out", "shared"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("queries/hour_profile.toml") && message.contains("`share`"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert!(!dir.join("shared").exists());
    // Without --shareable the layout is not read: the internal bundle is written.
    assert_success(&sna(
        &dir,
        &["run", "--data", &sample(), "--out", "internal"],
    ));
}

/// With `[localities]` (which group wards or single LSOAs, so their relation to the wards
/// cannot be declared) a shareable bundle leaves the locality rows of `areas` out, lists them
/// as withheld, and still passes its audit.
#[test]
fn shareable_bundle_leaves_localities_out() {
    let dir = workdir("shareable-localities");
    std::fs::write(
        dir.join("sna.toml"),
        "[localities]\n\"City centre\" = [\"Castle\", \"Abbey\"]\n",
    )
    .unwrap();
    let data = sample();
    assert_success(&sna(&dir, &["run", "--data", &data, "--out", "internal"]));
    let internal = Table::read(&dir.join("internal/tables/areas.csv"));
    assert!(internal.rows.iter().any(|r| r["level"] == "locality"));
    assert_success(&sna(
        &dir,
        &["run", "--shareable", "--data", &data, "--out", "shared"],
    ));
    let shared = Table::read(&dir.join("shared/tables/areas.csv"));
    assert!(shared.rows.iter().all(|r| r["level"] != "locality"));
    assert!(shared.rows.iter().any(|r| r["level"] == "ward"));
    let manifest = read_json(&dir.join("shared/manifest.json"));
    let withheld = names(&manifest["shareable"]["withheld"], "name");
    assert!(
        withheld.contains(&"areas: level = locality"),
        "{withheld:?}"
    );
    let output = sna(&dir, &["audit-pack", "shared"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

/// A shareable bundle is protected jointly with the release log beside it, as an intruder
/// holding every release would attack it, and recorded there: a second bundle of the same
/// period is protected with the first (the same tables), and a partner pack of the same period
/// beside them cannot be protected together with them on the sample, so its export is refused
/// and leaves the log as it was; a bundle beside a pack is refused the same way, naming the log.
#[test]
fn shareable_bundles_are_protected_with_the_release_log() {
    let dir = workdir("shareable-release-log");
    std::fs::write(
        dir.join("sna.toml"),
        format!(
            "data_dir = \"{}\"\nstart = 2021-01-01\nend = 2021-03-31\n",
            sample()
        ),
    )
    .unwrap();
    assert_success(&sna(&dir, &["run", "--shareable", "--out", "first"]));
    assert_success(&sna(&dir, &["run", "--shareable", "--out", "second"]));
    let log = read_json(&dir.join("releases.json"));
    let packs = names(&log["releases"], "pack");
    assert_eq!(packs, ["first", "second"]);
    let manifest = read_json(&dir.join("second/manifest.json"));
    assert_eq!(
        manifest["shareable"]["protected_with"],
        serde_json::json!(["first (2021-01-01 to 2021-03-31)"])
    );
    for table in ["areas", "trend_monthly", "time_profile", "age_sex"] {
        assert_eq!(
            std::fs::read(dir.join(format!("first/tables/{table}.csv"))).unwrap(),
            std::fs::read(dir.join(format!("second/tables/{table}.csv"))).unwrap(),
            "{table}"
        );
    }
    // A pack beside the bundles: refused, nothing written, the log unchanged.
    let before = std::fs::read(dir.join("releases.json")).unwrap();
    let output = sna(&dir, &["export", "--partner", "--out", "pack"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(!dir.join("pack").exists());
    assert_eq!(std::fs::read(dir.join("releases.json")).unwrap(), before);
    // A bundle beside a pack (a log of its own): refused, naming the log and the pack.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(dir.join("sna.toml"), other.join("sna.toml")).unwrap();
    assert_success(&sna(&other, &["export", "--partner", "--out", "pack"]));
    let before = std::fs::read(other.join("releases.json")).unwrap();
    let output = sna(&other, &["run", "--shareable", "--out", "shared"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("release log ./releases.json") && message.contains("pack (2021-01-01"),
        "{message}"
    );
    assert!(!other.join("shared").exists());
    assert_eq!(std::fs::read(other.join("releases.json")).unwrap(), before);
}
