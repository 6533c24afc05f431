//! The catalog: one DataFusion session holding an extract's tables, the reference lookups, the
//! assessment parameters, the statistics functions and the analysis views. `sna run`,
//! `sna validate` and partner queries all start here, so they see the same tables.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use parquet::errors::ParquetError;
use tokio::task::JoinError;

use crate::config::Config;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::sources::contract::{self, ContractError, ExtractFile, Kind, TableSpec};
use crate::sources::reference;

/// Errors in building the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The extract breaks the data contract.
    #[error("{0}")]
    Contract(#[from] ContractError),
    /// A reference lookup could not be read or parsed.
    #[error("reference lookup {source_name}: {source}")]
    Reference {
        /// The lookup's file (bundled name or override path).
        source_name: String,
        /// The I/O error, or the CSV reader's (with the line where it gives it).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A reference lookup lacks a column.
    #[error(
        "reference lookup {source_name}: column `{column}` is missing from the header ({header})"
    )]
    ReferenceColumn {
        /// The lookup's file (bundled name or override path).
        source_name: String,
        /// The missing column.
        column: String,
        /// The header found.
        header: String,
    },
    /// A file's footer is sound but its data cannot be decoded.
    #[error("{path}: the data cannot be read (corrupt or truncated Parquet pages): {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the reader met.
        source: DecodeError,
    },
    /// A `[localities]` member matches no ward or LSOA, or an LSOA is in two localities.
    #[error("[localities]: {0}")]
    Localities(String),
    /// The views cannot be ordered: one reads a name that is nothing, or two read each other.
    #[error("{0}")]
    Views(#[source] Box<crate::engine::jobs::JobError>),
    /// A view reads `params` without saying whether it follows the period.
    #[error(
        "queries/{file} reads params: say in its metadata whether its rows follow the reporting period (`period = true` or `period = false`)"
    )]
    PeriodUndeclared {
        /// The view's file.
        file: String,
    },
    /// The population table has no rows, so no rate can be computed.
    #[error("{0}: population.parquet has no rows; rates need residents")]
    NoPopulation(PathBuf),
    /// A DataFusion operation failed.
    #[error("{context}: {source}")]
    DataFusion {
        /// What was being done, naming the file or view.
        context: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
}

/// Why a Parquet file's data cannot be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// The file could not be opened, or the thread reading it could not start.
    Io(std::io::Error),
    /// The Parquet reader failed on the file.
    Parquet(ParquetError),
    /// Decoding a batch failed.
    Arrow(ArrowError),
    /// The decoder panicked, with this message.
    Panic(String),
    /// A query over the file failed in decoding it: its error, shown by the Parquet error in
    /// its chain where there is one.
    Query(Box<CatalogError>),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Io(e) => write!(f, "{e}"),
            DecodeError::Parquet(e) => write!(f, "{e}"),
            DecodeError::Arrow(e) => write!(f, "{e}"),
            DecodeError::Panic(message) => write!(f, "the Parquet decoder failed ({message})"),
            DecodeError::Query(e) => match parquet_cause(e.as_ref()) {
                Some(cause) => write!(f, "{cause}"),
                None => write!(f, "{e}"),
            },
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Io(e) => Some(e),
            DecodeError::Parquet(e) => Some(e),
            DecodeError::Arrow(e) => Some(e),
            DecodeError::Panic(_) => None,
            // The cause is the error shown: the Parquet error, whose causes follow it.
            DecodeError::Query(e) => parquet_cause(e.as_ref()).or(Some(e.as_ref())),
        }
    }
}

/// The errors of `error`'s chain, `error` first.
fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// `error` as a DataFusion error, also when shared in an `Arc` (as DataFusion shares an error
/// among a plan's outputs).
fn as_datafusion<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a DataFusionError> {
    error.downcast_ref::<DataFusionError>().or_else(|| {
        error
            .downcast_ref::<Arc<DataFusionError>>()
            .map(|shared| shared.as_ref())
    })
}

