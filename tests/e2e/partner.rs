//! Partner queries and the partner pack, through the real binary.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::{Table, assert_success, fixture, sna, stderr, stdout, workdir};

fn setup(name: &str) -> crate::Workdir {
    let dir = workdir(name);
    fixture::write_extract(&dir.join("extract"));
    std::fs::write(dir.join("sna.toml"), fixture::CONFIG).unwrap();
    dir
}

#[test]
fn query_writes_every_format() {
    let dir = setup("query-formats");
    let sql = "SELECT district, COUNT(*) AS offences FROM sv_offences GROUP BY district ORDER BY district";

    let output = sna(&dir, &["query", sql]);
    assert_success(&output);
    let table = stdout(&output);
    assert!(table.contains("| district | offences |"), "{table}");
    assert!(table.contains("| Alpha    | 4        |"), "{table}");
    assert!(table.contains("3 row(s) in"), "{table}");

    let output = sna(&dir, &["query", "--format", "csv", sql]);
    assert_success(&output);
    assert_eq!(
        stdout(&output),
        "district,offences\nAlpha,4\nBeta,2\nUnknown,2\n"
    );

    let output = sna(&dir, &["query", "--format", "json", sql]);
    assert_success(&output);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["district"], "Alpha");
    assert_eq!(lines[0]["offences"], 4);

    let output = sna(&dir, &["query", "--format", "parquet", sql]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--output"), "{}", stderr(&output));
    let output = sna(
        &dir,
        &[
            "query",
            "--format",
            "parquet",
            "--output",
            "out.parquet",
            sql,
        ],
    );
    assert_success(&output);
    let bytes = std::fs::read(dir.join("out.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let output = sna(
        &dir,
        &[
            "query",
            "--data",
            "extract",
            "SELECT COUNT(*) AS n FROM read_parquet_check",
        ],
    );
    assert!(!output.status.success());

    let output = sna(
        &dir,
        &["query", "--format", "csv", "--output", "out.csv", sql],
    );
    assert_success(&output);
    assert!(
        std::fs::read_to_string(dir.join("out.csv"))
            .unwrap()
            .starts_with("district,offences\n")
    );

    std::fs::write(
        dir.join("q.sql"),
        "SELECT 1 AS a;\nSELECT byar_lower(65) AS lower;",
    )
    .unwrap();
    let output = sna(&dir, &["query", "--file", "q.sql"]);
    assert_success(&output);
    let text = stdout(&output);
    assert!(
        text.contains("| a |") && text.contains("| lower "),
        "both results printed: {text}"
    );
    assert!(text.contains("50.1631877104"), "{text}");
}

#[test]
fn writes_are_refused_unless_allowed() {
    let dir = setup("query-writes");
    for sql in [
        "CREATE VIEW v AS SELECT 1",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1 AS a) TO 'copied.csv'",
        "INSERT INTO offences SELECT * FROM offences",
        "DROP VIEW sv_offences",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let output = sna(&dir, &["query", sql]);
        assert_eq!(output.status.code(), Some(1), "{sql}");
        let err = stderr(&output);
        assert!(
            err.contains("refused") && err.contains("--allow-write"),
            "{sql}: {err}"
        );
    }
    assert!(!dir.join("copied.csv").exists());
    let output = sna(
        &dir,
        &[
            "query",
            "--allow-write",
            "COPY (SELECT 1 AS a) TO 'copied.csv' STORED AS CSV",
        ],
    );
    assert_success(&output);
    assert!(dir.join("copied.csv").exists());
}

