//! `sna refresh`: keeps a dashboard of the latest months current, for a scheduler.
//!
//! One refresh, under the dashboard's [`lock`]:
//! 1. [`fingerprint`] the inputs; when they match the last successful refresh and the
//!    dashboard is in place, say so in the status file and stop (no query runs);
//! 2. find the [`window`]: the latest N complete months in the data;
//! 3. validate the extract, then build a new version in a draft directory: the monthly trend
//!    jobs over the window with [`spc`] signals, the district, time and hot-spot jobs over the
//!    last 12 months (`queries/refresh/` and the assessment's own jobs), the charts and the
//!    [`page`];
//! 4. [`publish`] it in one step, and record the attempt in the [`status`] file.
//!
//! Only what the extract supports is built ([`capability::possible`] over all of the
//! dashboard's jobs; SPC series by [`spc::possible`]): the rest is listed on the page and in the
//! manifest as not possible with these data, its charts recorded as not drawn, with why.
//!
//! Any failure leaves the published dashboard exactly as it was and records why.

pub mod fingerprint;
pub mod lock;
pub mod page;
pub mod publish;
pub mod spc;
pub mod status;
pub mod window;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{Array, Date32Array};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use self::fingerprint::{Fingerprint, FingerprintError, Settings};
use self::lock::{Lock, LockError};
use self::page::{PageError, PageInputs, SignalView, StateView};
use self::publish::{PublishError, Versions};
use self::spc::{NotPossibleSeries, SpcError};
use self::status::{Outcome, Status};
use self::window::SourceDates;
use crate::bundle::assess::{self, AssessError, JobResult};
use crate::bundle::charts::{self, ChartError, ChartRecord};
use crate::config::Config;
use crate::engine::capability::{self, Capability, NotPossible};
use crate::engine::catalog::{self, CatalogError, ViewMode};
use crate::engine::metadata::RefreshPeriod;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, create_dir, write_json};
use crate::sources::contract::Form;
use crate::sources::validate;

/// Exit code when the refresh failed (the previous dashboard is untouched).
pub const EXIT_FAILED: u8 = 1;
/// Exit code when another refresh holds the lock (sysexits' EX_TEMPFAIL: try again later).
pub const EXIT_LOCKED: u8 = 75;

/// Exit code when the dashboard path may not be written (the extract, or something that is
/// not a dashboard): a usage error, as for a bad argument.
pub const EXIT_USAGE: u8 = 2;

/// Default number of months in the window.
pub const DEFAULT_MONTHS: u32 = 36;

/// The assessment's jobs whose metadata says `refresh = "<period>"`.
fn jobs_over(queries: &QuerySet, period: RefreshPeriod) -> Vec<&SqlFile> {
    queries
        .jobs
        .iter()
        .filter(|j| j.meta.refresh == Some(period))
        .collect()
}