/// The first Parquet error in `error`'s chain, as DataFusion, Arrow or the Parquet reader gives
/// it.
fn parquet_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    chain(error).find(|&e| {
        matches!(as_datafusion(e), Some(DataFusionError::ParquetError(_)))
            || e.is::<ParquetError>()
            || matches!(
                e.downcast_ref::<ArrowError>(),
                Some(ArrowError::ParquetError(_))
            )
    })
}

/// How a query worker's panic appears in an error's chain.
#[derive(Debug)]
pub enum Panic {
    /// tokio's `JoinError` of a panicked task, with the panic's message when it has one. The
    /// error gives the message only in its text (`task 7 panicked with message "..."`; the
    /// payload itself only by value), so it is read from there.
    Task(Option<String>),
    /// An execution or internal error that says a worker panicked: DataFusion (and
    /// [`guarded`]) report some panics only as such text.
    Text,
}

/// The panic of a query worker in `error`'s chain, if there is one.
pub fn panic_in(error: &(dyn std::error::Error + 'static)) -> Option<Panic> {
    chain(error).find_map(|e| {
        // DataFusion's repartitioning shares the error among its outputs, in an `Arc`.
        let join = e.downcast_ref::<JoinError>().or_else(|| {
            e.downcast_ref::<Arc<JoinError>>()
                .map(|shared| shared.as_ref())
        });
        if let Some(join) = join {
            return join.is_panic().then(|| {
                let text = join.to_string();
                let message = text
                    .split_once("panicked with message \"")
                    .map(|(_, rest)| rest.split('"').next().unwrap_or(rest).to_owned());
                Panic::Task(message)
            });
        }
        match as_datafusion(e)? {
            DataFusionError::Execution(text) | DataFusionError::Internal(text)
                if text.contains("panicked") =>
            {
                Some(Panic::Text)
            }
            _ => None,
        }
    })
}

/// Whether `error` is a failure to decode data: a Parquet error in its chain, or a query
/// worker's panic (the decoder panics on corrupt pages, and DataFusion returns a worker's
/// panic as an error).
pub fn is_decode_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    parquet_cause(error).is_some() || panic_in(error).is_some()
}

/// The first of `files` whose data cannot be decoded, with what the decoder met. Every page
/// of every file is read, batch by batch, so this is for explaining a failure, not for the
/// normal path. The decoder may panic on corrupt pages; that is caught on its own thread.
pub fn find_unreadable(files: &[PathBuf]) -> Option<(PathBuf, DecodeError)> {
    files.iter().find_map(|path| {
        let owned = path.clone();
        let decoded = std::thread::Builder::new()
            .name("decode-check".to_owned())
            .spawn(move || -> Result<(), DecodeError> {
                use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
                let file = std::fs::File::open(&owned).map_err(DecodeError::Io)?;
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.build())
                    .map_err(DecodeError::Parquet)?;
                for batch in reader {
                    batch.map_err(DecodeError::Arrow)?;
                }
                Ok(())
            })
            .map_err(DecodeError::Io)
            .and_then(|handle| {
                handle.join().unwrap_or_else(|panic| {
                    Err(DecodeError::Panic(crate::text::panic_message(
                        panic.as_ref(),
                    )))
                })
            });
        decoded.err().map(|detail| (path.clone(), detail))
    })
}

/// `error`, or when it is a failure to decode data, an [`CatalogError::Unreadable`] naming the
/// file of `files` that cannot be decoded.
pub fn name_unreadable(files: &[PathBuf], error: CatalogError) -> CatalogError {
    if !is_decode_failure(&error) {
        return error;
    }
    match find_unreadable(files) {
        Some((path, source)) => CatalogError::Unreadable { path, source },
        None => error,
    }
}

