//! Tests of `catalog`.

use super::*;

#[test]
fn a_parquet_error_inside_a_query_error_is_a_decode_failure() {
    // As a scan returns it: DataFusion's Parquet error, carried through Arrow.
    let parquet = DataFusionError::ParquetError(Box::new(ParquetError::General(
        "invalid page header".to_owned(),
    )));
    let scan =
        DataFusionError::ArrowError(Box::new(ArrowError::ExternalError(Box::new(parquet))), None);
    let error = CatalogError::datafusion("data-quality query `SELECT 1`")(scan);
    assert!(is_decode_failure(&error));
    let unreadable = CatalogError::Unreadable {
        path: PathBuf::from("offences.parquet"),
        source: DecodeError::Query(Box::new(error)),
    };
    let expected = "offences.parquet: the data cannot be read (corrupt or truncated Parquet pages): Parquet error: Parquet error: invalid page header";
    assert_eq!(unreadable.to_string(), expected);
    // The chain goes on from the Parquet error shown, so nothing is said twice.
    assert_eq!(crate::text::error_chain(&unreadable), expected);
    // Shared among a plan's outputs, it is still found.
    let shared = DataFusionError::External(Box::new(Arc::new(DataFusionError::ParquetError(
        Box::new(ParquetError::EOF("eof".to_owned())),
    ))));
    assert!(is_decode_failure(&shared));
    // A planning error is not.
    let plan = DataFusionError::Plan("table 'x' not found".to_owned());
    assert!(!is_decode_failure(&plan));
    let io = DataFusionError::IoError(std::io::Error::other("Parquet error"));
    assert!(!is_decode_failure(&io), "the text alone does not count");
}

#[tokio::test]
async fn a_worker_panic_is_a_decode_failure_with_its_message() {
    let join = tokio::spawn(async { panic!("attempt to shift left with overflow") })
        .await
        .expect_err("the task panicked");
    // As DataFusion's repartitioning passes it on.
    let error = DataFusionError::Context(
        "Join Error".to_owned(),
        Box::new(DataFusionError::External(Box::new(Arc::new(join)))),
    );
    assert!(is_decode_failure(&error));
    assert!(matches!(
        panic_in(&error),
        Some(Panic::Task(Some(m))) if m == "attempt to shift left with overflow"
    ));
    let guarded = DataFusionError::Execution("a query worker panicked: x".to_owned());
    assert!(matches!(panic_in(&guarded), Some(Panic::Text)));
}

#[test]
fn view_names_are_read_from_the_sql() {
    assert_eq!(
        crate::engine::jobs::view_name("-- a view\nCREATE VIEW sv_offences AS\nSELECT 1")
            .as_deref(),
        Some("sv_offences")
    );
    assert_eq!(crate::engine::jobs::view_name("SELECT 1"), None);
}

#[tokio::test]
async fn a_new_period_reuses_only_the_views_that_do_not_involve_it() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let queries = QuerySet::bundled();
    let config = Config::default();
    let first = open(&config, &data, &queries, ViewMode::Cached)
        .await
        .unwrap();
    let mut free: Vec<&str> = first.period_free.iter().map(|(n, _)| n.as_str()).collect();
    free.sort_unstable();
    assert_eq!(
        free,
        [
            "ae_assaults",
            "area_population",
            "istv_attendances",
            "orphan_persons",
            "sv_offences_all"
        ]
    );
    let provider = |c: &Catalog, name: &str| {
        c.period_free
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| Arc::clone(p))
            .unwrap()
    };
    let all = provider(&first, "sv_offences_all");

    let mut later = config.clone();
    later.start = chrono::NaiveDate::from_ymd_opt(2021, 4, 1).unwrap();
    later.end = chrono::NaiveDate::from_ymd_opt(2022, 3, 31).unwrap();
    let second = open_for_period(&later, &data, &queries, first)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&provider(&second, "sv_offences_all"), &all));
    let count = |c: &Catalog, sql: &'static str| {
        let ctx = c.ctx.clone();
        async move {
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .value(0)
        }
    };
    // The period-bound view follows the new period.
    let outside = count(
        &second,
        "SELECT COUNT(*) FROM sv_offences s CROSS JOIN params p \
         WHERE s.committed_date NOT BETWEEN p.period_start AND p.period_end",
    )
    .await;
    assert_eq!(outside, 0);
    assert!(count(&second, "SELECT COUNT(*) FROM sv_offences").await > 0);

    // A configuration that differs in more than the period reuses nothing.
    let mut other = later.clone();
    other.serious_violence.exclude_domestic = !other.serious_violence.exclude_domestic;
    let third = open_for_period(&other, &data, &queries, second)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&provider(&third, "sv_offences_all"), &all));
}

