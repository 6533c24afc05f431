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
use crate::engine::capability::Available;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::sources::contract::{self, ContractError, ExtractFile, Form, Kind, TableSpec};
use crate::sources::reference;

mod decode;
mod lookups;
mod params;

pub use decode::*;
pub use lookups::*;
pub use params::*;

/// Errors in building the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The cache cannot be used (its directory is not vrn-sna's, or the extract cannot be
    /// read to key it).
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// The cluster engine could not be reached or is not built in.
    #[error(transparent)]
    Cluster(#[from] crate::engine::cluster::ClusterError),
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
    /// A view says its rows do not follow the period but reads a parameter that does.
    #[error(
        "queries/{file} says `period = false` but reads params.{column}, which follows the reporting period: say `period = true` in its metadata"
    )]
    PeriodMisdeclared {
        /// The view's file.
        file: String,
        /// The period-bound parameter it reads.
        column: String,
    },
    /// An open-data extract (months only) with a period that cuts a month.
    #[error(
        "the period {start} to {end} cuts a month, but {dir} holds police.uk open data, which gives the month of each crime only: give a period of whole months, starting on the first of a month and ending on the last day of one (sna run --start/--end, or start and end in sna.toml)"
    )]
    PartMonths {
        /// The extract.
        dir: PathBuf,
        /// The period's first day.
        start: chrono::NaiveDate,
        /// The period's last day.
        end: chrono::NaiveDate,
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
    /// The extract's own `reference/lsoa.csv`, and its rows (as read for this run).
    Extract {
        /// Where it is.
        path: PathBuf,
        /// Its data rows.
        rows: u64,
    },
}

/// An open catalog.
pub struct Catalog {
    /// The DataFusion session with every table, function and view registered.
    pub ctx: SessionContext,
    /// The contract files found in the extract.
    pub files: Vec<ExtractFile>,
    /// The extract's form and what it can support.
    pub available: Available,
    /// Where the LSOA lookup came from.
    pub lsoa_source: LookupSource,
    /// The mid-year population year used for the whole period.
    pub population_year: i64,
    /// The configuration it was opened with.
    config: Config,
    /// Cached views whose definitions do not involve the period, for [`open_for_period`].
    period_free: Vec<(String, Arc<dyn TableProvider>)>,
    /// Which cached views came from the on-disk cache and which were computed.
    pub cache_use: CacheUse,
}

/// How the catalog used the on-disk cache (`crate::cache`) for its cached views.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CacheUse {
    /// The cache directory, or `None` when the cache was not used (`--no-cache`).
    pub dir: Option<PathBuf>,
    /// Whether the command's validation report was read from the cache (set by the commands
    /// that validate).
    pub validation_from_cache: bool,
    /// Views read from the cache.
    pub views_from_cache: Vec<String>,
    /// Views computed from the extract (and, in `sna run`, `export` and `refresh`, stored).
    pub views_computed: Vec<String>,
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
    let cache = crate::cache::Cache::open(config, data_dir)?;
    let files = catalog.input_paths();
    guarded(&files, create_views(catalog, queries, mode, &[], cache))
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
    let cache = crate::cache::Cache::open(config, data_dir)?;
    let files = catalog.input_paths();
    guarded(
        &files,
        create_views(catalog, queries, ViewMode::Cached, &reuse, cache),
    )
    .await
    .map_err(|e| name_unreadable(&files, e))
}