/// Runs `work` over the Parquet `files`, turning a panic that reaches it (DataFusion re-raises
/// a worker's panic, such as the decoder's on corrupt pages, in the polling thread) into an
/// error naming the file that cannot be decoded.
pub async fn guarded<T, E: From<CatalogError>>(
    files: &[PathBuf],
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = crate::text::panic_message(panic.as_ref());
            let error = match find_unreadable(files) {
                Some((path, source)) => CatalogError::Unreadable { path, source },
                None => CatalogError::DataFusion {
                    context: "running a query".to_owned(),
                    source: DataFusionError::Execution(format!(
                        "a query worker panicked: {message}"
                    )),
                },
            };
            Err(error.into())
        }
    }
}

impl CatalogError {
    /// Wraps a DataFusion error with what was being done.
    pub fn datafusion(context: impl Into<String>) -> impl FnOnce(DataFusionError) -> CatalogError {
        let context = context.into();
        move |source| CatalogError::DataFusion { context, source }
    }
}

/// Where the LSOA lookup came from.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupSource {
    /// The lookup compiled into the binary (`data/reference/lsoa.csv`).
    Bundled,
    /// The extract's own `reference/lsoa.csv`.
    Extract(PathBuf),
}

/// An open catalog.
pub struct Catalog {
    /// The DataFusion session with every table, function and view registered.
    pub ctx: SessionContext,
    /// The contract files found in the extract.
    pub files: Vec<ExtractFile>,
    /// Where the LSOA lookup came from.
    pub lsoa_source: LookupSource,
    /// The mid-year population year used for the whole period.
    pub population_year: i64,
    /// The configuration it was opened with.
    config: Config,
    /// Cached views whose definitions do not involve the period, for [`open_for_period`].
    period_free: Vec<(String, Arc<dyn TableProvider>)>,
}

impl Catalog {
    /// The extract's Parquet files.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }
}

/// How views are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Every view stays a view, computed when queried (interactive sessions).
    Lazy,
    /// Views whose metadata says `cache = true` are computed once and held in memory, and
    /// later views and jobs read the cached copy. DataFusion inlines a view at every reference,
    /// so without this each job would filter and join the whole extract again for each use of
    /// `sv_offences`, `sv_victims` and the rest. The cached views are the small filtered
    /// serious-violence subsets, never the input tables.
    Cached,
}

/// Builds a session over the extract in `data_dir` with the parameters of `config`, and creates
/// the views of `queries`.
pub async fn open(
    config: &Config,
    data_dir: &Path,
    queries: &QuerySet,
    mode: ViewMode,
) -> Result<Catalog, CatalogError> {
    let catalog = open_tables(config, data_dir).await?;
    let files = catalog.input_paths();
    guarded(&files, create_views(catalog, queries, mode, &[]))
        .await
        .map_err(|e| name_unreadable(&files, e))
}

/// Opens the catalog of `config`, a configuration that differs from the one `earlier` was
/// opened with only in its period, with cached views; `earlier` is consumed. The cached views whose definitions do
/// not involve the period (`sv_offences_all`, `ae_assaults`: whole-extract scans) are taken
/// from `earlier` instead of being computed again. When the configurations differ in more
/// than the period nothing is reused.
pub async fn open_for_period(
    config: &Config,
    data_dir: &Path,
    queries: &QuerySet,
    earlier: Catalog,
) -> Result<Catalog, CatalogError> {
    let mut same = config.clone();
    same.start = earlier.config.start;
    same.end = earlier.config.end;
    let reuse = if same == earlier.config {
        earlier.period_free
    } else {
        Vec::new()
    };
    // `earlier`'s session, with its period-bound caches, is dropped here, before the new one
    // is built.
    let catalog = open_tables(config, data_dir).await?;
    let files = catalog.input_paths();
    guarded(
        &files,
        create_views(catalog, queries, ViewMode::Cached, &reuse),
    )
    .await
    .map_err(|e| name_unreadable(&files, e))
}

