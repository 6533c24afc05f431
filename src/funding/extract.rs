//! The formula's inputs computed from an extract: population, recorded crimes and crime harm by
//! area, with `queries/funding/areas.sql`.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::Float64Type;
use chrono::{Datelike, NaiveDate};
use datafusion::datasource::MemTable;

use super::AreaInput;
use crate::config::Config;
use crate::engine::catalog::{self, CatalogError};
use crate::engine::queries::QuerySet;
use crate::sources::contract::Form;

/// The area level to allocate to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Community safety partnership.
    Csp,
    /// Local authority district.
    District,
    /// A named locality (`[localities]` in sna.toml).
    Locality,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Csp => "csp",
            Level::District => "district",
            Level::Locality => "locality",
        }
    }
}

/// Errors in computing inputs from an extract.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The extract could not be opened or queried.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// A police.uk crime type with no harm weight.
    #[error(
        "{file}: police_uk_crime_type `{crime_type}` has no harm weight in data/reference/police_uk_harm.csv (the types with one: {known})"
    )]
    UnknownCrimeType {
        /// The offences file.
        file: PathBuf,
        /// The type.
        crime_type: String,
        /// The types with a weight.
        known: String,
    },
    /// The bundled harm weights cannot be read.
    #[error("{0}")]
    Weights(#[from] super::police_uk::WeightsError),
    /// A funding period that cuts a month, on open data.
    #[error(
        "the period {start} to {end} cuts a month, but {dir} holds police.uk open data, which gives the month of each crime only: give sna funding --start on the first of a month and --end on the last day of one"
    )]
    PartMonths {
        /// The extract.
        dir: PathBuf,
        /// First day of the period.
        start: NaiveDate,
        /// Last day of the period.
        end: NaiveDate,
    },
    /// `queries/funding/areas.sql`, or the view it reads, is missing.
    #[error("queries/{0}.sql is missing: it defines the formula's inputs")]
    NoQuery(&'static str),
    /// The query's result is not of the expected shape.
    #[error("queries/funding/{0}.sql: {1}")]
    Shape(&'static str, String),
    /// A column of the query's result cannot be read as text or a number.
    #[error("queries/funding/{0}.sql: {1}")]
    Cast(&'static str, #[source] arrow::error::ArrowError),
    /// The extract has no offences, so no period can be chosen.
    #[error("the extract has no offences, so there is no financial year to allocate on")]
    NoOffences,
    /// The data hold no complete financial year, so there is no default period.
    #[error(
        "the offences run from {first} to {last}, which holds no complete financial year (1 April to 31 March): funding from the extract needs one, for the crimes and for the harm years"
    )]
    NoFinancialYear {
        /// First offence date.
        first: NaiveDate,
        /// Last offence date.
        last: NaiveDate,
    },
    /// The data hold no whole financial year ending by the period's end.
    #[error(
        "the harm years start on {harm_start}, but the offences start on {first}, so the data hold no whole financial year of harm ending by {end}: give a later period (--start and --end) or an extract that reaches back to {harm_start}"
    )]
    NoWholeYear {
        /// First day of the harm years.
        harm_start: NaiveDate,
        /// First offence date.
        first: NaiveDate,
        /// Last day of the period.
        end: NaiveDate,
    },
    /// The data do not reach back to the start of the harm years.
    #[error(
        "the harm years start on {harm_start}, but the offences start on {first}: use --harm-years {years} or fewer (harm_years in the [funding] section of sna.toml), or an extract that reaches back further"
    )]
    ShortHarm {
        /// First day of the harm years.
        harm_start: NaiveDate,
        /// First offence date.
        first: NaiveDate,
        /// Whole financial years the data cover before the period's end.
        years: u32,
    },
    /// Localities are not configured.
    #[error(
        "--level locality needs named localities: add a [localities] section to sna.toml (see README)"
    )]
    NoLocalities,
}

/// The period and harm window of an allocation from an extract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// First day of the period (crimes, population year).
    pub start: NaiveDate,
    /// Last day of the period.
    pub end: NaiveDate,
    /// First day of the harm years.
    pub harm_start: NaiveDate,
}

impl Window {
    /// The same window a year earlier: the previous year's data.
    pub fn previous_year(&self) -> Window {
        let back = chrono::Months::new(12);
        Window {
            start: self.start - back,
            end: self.end - back,
            harm_start: self.harm_start - back,
        }
    }
}

/// The start of the financial year (1 April) containing `date`.
pub fn financial_year_start(date: NaiveDate) -> NaiveDate {
    let year = if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April exists")
}

