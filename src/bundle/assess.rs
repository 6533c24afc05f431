//! `sna run`: runs every SQL job in `queries/` over the catalog and writes the assessment
//! bundle (`tables/<job>.csv`, `tables/<job>.parquet`, `tables/README.md`, `manifest.json`).
//!
//! Each job's result streams from DataFusion into both writers batch by batch, so no job is
//! held in memory and each query runs once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bundle::charts::{self, ChartError, ChartRecord};
use crate::bundle::report::{self, ReportError};
use crate::config::Config;
use crate::engine::capability::{self, NotPossible};
use crate::engine::catalog::{self, CatalogError, LookupSource};
use crate::engine::jobs::JobError;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, TableFiles, create_dir, sha256_file, write_json, write_text};
use crate::sources::contract::Form;
use crate::sources::validate::{self, Severity};
use crate::staging::{OutputKind, Staging, StagingError};

/// Errors of an assessment run. Any of them leaves no bundle behind.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// The extract or reference data could not be opened.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// Validation found errors that would make the assessment wrong.
    #[error("the extract in {data_dir} has data errors:\n{details}")]
    Unusable {
        /// The extract directory.
        data_dir: PathBuf,
        /// The errors, one per line.
        details: String,
    },
    /// A job failed, could not be ordered, or failed a test of its metadata.
    #[error("{0}")]
    Job(#[from] JobError),
    /// The output directory could not be staged or published.
    #[error("{0}")]
    Staging(#[from] StagingError),
    /// A table file could not be written, or an input could not be hashed.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// A chart could not be drawn.
    #[error("{0}")]
    Chart(#[from] ChartError),
    /// The report could not be written.
    #[error("{0}")]
    Report(#[from] ReportError),
    /// The earlier bundle of `--compare` could not be read.
    #[error("{0}")]
    Compare(#[from] crate::bundle::compare::CompareError),
    /// A shareable bundle could not be protected, or fails its audit.
    #[error("{0}")]
    Shareable(#[from] crate::bundle::shareable::ShareableError),
    /// The release log could not be read or written.
    #[error("{0}")]
    ReleaseLog(#[from] crate::partners::release_log::ReleaseLogError),
    /// The `[funding]` allocation could not be made.
    #[error("[funding]: {0}")]
    Funding(#[from] crate::funding::extract::RunError),
}

pub use crate::engine::jobs::JobResult;

/// An input file as recorded in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct InputRecord {
    /// Path as given.
    pub path: String,
    /// Bytes.
    pub bytes: u64,
    /// Rows (Parquet footer, or CSV data lines).
    pub rows: u64,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The bundle's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Always `vrn-sna assessment bundle`: marks the directory as a bundle that a later run
    /// may replace.
    pub kind: &'static str,
    /// `vrn-sna <version>`.
    pub tool: String,
    /// The resolved configuration.
    pub config: Config,
    /// Where the configuration came from.
    pub config_file: Option<String>,
    /// The population year used for the period.
    pub population_year: i64,
    /// The population's form: `by_age_sex` (single years of age by sex) or `all_ages`.
    pub population_form: &'static str,
    /// Where the SQL came from: a directory, or `bundled`.
    pub queries: String,
    /// Where the SQL ran: `local`, or `ballista://HOST:PORT` (a cluster's scheduler).
    pub engine: String,
    /// Every input file.
    pub inputs: Vec<InputRecord>,
    /// The extract's form: `full` or `open_data`.
    pub form: Form,
    /// Every job run (in a shareable bundle, those whose tables it publishes).
    pub jobs: Vec<JobResult>,
    /// What was read from the cache and what was computed.
    pub cache: crate::engine::catalog::CacheUse,
    /// The jobs these data cannot support, with why.
    pub not_possible: Vec<NotPossible>,
    /// Every chart, drawn or skipped (with why).
    pub charts: Vec<ChartRecord>,
    /// Start time (UTC, RFC 3339).
    pub started_at: String,
    /// End time (UTC, RFC 3339).
    pub finished_at: String,
    /// Every file of the bundle (but the manifest) with its SHA-256: a later run replaces the
    /// bundle only while it holds exactly these.
    pub files: Vec<crate::staging::FileEntry>,
    /// With `--shareable`: the disclosure control every published table passed, and what was
    /// withheld. Absent from an internal bundle's manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shareable: Option<crate::bundle::shareable::Shareable>,
    /// True when the file system could not swap the bundle in one step (see
    /// [`crate::staging::Published::gap`]); not part of the manifest file.
    #[serde(skip)]
    pub replaced_in_two_steps: bool,
}

/// Reports progress while jobs run.
pub trait Progress {
    /// Called once with the number of jobs.
    fn start(&mut self, jobs: usize);
    /// Called after each job.
    fn job_done(&mut self, result: &JobResult);
    /// Called at the end.
    fn finish(&mut self);
}

/// Progress that says nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: usize) {}
    fn job_done(&mut self, _: &JobResult) {}
    fn finish(&mut self) {}
}

/// Runs the assessment and publishes the bundle at `out`.
pub async fn run(
    config: &Config,
    config_file: Option<&Path>,
    queries: &QuerySet,
    out: &Path,
    previous: Option<&Path>,
    progress: &mut dyn Progress,
) -> Result<Manifest, AssessError> {
    let started_at = chrono::Utc::now();
    let config = &*crate::cache::outside(config, out);
    let data_dir = config.data_dir.as_path();
    // The destination is checked first, before minutes of work are spent on an output that
    // could not be published.
    let staging = Staging::new(out, OutputKind::Bundle, &[data_dir])?;
    // A shareable bundle is protected jointly with every release in the release log (partner
    // packs and shareable bundles of any period), as an intruder holding them all: the log is
    // read first, so a file there that is not a log refuses the run before any work.
    let release_log = match config.shareable {
        true => {
            let path = config
                .release_log
                .clone()
                .unwrap_or_else(|| crate::partners::release_log::default_path(out));
            let log = crate::partners::release_log::ReleaseLog::load(&path)?;
            Some((path, log))
        }
        false => None,
    };
    let report = validate::validate(config, data_dir).await?;
    ensure_usable(&report, data_dir)?;
    let catalog = catalog::open(config, data_dir, queries, catalog::ViewMode::Cached).await?;
    let tables = staging.path().join("tables");
    create_dir(&tables)?;

    let all: Vec<&SqlFile> = queries.jobs.iter().collect();
    let (runnable, mut not_possible) = capability::possible(&all, queries, &catalog.available)?;
    progress.start(runnable.len());
    let mut jobs = crate::engine::jobs::run_all(&catalog.ctx, &runnable, &tables, &mut |r| {
        progress.job_done(r)
    })
    .await?;
    progress.finish();
    // A shareable bundle: the declared tables protected as one system and audited, the others
    // withheld, before any chart, finding or report reads them.
    let mut log = None;
    let shareable = if let Some((log_path, earlier)) = release_log {
        let (mut summary, withheld) = crate::bundle::shareable::protect_with(
            &tables,
            &runnable,
            config.disclosure_threshold,
            crate::bundle::shareable::Earlier {
                releases: earlier.releases(),
                protection: earlier.protection(0),
                period: Some(crate::partners::structure::Period {
                    start: config.start,
                    end: config.end,
                }),
                log: log_path.display().to_string(),
            },
        )?;
        summary.release_log = Some(log_path.display().to_string());
        log = Some((log_path, earlier.releases.len()));
        // A withheld table's row count is not published either: it can say that a rare
        // category occurred (a row of the offence mix).
        jobs.retain(|j| !withheld.iter().any(|w| w.job == j.job));
        not_possible.extend(withheld);
        for (name, reason) in shareable_withheld_outputs(config, previous) {
            summary.withheld.push(crate::bundle::shareable::Withheld {
                name: name.to_owned(),
                reason: reason.to_owned(),
            });
        }
        Some(summary)
    } else {
        None
    };
    let funding = match config.funding.as_ref().filter(|_| shareable.is_none()) {
        Some(settings) => {
            let started = Instant::now();
            let run = crate::funding::extract::for_run(config, queries, settings).await?;
            let batch = crate::funding::output::batch(&run.allocation, &run.extras)
                .map_err(OutputError::at(&tables.join("funding.parquet")))?;
            let mut files = TableFiles::create(&tables, "funding", batch.schema())?;
            files.write(&batch)?;
            let (rows, _, _) = files.finish()?;
            let sql = queries.funding.iter().find(|f| f.name == "areas");
            jobs.push(JobResult {
                job: "funding".to_owned(),
                file: sql.map_or_else(String::new, |f| f.relative_path.clone()),
                sql_sha256: sql.map(SqlFile::sha256).unwrap_or_default(),
                metadata_sha256: sql.and_then(SqlFile::meta_sha256),
                rows,
                seconds: round_seconds(started.elapsed()),
            });
            Some(run)
        }
        None => None,
    };

    let by_age_sex = catalog
        .available
        .has(crate::engine::capability::Capability::ResidentsByAgeSex);
    let population_form = if by_age_sex { "by_age_sex" } else { "all_ages" };
    let comparison = match previous.filter(|_| shareable.is_none()) {
        Some(previous) => {
            let headline_sql = jobs
                .iter()
                .find(|j| j.job == "headline")
                .map(|j| j.sql_sha256.clone())
                .unwrap_or_default();
            let now = crate::bundle::compare::Now {
                config,
                headline_sql: &headline_sql,
                population_form,
            };
            let comparison = crate::bundle::compare::compare(previous, &now, &tables)?;
            let batch = comparison
                .batch()
                .map_err(OutputError::at(&tables.join("comparison.parquet")))?;
            let mut files = TableFiles::create(&tables, "comparison", batch.schema())?;
            files.write(&batch)?;
            files.finish()?;
            Some(comparison)
        }
        None => None,
    };

    let form = catalog.available.form;
    write_tables_readme(
        &tables,
        queries,
        config,
        form,
        &not_possible,
        shareable.as_ref(),
    )?;
    let chart_inputs = charts::Inputs {
        tables: tables.clone(),
        period: config.period_words(),
        definition: config.serious_violence.describe_for(form),
        police_source: form.police_source().to_owned(),
        cutoff: config.young_age_cutoff,
        boundaries: Some(boundaries(data_dir).await?),
        funding: funding.as_ref().map(|run| run.words()),
        not_possible: not_possible.clone(),
    };
    let charts_dir = staging.path().join("charts");
    let mut chart_records = charts::render_all(&chart_inputs, &charts_dir)?;
    if funding.is_some() {
        chart_records.extend(charts::render_set(
            &charts::FUNDING_CHARTS,
            &chart_inputs,
            &charts_dir,
        )?);
    }
    // The validation report quotes values of the extract: not in a shareable bundle.
    if shareable.is_none() {
        let report_path = staging.path().join("data_quality.json");
        write_json(&report_path, &report)?;
    }

    let mut inputs = Vec::new();
    for file in &catalog.files {
        inputs.push(input_record(&file.path, file.rows).await?);
    }
    if let LookupSource::Extract { path, rows } = &catalog.lsoa_source {
        inputs.push(input_record(path, *rows).await?);
    }
    let finished_at = chrono::Utc::now();
    let report_inputs = report::ReportInputs {
        config,
        population_year: catalog.population_year,
        population_all_ages: !by_age_sex,
        sources: inputs
            .iter()
            .map(|i| report::Source {
                path: i.path.clone(),
                rows: i.rows,
            })
            .collect(),
        charts: &chart_records,
        queries,
        form,
        not_possible: &not_possible,
        generated_at: finished_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        comparison,
        funding: funding.as_ref().map(|run| report::FundingText {
            words: run.words(),
            reconciliation: run.allocation.reconciliation(),
        }),
        shareable: shareable.as_ref(),
    };
    report::write(staging.path(), &report_inputs)?;
    let mut manifest = Manifest {
        kind: OutputKind::Bundle.marker(),
        tool: crate::readable::tool(),
        config: config.clone(),
        config_file: config_file.map(|p| p.display().to_string()),
        population_year: catalog.population_year,
        population_form,
        queries: queries
            .source
            .as_ref()
            .map_or_else(|| "bundled".to_owned(), |p| p.display().to_string()),
        engine: config.engine().to_string(),
        inputs,
        form,
        jobs,
        cache: crate::engine::catalog::CacheUse {
            validation_from_cache: report.from_cache,
            ..catalog.cache_use.clone()
        },
        not_possible,
        charts: chart_records,
        started_at: started_at.to_rfc3339(),
        finished_at: finished_at.to_rfc3339(),
        files: staging.files()?,
        shareable,
        replaced_in_two_steps: false,
    };
    let manifest_path = staging.path().join("manifest.json");
    write_json(&manifest_path, &manifest)?;
    // A shareable bundle is recorded before it is published: one recorded but not published
    // only makes later releases more cautious, one published but not recorded would be
    // forgotten.
    if let (Some((path, read)), Some(control)) = (log, manifest.shareable.as_ref()) {
        crate::partners::release_log::ReleaseLog::record(
            &path,
            read,
            crate::partners::release_log::LoggedRelease {
                pack: out.display().to_string(),
                period_start: config.start.to_string(),
                period_end: config.end.to_string(),
                released_at: manifest.finished_at.clone(),
                tool: crate::readable::tool(),
                threshold: control.threshold,
                protection: control.protection,
                suppressed_at_least: control.suppressed_at_least,
                grids: crate::partners::release_log::LoggedRelease::of_grids(&control.published),
            },
        )?;
    }
    manifest.replaced_in_two_steps = staging.publish()?.gap;
    Ok(manifest)
}

/// The outputs other than job tables that a shareable bundle leaves out, with why.
fn shareable_withheld_outputs(
    config: &Config,
    previous: Option<&Path>,
) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![(
        "data_quality.json",
        "the validation report quotes values and row counts of the extract",
    )];
    if config.funding.is_some() {
        out.push((
            "funding",
            "the funding allocation's counts by area are not declared for disclosure control",
        ));
    }
    if previous.is_some() {
        out.push((
            "comparison",
            "the earlier bundle's measures are not under this bundle's disclosure control",
        ));
    }
    out
}

/// Fails with [`AssessError::Unusable`], listing every error, when validation found errors
/// that would make the results wrong.
pub fn ensure_usable(report: &validate::Report, data_dir: &Path) -> Result<(), AssessError> {
    if report.usable() {
        return Ok(());
    }
    let details = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| {
            format!(
                "  {}{}: {}{}",
                f.file,
                f.column
                    .as_deref()
                    .map(|c| format!(", column {c}"))
                    .unwrap_or_default(),
                f.message,
                if f.examples.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", f.examples.join(", "))
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Err(AssessError::Unusable {
        data_dir: data_dir.to_path_buf(),
        details,
    })
}

/// The LSOA boundaries for the map: the extract's own `reference/lsoa_boundaries.geojson`
/// when it has one, otherwise the bundled boundaries of the area.
async fn boundaries(data_dir: &Path) -> Result<(String, String), AssessError> {
    let own = catalog::own_reference(data_dir, "lsoa_boundaries.geojson").await?;
    if let Some((path, text)) = own {
        return Ok((path.display().to_string(), text));
    }
    Ok((
        "data/reference/lsoa_boundaries.geojson".to_owned(),
        crate::sources::reference::LSOA_BOUNDARIES_GEOJSON.to_owned(),
    ))
}

fn round_seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// What the manifest records of an input: its path, size, rows and SHA-256 (an object in an
/// object store is streamed to hash it, as a file is read).
async fn input_record(path: &Path, rows: u64) -> Result<InputRecord, AssessError> {
    let (sha256, bytes) = if crate::sources::remote::is_remote(path) {
        crate::sources::remote::sha256(path)
            .await
            .map_err(|e| CatalogError::from(crate::sources::contract::ContractError::from(e)))?
    } else {
        sha256_file(path)?
    };
    Ok(InputRecord {
        path: path.display().to_string(),
        bytes,
        rows,
        sha256,
    })
}

fn write_tables_readme(
    tables: &Path,
    queries: &QuerySet,
    config: &Config,
    form: Form,
    not_possible: &[NotPossible],
    shareable: Option<&crate::bundle::shareable::Shareable>,
) -> Result<(), AssessError> {
    let mut out = String::new();
    let _ = writeln!(out, "# Tables of {}\n", config.title);
    let _ = writeln!(
        out,
        "Period {} to {}. {} Under the cutoff means aged under {}.\n",
        config.start,
        config.end,
        config.serious_violence.describe_for(form),
        config.young_age_cutoff
    );
    let _ = writeln!(
        out,
        "Each table is written as CSV and Parquet; its definition is the SQL file named below. \
         Rates over the period are per 1,000 residents a year (`rate_per_1000_year`: the count \
         over person-years, each month's residents from its own population year × its days in \
         the period / 365.25, summed; the whole-period counts are in their own columns); monthly \
         series are per 1,000 residents in the month (`rate_per_1000`). Rates have 95% confidence \
         limits (exact Poisson below 10 events, Byar's from 10); proportions have Wilson score \
         limits.\n"
    );
    if let Some(control) = shareable {
        let _ = writeln!(
            out,
            "**Disclosure: shareable.** {} Each count column is followed by `<count>_suppressed`; a \
             suppressed count is empty, and so are the columns derived from it. `sna audit-pack` \
             on this bundle repeats the audit.\n",
            control.notice()
        );
    }
    for job in &queries.jobs {
        let meta = &job.meta;
        let _ = writeln!(out, "## {}\n", job.name);
        let _ = writeln!(
            out,
            "**{}** (`queries/{}`)\n",
            job.title(),
            job.relative_path
        );
        if let Some(not) = not_possible.iter().find(|n| n.job == job.name) {
            if !not.listed {
                continue;
            }
            if not.reason.starts_with(crate::bundle::shareable::WITHHELD) {
                let _ = writeln!(out, "Not in this bundle: {}.\n", not.reason);
            } else {
                let _ = writeln!(
                    out,
                    "Not possible with these data, so not in this bundle: {}.\n",
                    not.reason
                );
            }
        }
        let needs = crate::engine::jobs::sources(&job.sql, queries).unwrap_or_default();
        if !needs.is_empty() {
            let list: Vec<String> = needs.iter().map(|n| format!("`{n}`")).collect();
            let _ = writeln!(out, "Reads the input tables {}.\n", list.join(", "));
        }
        if !meta.description.is_empty() {
            let _ = writeln!(out, "{}\n", meta.description);
        }
        if !meta.columns.is_empty() {
            let _ = writeln!(out, "| column | meaning |\n| --- | --- |");
            for column in &meta.columns {
                let _ = writeln!(out, "| `{}` | {} |", column.name, column.description);
            }
            let _ = writeln!(out);
        }
    }
    if config.funding.is_some() {
        out.push_str(crate::funding::output::TABLE_README);
    }
    let path = tables.join("README.md");
    Ok(write_text(&path, &out)?)
}