async fn create_views(
    mut catalog: Catalog,
    queries: &QuerySet,
    mode: ViewMode,
    reuse: &[(String, Arc<dyn TableProvider>)],
) -> Result<Catalog, CatalogError> {
    // Views in the order their SQL requires, whatever their file names.
    let views: Vec<&SqlFile> = queries.views.iter().collect();
    let name_of =
        |v: &SqlFile| crate::engine::jobs::view_name(&v.sql).unwrap_or_else(|| v.name.clone());
    let ctx = catalog.ctx.clone();
    let known = |name: &str| crate::engine::jobs::exists(&ctx, name);
    let views = crate::engine::jobs::ordered(&views, &name_of, &known)
        .map_err(|e| CatalogError::Views(Box::new(e)))?;
    // Views that follow the period: those reading `period_months` or a view that follows it,
    // and those reading `params` whose metadata says `period = true`.
    let mut period_bound: Vec<String> = Vec::new();
    for view in views {
        let context = format!("creating view from queries/{}", view.relative_path);
        let name = crate::engine::jobs::view_name(&view.sql);
        let refs = crate::engine::jobs::references(&view.sql)
            .map_err(CatalogError::datafusion(context.clone()))?;
        let reads_params = refs.contains("params");
        if reads_params && view.meta.period.is_none() {
            return Err(CatalogError::PeriodUndeclared {
                file: view.relative_path.clone(),
            });
        }
        let bound = refs.contains("period_months")
            || refs.iter().any(|r| period_bound.contains(r))
            || (reads_params && view.meta.period == Some(true));
        if bound && let Some(name) = &name {
            period_bound.push(name.to_ascii_lowercase());
        }
        let cache = mode == ViewMode::Cached && view.meta.cache;
        let Some(name) = name.filter(|_| cache) else {
            catalog
                .ctx
                .sql(&view.sql)
                .await
                .map_err(CatalogError::datafusion(context))?;
            continue;
        };
        let reused = reuse
            .iter()
            .find(|(n, _)| !bound && *n == name)
            .map(|(_, provider)| Arc::clone(provider));
        let provider = match reused {
            Some(provider) => provider,
            None => {
                catalog
                    .ctx
                    .sql(&view.sql)
                    .await
                    .map_err(CatalogError::datafusion(context.clone()))?;
                let cached = catalog
                    .ctx
                    .table(name.as_str())
                    .await
                    .map_err(CatalogError::datafusion(context.clone()))?
                    .cache()
                    .await
                    .map_err(CatalogError::datafusion(context.clone()))?
                    .into_view();
                catalog
                    .ctx
                    .deregister_table(name.as_str())
                    .map_err(CatalogError::datafusion(context.clone()))?;
                cached
            }
        };
        catalog
            .ctx
            .register_table(name.as_str(), Arc::clone(&provider))
            .map_err(CatalogError::datafusion(context))?;
        if !bound {
            catalog.period_free.push((name, provider));
        }
    }
    Ok(catalog)
}

/// Builds a session with the extract's tables, the reference lookups, the parameters and the
/// statistics functions, but no views.
pub async fn open_tables(config: &Config, data_dir: &Path) -> Result<Catalog, CatalogError> {
    let files = contract::check_extract(data_dir)?;
    let ctx = new_context(config)?;
    for spec in contract::TABLES {
        match files.iter().find(|f| f.spec.name == spec.name) {
            Some(file) => register_parquet(&ctx, spec.name, &file.path).await?,
            None => register_batch(&ctx, spec.name, empty_batch(spec))?,
        }
    }
    let lsoa_source = register_reference(&ctx, data_dir)?;
    register_localities(&ctx, &config.localities).await?;
    let years = population_years(&ctx).await?;
    use chrono::Datelike;
    let population_year = pick_year(&years, i64::from(config.mid_point().year()))
        .ok_or_else(|| CatalogError::NoPopulation(data_dir.join("population.parquet")))?;
    register_batch(&ctx, "params", params_batch(config, population_year))?;
    register_batch(&ctx, "period_months", period_months_batch(config, &years))?;
    let groups: Vec<&str> = config
        .serious_violence
        .ho_groups
        .iter()
        .map(String::as_str)
        .collect();
    let sv_groups =
        RecordBatch::try_from_iter([("ho_group", Arc::new(StringArray::from(groups)) as ArrayRef)])
            .map_err(|e| CatalogError::datafusion("building sv_groups")(e.into()))?;
    register_batch(&ctx, "sv_groups", sv_groups)?;
    Ok(Catalog {
        ctx,
        files,
        lsoa_source,
        population_year,
        config: config.clone(),
        period_free: Vec::new(),
    })
}