async fn create_views(
    mut catalog: Catalog,
    queries: &QuerySet,
    mode: ViewMode,
    reuse: &[(String, Arc<dyn TableProvider>)],
    cache: Option<crate::cache::Cache>,
) -> Result<Catalog, CatalogError> {
    // On a cluster every view stays a view, so that each job's plan reaches back to the
    // extract's files, which every executor reads; a view held in this process's memory
    // would have to travel inside every plan that reads it.
    let (mode, cache) = if crate::engine::cluster::is_remote(&catalog.config.engine()) {
        (ViewMode::Lazy, None)
    } else {
        (mode, cache)
    };
    // Views in the order their SQL requires, whatever their file names.
    let views: Vec<&SqlFile> = queries.views_for(catalog.available.form);
    let name_of =
        |v: &SqlFile| crate::engine::jobs::view_name(&v.sql).unwrap_or_else(|| v.name.clone());
    let ctx = catalog.ctx.clone();
    let known = |name: &str| crate::engine::jobs::exists(&ctx, name);
    let views = crate::engine::jobs::ordered(&views, &name_of, &known)
        .map_err(|e| CatalogError::Views(Box::new(e)))?;
    catalog.cache_use.dir = cache.as_ref().map(|c| c.dir().to_path_buf());
    // What a cached view's rows depend on besides the extract: the configuration (without
    // the period for views that do not follow it) and the SQL of every view so far.
    let config_json = {
        // The period goes into the keys of the views that follow it only.
        let mut without_period = catalog.config.clone();
        without_period.start = chrono::NaiveDate::MIN;
        without_period.end = chrono::NaiveDate::MIN;
        serde_json::to_string(&without_period).unwrap_or_default()
    };
    let period = format!("{} {}", catalog.config.start, catalog.config.end);
    let mut sql_so_far = <sha2::Sha256 as sha2::Digest>::new();
    // Views that follow the period: those reading `period_months` or a view that follows it,
    // and those reading `params` whose metadata says `period = true`.
    let mut period_bound: Vec<String> = Vec::new();
    for view in views {
        sha2::Digest::update(
            &mut sql_so_far,
            format!("{}\n{}\n", view.sql.len(), view.sql),
        );
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
        catalog
            .ctx
            .sql(&view.sql)
            .await
            .map_err(CatalogError::datafusion(context.clone()))?;
        if reads_params
            && view.meta.period == Some(false)
            && let Some(name) = &name
            && let Some(column) = params::period_column_read(&catalog.ctx, name)
                .await
                .map_err(CatalogError::datafusion(context.clone()))?
        {
            // Its cached rows would be served to another period: refused, not trusted.
            return Err(CatalogError::PeriodMisdeclared {
                file: view.relative_path.clone(),
                column,
            });
        }
        let Some(name) = name.filter(|_| view.meta.cache) else {
            continue;
        };
        let key = cache.as_ref().map(|c| {
            let sql = crate::engine::queries::hex(&sha2::Digest::finalize(sql_so_far.clone()));
            let period = if bound { period.as_str() } else { "" };
            (c, c.key("view", &[&name, &sql, &config_json, period]))
        });
        let reused = reuse
            .iter()
            .find(|(n, _)| !bound && *n == name)
            .map(|(_, provider)| Arc::clone(provider));
        let from_cache = match (&reused, &key) {
            (None, Some((cache, key))) => match cache.view(&name, key) {
                Some(entry) => {
                    let rows = read_cached(&catalog.ctx, &name, entry.bytes, entry.rows).await;
                    if rows.is_none() {
                        // Intact but not these rows (its columns differ, or it went while
                        // being read): computed again, and replaced.
                        cache.remove_view(&name, key);
                    }
                    rows
                }
                None => None,
            },
            _ => None,
        };
        let provider = match (reused, from_cache) {
            (Some(provider), _) => provider,
            (None, Some(provider)) => {
                catalog.cache_use.views_from_cache.push(name.clone());
                provider
            }
            // Left a view, computed when queried: an interactive session does not spend the
            // time to compute views it may never read.
            (None, None) if mode == ViewMode::Lazy => continue,
            (None, None) => {
                catalog.cache_use.views_computed.push(name.clone());
                let cached = catalog
                    .ctx
                    .table(name.as_str())
                    .await
                    .map_err(CatalogError::datafusion(context.clone()))?
                    .cache()
                    .await
                    .map_err(CatalogError::datafusion(context.clone()))?;
                if let Some((cache, key)) = &key {
                    let schema: SchemaRef = Arc::new(cached.schema().as_arrow().clone());
                    let batches = cached
                        .clone()
                        .collect()
                        .await
                        .map_err(CatalogError::datafusion(context.clone()))?;
                    if let Err(e) = cache.store_view(&name, key, &schema, &batches) {
                        crate::cache::warn_not_written(&e);
                    }
                }
                cached.into_view()
            }
        };
        catalog
            .ctx
            .deregister_table(name.as_str())
            .map_err(CatalogError::datafusion(context.clone()))?;
        catalog
            .ctx
            .register_table(name.as_str(), Arc::clone(&provider))
            .map_err(CatalogError::datafusion(context))?;
        if !bound && mode == ViewMode::Cached {
            catalog.period_free.push((name, provider));
        }
    }
    Ok(catalog)
}