#[test]
fn population_year_rule() {
    assert_eq!(pick_year(&[2019, 2020, 2021], 2020), Some(2020));
    assert_eq!(pick_year(&[2019, 2021], 2020), Some(2019));
    assert_eq!(pick_year(&[2021, 2022], 2020), Some(2021));
    assert_eq!(pick_year(&[], 2020), None);
}

#[test]
fn period_months_count_the_days_of_each_month_in_the_period() {
    // 15 Jan 2020 to 10 Mar 2021: January from the 15th (17 days), February 2020 a leap month
    // (29), March 2021 to the 10th; population years 2020 for 2020 and 2021 (absent) → 2020.
    let config = Config {
        start: chrono::NaiveDate::from_ymd_opt(2020, 1, 15).unwrap(),
        end: chrono::NaiveDate::from_ymd_opt(2021, 3, 10).unwrap(),
        ..Config::default()
    };
    let batch = params::period_months_batch(&config, &[2019, 2020, 2022]);
    let days = batch
        .column_by_name("days")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let days: Vec<i64> = days.iter().flatten().collect();
    assert_eq!(days.len(), 15);
    assert_eq!(&days[..3], &[17, 29, 31]);
    assert_eq!(&days[12..], &[31, 28, 10]);
    // Every day of the period once.
    assert_eq!(
        days.iter().sum::<i64>(),
        (config.end - config.start).num_days() + 1
    );
    let years = batch
        .column_by_name("population_year")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(years.value(0), 2020);
    assert_eq!(years.value(14), 2020);
}

#[tokio::test]
async fn a_view_that_reads_the_period_but_says_it_does_not_is_refused() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("views")).unwrap();
    let view = |sql: &str, meta: &str| {
        std::fs::write(dir.path().join("views/recent.sql"), sql).unwrap();
        std::fs::write(dir.path().join("views/recent.toml"), meta).unwrap();
    };
    let sql = "CREATE VIEW recent AS SELECT o.crime_id FROM offences o CROSS JOIN params p \
               WHERE CAST(o.committed_at AS DATE) >= p.period_start";
    view(sql, "title = \"Recent\"\ncache = true\nperiod = false\n");
    let queries = QuerySet::load(dir.path()).unwrap();
    let error = open(&Config::default(), &data, &queries, ViewMode::Cached)
        .await
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains(
            "queries/views/recent.sql says `period = false` but reads params.period_start"
        ),
        "{error}"
    );
    // Every column of params read by a wildcard, the period's among them.
    view(
        "CREATE VIEW recent AS SELECT p.* FROM params p",
        "title = \"Recent\"\ncache = true\nperiod = false\n",
    );
    let queries = QuerySet::load(dir.path()).unwrap();
    let error = open(&Config::default(), &data, &queries, ViewMode::Cached)
        .await
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .contains("says `period = false` but reads params.period_start")
    );
    // Named only in a comment and a string, with a parameter that does not follow the period:
    // accepted as not following it.
    view(
        "CREATE VIEW recent AS SELECT 'period_end' AS label, p.young_age_cutoff -- not period_start\n FROM params p",
        "title = \"Recent\"\ncache = true\nperiod = false\n",
    );
    let queries = QuerySet::load(dir.path()).unwrap();
    assert!(
        open(&Config::default(), &data, &queries, ViewMode::Cached)
            .await
            .is_ok()
    );
    // Declared as following the period, it is accepted.
    view(sql, "title = \"Recent\"\ncache = true\nperiod = true\n");
    let queries = QuerySet::load(dir.path()).unwrap();
    assert!(
        open(&Config::default(), &data, &queries, ViewMode::Cached)
            .await
            .is_ok()
    );
}
