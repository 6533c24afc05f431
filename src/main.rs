//! `sna`: the vrn-sna command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use vrn_sna::assess::{self, JobResult, Progress};
use vrn_sna::config::{Config, LoadedConfig, parse_date};
use vrn_sna::queries::QuerySet;
use vrn_sna::query::{self, Format, QuerySession};
use vrn_sna::refresh::{self, Done};
use vrn_sna::{generate, pack, shell, validate};

/// Serious-violence Strategic Needs Assessment for Violence Reduction Networks.
#[derive(Debug, Parser)]
#[command(name = "sna", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: sna.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check an extract against the data contract and print a data-quality report.
    ///
    /// Exits 0 when the extract is usable (warnings only), 1 when it has errors.
    Validate {
        /// Extract directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a realistic, reproducible sample extract (all five files).
    Generate {
        /// Output directory (replaced only when the new extract is complete).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Random seed; the same seed and options give byte-identical files.
        #[arg(long, default_value_t = generate::DEFAULT_SEED)]
        seed: u64,
        /// Volume and area multiplier: 1 is LLR (about 1.1M residents); 50 is about England and Wales.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// First day of the data.
        #[arg(long, value_name = "DATE", value_parser = parse_date, default_value = "2019-04-01")]
        start: chrono::NaiveDate,
        /// Last day of the data.
        #[arg(long, value_name = "DATE", value_parser = parse_date, default_value = "2024-03-31")]
        end: chrono::NaiveDate,
    },
    /// Run the assessment: every SQL job in queries/, written as a bundle of tables.
    Run {
        /// Extract directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// First day of the period, YYYY-MM-DD (overrides the config).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        start: Option<chrono::NaiveDate>,
        /// Last day of the period, YYYY-MM-DD (overrides the config).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        end: Option<chrono::NaiveDate>,
        /// The bundle directory itself (default: <output_dir>/<slug of title and period>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Run SQL over the same tables, views and functions as `sna run` (read-only by default).
    ///
    /// Several statements separated by `;` run in order and print each result.
    Query {
        /// The SQL to run.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        sql: Option<String>,
        /// Read the SQL from a file.
        #[arg(long, value_name = "F.sql")]
        file: Option<PathBuf>,
        /// Extract or partner pack directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output format: table, csv, json (one object per line) or parquet (needs --output).
        #[arg(long, default_value = "table")]
        format: Format,
        /// Write the result to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Allow statements that write files or change the catalogue (COPY, CREATE, INSERT, ...).
        #[arg(long)]
        allow_write: bool,
    },
    /// Interactive SQL prompt over the same tables (\d, \d NAME, \f FORMAT, \q).
    Shell {
        /// Extract or partner pack directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Allow statements that write files or change the catalogue.
        #[arg(long)]
        allow_write: bool,
    },
    /// Write a shareable, aggregate-only extract with disclosure control.
    Export {
        /// Write the partner pack (the only kind of export so far).
        #[arg(long, required = true)]
        partner: bool,
        /// Extract directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Pack directory (default: <output_dir>/<slug>-partner-pack).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Suppress counts from 1 to N-1 (default: the config's disclosure_threshold).
        #[arg(long, value_name = "N")]
        threshold: Option<u32>,
    },
    /// Refresh the dashboard of the latest months, for cron or a systemd timer.
    ///
    /// Builds monthly SPC charts over the latest complete months, and districts, times and hot
    /// spots over the last 12, into a new version that replaces the dashboard in one step.
    /// Does nothing (and says "up to date") when the inputs, queries and configuration are
    /// unchanged since the last successful refresh. Each attempt is recorded in
    /// <DASHBOARD>.status.json beside the dashboard.
    #[command(after_help = "\
Exit codes:
  0   refreshed, or up to date
  1   failed (bad input or configuration); the previous dashboard is unchanged and
      <DASHBOARD>.status.json says why
  2   usage error
  75  another refresh holds the lock and did not release it within --wait")]
    Refresh(RefreshArgs),
    /// List every table and view with its columns, types and row count.
    Tables {
        /// Extract or partner pack directory (overrides the config's data_dir).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
}

/// Stack for the thread that parses, plans and drives queries, and for DataFusion's workers.
/// Planning and optimising recurse over the expression tree: a `WHERE` of thousands of `OR`
/// terms overflows the default 8 MiB (an abort with no message). The memory is reserved, not
/// used, until a deep query needs it; deeper still is refused by [`query::MAX_EXPRESSION_DEPTH`].
const STACK_BYTES: usize = 256 << 20;

fn main() -> ExitCode {
    quiet_worker_panics();
    let cli = Cli::parse();
    let worker = std::thread::Builder::new()
        .name("main".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(move || run_cli(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A panic re-raised from a query worker (`resume_unwind`) skips the panic hook; caught
    // here, it is still said, never a silent exit.
    let outcome = runtime.block_on(async {
        use futures::FutureExt;
        std::panic::AssertUnwindSafe(dispatch(cli))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(anyhow::anyhow!(
                    "internal error ({}); please report it",
                    vrn_sna::text::panic_message(panic.as_ref())
                ))
            })
    });
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote values from data: nothing in them may act on the terminal.
            eprintln!("error: {}", vrn_sna::text::printable(&format!("{e:#}")));
            if is_refusal(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// True when the command refused to write where it was asked to (a directory or file it does
/// not own, the extract itself): a usage error, exit 2, with nothing changed.
fn is_refusal(error: &anyhow::Error) -> bool {
    use vrn_sna::staging::StagingError;
    error.chain().any(|cause| {
        // The commands' errors wrap the staging error transparently, so it is found through
        // them rather than as a cause of its own.
        let staging = cause
            .downcast_ref::<StagingError>()
            .or_else(|| match cause.downcast_ref::<assess::AssessError>() {
                Some(assess::AssessError::Staging(e)) => Some(e),
                _ => None,
            })
            .or_else(|| match cause.downcast_ref::<pack::PackError>() {
                Some(pack::PackError::Staging(e)) => Some(e),
                _ => None,
            })
            .or_else(|| match cause.downcast_ref::<generate::GenerateError>() {
                Some(generate::GenerateError::Staging(e)) => Some(e),
                _ => None,
            });
        staging.is_some_and(StagingError::is_refusal)
            || matches!(
                cause.downcast_ref::<query::QueryError>(),
                Some(query::QueryError::OutputRefused { .. })
            )
    })
}

/// A panic in a DataFusion worker thread (for example the Parquet decoder meeting corrupt
/// pages) comes back to us as an error naming the file, which is reported once at the edge; the
/// default hook would also print the panic and a backtrace. Worker panics are therefore silent
/// here, and any other panic is one line, never a backtrace.
fn quiet_worker_panics() {
    std::panic::set_hook(Box::new(|info| {
        if std::thread::current().name() != Some("main") {
            return;
        }
        let message = vrn_sna::text::panic_message(info.payload());
        eprintln!(
            "error: internal error ({}); please report it",
            vrn_sna::text::printable(&message)
        );
    }));
}

/// True when the reader of standard output went away (e.g. `sna tables | head`): not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.to_string().contains("Broken pipe")
    })
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::Refresh(args) = cli.command {
        return refresh_command(cli.config, args).await;
    }
    let loaded = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Validate { data, json } => {
            let mut config = loaded.config;
            if let Some(dir) = data {
                config.data_dir = dir;
            }
            let report = validate::validate(&config, &config.data_dir).await?;
            let mut stdout = std::io::stdout().lock();
            if json {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                write!(stdout, "{}", report.to_text())?;
            }
            Ok(if report.usable() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            data,
            start,
            end,
            out,
            quiet,
        } => run(loaded, data, start, end, out, quiet).await,
        Command::Query {
            sql,
            file,
            data,
            format,
            output,
            allow_write,
        } => {
            let sql = match (sql, &file) {
                (Some(sql), _) => sql,
                (None, Some(file)) => read_sql_file(file)?,
                (None, None) => unreachable!("clap requires SQL or --file"),
            };
            let config_file = loaded.source.clone();
            let mut session = open_session(loaded, data, allow_write).await?;
            for read in file.iter().chain(config_file.iter()) {
                session.reads(read);
            }
            if let Some(path) = &output {
                // Refused before any work, so nothing runs for a result that cannot be kept.
                session.check_output(path)?;
            }
            let planned = session.plan(&sql).await?;
            let many = planned.len() > 1;
            if output.is_some() && many && format != Format::Table {
                anyhow::bail!(
                    "--output takes the result of one statement; {} were given",
                    planned.len()
                );
            }
            let mut stdout = std::io::stdout();
            for (text, df) in planned {
                if many && format == Format::Table {
                    writeln!(stdout, "{text}")?;
                }
                let written =
                    query::write_result(&session, df, format, output.as_deref(), &mut stdout)
                        .await?;
                if let Some(path) = &output {
                    eprintln!("{} row(s) written to {}", written.rows, path.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Shell { data, allow_write } => {
            let session = open_session(loaded, data, allow_write).await?;
            let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".sna_history"));
            shell::run(&session, history).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            out,
            seed,
            scale,
            start,
            end,
        } => {
            let summary = generate::generate(&generate::GenerateOptions {
                out: out.clone(),
                seed,
                scale,
                start,
                end,
            })?;
            for (file, rows) in &summary.files {
                eprintln!("  {file:<24} {rows:>10} rows");
            }
            eprintln!("Wrote a sample extract to {}", out.display());
            note_two_steps(summary.replaced_in_two_steps, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            partner: _,
            data,
            out,
            threshold,
        } => {
            let mut config = loaded.config;
            if let Some(dir) = data {
                config.data_dir = dir;
            }
            if let Some(threshold) = threshold {
                config.disclosure_threshold = threshold;
            }
            config.check("command line")?;
            let out = out.unwrap_or_else(|| {
                config
                    .output_dir
                    .join(format!("{}-partner-pack", config.slug()))
            });
            let queries = QuerySet::load(&config.queries_dir)?;
            let manifest = pack::export(&config, &queries, &out, config.disclosure_threshold)
                .await
                .with_context(|| format!("partner pack not written to {}", out.display()))?;
            note_two_steps(manifest.replaced_in_two_steps, &out);
            let suppressed: usize = manifest.tables.iter().map(|t| t.suppressed).sum();
            eprintln!(
                "Wrote {} tables to {} ({suppressed} cells suppressed; threshold {})",
                manifest.tables.len(),
                out.display(),
                manifest.threshold
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Refresh(_) => unreachable!("handled above"),
        Command::Tables { data } => {
            let session = open_session(loaded, data, false).await?;
            let mut stdout = std::io::stdout().lock();
            for table in query::list_tables(&session).await? {
                let rows = query::row_count(&session, &table.name).await?;
                writeln!(
                    stdout,
                    "{} ({}, {rows} rows)",
                    table.name,
                    table.kind.to_lowercase()
                )?;
                for (column, data_type, _) in &table.columns {
                    writeln!(stdout, "  {column:<28} {data_type}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The arguments of `sna refresh`.
#[derive(Debug, clap::Args)]
struct RefreshArgs {
    /// Extract directory (overrides the config's data_dir).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The dashboard path, a symbolic link to the current version (default:
    /// <output_dir>/dashboard).
    #[arg(long, value_name = "DIR")]
    dashboard: Option<PathBuf>,
    /// Months in the trend window: the latest N complete months in the data.
    #[arg(long, value_name = "N", default_value_t = refresh::DEFAULT_MONTHS,
        value_parser = clap::value_parser!(u32).range(1..))]
    months: u32,
    /// Rebuild even when nothing changed.
    #[arg(long)]
    force: bool,
    /// Seconds to wait for another refresh of the same dashboard to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// `sna refresh`: a configuration that cannot be loaded is a failure recorded in the status
/// file like any other, when the dashboard is known from `--dashboard`.
async fn refresh_command(config_path: Option<PathBuf>, args: RefreshArgs) -> Result<ExitCode> {
    let loaded = Config::load(config_path.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|loaded| {
            let mut config = loaded.config;
            if let Some(dir) = args.data.clone() {
                config.data_dir = dir;
            }
            let queries = QuerySet::load(&config.queries_dir)?;
            Ok((config, queries))
        });
    let dashboard = match (&args.dashboard, &loaded) {
        (Some(path), _) => path.clone(),
        (None, Ok((config, _))) => config.output_dir.join("dashboard"),
        (None, Err(e)) => anyhow::bail!("{e:#}"),
    };
    let options = refresh::Options {
        dashboard: dashboard.clone(),
        months: args.months,
        force: args.force,
        wait: std::time::Duration::from_secs(args.wait),
    };
    let report = refresh::refresh(
        loaded
            .as_ref()
            .map(|(c, q)| (c, q))
            .map_err(|e| format!("{e:#}")),
        &options,
    )
    .await;
    if let Some(holder) = &report.took_over_from
        && !args.quiet
    {
        eprintln!("note: took over the lock left by a refresh that did not finish ({holder})");
    }
    match report.result {
        Ok(Done::Refreshed {
            data_up_to, months, ..
        }) => {
            if !args.quiet {
                eprintln!(
                    "Refreshed {}: data up to {data_up_to} ({months} months), in {:.1} s",
                    dashboard.display(),
                    report.seconds
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Done::UpToDate { data_up_to }) => {
            if !args.quiet {
                eprintln!(
                    "{} is up to date (data up to {}): nothing changed since the last refresh",
                    dashboard.display(),
                    data_up_to.as_deref().unwrap_or("unknown")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ refresh::RefreshError::Lock(_)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
        Err(e) => {
            let state = if dashboard.exists() {
                "The dashboard is unchanged"
            } else {
                "No dashboard was published"
            };
            eprintln!(
                "error: refresh of {} failed: {e}\n{state}; {} records the failure.",
                dashboard.display(),
                refresh::status::Status::path_for(&dashboard).display()
            );
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// Reads an SQL file, refusing anything but a regular file (a named pipe would block).
fn read_sql_file(file: &std::path::Path) -> Result<String> {
    vrn_sna::contract::ensure_regular_file(file)?;
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Opens a query session over `data` (or the config's data directory).
async fn open_session(
    loaded: LoadedConfig,
    data: Option<PathBuf>,
    allow_write: bool,
) -> Result<QuerySession> {
    let mut config = loaded.config;
    if let Some(dir) = data {
        config.data_dir = dir;
    }
    let queries = QuerySet::load(&config.queries_dir)?;
    Ok(QuerySession::open(&config, &config.data_dir, &queries, allow_write).await?)
}

async fn run(
    loaded: LoadedConfig,
    data: Option<PathBuf>,
    start: Option<chrono::NaiveDate>,
    end: Option<chrono::NaiveDate>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<ExitCode> {
    let mut config = loaded.config;
    if let Some(dir) = data {
        config.data_dir = dir;
    }
    if let Some(start) = start {
        config.start = start;
    }
    if let Some(end) = end {
        config.end = end;
    }
    config.check("command line")?;
    let out = out.unwrap_or_else(|| config.output_dir.join(config.slug()));
    let queries = QuerySet::load(&config.queries_dir)?;
    let mut progress: Box<dyn Progress> = if quiet {
        Box::new(assess::Quiet)
    } else {
        Box::new(TerminalProgress::new())
    };
    let manifest = assess::run(
        &config,
        loaded.source.as_deref(),
        &queries,
        &out,
        progress.as_mut(),
    )
    .await
    .with_context(|| format!("assessment not written to {}", out.display()))?;
    note_two_steps(manifest.replaced_in_two_steps, &out);
    if !quiet {
        let rows: u64 = manifest.jobs.iter().map(|j| j.rows).sum();
        eprintln!(
            "Wrote {} tables ({rows} rows) to {}",
            manifest.jobs.len(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Says when the previous output was replaced in two renames rather than one exchange, so a
/// reader may have found nothing there for a moment.
fn note_two_steps(two_steps: bool, out: &std::path::Path) {
    if two_steps {
        eprintln!(
            "note: this file system cannot exchange two directories in one step, so {} was replaced by two renames; for a moment in between it was missing",
            out.display()
        );
    }
}

/// A progress bar on a terminal; one line per job otherwise (for logs).
struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    fn new() -> Self {
        Self { bar: None }
    }
}

impl Progress for TerminalProgress {
    fn start(&mut self, jobs: usize) {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(jobs as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} jobs  {msg}")
                    .expect("valid template"),
            );
            self.bar = Some(bar);
        }
    }

    fn job_done(&mut self, result: &JobResult) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} ({} rows)", result.job, result.rows));
                bar.inc(1);
            }
            None => eprintln!(
                "  {:<28} {:>8} rows {:>8.2} s",
                result.job, result.rows, result.seconds
            ),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
