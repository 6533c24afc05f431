use super::*;
use crate::engine::metadata::Metadata;
use arrow::array::Float64Array;

fn job(name: &str, meta: &str) -> SqlFile {
    SqlFile {
        name: name.into(),
        relative_path: format!("{name}.sql"),
        sql: String::new(),
        meta: toml::from_str::<Metadata>(meta).unwrap(),
        meta_text: Some(meta.into()),
    }
}

/// Writes `name` (CSV and Parquet) with a text column `hour`, an Int64 `offences` and a
/// Float64 `pct` (offences as a share of their sum).
fn hours(dir: &Path, name: &str, counts: &[i64]) {
    let total: i64 = counts.iter().sum();
    let schema = Arc::new(Schema::new(vec![
        Field::new("hour", DataType::Utf8, false),
        Field::new("offences", DataType::Int64, false),
        Field::new("pct", DataType::Float64, true),
    ]));
    let hour: Vec<String> = (0..counts.len()).map(|h| h.to_string()).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(hour)),
            Arc::new(Int64Array::from(counts.to_vec())),
            Arc::new(Float64Array::from(
                counts
                    .iter()
                    .map(|c| 100.0 * *c as f64 / total as f64)
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut files = TableFiles::create(dir, name, schema).unwrap();
    files.write(&batch).unwrap();
    files.finish().unwrap();
}

const HOURS: &str = r#"
disclosure = "rows=hour counts=offences"
suppress_with = { offences = ["pct"] }
"#;

#[test]
fn small_counts_are_suppressed_with_their_derived_columns_and_a_complement() {
    let dir = tempfile::tempdir().unwrap();
    hours(dir.path(), "hours", &[2, 30, 40, 50]);
    let jobs = [job("hours", HOURS)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, withheld) = protect(dir.path(), &refs, 5).unwrap();
    assert!(withheld.is_empty());
    let csv = std::fs::read_to_string(dir.path().join("hours.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "hour,offences,offences_suppressed,pct");
    // The 2 is suppressed, and so is its share; with the grand total known, one more count
    // (the smallest large enough to hide it: 30) must go too.
    assert_eq!(lines[1], "0,,true,");
    assert_eq!(lines[2], "1,,true,");
    assert!(lines[3].starts_with("2,40,false,"), "{}", lines[3]);
    assert!(lines[4].starts_with("3,50,false,"), "{}", lines[4]);
    assert_eq!((summary.primary, summary.secondary), (1, 1));
    assert_eq!(summary.suppressed_total, 32);
    assert_eq!(summary.published_total, 90);
    assert_eq!(summary.tables[0].suppressed, 2);
    // The Parquet file says the same.
    let batch = read_parquet(&dir.path().join("hours.parquet")).unwrap();
    assert_eq!(batch.column(1).null_count(), 2);
    assert_eq!(batch.column(3).null_count(), 2);
}

#[test]
fn undeclared_tables_are_withheld() {
    let dir = tempfile::tempdir().unwrap();
    hours(dir.path(), "hours", &[20, 30, 40, 50]);
    hours(dir.path(), "homicides", &[1, 0, 2, 0]);
    let jobs = [
        job("hours", HOURS),
        job("homicides", "title = \"Homicides\""),
    ];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, withheld) = protect(dir.path(), &refs, 5).unwrap();
    assert!(!dir.path().join("homicides.csv").exists());
    assert!(!dir.path().join("homicides.parquet").exists());
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0].job, "homicides");
    assert_eq!(withheld[0].reason, WITHHELD);
    assert_eq!(summary.withheld[0].name, "homicides");
    // Nothing small in the declared table: published as it was, with its flags.
    let csv = std::fs::read_to_string(dir.path().join("hours.csv")).unwrap();
    assert!(csv.contains("\n0,20,false,"), "{csv}");
    assert_eq!(summary.primary + summary.secondary, 0);
    assert!(summary.notice().contains("homicides"));
}