/// The rows of view `name` decoded from `data`, the bytes of its cache file (already checked
/// against the entry's SHA-256), with exactly the types the view's SQL gives (Parquet has no
/// second-precision timestamps, and strings may come back as views), or `None` when the file
/// does not fit the view (its columns differ) or does not hold the `rows` recorded when it was
/// written: it is then computed. Read whole, not left a view over the file, so that a later `sna cache clear` or
/// eviction by another command cannot empty a session's view under it.
async fn read_cached(
    ctx: &SessionContext,
    name: &str,
    data: bytes::Bytes,
    rows: u64,
) -> Option<Arc<dyn TableProvider>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let schema: SchemaRef = Arc::new(ctx.table(name).await.ok()?.schema().as_arrow().clone());
    let reader = ParquetRecordBatchReaderBuilder::try_new(data).ok()?;
    let stored = reader.schema().clone();
    if stored.fields().len() != schema.fields().len()
        || stored
            .fields()
            .iter()
            .zip(schema.fields())
            .any(|(a, b)| a.name() != b.name())
    {
        return None;
    }
    let mut batches = Vec::new();
    let mut read = 0u64;
    for batch in reader.build().ok()? {
        let batch = batch.ok()?;
        // Back to exactly the types the view's SQL gives.
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        read += batch.num_rows() as u64;
        batches.push(RecordBatch::try_new(Arc::clone(&schema), columns).ok()?);
    }
    if read != rows {
        return None;
    }
    // Spread over the session's partitions, as a cached DataFrame is, so that queries over it
    // run in parallel.
    let partitions = ctx.state().config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    for (i, batch) in batches.into_iter().enumerate() {
        parts[i % partitions].push(batch);
    }
    let table = MemTable::try_new(schema, parts).ok()?;
    Some(Arc::new(table))
}

/// Builds a session with the extract's tables, the reference lookups, the parameters and the
/// statistics functions, but no views.
pub async fn open_tables(config: &Config, data_dir: &Path) -> Result<Catalog, CatalogError> {
    let extract = contract::check_extract_anywhere(data_dir).await?;
    let available = Available::of(&extract);
    if extract.form == Form::OpenData && !whole_months(config.start, config.end) {
        return Err(CatalogError::PartMonths {
            dir: data_dir.to_path_buf(),
            start: config.start,
            end: config.end,
        });
    }
    let ctx = new_context(config)?;
    // Every table of the full form is registered, a missing optional one empty, so that every
    // view compiles; what a job may read is decided by `capability::possible`, and SQL can
    // read the `available` table.
    for spec in contract::TABLES {
        match extract.files.iter().find(|f| f.spec.name == spec.name) {
            Some(file) if file.spec.is_all_ages_population() => {
                register_all_ages_population(&ctx, &file.path).await?
            }
            Some(file) => register_parquet(&ctx, spec.name, &file.path).await?,
            None => register_batch(&ctx, spec.name, empty_batch(spec))?,
        }
    }
    let batch = available
        .batch()
        .map_err(|e| CatalogError::datafusion("building available")(e.into()))?;
    register_batch(&ctx, "available", batch)?;
    let files = extract.files;
    let lsoa_source = register_reference(&ctx, own_lsoa_lookup(data_dir).await?)?;
    register_localities(&ctx, &config.localities).await?;
    let years = population_years(&ctx).await?;
    use chrono::Datelike;
    let population_year = pick_year(&years, i64::from(config.mid_point().year()))
        .ok_or_else(|| CatalogError::NoPopulation(data_dir.join("population.parquet")))?;
    register_batch(&ctx, "params", params_batch(config, population_year))?;
    register_batch(&ctx, "disrupted_periods", disrupted_periods_batch(config))?;
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
    let definition = &config.serious_violence;
    let offence_groups: Vec<&str> = match available.form {
        Form::Full => definition.ho_groups.iter().map(String::as_str).collect(),
        Form::OpenData => definition
            .police_uk_crime_types
            .iter()
            .map(String::as_str)
            .collect(),
    };
    let sv_offence_groups = RecordBatch::try_from_iter([(
        "offence_group",
        Arc::new(StringArray::from(offence_groups)) as ArrayRef,
    )])
    .map_err(|e| CatalogError::datafusion("building sv_offence_groups")(e.into()))?;
    register_batch(&ctx, "sv_offence_groups", sv_offence_groups)?;
    Ok(Catalog {
        ctx,
        files,
        available,
        lsoa_source,
        population_year,
        config: config.clone(),
        period_free: Vec::new(),
        cache_use: CacheUse::default(),
    })
}