/// The period and harm window: the given period, or else the last complete financial year in
/// data ending on `last_day`; the harm window is the `harm_years` financial years ending with
/// the period's.
pub fn window(
    period: Option<(NaiveDate, NaiveDate)>,
    last_day: NaiveDate,
    harm_years: u32,
) -> Window {
    let (start, end) = period.unwrap_or_else(|| {
        // The latest 31 March on or before the last day with data.
        let year = if (last_day.month(), last_day.day()) >= (3, 31) {
            last_day.year()
        } else {
            last_day.year() - 1
        };
        let end = NaiveDate::from_ymd_opt(year, 3, 31).expect("31 March exists");
        let start = NaiveDate::from_ymd_opt(year - 1, 4, 1).expect("1 April exists");
        (start, end)
    });
    let fy = financial_year_start(end);
    let back = i32::try_from(harm_years.saturating_sub(1)).unwrap_or(0);
    let harm_start = fy.with_year(fy.year() - back).expect("1 April exists");
    Window {
        start,
        end,
        harm_start,
    }
}

/// Refuses a harm window that starts before the first offence in the extract: harm summed over
/// fewer years than asked for would favour no one knowingly.
pub fn check_covered(window: Window, first: NaiveDate) -> Result<(), ExtractError> {
    if first <= window.harm_start {
        return Ok(());
    }
    let covered =
        (financial_year_start(window.end).year() - financial_year_start(first).year()).max(0);
    let first_whole = if first == financial_year_start(first) {
        1
    } else {
        0
    };
    let years = u32::try_from(covered + first_whole).unwrap_or(0);
    if years == 0 {
        return Err(ExtractError::NoWholeYear {
            harm_start: window.harm_start,
            first,
            end: window.end,
        });
    }
    Err(ExtractError::ShortHarm {
        harm_start: window.harm_start,
        first,
        years,
    })
}

/// Registers `batch` as the table `name`.
fn register(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    batch: RecordBatch,
) -> Result<(), CatalogError> {
    let context = format!("registering {name}");
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])
        .map_err(CatalogError::datafusion(&context))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(CatalogError::datafusion(&context))?;
    Ok(())
}

/// Runs `sql` and collects its result; `context` names what was being done in an error.
async fn collect(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
    context: &str,
) -> Result<Vec<RecordBatch>, CatalogError> {
    ctx.sql(sql)
        .await
        .map_err(CatalogError::datafusion(context))?
        .collect()
        .await
        .map_err(CatalogError::datafusion(context))
}

/// Refuses `--level locality` when no localities are configured.
pub fn check_level(config: &Config, level: Level) -> Result<(), ExtractError> {
    if level == Level::Locality && config.localities.is_empty() {
        return Err(ExtractError::NoLocalities);
    }
    Ok(())
}

/// How an extract's crime harm is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarmBasis {
    /// Each offence's Home Office code and its Crime Harm Index days.
    HomeOfficeCodes,
    /// Estimated: each police.uk crime type's harm weight (`data/reference/police_uk_harm.csv`).
    PoliceUkTypes,
}

impl HarmBasis {
    /// The basis of an extract in `form`.
    pub fn of(form: Form) -> HarmBasis {
        match form {
            Form::Full => HarmBasis::HomeOfficeCodes,
            Form::OpenData => HarmBasis::PoliceUkTypes,
        }
    }
}

/// The query of `queries/funding/` that computes the inputs, in either form: it reads the view
/// [`OFFENCE_HARM`], which each form defines.
const AREAS: &str = "areas";

/// Every offence with its LSOA, day and harm (`queries/views/offence_harm.sql`, and
/// `views/open_data/offence_harm.sql` for police.uk open data).
const OFFENCE_HARM: &str = "offence_harm";

/// The first and last day of an extract's offences, and how its harm is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The first day with offences (the first month's first day on open data).
    pub first: NaiveDate,
    /// The last day with offences (the last month's last day on open data).
    pub last: NaiveDate,
    /// How harm is measured.
    pub basis: HarmBasis,
}

/// `config` with its period widened to whole months, so that an open-data extract opens
/// whatever period sna.toml gives; only the funding period is checked for whole months.
fn whole_months(config: &Config) -> Config {
    let mut widened = config.clone();
    widened.start = config.start.with_day(1).unwrap_or(config.start);
    let next = config.end.with_day(1).unwrap_or(config.end) + chrono::Months::new(1);
    widened.end = next.pred_opt().unwrap_or(config.end);
    widened
}

