//! Tests of `jobs`.

use super::*;

fn set(files: &[(&str, &str)]) -> QuerySet {
    let dir = std::env::temp_dir().join(format!(
        "vrn-sna-jobs-{}-{}",
        std::process::id(),
        files[0].0
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let set = QuerySet::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    set
}

#[test]
fn references_leave_out_ctes_and_the_view_itself() {
    let refs = references(
        "WITH a AS (SELECT * FROM offences) SELECT * FROM a JOIN Params p ON true \
         WHERE x IN (SELECT y FROM lsoa_hotspots)",
    )
    .unwrap();
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["lsoa_hotspots", "offences", "params"]
    );
    let refs = references("CREATE VIEW sv AS SELECT * FROM sv_all").unwrap();
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["sv_all"]);
}

#[test]
fn a_job_needs_the_inputs_its_views_read() {
    let set = QuerySet::bundled();
    let needs = |job: &str| {
        sources(&set.job(job).unwrap().sql, &set)
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        needs("trend_monthly"),
        ["offences", "persons", "population"]
    );
    assert_eq!(needs("ambulance"), ["ambulance"]);
    assert_eq!(
        view_name("CREATE VIEW \"sv\" AS SELECT 1").as_deref(),
        Some("sv")
    );
    assert_eq!(view_name("SELECT 1"), None);
}

#[test]
fn jobs_run_after_the_jobs_they_read_and_mistakes_are_named() {
    let s = set(&[
        ("a_top.sql", "SELECT * FROM z_base LIMIT 1"),
        ("z_base.sql", "SELECT * FROM offences"),
    ]);
    let jobs: Vec<&SqlFile> = s.jobs.iter().collect();
    let known = |n: &str| n == "offences";
    let order: Vec<&str> = ordered(&jobs, &|j| j.name.clone(), &known)
        .unwrap()
        .iter()
        .map(|j| j.name.as_str())
        .collect();
    assert_eq!(order, ["z_base", "a_top"]);

    let s = set(&[("a_top.sql", "SELECT * FROM nowhere")]);
    let jobs: Vec<&SqlFile> = s.jobs.iter().collect();
    let err = ordered(&jobs, &|j| j.name.clone(), &known)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "queries/a_top.sql reads `nowhere`, which is no input table, view or job of this run"
    );

    let s = set(&[
        ("a_one.sql", "SELECT * FROM b_two"),
        ("b_two.sql", "SELECT * FROM a_one"),
    ]);
    let jobs: Vec<&SqlFile> = s.jobs.iter().collect();
    let err = ordered(&jobs, &|j| j.name.clone(), &known)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("queries/b_two.sql and queries/a_one.sql read each other"),
        "{err}"
    );
}

#[tokio::test]
async fn tests_of_the_metadata_fail_with_the_value_found() {
    let s = set(&[
        (
            "a_share.sql",
            "SELECT * FROM (VALUES ('x', 60.0, 1), ('y', 50.0, 2), ('y', 1.0, 3)) t(area, pct, n)",
        ),
        (
            "a_share.toml",
            "[[columns]]\nname = \"area\"\nnot_null = true\naccepted_values = [\"x\", \"y\"]\n\
             [[columns]]\nname = \"pct\"\nmin = 0\nmax = 100\n\
             [[tests]]\ncolumn = \"pct\"\nsums_to = 100\ngroup_by = []\n",
        ),
    ]);
    let ctx = SessionContext::new();
    let dir = std::env::temp_dir().join(format!("vrn-sna-jobs-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jobs: Vec<&SqlFile> = s.jobs.iter().collect();
    let err = run_all(&ctx, &jobs, &dir, &mut |_| {}).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "job a_share: pct sums to 100 (±0.5) by [] fails: the table: 111.0 (tests in queries/a_share.toml)"
    );

    let mut job = s.jobs[0].clone();
    job.meta.tests.clear();
    job.meta.columns[1].max = Some(55.0);
    let ctx = SessionContext::new();
    let err = run_all(&ctx, &[&job], &dir, &mut |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("column pct: max = 55 fails: 60"),
        "{err}"
    );

    job.meta.columns[1].max = None;
    job.meta.columns[0].accepted_values = vec!["x".into()];
    let ctx = SessionContext::new();
    let err = run_all(&ctx, &[&job], &dir, &mut |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("accepted_values = [x] fails: y"),
        "{err}"
    );

    job.meta.columns[0].accepted_values.clear();
    job.meta.columns[0].unique = true;
    let ctx = SessionContext::new();
    let err = run_all(&ctx, &[&job], &dir, &mut |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("unique fails: y appears 2 times"),
        "{err}"
    );

    job.meta.columns[0].unique = false;
    let ctx = SessionContext::new();
    let done = run_all(&ctx, &[&job], &dir, &mut |_| {}).await.unwrap();
    assert_eq!(done[0].rows, 3);
    std::fs::remove_dir_all(&dir).unwrap();
}