/// Errors of a refresh.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Another refresh holds the lock.
    #[error("{0}")]
    Lock(#[from] LockError),
    /// The configuration is unusable, or could not be loaded (its error's causes are part of
    /// the message, as the status file records it).
    #[error("configuration: {}", crate::text::error_chain(.0.as_ref()))]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The inputs could not be read to fingerprint them.
    #[error("{0}")]
    Fingerprint(#[from] FingerprintError),
    /// The data hold no complete month.
    #[error(
        "{0}: no complete calendar month in the data (a month counts when every source has records on its first and last days; police.uk open data, dated by month, count each month they hold)"
    )]
    NoCompleteMonth(PathBuf),
    /// A job the dashboard needs is missing from `queries/`.
    #[error(
        "queries/{0}.sql with `refresh = \"window\"` in its metadata is missing; the dashboard's control charts need it"
    )]
    MissingJob(String),
    /// A query to find the data's dates failed.
    #[error("finding the dates of {table}: {source}")]
    Dates {
        /// The table.
        table: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// The extract or its reference data could not be opened.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// Validation failed, or a job failed.
    #[error("{0}")]
    Assess(#[from] AssessError),
    /// The SPC tables could not be built.
    #[error("{0}")]
    Spc(#[from] SpcError),
    /// A chart could not be drawn.
    #[error("{0}")]
    Chart(#[from] ChartError),
    /// The page could not be written.
    #[error("{0}")]
    Page(#[from] PageError),
    /// A file could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// The new version could not be published.
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The dashboard path is, holds or lies inside the extract.
    #[error("{0}")]
    Place(#[from] crate::staging::StagingError),
}

impl RefreshError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RefreshError::Lock(LockError::Held { .. }) => EXIT_LOCKED,
            RefreshError::Place(_) | RefreshError::Publish(PublishError::NotOurs(_)) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }
}

/// How to refresh.
#[derive(Debug, Clone)]
pub struct Options {
    /// The dashboard path (a symbolic link to the current version).
    pub dashboard: PathBuf,
    /// Months in the window.
    pub months: u32,
    /// Rebuild even when nothing changed.
    pub force: bool,
    /// How long to wait for another refresh's lock.
    pub wait: Duration,
}

/// What a successful refresh did.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// A new version was published.
    Refreshed {
        /// The last complete month, `YYYY-MM`.
        data_up_to: String,
        /// Months in the window.
        months: u32,
        /// The version directory's name.
        version: String,
    },
    /// Nothing changed since the last refresh.
    UpToDate {
        /// The last complete month of the dashboard, `YYYY-MM`.
        data_up_to: Option<String>,
    },
}

/// A refresh's result, with what the caller should tell the operator.
#[derive(Debug)]
pub struct Report {
    /// The result.
    pub result: Result<Done, RefreshError>,
    /// The process whose lock was taken over, when the last holder died mid-refresh.
    pub took_over_from: Option<String>,
    /// Seconds taken.
    pub seconds: f64,
}

/// The dashboard's `manifest.json`: what it was built from.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    tool: String,
    config: &'a Config,
    months_requested: u32,
    window_start: String,
    window_end: String,
    last12_start: String,
    fingerprint: &'a str,
    inputs: &'a [fingerprint::FileStamp],
    /// The extract's form: `full` or `open_data`.
    form: Form,
    jobs: Vec<JobResult>,
    /// The dashboard's jobs these data cannot support, with why (not run).
    not_possible: Vec<NotPossible>,
    /// The SPC series these data cannot give, with why (not computed, their charts not drawn).
    spc_series_not_possible: Vec<NotPossibleSeries>,
    charts: Vec<ChartRecord>,
    refreshed_at: String,
}

/// Refreshes the dashboard of `options` from `config`'s extract.
///
/// `loaded` is `Err` with the reason when the configuration or the queries could not be
/// loaded; the failure is then recorded in the status file like any other.
pub async fn refresh(
    loaded: Result<(Config, QuerySet), Box<dyn std::error::Error + Send + Sync>>,
    options: &Options,
) -> Report {
    let started = Instant::now();
    let attempted_at = chrono::Utc::now();
    // Checked before the lock or status file is written beside the dashboard: neither may land
    // inside the extract.
    if let Ok((config, _)) = &loaded
        && let Err(e) = crate::staging::check_clear_of(&options.dashboard, &[&config.data_dir])
    {
        return Report {
            result: Err(e.into()),
            took_over_from: None,
            seconds: started.elapsed().as_secs_f64(),
        };
    }
    // Something at the dashboard path that is not ours is refused before the lock and status
    // files are written beside it.
    if let Err(e) = Versions::new(&options.dashboard).check() {
        return Report {
            result: Err(RefreshError::Publish(e)),
            took_over_from: None,
            seconds: started.elapsed().as_secs_f64(),
        };
    }
    let lock = match Lock::acquire(&options.dashboard, options.wait) {
        Ok(lock) => lock,
        Err(e) => {
            return Report {
                result: Err(e.into()),
                took_over_from: None,
                seconds: started.elapsed().as_secs_f64(),
            };
        }
    };
    let previous = Status::read(&options.dashboard);
    let mut seen: Option<Fingerprint> = None;
    let result = match loaded {
        Ok((config, queries)) => {
            attempt(&config, &queries, options, previous.as_ref(), &mut seen).await
        }
        Err(reason) => Err(RefreshError::Config(reason)),
    };
    let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let status = next_status(previous, attempted_at, seconds, seen.as_ref(), &result);
    let result = match status.write(&options.dashboard) {
        Ok(()) => result,
        Err(e) => result.and(Err(e.into())),
    };
    Report {
        result,
        took_over_from: lock.taken_over_from.clone(),
        seconds,
    }
}

/// The status file after an attempt.
fn next_status(
    previous: Option<Status>,
    attempted_at: chrono::DateTime<chrono::Utc>,
    seconds: f64,
    seen: Option<&Fingerprint>,
    result: &Result<Done, RefreshError>,
) -> Status {
    let mut status = previous.unwrap_or_default();
    status.tool = crate::readable::tool();
    status.attempted_at = attempted_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    status.duration_seconds = seconds;
    status.fingerprint = seen.map(|f| f.digest.clone());
    status.reason = None;
    match result {
        Ok(Done::Refreshed {
            data_up_to,
            version,
            ..
        }) => {
            status.outcome = Outcome::Refreshed;
            status.last_refreshed_at = Some(status.attempted_at.clone());
            status.last_refreshed_fingerprint = status.fingerprint.clone();
            status.data_up_to = Some(data_up_to.clone());
            status.version = Some(version.clone());
            status.files = seen.map(|f| f.files.clone()).unwrap_or_default();
        }
        Ok(Done::UpToDate { .. }) => {
            status.outcome = Outcome::UpToDate;
            // The same content, perhaps with new modification times: keep the newest stamps
            // so the next check need not hash again.
            status.files = seen.map(|f| f.files.clone()).unwrap_or_default();
        }
        Err(e) => {
            status.outcome = Outcome::Failed;
            status.reason = Some(e.to_string());
        }
    }
    status
}

async fn attempt(
    config: &Config,
    queries: &QuerySet,
    options: &Options,
    previous: Option<&Status>,
    seen: &mut Option<Fingerprint>,
) -> Result<Done, RefreshError> {
    config
        .check("configuration")
        .map_err(|e| RefreshError::Config(e.into()))?;
    if options.months == 0 {
        return Err(RefreshError::Config("--months must be at least 1".into()));
    }
    let config_json = serde_json::to_string(config).map_err(|e| RefreshError::Config(e.into()))?;
    let known = previous.map(|p| p.files.as_slice()).unwrap_or_default();
    let fingerprint = fingerprint::fingerprint_anywhere(
        &config.data_dir,
        &Settings {
            queries,
            config_json: &config_json,
            months: options.months,
        },
        known,
    )
    .await?;
    *seen = Some(fingerprint.clone());
    let versions = Versions::new(&options.dashboard);
    let published = versions.current();
    if !options.force
        && let Some(previous) = previous
        && previous.last_refreshed_fingerprint.as_deref() == Some(fingerprint.digest.as_str())
        && published.is_some()
        && published == previous.version
    {
        return Ok(Done::UpToDate {
            data_up_to: previous.data_up_to.clone(),
        });
    }
    versions.prepare()?;
    build(config, queries, options, &fingerprint, &versions).await
}

async fn build(
    config: &Config,
    queries: &QuerySet,
    options: &Options,
    fingerprint: &Fingerprint,
    versions: &Versions,
) -> Result<Done, RefreshError> {
    let config = &*crate::cache::outside(config, &options.dashboard);
    let data_dir = config.data_dir.as_path();
    let window_jobs = jobs_over(queries, RefreshPeriod::Window);
    let specs = spc::series_specs(config.young_age_cutoff);
    for spec in &specs {
        if !window_jobs.iter().any(|j| j.name == spec.table) {
            return Err(RefreshError::MissingJob(spec.table.to_owned()));
        }
    }
    let sources = find_sources(config).await?;
    let no_month = || RefreshError::NoCompleteMonth(config.data_dir.clone());
    let window = window::window(&sources, options.months).ok_or_else(no_month)?;
    let recent = window::window(&sources, 12).ok_or_else(no_month)?;
    let (first_month, _) = window::available(&sources).ok_or_else(no_month)?;
    let window_config = with_period(config, window.start, window.end);
    let recent_config = with_period(config, recent.start, recent.end);

    let report = validate::validate(&window_config, data_dir)
        .await
        .map_err(AssessError::from)?;
    assess::ensure_usable(&report, data_dir)?;

    let draft = versions.draft()?;
    let tables = draft.path().join("tables");
    create_dir(&tables)?;
    let mut jobs = Vec::new();

    let catalog = catalog::open(&window_config, data_dir, queries, ViewMode::Cached).await?;
    let available = catalog.available.clone();
    let form = available.form;
    // Only the jobs these data support run, decided over all of the dashboard's jobs at once so
    // that a job reading one that is not possible is not possible either.
    let mut recent_jobs = jobs_over(queries, RefreshPeriod::Last12Months);
    recent_jobs.extend(queries.refresh.iter());
    let every: Vec<&SqlFile> = window_jobs.iter().chain(&recent_jobs).copied().collect();
    let (runnable, not_possible) =
        capability::possible(&every, queries, &available).map_err(AssessError::from)?;
    let runs = |job: &&SqlFile| runnable.iter().any(|r| r.name == job.name);
    let window_jobs: Vec<&SqlFile> = window_jobs.into_iter().filter(runs).collect();
    let recent_jobs: Vec<&SqlFile> = recent_jobs.into_iter().filter(runs).collect();

    jobs.extend(
        crate::engine::jobs::run_all(&catalog.ctx, &window_jobs, &tables, &mut |_| {})
            .await
            .map_err(AssessError::from)?,
    );
    let (specs, mut series_not_possible) = spc::possible(specs, &not_possible, &available);
    let (series, empty) = spc::compute(&tables, &specs, config.spc_baseline_months as usize)?;
    series_not_possible.extend(empty);
    let signals = spc::write(&tables, &series)?;

    // The last 12 months reuse the window catalog's whole-extract views.
    let catalog = catalog::open_for_period(&recent_config, data_dir, queries, catalog).await?;
    // The window's results stay readable by the dashboard's own jobs.
    for job in &window_jobs {
        if !catalog.ctx.table_exist(job.name.as_str()).unwrap_or(false) {
            let path = tables.join(format!("{}.parquet", job.name));
            catalog::register_parquet(&catalog.ctx, &job.name, &path).await?;
        }
    }
    jobs.extend(
        crate::engine::jobs::run_all(&catalog.ctx, &recent_jobs, &tables, &mut |_| {})
            .await
            .map_err(AssessError::from)?,
    );
    drop(catalog);

    let charts_dir = draft.path().join("charts");
    let chart_inputs = |period: String| charts::Inputs {
        tables: tables.clone(),
        period,
        definition: config.serious_violence.describe_for(form),
        police_source: form.police_source().to_owned(),
        cutoff: config.young_age_cutoff,
        boundaries: None,
        funding: None,
        not_possible: not_possible.clone(),
    };
    // A control chart whose series these data cannot give is recorded as not drawn, with why.
    let trend_inputs = chart_inputs(window_config.period_words());
    let mut chart_records = Vec::new();
    for entry in charts::DASHBOARD_TREND_CHARTS {
        let (name, title, _) = entry;
        match series_not_possible.iter().find(|n| n.chart == name) {
            Some(not) => chart_records.push(ChartRecord::skipped(
                name,
                title,
                format!("not possible with these data: {}", not.reason),
            )),
            None => chart_records.extend(charts::render_set(&[entry], &trend_inputs, &charts_dir)?),
        }
    }
    chart_records.extend(charts::render_set(
        &charts::DASHBOARD_RECENT_CHARTS,
        &chart_inputs(format!("Last 12 months: {}", recent_config.period_words())),
        &charts_dir,
    )?);

    let refreshed_at = chrono::Utc::now();
    let previous12 = with_period(
        config,
        recent.start - Months::new(12),
        recent.start.pred_opt().unwrap_or(recent.start),
    );
    let mut notes = Vec::new();
    if window.months < options.months {
        notes.push(format!(
            "The data hold {} complete months, fewer than the {} asked for; the trends show all of them.",
            window.months, options.months
        ));
    }
    if recent.months < 12 {
        notes.push(format!(
            "The data hold only {} complete months: the district, time and hot-spot sections cover those months, not 12.",
            recent.months
        ));
    }
    if first_month > previous12.start {
        notes.push(format!(
            "The previous 12 months ({}) are not all in the data: the district comparison counts only the months from {} on.",
            previous12.period_words(),
            crate::readable::month_words(&first_month.format("%Y-%m").to_string())
        ));
    }
    let page_inputs = PageInputs {
        title: config.title.clone(),
        data_up_to: crate::readable::month_words(&window.last_month()),
        refreshed_at: refreshed_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        window: window_config.period_words(),
        window_months: window.months,
        last12: recent_config.period_words(),
        previous12: previous12.period_words(),
        definition: config.serious_violence.describe_for(form),
        police_source: form.police_source().to_owned(),
        form: form.label(),
        complete_months: match form {
            Form::Full => "a month counts when every source holds records on or after its last day",
            Form::OpenData => {
                "police.uk publishes whole months, so every month it holds counts; an A&E extract, \
                 when there is one, counts a month when it holds records on or after its last day"
            }
        },
        cutoff: config.young_age_cutoff,
        ages: available.has(Capability::Persons) || available.has(Capability::AeAttendances),
        tool: crate::readable::tool(),
        notes,
        charts: chart_records.clone(),
        spc_baseline: series.first().map_or(0, |s| s.spc.baseline),
        states: series.iter().map(StateView::new).collect(),
        signals: series
            .iter()
            .flat_map(|s| {
                signals
                    .iter()
                    .filter(|g| g.series == s.spec.key)
                    .map(|g| SignalView::new(&s.spec.label, g))
            })
            .collect(),
        tables: table_titles(&window_jobs, &recent_jobs),
        not_possible: not_possible.iter().filter(|n| n.listed).cloned().collect(),
        series_not_possible: series_not_possible.clone(),
    };
    let refresh_jobs: Vec<&SqlFile> = queries
        .refresh
        .iter()
        .filter(|j| recent_jobs.iter().any(|r| r.name == j.name))
        .collect();
    page::write(draft.path(), &page_inputs, &refresh_jobs)?;
    let manifest = Manifest {
        tool: crate::readable::tool(),
        config,
        months_requested: options.months,
        window_start: window.start.to_string(),
        window_end: window.end.to_string(),
        last12_start: recent.start.to_string(),
        fingerprint: &fingerprint.digest,
        inputs: &fingerprint.files,
        form,
        jobs,
        not_possible,
        spc_series_not_possible: series_not_possible,
        charts: chart_records,
        refreshed_at: refreshed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    write_json(&draft.path().join("manifest.json"), &manifest)?;

    let version = format!(
        "{}-{}",
        refreshed_at.format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    );
    versions.publish(draft, &version)?;
    Ok(Done::Refreshed {
        data_up_to: window.last_month(),
        months: window.months,
        version,
    })
}

/// Every table of the dashboard with its title, in page order: the SPC tables, then those of
/// the jobs that ran (`window_jobs`, then `recent_jobs`: the last-12-months jobs and the
/// dashboard's own).
fn table_titles(window_jobs: &[&SqlFile], recent_jobs: &[&SqlFile]) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "spc".to_owned(),
            "every month of every SPC series (XmR chart) with its rate, baseline months, centre \
             line (mean of the baseline months), mean moving range, control limits (centre line \
             ± 2.66 × mean moving range), signal flags (beyond_limit, run, trend, two_of_three) \
             and the series' state (stable, single_point_exception, step_shift or \
             significant_trend)"
                .to_owned(),
        ),
        (
            "spc_signals".to_owned(),
            "each signal: series, rule (beyond_limit, run, trend or two_of_three), months, \
             direction, what happened and the series' state"
                .to_owned(),
        ),
    ];
    for job in window_jobs.iter().chain(recent_jobs) {
        out.push((job.name.clone(), job.title()));
    }
    out
}