/// The first and last day of the extract's offences.
pub async fn offence_span(config: &Config) -> Result<Span, ExtractError> {
    let catalog = catalog::open_tables(&whole_months(config), &config.data_dir).await?;
    let basis = HarmBasis::of(catalog.available.form);
    let sql = match basis {
        HarmBasis::HomeOfficeCodes => {
            "SELECT CAST(MIN(CAST(committed_at AS DATE)) AS VARCHAR), CAST(MAX(CAST(committed_at AS DATE)) AS VARCHAR) FROM offences"
        }
        HarmBasis::PoliceUkTypes => {
            "SELECT CAST(MIN(CAST(month AS DATE)) AS VARCHAR), CAST(MAX(CAST(month AS DATE)) AS VARCHAR) FROM offences"
        }
    };
    let batches = collect(&catalog.ctx, sql, "reading the offences' dates").await?;
    let day = |column: usize| -> Option<NaiveDate> {
        let batch = batches.iter().find(|b| b.num_rows() > 0)?;
        let text =
            arrow::compute::cast(batch.column(column), &arrow::datatypes::DataType::Utf8).ok()?;
        let text = text.as_string::<i32>();
        (!text.is_null(0))
            .then(|| text.value(0).parse().ok())
            .flatten()
    };
    match (day(0), day(1)) {
        (Some(first), Some(last)) => {
            let last = match basis {
                HarmBasis::HomeOfficeCodes => last,
                // A month police.uk publishes is complete: its last day has data.
                HarmBasis::PoliceUkTypes => (last.with_day(1).unwrap_or(last)
                    + chrono::Months::new(1))
                .pred_opt()
                .unwrap_or(last),
            };
            Ok(Span { first, last, basis })
        }
        _ => Err(ExtractError::NoOffences),
    }
}