/// A session with the information schema on, the statistics functions registered, and query
/// memory bounded by `config`'s memory limit: sorts, aggregates and joins spill to the
/// operating system's temporary directory past it, and what cannot spill fails with
/// "Resources exhausted" instead of growing until the machine kills the process.
pub fn new_context(config: &Config) -> Result<SessionContext, CatalogError> {
    use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(config.memory_limit_bytes()),
        std::num::NonZeroUsize::new(3).expect("non-zero"),
    );
    // Spilling is bounded too, so that a runaway query (a cross join sorted) fails instead of
    // filling the disk: eight times the memory limit.
    let limit = config.memory_limit_bytes();
    let disk = datafusion::execution::disk_manager::DiskManagerBuilder::default()
        .with_max_temp_directory_size(u64::try_from(limit).unwrap_or(u64::MAX).saturating_mul(8));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(disk)
        .build_arc()
        .map_err(CatalogError::datafusion("starting the query engine"))?;
    let ctx = SessionContext::new_with_config_rt(
        SessionConfig::new().with_information_schema(true),
        runtime,
    );
    crate::engine::udf::register(&ctx);
    Ok(ctx)
}

/// Registers a Parquet file as table `name`.
pub async fn register_parquet(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
) -> Result<(), CatalogError> {
    let path = path.to_string_lossy().into_owned();
    ctx.register_parquet(name, &path, ParquetReadOptions::default())
        .await
        .map_err(CatalogError::datafusion(format!("registering {path}")))
}

/// Registers the reference lookups `lsoa` (the extract's own `reference/lsoa.csv` when
/// `data_dir` has one), `offence_codes` and `esp2013`.
pub fn register_reference(
    ctx: &SessionContext,
    data_dir: &Path,
) -> Result<LookupSource, CatalogError> {
    let override_path = data_dir.join("reference").join("lsoa.csv");
    let has_override = std::fs::symlink_metadata(&override_path).is_ok();
    if has_override {
        contract::ensure_regular_file(&override_path)?;
    }
    let lsoa_source = if has_override {
        let text =
            std::fs::read_to_string(&override_path).map_err(|e| CatalogError::Reference {
                source_name: override_path.display().to_string(),
                source: e.into(),
            })?;
        register_csv(
            ctx,
            "lsoa",
            &text,
            lsoa_schema(),
            &override_path.display().to_string(),
        )?;
        LookupSource::Extract(override_path)
    } else {
        register_csv(
            ctx,
            "lsoa",
            reference::LSOA_CSV,
            lsoa_schema(),
            "data/reference/lsoa.csv",
        )?;
        LookupSource::Bundled
    };
    register_csv(
        ctx,
        "offence_codes",
        reference::OFFENCE_CODES_CSV,
        offence_codes_schema(),
        "data/reference/offence_codes.csv",
    )?;
    register_csv(
        ctx,
        "esp2013",
        reference::ESP2013_CSV,
        esp2013_schema(),
        "data/reference/esp2013.csv",
    )?;
    Ok(lsoa_source)
}