fn with_period(config: &Config, start: NaiveDate, end: NaiveDate) -> Config {
    let mut c = config.clone();
    c.start = start;
    c.end = end;
    c
}

/// The first and last record dates of police offences and (when supplied) A&E attendances.
/// Offences of the open-data form are dated by month: their last date is the last day of the
/// latest month ([`SourceDates::of_months`]), as police.uk publishes whole months.
async fn find_sources(config: &Config) -> Result<Vec<SourceDates>, RefreshError> {
    // The dates do not depend on the period, but an open-data extract refuses one that cuts a
    // month: the configured period, widened to whole months, opens the tables of either form.
    let whole = with_period(
        config,
        config.start.with_day(1).unwrap_or(config.start),
        (config.end.with_day(1).unwrap_or(config.end) + Months::new(1))
            .pred_opt()
            .unwrap_or(config.end),
    );
    let catalog = catalog::open_tables(&whole, &config.data_dir).await?;
    let available = &catalog.available;
    let offences = match available.form {
        Form::Full => source_dates(&catalog.ctx, "offences", "committed_at").await?,
        Form::OpenData => source_dates(&catalog.ctx, "offences", "month")
            .await?
            .map(|d| SourceDates::of_months(d.first, d.last)),
    };
    let Some(offences) = offences else {
        return Err(RefreshError::NoCompleteMonth(config.data_dir.clone()));
    };
    let mut sources = vec![offences];
    if available.has(Capability::AeAttendances)
        && let Some(ae) = source_dates(&catalog.ctx, "ae_attendances", "arrived_at").await?
    {
        sources.push(ae);
    }
    Ok(sources)
}

async fn source_dates(
    ctx: &SessionContext,
    table: &str,
    column: &str,
) -> Result<Option<SourceDates>, RefreshError> {
    let error = |source| RefreshError::Dates {
        table: table.to_owned(),
        source,
    };
    let sql = format!(
        "SELECT CAST(MIN(\"{column}\") AS DATE) AS first, CAST(MAX(\"{column}\") AS DATE) AS last FROM {table}"
    );
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(error)?
        .collect()
        .await
        .map_err(error)?;
    let Some(batch) = batches.first().filter(|b| b.num_rows() == 1) else {
        return Ok(None);
    };
    let date = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<Date32Array>()
            .filter(|a| !a.is_null(0))
            .and_then(|a| a.value_as_date(0))
    };
    Ok(match (date(0), date(1)) {
        (Some(first), Some(last)) => Some(SourceDates { first, last }),
        _ => None,
    })
}

/// `dir/<prefix><name of path><suffix>`: a file beside `path`.
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dashboard".to_owned());
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.join(format!("{prefix}{name}{suffix}"))
}
