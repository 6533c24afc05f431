//! The benchmark's smoke (issue #17): `bench/run.sh` at scale 0.05, each step once, with the
//! binary `cargo test` built. DuckDB computes every plain-SQL job from the same extract and the
//! script fails unless its tables equal sna's; the comparator is shown to catch a wrong table.

use std::path::Path;
use std::process::Command;

use crate::*;

#[test]
fn bench_smoke_duckdb_tables_equal_sna() {
    let dir = workdir("bench");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = Command::new("bash")
        .arg(root.join("bench/run.sh"))
        .arg("0.05")
        .env("SNA", env!("CARGO_BIN_EXE_sna"))
        .env("REPS", "1")
        .env("BENCH_STEPS", "duckdb")
        .env("BENCH_DIR", &*dir)
        .env("XDG_CACHE_HOME", dir.join(".cache-home"))
        .output()
        .expect("run bench/run.sh");
    let out = stdout(&run);
    assert!(
        run.status.success(),
        "bench/run.sh failed:\n{out}\n{}",
        stderr(&run)
    );
    for step in ["generate", "run-cold", "duckdb-jobs", "duckdb-floor"] {
        assert!(
            out.contains(&format!("| {step} | 0.05 |")),
            "no {step} row in:\n{out}"
        );
    }
    let work = dir.join("scale-0.05");
    let verdict = std::fs::read_to_string(work.join("compare.txt")).expect("compare.txt");
    let jobs = std::fs::read_dir(work.join("duckdb-tables"))
        .expect("DuckDB's tables")
        .count();
    assert!(jobs >= 30, "DuckDB computed only {jobs} tables");
    assert!(
        verdict.contains(&format!("{jobs} of {jobs} tables equal")) && verdict.contains("PASS"),
        "{verdict}"
    );

    // The comparator fails on a wrong number and on a missing table.
    let bad = dir.join("bad-tables");
    std::fs::create_dir_all(&bad).expect("create bad-tables");
    for entry in std::fs::read_dir(work.join("duckdb-tables")).expect("DuckDB's tables") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, bad.join(path.file_name().expect("name"))).expect("copy table");
    }
    let profile = std::fs::read_to_string(bad.join("hour_profile.csv")).expect("hour_profile");
    let mut lines: Vec<String> = profile.lines().map(str::to_owned).collect();
    // hour,offences,...: one more offence at hour 0.
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    let offences: u64 = cells[1].parse().expect("a count");
    cells[1] = (offences + 1).to_string();
    lines[1] = cells.join(",");
    std::fs::write(bad.join("hour_profile.csv"), lines.join("\n") + "\n").expect("write");
    std::fs::remove_file(bad.join("knife.csv")).expect("remove knife.csv");
    let compare = Command::new(root.join("target/bench-venv/bin/python"))
        .arg(root.join("bench/duckdb_jobs.py"))
        .arg("compare")
        .arg(work.join("bundle/tables"))
        .arg(&bad)
        .output()
        .expect("run the comparator");
    let said = stdout(&compare);
    assert_eq!(compare.status.code(), Some(1), "{said}");
    assert!(said.contains("hour_profile: row 1 offences: sna"), "{said}");
    assert!(said.contains("knife: no DuckDB table"), "{said}");
    assert!(said.contains("FAIL"), "{said}");
}