/// Registers `localities(locality, lsoa_code)`: each LSOA of a configured locality, its
/// members (ward names, ward codes or LSOA codes) resolved against the `lsoa` lookup. Empty when
/// none are configured, so queries and jobs can always join it.
pub async fn register_localities(
    ctx: &SessionContext,
    localities: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<(), CatalogError> {
    let mut names: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    if !localities.is_empty() {
        let batches = ctx
            .sql("SELECT lsoa_code, ward_code, ward_name FROM lsoa ORDER BY lsoa_code")
            .await
            .map_err(CatalogError::datafusion("reading the LSOA lookup"))?
            .collect()
            .await
            .map_err(CatalogError::datafusion("reading the LSOA lookup"))?;
        let mut lookup: Vec<[String; 3]> = Vec::new();
        for batch in &batches {
            let text = |i: usize| {
                arrow::compute::cast(batch.column(i), &DataType::Utf8)
                    .map_err(|e| CatalogError::datafusion("reading the LSOA lookup")(e.into()))
            };
            let (lsoa, ward_code, ward_name) = (text(0)?, text(1)?, text(2)?);
            use arrow::array::AsArray;
            let (lsoa, ward_code, ward_name) = (
                lsoa.as_string::<i32>(),
                ward_code.as_string::<i32>(),
                ward_name.as_string::<i32>(),
            );
            for row in 0..batch.num_rows() {
                lookup.push([
                    lsoa.value(row).to_owned(),
                    ward_code.value(row).to_owned(),
                    ward_name.value(row).to_owned(),
                ]);
            }
        }
        let mut assigned: std::collections::BTreeMap<String, String> = Default::default();
        for (locality, members) in localities {
            for member in members {
                let matched: Vec<&String> = lookup
                    .iter()
                    .filter(|[lsoa, ward_code, ward_name]| {
                        lsoa == member || ward_code == member || ward_name == member
                    })
                    .map(|[lsoa, _, _]| lsoa)
                    .collect();
                if matched.is_empty() {
                    return Err(CatalogError::Localities(format!(
                        "\"{}\" in locality \"{}\" is not a ward name, ward code or LSOA code of the area's lookup",
                        crate::text::printable(member),
                        crate::text::printable(locality)
                    )));
                }
                for lsoa in matched {
                    if let Some(other) = assigned.insert(lsoa.clone(), locality.clone())
                        && other != *locality
                    {
                        return Err(CatalogError::Localities(format!(
                            "LSOA {lsoa} is in both \"{other}\" and \"{locality}\"; a neighbourhood belongs to one locality"
                        )));
                    }
                }
            }
        }
        for (lsoa, locality) in assigned {
            codes.push(lsoa);
            names.push(locality);
        }
    }
    let batch = RecordBatch::try_from_iter([
        ("locality", Arc::new(StringArray::from(names)) as ArrayRef),
        ("lsoa_code", Arc::new(StringArray::from(codes))),
    ])
    .map_err(|e| CatalogError::datafusion("building localities")(e.into()))?;
    register_batch(ctx, "localities", batch)
}

/// The distinct years of the population table, ascending.
async fn population_years(ctx: &SessionContext) -> Result<Vec<i64>, CatalogError> {
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

fn register_batch(
    ctx: &SessionContext,
    name: &str,
    batch: RecordBatch,
) -> Result<(), CatalogError> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])
        .map_err(CatalogError::datafusion(format!("registering {name}")))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(CatalogError::datafusion(format!("registering {name}")))?;
    Ok(())
}

