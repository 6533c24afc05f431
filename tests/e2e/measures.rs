//! An analyst's own measure (issue 13): a SQL file and its metadata added to a copy of
//! `queries/` appear in the report, `tables/README.md` and the manifest with no Rust change;
//! their column tests stop a run whose result breaks them; placement and dependency mistakes
//! are errors naming the file. The measure is README's own example, so README stays true.

use std::path::{Path, PathBuf};

use crate::{assert_success, sna, stderr, workdir};

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The fenced block of `language` in README's "Add your own measure" section.
fn readme_block(language: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("## Add your own measure")
        .expect("README has the section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let fence = format!("```{language}\n");
    let from = section.find(&fence).expect("the block") + fence.len();
    let to = from + section[from..].find("```").unwrap();
    // The blocks are indented under a numbered list.
    section[from..to]
        .lines()
        .map(|l| l.strip_prefix("   ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn setup(name: &str) -> (crate::Workdir, PathBuf) {
    let dir = workdir(name);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
        &dir.join("queries"),
    );
    std::fs::write(dir.join("queries/night_assaults.sql"), readme_block("sql")).unwrap();
    std::fs::write(
        dir.join("queries/night_assaults.toml"),
        readme_block("toml"),
    )
    .unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    (dir, data)
}

fn run(dir: &Path, data: &Path, out: &str) -> std::process::Output {
    sna(
        dir,
        &[
            "run",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out,
            "--quiet",
        ],
    )
}

#[test]
fn a_new_measure_with_metadata_appears_in_the_report() {
    let (dir, data) = setup("own-measure");
    let output = run(&dir, &data, "bundle");
    assert_success(&output);
    let html = std::fs::read_to_string(dir.join("bundle/index.html")).unwrap();
    let times = &html[html.find("<section id=\"times\">").unwrap()..];
    let times = &times[..times.find("</section>").unwrap()];
    // minijinja escapes the slash of the link.
    assert!(
        times.contains("<caption>Serious violence at night, by district <a href=\"tables&#x2f;night_assaults.csv\">CSV</a></caption>"),
        "{times}"
    );
    assert!(
        times.contains(
            "<th>District</th><th class=\"n\">Offences</th><th class=\"n\">At night (%)</th>"
        ),
        "{times}"
    );
    // After the heat map (order 10 against 20).
    assert!(times.find("fig-time_heatmap").unwrap() < times.find("night_assaults.csv").unwrap());
    let csv = std::fs::read_to_string(dir.join("bundle/tables/night_assaults.csv")).unwrap();
    let first = csv.lines().nth(1).unwrap();
    let district = first.split(',').next().unwrap();
    assert!(times.contains(&format!("<td>{district}</td>")), "{times}");
    let readme = std::fs::read_to_string(dir.join("bundle/tables/README.md")).unwrap();
    assert!(
        readme.contains("**Serious violence at night by district** (`queries/night_assaults.sql`)")
    );
    assert!(readme.contains("| `night_pct` | share committed at night |"));
    let manifest = std::fs::read_to_string(dir.join("bundle/manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let job = manifest["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "night_assaults")
        .expect("the job is in the manifest");
    assert_eq!(job["metadata_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn metadata_tests_and_mistakes_stop_the_run_naming_the_file() {
    let (dir, data) = setup("own-measure-bad");
    let meta = dir.join("queries/night_assaults.toml");
    let good = std::fs::read_to_string(&meta).unwrap();

    // A column test the result breaks: no bundle, the job, test and value named.
    std::fs::write(&meta, good.replace("max = 100", "max = 1")).unwrap();
    let output = run(&dir, &data, "bundle");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("job night_assaults: column night_pct: max = 1 fails: "),
        "{err}"
    );
    assert!(
        err.contains("(tests in queries/night_assaults.toml)"),
        "{err}"
    );
    assert!(!dir.join("bundle").exists());

    // A section the report does not have.
    std::fs::write(
        &meta,
        good.replace("section = \"times\"", "section = \"tims\""),
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("queries/night_assaults.toml: [[report]] places `night` in section `tims`, which templates/report.html.j2 does not have (its sections: "),
        "{err}"
    );
    assert!(!dir.join("bundle").exists());

    // A misspelt key.
    std::fs::write(&meta, good.replace("caption =", "captoin =")).unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(err.contains("queries/night_assaults.toml: "), "{err}");
    assert!(err.contains("captoin"), "{err}");

    // A column the metadata describes but the result does not have.
    std::fs::write(
        &meta,
        good.replace("name = \"night_pct\"", "name = \"night_share\""),
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("job night_assaults: column night_share fails: the result has no such column"),
        "{err}"
    );

    // What only another kind of file may declare: a dashboard placement on a job, tests on a
    // view; and a file name that is not a lower-case identifier.
    std::fs::write(
        &meta,
        format!("{good}\n[[dashboard]]\nsection = \"districts\"\nfigure = \"x\"\n"),
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("queries/night_assaults.toml: this kind of file cannot declare [[dashboard]]"),
        "{err}"
    );
    std::fs::write(&meta, &good).unwrap();
    let view_meta = dir.join("queries/views/residents.toml");
    let view_text = std::fs::read_to_string(&view_meta).unwrap();
    std::fs::write(
        &view_meta,
        format!("{view_text}\n[[tests]]\ncolumn = \"population\"\nsums_to = 1\n"),
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("queries/views/residents.toml: this kind of file cannot declare tests"),
        "{err}"
    );
    std::fs::write(&view_meta, view_text).unwrap();
    std::fs::write(dir.join("queries/Night.sql"), "SELECT 1 AS x").unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("Night.sql: a SQL file's name is the table it writes"),
        "{err}"
    );
    std::fs::remove_file(dir.join("queries/Night.sql")).unwrap();

    // A job that reads nothing that exists, and two jobs that read each other.
    std::fs::write(&meta, &good).unwrap();
    std::fs::write(
        dir.join("queries/night_assaults.sql"),
        "SELECT district FROM sv_ofences",
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("queries/night_assaults.sql reads `sv_ofences`, which is no input table, view or job of this run"),
        "{err}"
    );
    std::fs::write(
        dir.join("queries/night_assaults.sql"),
        "SELECT * FROM night_two",
    )
    .unwrap();
    std::fs::write(
        dir.join("queries/night_two.sql"),
        "SELECT * FROM night_assaults",
    )
    .unwrap();
    let err = stderr(&run(&dir, &data, "bundle"));
    assert!(
        err.contains("read each other: neither can run first"),
        "{err}"
    );
    assert!(!dir.join("bundle").exists());
}

/// `sna export --partner` runs its tables through the same job runner: a partner table's
/// column test is checked against what the pack would publish (after suppression).
#[test]
fn partner_tables_are_checked_against_their_metadata_tests() {
    let (dir, data) = setup("own-measure-partner");
    let meta = dir.join("queries/partner/district_year_group.toml");
    let text = std::fs::read_to_string(&meta).unwrap();
    let broken = text.replacen("name = \"offences\"\n", "name = \"offences\"\nmax = 0\n", 1);
    assert_ne!(broken, text);
    std::fs::write(&meta, broken).unwrap();
    let output = sna(
        &dir,
        &[
            "export",
            "--partner",
            "--data",
            data.to_str().unwrap(),
            "--out",
            "pack",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("job district_year_group: column offences: max = 0 fails: "),
        "{err}"
    );
    assert!(!dir.join("pack").exists());
    std::fs::write(&meta, text).unwrap();
    assert_success(&sna(
        &dir,
        &[
            "export",
            "--partner",
            "--data",
            data.to_str().unwrap(),
            "--out",
            "pack",
        ],
    ));
}