/// Refuses a police.uk crime type with no harm weight, naming it and the file.
async fn check_crime_types(
    ctx: &datafusion::prelude::SessionContext,
    config: &Config,
    weights: &super::police_uk::HarmWeights,
) -> Result<(), ExtractError> {
    let sql = "SELECT DISTINCT o.police_uk_crime_type FROM offences o \
         LEFT JOIN police_uk_harm w ON w.police_uk_crime_type = o.police_uk_crime_type \
         WHERE w.police_uk_crime_type IS NULL ORDER BY 1 LIMIT 1";
    let batches = collect(ctx, sql, "checking the police.uk crime types").await?;
    let unknown = batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
        let text = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).ok()?;
        let text = text.as_string::<i32>();
        Some(if text.is_null(0) {
            "(empty)".to_owned()
        } else {
            text.value(0).to_owned()
        })
    });
    match unknown {
        None => Ok(()),
        Some(crime_type) => Err(ExtractError::UnknownCrimeType {
            file: config.data_dir.join("offences.parquet"),
            crime_type,
            known: weights
                .iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Each area's population, crimes and harm for `window` at `level`, and the number of offences
/// in the period that belong to no area (no LSOA, or one outside the lookup).
pub async fn inputs(
    config: &Config,
    queries: &QuerySet,
    window: Window,
    level: Level,
    basis: HarmBasis,
) -> Result<(Vec<AreaInput>, u64), ExtractError> {
    check_level(config, level)?;
    let sql = queries
        .funding
        .iter()
        .find(|f| f.name == AREAS)
        .ok_or(ExtractError::NoQuery("funding/areas"))?;
    let mut period = config.clone();
    period.start = window.start;
    period.end = window.end;
    let catalog = catalog::open_tables(&period, &period.data_dir).await?;
    // The one view the query reads, not all of them: nothing else is computed or cached.
    let view = queries
        .view_for(catalog.available.form, OFFENCE_HARM)
        .ok_or(ExtractError::NoQuery("views/offence_harm"))?;
    collect(
        &catalog.ctx,
        &view.sql,
        &format!("queries/{}", view.relative_path),
    )
    .await?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let harm_start = i32::try_from((window.harm_start - epoch).num_days()).unwrap_or(0);
    let params = RecordBatch::try_from_iter([
        (
            "level",
            Arc::new(StringArray::from(vec![level.name()])) as Arc<dyn Array>,
        ),
        (
            "harm_start",
            Arc::new(arrow::array::Date32Array::from(vec![harm_start])),
        ),
    ])
    .map_err(|e| CatalogError::datafusion("building funding_params")(e.into()))?;
    register(&catalog.ctx, "funding_params", params)?;
    if basis == HarmBasis::PoliceUkTypes {
        // `police_uk_harm` is a reference lookup of every catalog; a crime type it lacks would
        // drop out of the view's join silently, so it is refused here.
        let weights = super::police_uk::HarmWeights::bundled()?;
        check_crime_types(&catalog.ctx, config, &weights).await?;
    }
    let context = format!("queries/{}", sql.relative_path);
    let batches = collect(&catalog.ctx, &sql.sql, &context).await?;
    let unplaced_sql = "SELECT COUNT(*) FROM offence_harm o \
         LEFT JOIN lsoa l ON l.lsoa_code = o.lsoa_code \
         LEFT JOIN localities lo ON lo.lsoa_code = o.lsoa_code \
         CROSS JOIN params p CROSS JOIN funding_params f \
         WHERE (CASE f.level WHEN 'district' THEN l.lad_name WHEN 'locality' THEN lo.locality ELSE l.csp_name END) IS NULL \
         AND o.committed_date BETWEEN p.period_start AND p.period_end";
    let unplaced = collect(&catalog.ctx, unplaced_sql, "counting offences with no area")
        .await?
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    let mut areas = Vec::new();
    for batch in &batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| ExtractError::Shape(AREAS, format!("no column `{name}`")))
        };
        let names = arrow::compute::cast(column("area")?, &arrow::datatypes::DataType::Utf8)
            .map_err(|e| ExtractError::Cast(AREAS, e))?;
        let names = names.as_string::<i32>();
        let number = |name: &str| -> Result<Vec<f64>, ExtractError> {
            let values = arrow::compute::cast(column(name)?, &arrow::datatypes::DataType::Float64)
                .map_err(|e| ExtractError::Cast(AREAS, e))?;
            let values = values.as_primitive::<Float64Type>();
            Ok((0..values.len())
                .map(|i| {
                    if values.is_null(i) {
                        0.0
                    } else {
                        values.value(i)
                    }
                })
                .collect())
        };
        let (population, crimes, harm) =
            (number("population")?, number("crimes")?, number("harm")?);
        for i in 0..batch.num_rows() {
            if names.is_null(i) {
                continue;
            }
            areas.push(AreaInput {
                area: names.value(i).to_owned(),
                population: population[i],
                crimes: crimes[i],
                harm: harm[i],
                current: None,
            });
        }
    }
    Ok((areas, u64::try_from(unplaced).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_last_complete_financial_year_and_its_harm_years() {
        let w = window(None, day("2024-03-31"), 3);
        assert_eq!((w.start, w.end), (day("2023-04-01"), day("2024-03-31")));
        assert_eq!(w.harm_start, day("2021-04-01"));
        let w = window(None, day("2024-03-30"), 1);
        assert_eq!((w.start, w.end), (day("2022-04-01"), day("2023-03-31")));
        assert_eq!(w.harm_start, day("2022-04-01"));
        let w = window(None, day("2024-11-15"), 3);
        assert_eq!(w.end, day("2024-03-31"));
        let given = window(
            Some((day("2022-01-01"), day("2022-12-31"))),
            day("2024-03-31"),
            2,
        );
        assert_eq!(
            given.harm_start,
            day("2021-04-01"),
            "FY 2022/23 and the one before"
        );
        assert_eq!(financial_year_start(day("2022-03-31")), day("2021-04-01"));
    }

    #[test]
    fn harm_years_before_the_data_are_refused() {
        let w = window(None, day("2024-03-31"), 3);
        assert!(check_covered(w, day("2019-04-01")).is_ok());
        assert!(check_covered(w, day("2021-04-01")).is_ok());
        let error = check_covered(w, day("2022-04-01")).unwrap_err().to_string();
        assert!(error.contains("--harm-years 2 or fewer"), "{error}");
        let error = check_covered(w, day("2022-06-01")).unwrap_err().to_string();
        assert!(error.contains("--harm-years 1 or fewer"), "{error}");
    }
}

/// What `sna run` adds for `[funding]`: the allocation over the last complete financial year
/// ending by the assessment's end, with the sensitivity columns.
pub struct RunAllocation {
    /// The allocation.
    pub allocation: super::Allocation,
    /// Sensitivity and previous-year totals.
    pub extras: super::output::Extras,
    /// The funding year and harm window.
    pub window: Window,
    /// How harm was measured.
    pub basis: HarmBasis,
}

impl RunAllocation {
    /// The funding year, harm years and weights in words, for captions and the report.
    pub fn words(&self) -> String {
        let weights: Vec<String> = self
            .allocation
            .weights
            .named()
            .iter()
            .map(|(name, w)| format!("{name} {:.0}%", w * 100.0))
            .collect();
        match self.basis {
            HarmBasis::HomeOfficeCodes => format!(
                "Pot {} split by crime harm (Crime Harm Index days, {} to {}), crime rate (recorded \
                 crimes per 1,000 residents, {} to {}) and population, weighted {}.",
                crate::readable::money(self.allocation.pot_pence),
                self.window.harm_start,
                self.window.end,
                self.window.start,
                self.window.end,
                weights.join(", ")
            ),
            HarmBasis::PoliceUkTypes => format!(
                "Pot {} split by crime harm ({} to {}; estimated from police.uk crime types: each \
                 crime counts the median Crime Harm Index days of the Home Office offences of its \
                 type, data/reference/police_uk_harm.csv, so it is not comparable with harm from \
                 Home Office codes), crime rate (police.uk crimes per 1,000 residents, {} to {}) \
                 and population, weighted {}.",
                crate::readable::money(self.allocation.pot_pence),
                self.window.harm_start,
                self.window.end,
                self.window.start,
                self.window.end,
                weights.join(", ")
            ),
        }
    }
}

/// The inputs of an allocation computed from an extract.
#[derive(Debug, Clone)]
pub struct FromExtract {
    /// The funding period and harm window.
    pub window: Window,
    /// Each area's inputs.
    pub areas: Vec<AreaInput>,
    /// Offences in the period that count in no area.
    pub unplaced: u64,
    /// The same a year earlier, when asked for and the extract reaches back far enough.
    pub previous: Option<Vec<AreaInput>>,
    /// How harm was measured.
    pub basis: HarmBasis,
}

/// The inputs for `period` (default: the last complete financial year in the data, ending no
/// later than `by`), at `level`, with harm over `harm_years`; the previous year's as well when
/// `with_previous` and the data reach back.
pub async fn from_extract(
    config: &Config,
    queries: &QuerySet,
    period: Option<(NaiveDate, NaiveDate)>,
    by: Option<NaiveDate>,
    level: Level,
    harm_years: u32,
    with_previous: bool,
) -> Result<FromExtract, ExtractError> {
    check_level(config, level)?;
    let span = offence_span(config).await?;
    let (first, last) = (span.first, span.last);
    let window = window(period, by.map_or(last, |by| last.min(by)), harm_years);
    if period.is_none() && window.start < first {
        return Err(ExtractError::NoFinancialYear { first, last });
    }
    if span.basis == HarmBasis::PoliceUkTypes
        && !crate::engine::catalog::whole_months(window.start, window.end)
    {
        return Err(ExtractError::PartMonths {
            dir: config.data_dir.clone(),
            start: window.start,
            end: window.end,
        });
    }
    check_covered(window, first)?;
    let (areas, unplaced) = inputs(config, queries, window, level, span.basis).await?;
    let earlier = window.previous_year();
    let previous = if with_previous && check_covered(earlier, first).is_ok() {
        Some(inputs(config, queries, earlier, level, span.basis).await?.0)
    } else {
        None
    };
    Ok(FromExtract {
        window,
        areas,
        unplaced,
        previous,
        basis: span.basis,
    })
}

/// The allocation `sna run` adds for `funding` (the config's `[funding]`): the last complete
/// financial year ending by the period's end, with the sensitivity columns.
pub async fn for_run(
    config: &Config,
    queries: &QuerySet,
    funding: &crate::config::FundingConfig,
) -> Result<RunAllocation, RunError> {
    let inputs = from_extract(
        config,
        queries,
        None,
        Some(config.end),
        funding.level,
        funding.harm_years,
        true,
    )
    .await?;
    let (allocation, mut extras) = super::allocate_with_extras(
        funding.pot,
        funding.weights,
        &inputs.areas,
        true,
        inputs.previous.as_deref(),
    )?;
    if inputs.basis == HarmBasis::PoliceUkTypes {
        extras.harm_estimate = Some(super::output::HarmEstimate::police_uk());
    }
    Ok(RunAllocation {
        allocation,
        extras,
        window: inputs.window,
        basis: inputs.basis,
    })
}

/// Errors in the allocation of `sna run`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The inputs could not be computed.
    #[error("{0}")]
    Extract(#[from] ExtractError),
    /// The allocation failed.
    #[error("{0}")]
    Funding(#[from] super::FundingError),
}

impl From<CatalogError> for RunError {
    fn from(e: CatalogError) -> Self {
        RunError::Extract(e.into())
    }
}

#[cfg(test)]
mod open_data_tests;