fn register_csv(
    ctx: &SessionContext,
    name: &str,
    text: &str,
    schema: SchemaRef,
    source_name: &str,
) -> Result<(), CatalogError> {
    let reference_error = |e: arrow::error::ArrowError| CatalogError::Reference {
        source_name: source_name.to_owned(),
        source: e.into(),
    };
    let header = text.lines().next().unwrap_or_default();
    let found: Vec<&str> = header.split(',').map(str::trim).collect();
    for field in schema.fields() {
        if !found.contains(&field.name().as_str()) {
            return Err(CatalogError::ReferenceColumn {
                source_name: source_name.to_owned(),
                column: field.name().to_owned(),
                header: header.to_owned(),
            });
        }
    }
    let projection: Vec<usize> = schema
        .fields()
        .iter()
        .map(|f| {
            found
                .iter()
                .position(|c| c == f.name())
                .expect("checked above")
        })
        .collect();
    let file_schema = Arc::new(Schema::new(
        found
            .iter()
            .map(|c| {
                schema
                    .field_with_name(c)
                    .cloned()
                    .unwrap_or_else(|_| Field::new(*c, DataType::Utf8, true))
            })
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::csv::ReaderBuilder::new(file_schema)
        .with_header(true)
        .with_projection(projection)
        .build(Cursor::new(text.as_bytes()))
        .map_err(reference_error)?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(reference_error)?;
    let table = MemTable::try_new(schema, vec![batches]).map_err(CatalogError::datafusion(
        format!("registering {source_name}"),
    ))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(CatalogError::datafusion(format!(
            "registering {source_name}"
        )))?;
    Ok(())
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Columns of the LSOA lookup (`data/reference/lsoa.csv`).
pub fn lsoa_schema() -> SchemaRef {
    let mut fields: Vec<Field> = [
        "lsoa_code",
        "lsoa_name",
        "msoa_code",
        "msoa_name",
        "ward_code",
        "ward_name",
        "lad_code",
        "lad_name",
        "csp_code",
        "csp_name",
    ]
    .into_iter()
    .map(utf8)
    .collect();
    fields.extend([
        Field::new("latitude", DataType::Float64, true),
        Field::new("longitude", DataType::Float64, true),
        Field::new("easting", DataType::Float64, true),
        Field::new("northing", DataType::Float64, true),
        Field::new("imd2019_decile", DataType::Int64, true),
    ]);
    Arc::new(Schema::new(fields))
}

fn offence_codes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("offence_code"),
        utf8("offence_name"),
        utf8("ho_group"),
        utf8("offence_category"),
        Field::new("harm_days", DataType::Int64, true),
        utf8("harm_source"),
    ]))
}

fn esp2013_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("age_band"),
        Field::new("band_start", DataType::Int64, true),
        Field::new("weight", DataType::Float64, true),
    ]))
}

fn params_batch(config: &Config, population_year: i64) -> RecordBatch {
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
            "hotspot_distance_m",
            Arc::new(Float64Array::from(vec![config.hotspot_distance_m])),
        ),
        (
            "period_years",
            Arc::new(Float64Array::from(vec![
                ((config.end - config.start).num_days() + 1) as f64 / 365.25,
            ])),
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

/// One row per calendar month of the period: `month` (`YYYY-MM`), `month_start` and the
/// population year for that month (the month's calendar year by the same rule as the period's).
fn period_months_batch(config: &Config, years: &[i64]) -> RecordBatch {
    use chrono::Datelike;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut months = Vec::new();
    let mut starts = Vec::new();
    let mut population_years = Vec::new();
    let mut month = config.start.with_day(1).expect("day 1 exists");
    while month <= config.end {
        months.push(month.format("%Y-%m").to_string());
        starts.push(i32::try_from((month - epoch).num_days()).unwrap_or(i32::MAX));
        population_years.push(pick_year(years, i64::from(month.year())));
        month = month
            .checked_add_months(chrono::Months::new(1))
            .expect("month within chrono's range");
    }
    RecordBatch::try_from_iter([
        ("month", Arc::new(StringArray::from(months)) as ArrayRef),
        ("month_start", Arc::new(Date32Array::from(starts))),
        (
            "population_year",
            Arc::new(Int64Array::from(population_years)),
        ),
    ])
    .expect("period_months columns have equal lengths")
}

/// An empty table with the contract's columns, standing in for an absent optional file.
fn empty_batch(spec: &TableSpec) -> RecordBatch {
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
            };
            Field::new(c.name, data_type, true)
        })
        .collect();
    RecordBatch::new_empty(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parquet_error_inside_a_query_error_is_a_decode_failure() {
        // As a scan returns it: DataFusion's Parquet error, carried through Arrow.
        let parquet = DataFusionError::ParquetError(Box::new(ParquetError::General(
            "invalid page header".to_owned(),
        )));
        let scan = DataFusionError::ArrowError(
            Box::new(ArrowError::ExternalError(Box::new(parquet))),
            None,
        );
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
        assert_eq!(free, ["ae_assaults", "sv_offences_all"]);
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
}