#[test]
fn sql_errors_show_datafusion_message_and_position() {
    let dir = setup("query-errors");
    let output = sna(&dir, &["query", "SELEC 1"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("Line: 1, Column: 1"), "{err}");
    let output = sna(&dir, &["query", "SELECT nope FROM sv_offences"]);
    assert!(stderr(&output).contains("nope"), "{}", stderr(&output));
}

#[test]
fn tables_lists_tables_views_columns_and_rows() {
    let dir = setup("tables");
    let output = sna(&dir, &["tables"]);
    assert_success(&output);
    let text = stdout(&output);
    for needle in [
        "offences (base table, 15 rows)",
        "sv_offences (view, 8 rows)",
        "sv_victims (view",
        "sv_offenders (view",
        "residents (view",
        "lsoa (base table, 4 rows)",
        "  committed_at",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
}

#[test]
fn shell_reads_statements_from_stdin() {
    let dir = setup("shell");
    let script = "SELECT COUNT(*)\n  AS n FROM sv_offences;\n\\d\n\\d params\nSELECT broken;\n\\f csv\nSELECT 7 AS seven;\nCREATE VIEW v AS SELECT 1;\n\\q\n";
    let output = crate::sna_with_input(&dir, &["shell"], script);
    assert_success(&output);
    let out = stdout(&output);
    let err = stderr(&output);
    assert!(
        out.contains("| n |") && out.contains("| 8 |"),
        "multi-line statement ran: {out}"
    );
    assert!(
        out.contains("sv_offences") && out.contains("view"),
        "\\d lists: {out}"
    );
    assert!(
        out.contains("young_age_cutoff"),
        "\\d params shows columns: {out}"
    );
    assert!(err.contains("broken"), "the error is printed: {err}");
    assert!(
        out.contains("seven\n7\n"),
        "the session went on after the error, in csv: {out}"
    );
    assert!(err.contains("refused"), "{err}");
}

/// The layout of each pack table: panel columns, row column, column column, count column.
const LAYOUTS: &[(&str, &[&str], &str, &str, &str)] = &[
    (
        "lsoa_year",
        &["cohort"],
        "lsoa_code",
        "financial_year",
        "offences",
    ),
    (
        "district_month",
        &["cohort"],
        "district",
        "month",
        "offences",
    ),
    (
        "district_age_sex",
        &["role", "sex"],
        "district",
        "age_band",
        "persons",
    ),
    (
        "district_hour_weekday",
        &["district"],
        "weekday",
        "hour",
        "offences",
    ),
    (
        "district_year_group",
        &["financial_year"],
        "district",
        "offence_group",
        "offences",
    ),
    (
        "ae_district_month",
        &["cohort"],
        "district",
        "month",
        "attendances",
    ),
];

/// An attacker's differencing: within every row and column of every panel (cells plus total),
/// repeatedly solve any relation with exactly one unknown. Returns the cells recovered.
fn recover_by_differencing(
    rows: &[HashMap<String, String>],
    panel: &[&str],
    row: &str,
    column: &str,
    count: &str,
) -> Vec<String> {
    let key = |r: &HashMap<String, String>, dims: &[&str]| {
        dims.iter()
            .map(|d| r[*d].clone())
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut relations: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let p = key(r, panel);
        relations
            .entry(format!("row {p} {}", r[row]))
            .or_default()
            .push(i);
        relations
            .entry(format!("col {p} {}", r[column]))
            .or_default()
            .push(i);
    }
    let mut known: Vec<Option<i64>> = rows.iter().map(|r| r[count].parse().ok()).collect();
    let mut recovered = Vec::new();
    loop {
        let mut progress = false;
        for members in relations.values() {
            let unknown: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| known[i].is_none())
                .collect();
            let [only] = unknown[..] else { continue };
            let total_index = members.iter().copied().find(|&i| {
                let r = &rows[i];
                let in_row_relation = members.iter().all(|&j| rows[j][row] == r[row]);
                if in_row_relation {
                    r[column] == "Total"
                } else {
                    r[row] == "Total"
                }
            });
            let Some(total_index) = total_index else {
                continue;
            };
            let others: i64 = members
                .iter()
                .filter(|&&i| i != only && i != total_index)
                .map(|&i| known[i].unwrap())
                .sum();
            let value = if only == total_index {
                others
            } else {
                known[total_index].unwrap() - others
            };
            known[only] = Some(value);
            recovered.push(format!(
                "{} = {value}",
                key(&rows[only], &[panel, &[row, column]].concat())
            ));
            progress = true;
        }
        if !progress {
            return recovered;
        }
    }
}

#[test]
fn the_differencing_attack_recovers_an_unprotected_cell() {
    // Panel p: r0 = [3, 20 | 23], r1 = [12, 30 | 42], totals [15, 50 | 65]; only the 3 hidden.
    let cell = |row: &str, column: &str, count: &str| -> HashMap<String, String> {
        [("p", "x"), ("r", row), ("c", column), ("n", count)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let rows = vec![
        cell("r0", "c0", ""),
        cell("r0", "c1", "20"),
        cell("r0", "Total", "23"),
        cell("r1", "c0", "12"),
        cell("r1", "c1", "30"),
        cell("r1", "Total", "42"),
        cell("Total", "c0", "15"),
        cell("Total", "c1", "50"),
        cell("Total", "Total", "65"),
    ];
    assert_eq!(
        recover_by_differencing(&rows, &["p"], "r", "c", "n"),
        vec!["x|r0|c0 = 3"]
    );
}

pub fn check_pack(pack: &Path, threshold: i64) {
    let all: Vec<&str> = LAYOUTS.iter().map(|l| l.0).collect();
    check_tables(pack, threshold, &all);
}

/// Checks the pack tables `tables` (each of [`LAYOUTS`]): aggregate only, every count 0 or at
/// least `threshold` unless suppressed and flagged, and nothing recoverable by differencing.
pub fn check_tables(pack: &Path, threshold: i64, tables: &[&str]) {
    for name in tables {
        assert!(LAYOUTS.iter().any(|l| l.0 == *name), "no layout for {name}");
    }
    for (table, panel, row, column, count) in LAYOUTS.iter().filter(|l| tables.contains(&l.0)) {
        let rows = Table::read(&pack.join(format!("{table}.csv"))).rows;
        assert!(!rows.is_empty(), "{table} has rows");
        for name in rows[0].keys() {
            let lower = name.to_lowercase();
            assert!(
                !lower.ends_with("_id") && !lower.contains("person_id") && !lower.contains("crime"),
                "{table}: identifier column {name}"
            );
            assert!(
                !lower.contains("committed_at") && !lower.contains("arrived_at"),
                "{table}: timestamp column {name}"
            );
        }
        let flag = format!("{count}_suppressed");
        let mut suppressed = 0;
        for r in &rows {
            match r[*count].as_str() {
                "" => {
                    assert_eq!(r[&flag], "true", "{table}: a null count is flagged");
                    suppressed += 1;
                }
                text => {
                    let value: i64 = text.parse().unwrap();
                    assert!(
                        value == 0 || value >= threshold,
                        "{table}: published small count {value} in {r:?}"
                    );
                    assert_eq!(r[&flag], "false");
                }
            }
            for value in r.values() {
                assert!(
                    !(value.len() > 13 && value.as_bytes()[10] == b'T'),
                    "{table}: timestamp value {value}"
                );
            }
        }
        let recovered = recover_by_differencing(&rows, panel, row, column, count);
        assert!(
            recovered.is_empty(),
            "{table}: {suppressed} suppressed, recovered {recovered:?}"
        );
    }
}

#[test]
fn partner_pack_is_aggregate_only_and_resists_differencing() {
    let dir = setup("pack");
    let output = sna(&dir, &["export", "--partner", "--out", "pack"]);
    assert_success(&output);
    let pack = dir.join("pack");
    check_pack(&pack, 5);
    let readme = std::fs::read_to_string(pack.join("README.md")).unwrap();
    for words in [
        "Counts from 1 to 4 are suppressed",
        "**Method**: cell suppression",
        "**What an intruder is assumed to know**",
        "threshold 5, protection level 5",
        "until the pack passes the audit",
        "**What is guaranteed**",
        "**Information lost**",
    ] {
        assert!(readme.contains(words), "{words}\n{readme}");
    }
    for (table, ..) in LAYOUTS {
        assert!(
            readme.contains(&format!("## {table}")),
            "README lists {table}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["kind"], "vrn-sna partner pack");
    assert_eq!(manifest["period_start"], "2021-01-01");
    for table in manifest["tables"].as_array().unwrap() {
        assert_eq!(table["parquet_sha256"].as_str().unwrap().len(), 64);
    }

    // The pack is queryable; row-level views are absent and say why.
    let output = sna(
        &dir,
        &[
            "query",
            "--data",
            "pack",
            "--format",
            "csv",
            "SELECT offences FROM district_month WHERE cohort = 'all' AND district = 'Total' AND month = '2021-01'",
        ],
    );
    assert_success(&output);
    assert_eq!(stdout(&output), "offences\n0\n");
    let output = sna(
        &dir,
        &["query", "--data", "pack", "SELECT * FROM sv_victims"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("needs row-level data"),
        "{}",
        stderr(&output)
    );

    // The pack is recorded in the release log beside it.
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("releases.json")).unwrap()).unwrap();
    assert_eq!(log["kind"], "vrn-sna partner release log");
    assert_eq!(log["releases"][0]["pack"], "pack");
    assert_eq!(log["releases"][0]["period_start"], "2021-01-01");

    // The same inputs give the same pack (README and manifest aside, which say when), with a
    // release log of its own; and again beside the first, protected together with it.
    assert_success(&sna(&dir, &["export", "--partner", "--out", "apart/again"]));
    let output = sna(&dir, &["export", "--partner", "--out", "again"]);
    assert_success(&output);
    assert!(
        stderr(&output).contains("protected and audited together with the 1 earlier release(s)"),
        "{}",
        stderr(&output)
    );
    let tables = |pack: &str| -> Vec<serde_json::Value> {
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(pack).join("manifest.json")).unwrap(),
        )
        .unwrap();
        manifest["tables"].as_array().unwrap().clone()
    };
    assert_eq!(tables("pack"), tables("apart/again"));
    assert_eq!(tables("pack"), tables("again"));
    assert_eq!(manifest["disclosure"], {
        let again: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("apart/again/manifest.json")).unwrap(),
        )
        .unwrap();
        again["disclosure"].clone()
    });

    // A lower threshold (in a release log of its own): no count under it published, nothing
    // recovered by differencing.
    let output = sna(
        &dir,
        &[
            "export",
            "--partner",
            "--out",
            "low/pack2",
            "--threshold",
            "2",
        ],
    );
    assert_success(&output);
    check_pack(&dir.join("low/pack2"), 2);
    // Both pass the intruder's audit from their files alone.
    for pack in ["pack", "low/pack2"] {
        let output = sna(&dir, &["audit-pack", pack]);
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
        assert!(stdout(&output).contains("PASS"), "{}", stdout(&output));
    }

    // The manifest declares the structure: layouts and relations within and across tables.
    let structure = &manifest["structure"];
    assert_eq!(structure["suppressed_at_least"], 1);
    let grids: Vec<&str> = structure["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["table"].as_str().unwrap())
        .collect();
    assert_eq!(grids.len(), LAYOUTS.len(), "{grids:?}");
    let lsoa = structure["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["table"] == "lsoa_year")
        .unwrap();
    assert_eq!(lsoa["layout"]["groups"], "district");
    assert_eq!(lsoa["layout"]["whole"]["value"], "all");
    let kinds: Vec<(String, String)> = structure["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                format!("{} {}", r["of"], r["parts_in"]),
            )
        })
        .collect();
    for expected in [
        (
            "link",
            "\"district_year_group.offences\" \"lsoa_year.offences\"",
        ),
        (
            "link",
            "\"district_year_group.offences\" \"district_month.offences\"",
        ),
        (
            "link",
            "\"district_hour_weekday.offences\" \"district_month.offences\"",
        ),
        ("subset", "\"lsoa_year.offences\" null"),
        ("subset", "\"ae_district_month.attendances\" null"),
    ] {
        assert!(
            kinds
                .iter()
                .any(|(k, w)| k == expected.0 && w == expected.1),
            "{expected:?} in {kinds:?}"
        );
    }

    // The fixture has so few offences that protecting them hides every non-zero count of
    // the offence tables: nothing bounds a suppressed count, so even a protection of 1000
    // passes. (The sample's packs, in sample.rs, fail a stricter protection.)
    let offences = Table::read(&pack.join("district_year_group.csv"));
    assert!(
        offences
            .rows
            .iter()
            .all(|r| r["offences"].is_empty() || r["offences"] == "0"),
        "every non-zero count suppressed"
    );
    let output = sna(&dir, &["audit-pack", "pack", "--protection", "1000"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    // A pack of a period shorter than min_pack_months is refused; the pack there is kept.
    let before = std::fs::read(pack.join("manifest.json")).unwrap();
    let config = std::fs::read_to_string(dir.join("sna.toml")).unwrap();
    std::fs::write(
        dir.join("sna.toml"),
        config.replace("end = 2021-12-31", "end = 2021-02-28"),
    )
    .unwrap();
    let output = sna(&dir, &["export", "--partner", "--out", "pack"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("shorter than 3 months (min_pack_months)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(pack.join("manifest.json")).unwrap(), before);
}

#[test]
fn partner_pack_of_open_data_holds_the_tables_it_supports_and_lists_the_rest() {
    let dir = workdir("pack-open-data");
    let open = crate::import::open_data_extract(&dir);
    std::fs::write(
        dir.join("sna.toml"),
        "data_dir = \"open\"\nstart = 2019-12-01\nend = 2020-02-29\n",
    )
    .unwrap();
    let output = sna(&dir, &["export", "--partner", "--out", "pack"]);
    assert_success(&output);
    assert!(
        stderr(&output).contains(
            "Not possible with these data, so not in the pack: ae_district_month, district_age_sex, district_hour_weekday"
        ),
        "{}",
        stderr(&output)
    );
    let pack = dir.join("pack");
    let mut files: Vec<String> = std::fs::read_dir(&pack)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "README.md",
            "district_month.csv",
            "district_month.parquet",
            "district_year_group.csv",
            "district_year_group.parquet",
            "lsoa_year.csv",
            "lsoa_year.parquet",
            "manifest.json"
        ]
    );
    // Disclosure control applies to both tables written, and withholds real counts here.
    check_tables(
        &pack,
        5,
        &["lsoa_year", "district_month", "district_year_group"],
    );
    let lsoa = Table::read(&pack.join("lsoa_year.csv"));
    assert!(
        lsoa.rows.iter().all(|r| r["cohort"] == "all"),
        "no cohort panel without ages"
    );
    assert!(lsoa.rows.iter().any(|r| r["offences_suppressed"] == "true"));
    let lsoa = Table::read(&pack.join("district_month.csv"));

    // Offence groups are the police.uk crime types of the proxy; the totals are the extract's.
    let by_month = crate::import::proxy_by_month(&open);
    let groups = Table::read(&pack.join("district_year_group.csv"));
    let mut kinds: Vec<&str> = groups
        .rows
        .iter()
        .map(|r| r["offence_group"].as_str())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["Robbery", "Total", "Violence and sexual offences"]);
    let total = groups.row(&[
        ("financial_year", "2019/20"),
        ("district", "Total"),
        ("offence_group", "Total"),
    ]);
    assert_eq!(
        total["offences"],
        by_month.values().sum::<u64>().to_string()
    );
    let months = lsoa
        .rows
        .iter()
        .filter(|r| r["district"] == "Total" && r["month"] != "Total");
    let found: BTreeMap<String, u64> = months
        .map(|r| (r["month"].clone(), r["offences"].parse().unwrap()))
        .collect();
    assert_eq!(found, by_month);

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["form"], "open_data");
    let definition = manifest["definition"].as_str().unwrap();
    assert!(definition.contains("open-data proxy"), "{definition}");
    let not: Vec<&str> = manifest["not_possible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["job"].as_str().unwrap())
        .collect();
    assert_eq!(
        not,
        [
            "ae_district_month",
            "district_age_sex",
            "district_hour_weekday"
        ]
    );
    let readme = std::fs::read_to_string(pack.join("README.md")).unwrap();
    for words in [
        "## Not possible with these data (open-data extract)",
        "(`district_age_sex`): victims and offenders need a persons extract.",
        "(`ae_district_month`): emergency-department measures need an ae_attendances extract.",
        "(`district_hour_weekday`): the day and time of offences need each offence's time",
        "## lsoa_year (",
        "## district_month (",
        "## district_year_group (",
        "Serious violence (open-data proxy) = police.uk crime types",
    ] {
        assert!(readme.contains(words), "{words}\n{readme}");
    }
    assert!(!readme.contains("## district_hour_weekday"));
}

#[test]
fn packs_sharing_a_release_log_refuse_what_they_cannot_protect() {
    let dir = setup("pack-log-refusals");
    // A file the tool did not write where the log goes: refused, kept, nothing written.
    std::fs::create_dir_all(dir.join("shared")).unwrap();
    std::fs::write(dir.join("shared/releases.json"), "{\"notes\": true}\n").unwrap();
    let output = sna(&dir, &["export", "--partner", "--out", "shared/low"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("shared/releases.json is not a partner release log written by sna"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("shared/releases.json")).unwrap(),
        "{\"notes\": true}\n"
    );
    assert!(!dir.join("shared/low").exists());
    std::fs::remove_file(dir.join("shared/releases.json")).unwrap();

    // (The fixture's packs publish no count under 5 at any threshold: the sample's do.)
    let config = sample_config(&dir, "sample", "2021-01-01", "2021-03-31");
    // A pack at threshold 2 publishes counts of 2 to 4; a pack of the same period at threshold
    // 5 beside it would have to withhold them, which nothing can do now: refused, nothing
    // written, the log as it was.
    let output = sna(
        &dir,
        &[
            "--config",
            &config,
            "export",
            "--partner",
            "--out",
            "shared/low",
            "--threshold",
            "2",
        ],
    );
    assert_success(&output);
    let log = std::fs::read(dir.join("shared/releases.json")).unwrap();
    let output = sna(
        &dir,
        &[
            "--config",
            &config,
            "export",
            "--partner",
            "--out",
            "shared/high",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("published by an earlier release in the release log"),
        "{message}"
    );
    assert!(
        message.contains("given away by shared/low (2021-01-01 to 2021-03-31): "),
        "{message}"
    );
    assert!(!dir.join("shared/high").exists());
    assert_eq!(
        std::fs::read(dir.join("shared/releases.json")).unwrap(),
        log
    );
}

/// Writes `name.toml` in `dir` for the sample extract over `start` to `end`.
fn sample_config(dir: &Path, name: &str, start: &str, end: &str) -> String {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let file = format!("{name}.toml");
    std::fs::write(
        dir.join(&file),
        format!(
            "data_dir = {:?}\nstart = {start}\nend = {end}\n",
            sample.display().to_string()
        ),
    )
    .unwrap();
    file
}

#[test]
fn overlapping_packs_of_the_sample_pass_together_only_with_a_shared_release_log() {
    let dir = workdir("pack-overlapping");
    let a = sample_config(&dir, "a", "2020-04-01", "2020-09-30");
    let b = sample_config(&dir, "b", "2020-07-01", "2020-12-31");
    let export = |config: &str, out: &str| {
        let started = std::time::Instant::now();
        let output = sna(
            &dir,
            &["--config", config, "export", "--partner", "--out", out],
        );
        assert_success(&output);
        eprintln!("{out}: {:.1} s", started.elapsed().as_secs_f64());
        output
    };
    export(&a, "shared/A");
    // The intruder keeps A; the log keeps what A published even when its directory is gone.
    std::fs::rename(dir.join("shared/A"), dir.join("kept-A")).unwrap();
    let output = export(&b, "shared/B");
    assert!(
        stderr(&output).contains(
            "protected and audited together with the 1 earlier release(s) there: shared/A (2020-04-01 to 2020-09-30)"
        ),
        "{}",
        stderr(&output)
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shared/releases.json")).unwrap())
            .unwrap();
    let periods: Vec<(&str, &str)> = log["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period_start"].as_str().unwrap(),
                r["period_end"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [("2020-04-01", "2020-09-30"), ("2020-07-01", "2020-12-31")]
    );
    let readme = std::fs::read_to_string(dir.join("shared/B/README.md")).unwrap();
    assert!(
        readme.contains("This pack was protected and audited together with them"),
        "{readme}"
    );
    // An intruder with both packs recovers nothing.
    let output = sna(&dir, &["audit-pack", "kept-A", "shared/B"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("PASS"), "{}", stdout(&output));

    // Written apart (each with its own log), the same two packs undo each other's
    // suppression: counts one hides, the other gives away.
    export(&b, "apart/B");
    let output = sna(&dir, &["audit-pack", "kept-A", "apart/B"]);
    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("FAIL"), "{report}");
    assert!(report.contains("recovered exactly"), "{report}");
    assert!(
        report.contains("district_month.offences [cohort="),
        "a district-month recovered: {report}"
    );
    // (Each alone passed its audit, or it would not have been written.)
}