/// Two tables counting the same offences are protected as one system: the hour whose count
/// is hidden in one is hidden in the other too (else the other would publish it).
#[test]
fn tables_counting_the_same_events_are_protected_together() {
    let dir = tempfile::tempdir().unwrap();
    // `grid`: weekday x hour; `hours`: its hour totals.
    let schema = Arc::new(Schema::new(vec![
        Field::new("weekday", DataType::Utf8, false),
        Field::new("hour", DataType::Utf8, false),
        Field::new("offences", DataType::Int64, false),
    ]));
    let cells = [
        ("Mon", "0", 1),
        ("Mon", "1", 20),
        ("Mon", "2", 30),
        ("Tue", "0", 1),
        ("Tue", "1", 25),
        ("Tue", "2", 35),
    ];
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(
                cells.iter().map(|c| c.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                cells.iter().map(|c| c.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                cells.iter().map(|c| c.2).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut files = TableFiles::create(dir.path(), "grid", schema).unwrap();
    files.write(&batch).unwrap();
    files.finish().unwrap();
    hours(dir.path(), "hours", &[2, 45, 65]);
    let jobs = [
        job(
            "grid",
            "disclosure = \"rows=weekday columns=hour counts=offences\"",
        ),
        job("hours", HOURS),
    ];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, _) = protect(dir.path(), &refs, 5).unwrap();
    // The intruder's system, rebuilt from the files and the recorded structure, links each
    // hour of `hours` to its column of `grid`.
    let system = system_from_files(dir.path(), &summary.structure).unwrap();
    let links = system
        .summary()
        .into_iter()
        .filter(|(origin, _)| matches!(origin, crate::partners::structure::Origin::Link(..)))
        .map(|(_, n)| n)
        .sum::<usize>();
    assert!(links >= 3, "{:?}", system.summary());
    let hours = std::fs::read_to_string(dir.path().join("hours.csv")).unwrap();
    let grid = std::fs::read_to_string(dir.path().join("grid.csv")).unwrap();
    // The hour-0 total, 2, is small; so are both its cells.
    assert!(hours.contains("\n0,,true,"), "{hours}");
    assert!(
        grid.contains("Mon,0,,true") && grid.contains("Tue,0,,true"),
        "{grid}"
    );
    // Protected apart, the hour total would have been suppressed, its complement chosen in
    // `hours` alone; together the audit (which passed) saw both tables.
    for (text, at) in [(&hours, 1), (&grid, 2)] {
        for line in text.lines().skip(1) {
            let value = line.split(',').nth(at).unwrap();
            assert!(
                !matches!(value.parse::<i64>(), Ok(1..=4)),
                "a small count is published: {line}"
            );
        }
    }
}

#[test]
fn a_layout_naming_a_missing_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    hours(dir.path(), "hours", &[20, 30]);
    let jobs = [job(
        "hours",
        "disclosure = \"rows=hour counts=offences\"\nsuppress_with = { offences = [\"rate\"] }",
    )];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(
        err.contains("hours.toml") && err.contains("`rate`"),
        "{err}"
    );
}

#[test]
fn totals_are_added_once_per_row_column_and_panel() {
    let layout = Layout::parse("panel=p rows=r columns=c counts=n").unwrap();
    let cell = |p: &str, r: &str, c: &str, v: u64| GridCell {
        axes: vec![p.into(), r.into(), c.into()],
        group: String::new(),
        value: Some(v),
        suppressed: false,
    };
    let mut grid = Grid {
        table: "t".into(),
        count: "n".into(),
        layout,
        cells: vec![
            cell("a", "r0", "c0", 1),
            cell("a", "r0", "c1", 2),
            cell("a", "r1", "c0", 3),
            cell("b", "r0", "c0", 4),
        ],
    };
    with_totals(&mut grid);
    let value = |p: &str, r: &str, c: &str| {
        grid.cells
            .iter()
            .find(|x| x.axes == [p, r, c])
            .and_then(|x| x.value)
    };
    assert_eq!(value("a", "r0", TOTAL), Some(3));
    assert_eq!(value("a", TOTAL, "c0"), Some(4));
    assert_eq!(value("a", TOTAL, TOTAL), Some(6));
    assert_eq!(value("b", TOTAL, TOTAL), Some(4));
    assert_eq!(grid.cells.len(), 4 + 5 + 3);
    // A one-count-per-row table: only its grand total.
    let mut single = Grid {
        cells: vec![cell("a", "r0", TOTAL, 5), cell("a", "r1", TOTAL, 7)],
        ..grid.clone()
    };
    with_totals(&mut single);
    assert_eq!(single.cells.len(), 3);
    assert_eq!(single.cells[2].axes, ["a", TOTAL, TOTAL]);
    assert_eq!(single.cells[2].value, Some(12));
}

/// Two tables of the same count column by hour are linked hour by hour: counts that differ
/// contradict the layouts, and the run is refused; declared as other events, they are not.
#[test]
fn tables_of_other_events_are_not_linked() {
    let dir = tempfile::tempdir().unwrap();
    hours(dir.path(), "police", &[20, 30]);
    hours(dir.path(), "hospital", &[25, 35]);
    let linked = [job("police", HOURS), job("hospital", HOURS)];
    let refs: Vec<&SqlFile> = linked.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(err.contains("does not hold on these data"), "{err}");
    let apart = [
        job("police", HOURS),
        job(
            "hospital",
            "disclosure = \"rows=hour counts=offences events=attendances\"",
        ),
    ];
    let refs: Vec<&SqlFile> = apart.iter().collect();
    let (summary, _) = protect(dir.path(), &refs, 5).unwrap();
    let hospital = summary
        .structure
        .iter()
        .find(|g| g.table == "hospital")
        .unwrap();
    assert_eq!(hospital.count, "attendances");
    assert_eq!(hospital.layout.counts, ["offences"]);
    // The grand total, known: 60.
    assert_eq!(hospital.totals.last().unwrap().value, Some(60));
}

/// Writes `shares`: two breakdowns (`district`, `hour`) of offences with a knife subset and
/// the knife share, as `knife.sql` returns them.
fn shares(dir: &Path, rows: &[(&str, &str, i64, i64)]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("breakdown", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("offences", DataType::Int64, false),
        Field::new("knife", DataType::Int64, false),
        Field::new("pct", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|r| 100.0 * r.3 as f64 / r.2 as f64)
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut files = TableFiles::create(dir, "shares", schema).unwrap();
    files.write(&batch).unwrap();
    files.finish().unwrap();
}

const SHARES: &str = r#"
disclosure = "panel=breakdown rows=category counts=offences,knife dimension=breakdown subsets=knife<offences"
suppress_with = { offences = ["pct"], knife = ["pct"] }
"#;

/// A table of breakdowns (`dimension=`) is one grid per breakdown, its rows named by it: the
/// hour breakdown is linked with another table's hours, hour by hour; the subset count is at
/// most its whole, cell by cell; a share is blanked where either of its counts is.
#[test]
fn breakdowns_are_grids_of_their_own_dimension_linked_with_other_tables() {
    let dir = tempfile::tempdir().unwrap();
    shares(
        dir.path(),
        &[
            ("district", "A", 40, 3),
            ("district", "B", 50, 20),
            ("district", "C", 30, 10),
            ("district", "D", 4, 0),
            ("hour", "0", 2, 1),
            ("hour", "1", 45, 10),
            ("hour", "2", 77, 22),
        ],
    );
    hours(dir.path(), "hours", &[2, 45, 77]);
    let jobs = [job("shares", SHARES), job("hours", HOURS)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, _) = protect(dir.path(), &refs, 5).unwrap();
    let grids: Vec<(&str, &str, &str)> = summary
        .structure
        .iter()
        .filter(|g| g.table == "shares")
        .map(|g| {
            (
                g.layout.rows.as_str(),
                g.layout.counts[0].as_str(),
                g.select.as_ref().unwrap().value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        grids,
        [
            ("district", "offences", "district"),
            ("district", "knife", "district"),
            ("hour", "offences", "hour"),
            ("hour", "knife", "hour"),
        ]
    );
    let system = system_from_files(dir.path(), &summary.structure).unwrap();
    let of = |table: &str, rows: &str, count: &str| {
        system
            .grids
            .iter()
            .position(|g| g.table == table && g.layout.rows == rows && g.layout.counts == [count])
            .unwrap()
    };
    let (hours_grid, shares_hours) = (
        of("hours", "hour", "offences"),
        of("shares", "hour", "offences"),
    );
    let (knife, offences) = (
        of("shares", "district", "knife"),
        of("shares", "district", "offences"),
    );
    let relations = system.summary();
    use crate::partners::structure::Origin;
    // Each hour of `hours` is the same count as the hour of `shares` (and the grand totals).
    let linked = relations
        .get(&Origin::Link(hours_grid, shares_hours))
        .copied()
        .unwrap_or(0)
        + relations
            .get(&Origin::Link(shares_hours, hours_grid))
            .copied()
            .unwrap_or(0);
    assert!(linked >= 4, "{relations:?}");
    // Every knife cell (4 districts and the total) is at most its offences cell.
    let subsets: Vec<(usize, usize)> = system
        .relations
        .iter()
        .filter_map(|r| match r {
            crate::partners::structure::Relation::Subset { part, whole, .. } => {
                Some((system.locate(*part).0, system.locate(*whole).0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        subsets.iter().filter(|s| **s == (knife, offences)).count(),
        5
    );
    let csv = std::fs::read_to_string(dir.path().join("shares.csv")).unwrap();
    let line = |prefix: &str| {
        csv.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap()
            .to_owned()
    };
    // Hour 0 (2 offences) is hidden here and in `hours`.
    assert!(line("hour,0,").starts_with("hour,0,,true,"), "{csv}");
    let hours = std::fs::read_to_string(dir.path().join("hours.csv")).unwrap();
    assert!(hours.contains("\n0,,true,"), "{hours}");
    // District D: 4 offences, suppressed; its knife count (0) is published, but the share
    // (0 of 4) would give the offences away with it, so it is blank.
    assert_eq!(line("district,D,"), "district,D,,true,0,false,");
    // District A's 3 knife offences are suppressed, and so is its share.
    assert!(line("district,A,").ends_with(",,true,"), "{csv}");
    for (text, counts) in [(&csv, &[2, 4][..]), (&hours, &[1][..])] {
        for row in text.lines().skip(1) {
            let values: Vec<&str> = row.split(',').collect();
            for &at in counts {
                assert!(
                    !matches!(values[at].parse::<i64>(), Ok(1..=4)),
                    "a small count is published: {row}"
                );
            }
        }
    }
    // The bundle, audited from its files alone, passes.
    let audit = audit::audit(&system, 5.0, SUPPRESSED_AT_LEAST as f64).unwrap();
    assert!(audit.exposed.is_empty());
}

#[test]
fn a_dimension_value_that_names_a_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    shares(
        dir.path(),
        &[("offences", "A", 40, 3), ("offences", "B", 50, 20)],
    );
    let jobs = [job("shares", SHARES)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(
        err.contains("shares.toml") && err.contains("`offences`"),
        "{err}"
    );
}

/// Writes `areas` (CSV and Parquet): `level`, `area_name`, `district`, `offences`, and on every
/// row of a level its offences with a known area (the level's total less its `Unknown` row)
/// and the row's share of them.
fn areas(dir: &Path, rows: &[(&str, &str, &str, i64)]) {
    let known = |level: &str| -> i64 {
        rows.iter()
            .filter(|r| r.0 == level && r.1 != "Unknown")
            .map(|r| r.3)
            .sum()
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("level", DataType::Utf8, false),
        Field::new("area_name", DataType::Utf8, false),
        Field::new("district", DataType::Utf8, false),
        Field::new("offences", DataType::Int64, false),
        Field::new("known_offences", DataType::Int64, false),
        Field::new("share_pct", DataType::Float64, true),
    ]));
    let text = |column: usize| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| [r.0, r.1, r.2][column])
                .collect::<Vec<_>>(),
        ))
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            text(0),
            text(1),
            text(2),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| known(r.0)).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|r| (r.1 != "Unknown").then(|| 100.0 * r.3 as f64 / known(r.0) as f64))
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut files = TableFiles::create(dir, "areas", schema).unwrap();
    files.write(&batch).unwrap();
    files.finish().unwrap();
}

const AREAS: &str = r#"
disclosure = "panel=level rows=area_name counts=offences dimension=level groups=district"
suppress_with = { offences = ["share_pct"] }
suppress_with_row = { "offences@Unknown" = ["known_offences", "share_pct"] }
"#;

/// Areas at two levels (`dimension=level`): each ward sums into its district (`groups=`,
/// the district level being its own groups); a small `Unknown` row is suppressed, and the
/// offences with a known area, which would give it back from the total, are blanked on every
/// row of its level (`suppress_with_row`), with the shares of them.
#[test]
fn levels_of_areas_sum_into_districts_and_a_hidden_unknown_blanks_the_known_total() {
    let dir = tempfile::tempdir().unwrap();
    areas(
        dir.path(),
        &[
            ("district", "A", "A", 40),
            ("district", "B", "B", 50),
            ("district", "Unknown", "Unknown", 3),
            ("ward", "a1", "A", 22),
            ("ward", "a2", "A", 18),
            ("ward", "b1", "B", 50),
            ("ward", "Unknown", "Unknown", 3),
        ],
    );
    let jobs = [job("areas", AREAS)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, _) = protect(dir.path(), &refs, 5).unwrap();
    let system = system_from_files(dir.path(), &summary.structure).unwrap();
    let of = |rows: &str| {
        system
            .grids
            .iter()
            .position(|g| g.layout.rows == rows)
            .unwrap()
    };
    let (districts, wards) = (of("district"), of("ward"));
    assert_eq!(system.grids[districts].layout.groups, None);
    assert_eq!(
        system.grids[wards].layout.groups.as_deref(),
        Some("district")
    );
    // District A is the sum of wards a1 and a2: the relation the audit holds.
    use crate::partners::structure::{Origin, Relation};
    let a = system.grids[districts]
        .cells
        .iter()
        .position(|c| c.axes[0] == "A")
        .unwrap();
    let a = system.id(districts, a);
    let sums_of_a: Vec<usize> = system
        .relations
        .iter()
        .filter_map(|r| match r {
            Relation::Sum {
                total,
                parts,
                origin: Origin::Link(..),
            } if *total == a => Some(parts.len()),
            _ => None,
        })
        .collect();
    assert!(sums_of_a.contains(&2), "{sums_of_a:?}");
    let csv = std::fs::read_to_string(dir.path().join("areas.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "level,area_name,district,offences,offences_suppressed,known_offences,share_pct"
    );
    // Unknown (3) is hidden at both levels, and with it the known total on every row.
    for line in &lines[1..] {
        let values: Vec<&str> = line.split(',').collect();
        assert_eq!(values[5], "", "known total published: {line}");
        assert_eq!(values[6], "", "share of the known total published: {line}");
        if values[1] == "Unknown" {
            assert_eq!(&values[3..5], ["", "true"], "{line}");
        }
    }
    let audit = audit::audit(&system, 5.0, SUPPRESSED_AT_LEAST as f64).unwrap();
    assert!(audit.exposed.is_empty());
    // With a large Unknown row nothing is blanked for it: the known total and shares stand.
    areas(
        dir.path(),
        &[
            ("district", "A", "A", 40),
            ("district", "B", "B", 50),
            ("district", "Unknown", "Unknown", 30),
        ],
    );
    protect(dir.path(), &refs, 5).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("areas.csv")).unwrap();
    assert!(csv.contains("\ndistrict,A,A,40,false,90,44.4"), "{csv}");
}

/// A row in a group that is no value of that dimension (a partnership across districts,
/// `Several`) could not be related to the districts: refused, naming the file and the row.
#[test]
fn a_row_in_no_published_group_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    areas(
        dir.path(),
        &[
            ("district", "A", "A", 40),
            ("district", "B", "B", 50),
            ("csp", "AB", "Several", 90),
        ],
    );
    let jobs = [job("areas", AREAS)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(
        err.contains("areas.toml") && err.contains("`AB`") && err.contains("`Several`"),
        "{err}"
    );
}

/// Writes `measures` (CSV and Parquet): one measure per row with `measure`, `value`,
/// `numerator` and `denominator` (empty when none).
fn measures_table(dir: &Path, rows: &[(&str, f64, i64, Option<i64>)]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("measure", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("numerator", DataType::Int64, false),
        Field::new("denominator", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let mut files = TableFiles::create(dir, "measures", schema).unwrap();
    files.write(&batch).unwrap();
    files.finish().unwrap();
}

const MEASURES: &str = r#"
[disclosure_rows]
key = "measure"
numerator = "numerator"
denominator = "denominator"

[disclosure_rows.measures]
total = { numerator = "offences" }
peak = { numerator = "offences hour={value}", denominator = "offences" }
small = { numerator = "offences hour={value}", denominator = "offences" }
"#;

/// A table of measures publishes a measure only where every count it repeats is a published
/// cell (or known total) of the protected tables: the grand total and a published hour are,
/// a suppressed hour and an undeclared measure are withheld; a declaration the data
/// contradict stops the run.
#[test]
fn measures_are_published_only_when_their_counts_are() {
    let dir = tempfile::tempdir().unwrap();
    hours(dir.path(), "hours", &[2, 30, 40, 50]);
    measures_table(
        dir.path(),
        &[
            ("total", 122.0, 122, None),
            ("peak", 3.0, 50, Some(122)),
            ("small", 0.0, 2, Some(122)),
            ("people", 50.0, 10, Some(20)),
        ],
    );
    let jobs = [job("hours", HOURS), job("measures", MEASURES)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, withheld) = protect(dir.path(), &refs, 5).unwrap();
    assert!(withheld.is_empty());
    let csv = std::fs::read_to_string(dir.path().join("measures.csv")).unwrap();
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(names, ["total", "peak"]);
    let published: Vec<(&str, usize)> = summary
        .measures
        .iter()
        .map(|m| (m.measure.as_str(), m.cells.len()))
        .collect();
    assert_eq!(published, [("total", 1), ("peak", 2)]);
    assert!(
        summary.measures[1].cells[0].contains("hour=3"),
        "{:?}",
        summary.measures
    );
    let hidden: Vec<&str> = summary
        .measures_withheld
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(hidden, ["measures: small", "measures: people"]);
    // The reason does not say which hour is hidden.
    assert_eq!(
        summary.measures_withheld[0].reason,
        measures::WITHHELD_MEASURE
    );
    assert!(!summary.measures_withheld[0].reason.contains("hour"));
    // A numerator that is not the cell it is declared to repeat.
    hours(dir.path(), "hours", &[2, 30, 40, 50]);
    measures_table(dir.path(), &[("peak", 3.0, 49, Some(122))]);
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(
        err.contains("measures.toml") && err.contains("`peak`") && err.contains("49"),
        "{err}"
    );
    // A measure that is the largest of its cells, with that cell suppressed: refused, since
    // withholding it would say the largest count is hidden.
    hours(dir.path(), "hours", &[2, 30, 40, 50]);
    measures_table(dir.path(), &[("small", 0.0, 2, Some(122))]);
    let largest = MEASURES.replace(
        "small = { numerator = \"offences hour={value}\", denominator = \"offences\" }",
        "small = { numerator = \"offences hour={value}\", denominator = \"offences\", largest = true }",
    );
    assert_ne!(largest, MEASURES);
    let jobs = [job("hours", HOURS), job("measures", &largest)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(err.contains("`small` is the largest"), "{err}");
}

/// Two levels that both split a district (CSPs and wards) nest in a way the layout does not
/// say: refused, naming both levels; with the CSP level one row per district, as in the
/// sample, the same table is protected.
#[test]
fn two_levels_splitting_one_district_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wards = [
        ("district", "A", "A", 40),
        ("district", "B", "B", 50),
        ("ward", "a1", "A", 22),
        ("ward", "a2", "A", 18),
        ("ward", "b1", "B", 50),
    ];
    let split: Vec<_> = wards
        .iter()
        .copied()
        .chain([
            ("csp", "A north", "A", 25),
            ("csp", "A south", "A", 15),
            ("csp", "B", "B", 50),
        ])
        .collect();
    areas(dir.path(), &split);
    let jobs = [job("areas", AREAS)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let err = protect(dir.path(), &refs, 5).unwrap_err().to_string();
    assert!(
        err.contains("areas.toml") && err.contains("`ward`") && err.contains("`csp`"),
        "{err}"
    );
    let whole: Vec<_> = wards
        .iter()
        .copied()
        .chain([("csp", "CA", "A", 40), ("csp", "CB", "B", 50)])
        .collect();
    areas(dir.path(), &whole);
    protect(dir.path(), &refs, 5).unwrap();
}

/// `withhold_rows` leaves rows out of the shareable table (localities, whose relation to the
/// wards cannot be declared) and lists them as withheld.
#[test]
fn withheld_rows_are_left_out_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    areas(
        dir.path(),
        &[
            ("district", "A", "A", 40),
            ("district", "B", "B", 50),
            ("locality", "Alpha side", "Several", 60),
            ("locality", "Beta side", "B", 30),
        ],
    );
    let meta = format!("{AREAS}withhold_rows = {{ level = [\"locality\"] }}\n");
    let jobs = [job("areas", &meta)];
    let refs: Vec<&SqlFile> = jobs.iter().collect();
    let (summary, _) = protect(dir.path(), &refs, 5).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("areas.csv")).unwrap();
    assert!(!csv.contains("locality"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let listed: Vec<&str> = summary.withheld.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(listed, ["areas: level = locality"]);
    assert!(summary.withheld[0].reason.starts_with("2 row(s) left out"));
}

/// The published order of a table's rows depends on its axes only: a job that sorts by counts
/// (most offences first) would otherwise let a suppressed row's place between published ones
/// bound its count. Two tables of the same areas with other counts are written in one order.
#[test]
fn rows_are_published_in_the_order_of_their_axes_not_their_counts() {
    let order = |counts: [i64; 4]| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = vec![
            ("district", "A", "A", counts[0]),
            ("district", "B", "B", counts[1]),
            ("district", "C", "C", counts[2]),
            ("district", "Unknown", "Unknown", counts[3]),
        ];
        // As the job writes them: most first.
        rows.sort_by_key(|r| std::cmp::Reverse(r.3));
        areas(dir.path(), &rows);
        let jobs = [job("areas", AREAS)];
        let refs: Vec<&SqlFile> = jobs.iter().collect();
        protect(dir.path(), &refs, 5).unwrap();
        std::fs::read_to_string(dir.path().join("areas.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_owned())
            .collect()
    };
    let expected = ["A", "B", "C", "Unknown"];
    assert_eq!(order([40, 3, 50, 30]), expected);
    assert_eq!(order([3, 60, 20, 45]), expected);
}