/// Whether `start` to `end` is a run of whole calendar months.
pub fn whole_months(start: chrono::NaiveDate, end: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    start.day() == 1 && end.succ_opt().is_some_and(|next| next.day() == 1)
}

/// What DataFusion said when `error` is the session running out of memory, or out of the
/// disk it may spill to (bounded by [`new_context`]): the spill writer
/// reports that as an Arrow I/O error holding only the text, so it is known by its words.
pub fn memory_exhausted(error: &DataFusionError) -> Option<String> {
    match error.find_root() {
        DataFusionError::ResourcesExhausted(detail) => Some(detail.clone()),
        root => {
            let text = root.to_string();
            text.contains("during the spilling process has exceeded")
                .then_some(text)
        }
    }
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
        .with_object_store_registry(crate::sources::remote::registry())
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(disk)
        .build_arc()
        .map_err(CatalogError::datafusion("starting the query engine"))?;
    let ctx = SessionContext::new_with_config_rt(
        SessionConfig::new().with_information_schema(true),
        runtime,
    );
    let ctx = match config.engine() {
        crate::config::Engine::Local => ctx,
        #[cfg(feature = "distributed")]
        engine => {
            SessionContext::new_with_state(crate::engine::cluster::remote(ctx.state(), &engine)?)
        }
        #[cfg(not(feature = "distributed"))]
        engine => return Err(crate::engine::cluster::not_built(&engine).into()),
    };
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

/// Registers a population of all ages ([`contract::POPULATION_ALL_AGES`]) as `population` with
/// the columns of the by-age form, `sex` and `age` null: every view compiles, residents' totals
/// are right, and a `WHERE age < 25` counts no one rather than guessing. Jobs that need ages or
/// sexes of residents declare `residents_by_age_sex` and are not run on it.
async fn register_all_ages_population(
    ctx: &SessionContext,
    path: &Path,
) -> Result<(), CatalogError> {
    use datafusion::common::ScalarValue;
    use datafusion::prelude::{ident, lit};
    let text = path.to_string_lossy().into_owned();
    let registered = async {
        let df = ctx
            .read_parquet(text.as_str(), ParquetReadOptions::default())
            .await?
            .select(vec![
                ident("year"),
                ident("lsoa_code"),
                lit(ScalarValue::Utf8(None)).alias("sex"),
                lit(ScalarValue::Int64(None)).alias("age"),
                ident("population"),
            ])?;
        // A view (not `DataFrame::into_view`) so that a plan reading it can be sent to a
        // cluster.
        let view = datafusion::datasource::ViewTable::new(df.logical_plan().clone(), None);
        ctx.register_table("population", Arc::new(view)).map(|_| ())
    };
    registered
        .await
        .map_err(CatalogError::datafusion(format!("registering {text}")))
}

#[cfg(test)]
mod tests;
