//! The run's parameters as tables: `params` (period, population year, definitions),
//! `period_months`, and the population year a period uses.

use super::*;

/// The distinct years of the population table, ascending.
pub(super) async fn population_years(ctx: &SessionContext) -> Result<Vec<i64>, CatalogError> {
    let batches = ctx
        .sql("SELECT DISTINCT CAST(year AS BIGINT) AS year FROM population ORDER BY year")
        .await
        .map_err(CatalogError::datafusion("reading population years"))?
        .collect()
        .await
        .map_err(CatalogError::datafusion("reading population years"))?;
    let mut years = Vec::new();
    for batch in &batches {
        let column = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("year cast to BIGINT");
        years.extend(column.iter().flatten());
    }
    Ok(years)
}

/// Picks `target` if in `years`, else the latest earlier year, else the earliest year.
pub fn pick_year(years: &[i64], target: i64) -> Option<i64> {
    years
        .iter()
        .copied()
        .filter(|y| *y <= target)
        .max()
        .or_else(|| years.iter().copied().min())
}

pub(super) fn params_batch(config: &Config, population_year: i64) -> RecordBatch {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let days = |d: chrono::NaiveDate| i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX);
    let sv = &config.serious_violence;
    RecordBatch::try_from_iter([
        (
            "period_start",
            Arc::new(Date32Array::from(vec![days(config.start)])) as ArrayRef,
        ),
        (
            "period_end",
            Arc::new(Date32Array::from(vec![days(config.end)])),
        ),
        (
            "young_age_cutoff",
            Arc::new(Int64Array::from(vec![i64::from(config.young_age_cutoff)])),
        ),
        (
            "public_place_only",
            Arc::new(BooleanArray::from(vec![sv.public_place_only])),
        ),
        (
            "exclude_domestic",
            Arc::new(BooleanArray::from(vec![sv.exclude_domestic])),
        ),
        (
            "population_year",
            Arc::new(Int64Array::from(vec![population_year])),
        ),
        (
            "hotspot_neighbours",
            Arc::new(Int64Array::from(vec![i64::from(config.hotspot_neighbours)])),
        ),
        (
            "hotspot_distance_m",
            Arc::new(Float64Array::from(vec![config.hotspot_distance_m])),
        ),
        (
            "hotspot_permutations",
            Arc::new(Int64Array::from(vec![i64::from(
                config.hotspot_permutations,
            )])),
        ),
        (
            "hotspot_seed",
            Arc::new(Int64Array::from(vec![
                i64::try_from(config.hotspot_seed).unwrap_or(i64::MAX),
            ])),
        ),
        (
            "period_years",
            Arc::new(Float64Array::from(vec![
                ((config.end - config.start).num_days() + 1) as f64 / 365.25,
            ])),
        ),
        (
            "baseline_start",
            Arc::new(Date32Array::from(vec![days(
                config.pre_pandemic_baseline.start,
            )])),
        ),
        (
            "baseline_end",
            Arc::new(Date32Array::from(vec![days(
                config.pre_pandemic_baseline.end,
            )])),
        ),
        (
            "disclosure_threshold",
            Arc::new(Int64Array::from(vec![i64::from(
                config.disclosure_threshold,
            )])),
        ),
    ])
    .expect("params columns have one row each")
}

/// One row per calendar month of the period: `month` (`YYYY-MM`), `month_start`, the
/// population year for that month (the month's calendar year by the same rule as the period's)
/// and `days`, the month's days within the period (a whole month but for the period's first and
/// last months when the period starts or ends mid-month): the weights of person-years.
pub(super) fn period_months_batch(config: &Config, years: &[i64]) -> RecordBatch {
    use chrono::Datelike;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut months = Vec::new();
    let mut starts = Vec::new();
    let mut population_years = Vec::new();
    let mut days = Vec::new();
    let mut month = config.start.with_day(1).expect("day 1 exists");
    while month <= config.end {
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .expect("month within chrono's range");
        months.push(month.format("%Y-%m").to_string());
        starts.push(i32::try_from((month - epoch).num_days()).unwrap_or(i32::MAX));
        population_years.push(pick_year(years, i64::from(month.year())));
        let first = month.max(config.start);
        let last = next.pred_opt().expect("day before exists").min(config.end);
        days.push((last - first).num_days() + 1);
        month = next;
    }
    RecordBatch::try_from_iter([
        ("month", Arc::new(StringArray::from(months)) as ArrayRef),
        ("month_start", Arc::new(Date32Array::from(starts))),
        (
            "population_year",
            Arc::new(Int64Array::from(population_years)),
        ),
        ("days", Arc::new(Int64Array::from(days))),
    ])
    .expect("period_months columns have equal lengths")
}

/// An empty table with the contract's columns, standing in for an absent optional file.
pub(super) fn empty_batch(spec: &TableSpec) -> RecordBatch {
    let fields: Vec<Field> = spec
        .columns
        .iter()
        .map(|c| {
            let data_type = match c.kind {
                Kind::String => DataType::Utf8,
                Kind::Integer => DataType::Int64,
                Kind::Timestamp => DataType::Timestamp(TimeUnit::Second, None),
                Kind::Date => DataType::Date32,
                Kind::Boolean => DataType::Boolean,
                Kind::Number => DataType::Float64,
            };
            Field::new(c.name, data_type, true)
        })
        .collect();
    RecordBatch::new_empty(Arc::new(Schema::new(fields)))
}

/// `disrupted_periods`: the configured periods when crime was disrupted (name, start, end).
pub(super) fn disrupted_periods_batch(config: &Config) -> RecordBatch {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let days = |d: chrono::NaiveDate| i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX);
    let periods = &config.disrupted_periods;
    RecordBatch::try_from_iter([
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                periods.iter().map(|p| p.name.as_str()),
            )) as ArrayRef,
        ),
        (
            "start_date",
            Arc::new(Date32Array::from_iter_values(
                periods.iter().map(|p| days(p.start)),
            )),
        ),
        (
            "end_date",
            Arc::new(Date32Array::from_iter_values(
                periods.iter().map(|p| days(p.end)),
            )),
        ),
    ])
    .expect("disrupted_periods columns have equal lengths")
}

/// The columns of `params` that follow the reporting period.
pub const PERIOD_COLUMNS: [&str; 4] = [
    "period_start",
    "period_end",
    "population_year",
    "period_years",
];

/// The first of [`PERIOD_COLUMNS`] that view `view` reads, if any: found in its optimised
/// logical plan (views inlined, subqueries included, projections pushed into each scan), so a
/// wildcard (`SELECT p.*`) counts and a name in a comment or a string does not.
pub async fn period_column_read(
    ctx: &SessionContext,
    view: &str,
) -> Result<Option<String>, datafusion::error::DataFusionError> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::logical_expr::LogicalPlan;
    let plan = ctx.table(view).await?.into_optimized_plan()?;
    let mut found = None;
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.table().eq_ignore_ascii_case("params")
            && let Some(field) = scan
                .projected_schema
                .fields()
                .iter()
                .find(|f| PERIOD_COLUMNS.contains(&f.name().as_str()))
        {
            found = Some(field.name().clone());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(found)
}
