//! `sna`: the vrn-sna command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use vrn_sna::assess::{self, JobResult, Progress};
use vrn_sna::config::{Config, LoadedConfig, Overrides};
use vrn_sna::queries::QuerySet;
use vrn_sna::query::{self, QuerySession};
use vrn_sna::refresh::{self, Done};
use vrn_sna::{generate, pack, shell, validate};

mod cli;

use cli::{Cli, Command, FundingArgs, FundingFormat, QueryArgs, RefreshArgs, RunArgs};

/// Stack for the thread that parses, plans and drives queries, and for DataFusion's workers.
/// Planning and optimising recurse over the expression tree: a `WHERE` of thousands of `OR`
/// terms overflows the default 8 MiB (an abort with no message). The memory is reserved, not
/// used, until a deep query needs it; deeper still is refused by
/// [`vrn_sna::query::MAX_EXPRESSION_DEPTH`].
const STACK_BYTES: usize = 256 << 20;

fn main() -> ExitCode {
    quiet_worker_panics();
    let cli = Cli::parse();
    // Its panics are caught and reported in `run_cli`, so the hook stays quiet for it.
    let worker = std::thread::Builder::new()
        .name("sna".to_owned())
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
            let message = vrn_sna::text::error_chain(e.as_ref());
            eprintln!("error: {}", vrn_sna::text::printable(&message));
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
        cause
            .downcast_ref::<StagingError>()
            .is_some_and(StagingError::is_refusal)
            || cause.is::<vrn_sna::output::OutputRefused>()
    })
}

/// A panic in a DataFusion worker thread (for example the Parquet decoder meeting corrupt
/// pages) comes back to us as an error naming the file, and a panic on the `sna` thread is
/// caught in [`run_cli`]; either is reported once at the edge, where the default hook would
/// also print the panic and a backtrace. So the hook is silent but on the process's own main
/// thread, where a panic is one line, never a backtrace.
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
    use arrow::error::ArrowError;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            // arrow's CSV writer keeps only the text of the I/O error it met.
            || matches!(
                cause.downcast_ref::<ArrowError>(),
                Some(ArrowError::CsvError(text)) if *text == broken_pipe_text()
            )
    })
}

/// The text of the operating system's broken-pipe error, `Broken pipe (os error 32)`.
fn broken_pipe_text() -> String {
    std::io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error()).to_string()
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::Refresh(args) = cli.command {
        return refresh_command(cli.config, args).await;
    }
    let loaded = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Validate { data, json } => {
            let config = loaded.config.resolve(&data.overrides())?;
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
        Command::Run(args) => run(loaded, args).await,
        Command::Query(args) => query_command(loaded, args).await,
        Command::Funding(args) => funding_command(loaded, args).await,
        Command::Shell { data, allow_write } => {
            let session = open_session(loaded, &data.overrides(), allow_write).await?;
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
        Command::Import(cli::ImportSource::PoliceUk {
            paths,
            out,
            boundaries,
            lookup,
            quiet,
        }) => {
            let options = vrn_sna::import::PoliceUkOptions {
                paths,
                out: out.clone(),
                boundaries,
                lookup,
            };
            let progress = |crimes: u64| {
                if !quiet {
                    eprintln!("  {crimes} crimes read");
                }
            };
            let imported = vrn_sna::import::police_uk(&options, &progress)?;
            if !quiet {
                let r = &imported.report;
                eprintln!(
                    "Read {} rows from {} files ({} to {}): {} crimes, {} anti-social behaviour rows (not crimes), {} duplicates left out.",
                    r.rows_read,
                    r.files.len(),
                    r.months.first().map_or("", String::as_str),
                    r.months.last().map_or("", String::as_str),
                    r.crimes,
                    r.asb_rows,
                    r.duplicates
                );
                eprintln!(
                    "LSOA unknown: {} crimes with no point, {} outside the boundaries; {} placed in another LSOA than the file's code.",
                    r.crimes_without_point, r.crimes_outside_area, r.crimes_moved_lsoa
                );
                if !r.months_missing.is_empty() {
                    eprintln!("warning: no file for {}", r.months_missing.join(", "));
                }
                eprintln!(
                    "Wrote the extract to {} (import_report.json has the counts)",
                    out.display()
                );
            }
            note_two_steps(imported.replaced_in_two_steps, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            partner: _,
            data,
            out,
            threshold,
        } => {
            let overrides = Overrides {
                disclosure_threshold: threshold,
                ..data.overrides()
            };
            let config = loaded.config.resolve(&overrides)?;
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
            let session = open_session(loaded, &data.overrides(), false).await?;
            let mut stdout = std::io::stdout().lock();
            for table in query::list_tables(&session).await? {
                let rows = query::row_count(&session, &table.name).await?;
                // Names come from the data's files: nothing in them may act on the terminal.
                let name = vrn_sna::text::printable(&table.name);
                writeln!(
                    stdout,
                    "{name} ({}, {rows} rows)",
                    table.kind.to_lowercase()
                )?;
                for (column, data_type, _) in &table.columns {
                    let column = vrn_sna::text::printable(column);
                    writeln!(stdout, "  {column:<28} {data_type}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `sna funding`: the allocation table, from a CSV of inputs or from the extract.
async fn funding_command(loaded: LoadedConfig, args: FundingArgs) -> Result<ExitCode> {
    use vrn_sna::funding::{self, extract, output};
    let pot = funding::parse_amount(&args.pot)
        .filter(|p| *p > 0.0)
        .ok_or_else(|| funding::FundingError::Pot(args.pot.clone()))?;
    let weights = funding::Weights::parse(&args.weights)?;
    let config = loaded.config.resolve(&args.data.overrides())?;
    // What the command reads; the output may be none of it. Refused before any work.
    let mut reads: Vec<PathBuf> = args
        .inputs
        .iter()
        .chain(&args.previous_inputs)
        .chain(&loaded.source)
        .cloned()
        .collect();
    if args.inputs.is_none() {
        reads.extend([config.data_dir.clone(), config.queries_dir.clone()]);
    }
    if let Some(path) = &args.output {
        vrn_sna::output::check_result_path(path, &reads)?;
    }
    let (areas, previous) = match &args.inputs {
        Some(path) => {
            let previous = match &args.previous_inputs {
                Some(p) => Some(funding::read_inputs(p)?),
                None => None,
            };
            (funding::read_inputs(path)?, previous)
        }
        None => {
            let queries = QuerySet::load(&config.queries_dir)?;
            let period = args.start.zip(args.end);
            let found = extract::from_extract(
                &config,
                &queries,
                period,
                None,
                args.level,
                args.harm_years,
                args.sensitivity,
            )
            .await?;
            let w = found.window;
            eprintln!(
                "Crimes and population from {} to {}; harm from {} to {}; {} areas from {}.",
                w.start,
                w.end,
                w.harm_start,
                w.end,
                found.areas.len(),
                config.data_dir.display()
            );
            if found.unplaced > 0 {
                eprintln!(
                    "note: {} offence(s) in the period are in no area (no LSOA, one outside the lookup, or outside every locality)",
                    found.unplaced
                );
            }
            if args.sensitivity && found.previous.is_none() {
                eprintln!(
                    "note: the extract does not reach back far enough for the previous year's allocation"
                );
            }
            (found.areas, found.previous)
        }
    };
    let (allocation, extras) =
        funding::allocate_with_extras(pot, weights, &areas, args.sensitivity, previous.as_deref())?;
    let text = match args.format {
        FundingFormat::Table => output::table(&allocation, &extras),
        FundingFormat::Csv => output::csv(&allocation, &extras),
        FundingFormat::Json => output::json(&allocation, &extras),
    };
    match &args.output {
        Some(path) => {
            vrn_sna::output::write_atomically(path, text.as_bytes())?;
            eprintln!("{}", allocation.reconciliation());
            eprintln!(
                "Wrote {} areas to {}",
                allocation.areas.len(),
                path.display()
            );
        }
        None => {
            // Not print!, which panics when the reader has gone: the I/O error is returned.
            std::io::stdout().lock().write_all(text.as_bytes())?;
            if args.format != FundingFormat::Table {
                eprintln!("{}", allocation.reconciliation());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sna query`: each statement's result to standard output, or the one result to `--output`.
async fn query_command(loaded: LoadedConfig, args: QueryArgs) -> Result<ExitCode> {
    let sql = match (args.sql, &args.file) {
        (Some(sql), _) => sql,
        (None, Some(file)) => read_sql_file(file)?,
        (None, None) => unreachable!("clap requires SQL or --file"),
    };
    let config_file = loaded.source.clone();
    let mut session = open_session(loaded, &args.data.overrides(), args.allow_write).await?;
    for read in args.file.iter().chain(config_file.iter()) {
        session.reads(read);
    }
    let (format, output) = (args.format, args.output.as_deref());
    if let Some(path) = output {
        // Refused before any work, so nothing runs for a result that cannot be kept.
        session.check_output(path)?;
    }
    let mut stdout = std::io::stdout();
    let written = query::exec_and_print(&session, &sql, format, output, &mut stdout).await?;
    if let (Some(path), Some(result)) = (output, written.first()) {
        eprintln!("{} row(s) written to {}", result.rows, path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `sna refresh`: a configuration that cannot be loaded is a failure recorded in the status
/// file like any other, when the dashboard is known from `--dashboard`.
async fn refresh_command(config_path: Option<PathBuf>, args: RefreshArgs) -> Result<ExitCode> {
    let loaded = Config::load(config_path.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|loaded| {
            let config = loaded.config.resolve(&args.data.overrides())?;
            let queries = QuerySet::load(&config.queries_dir)?;
            Ok((config, queries))
        });
    let dashboard = match (&args.dashboard, &loaded) {
        (Some(path), _) => path.clone(),
        (None, Ok((config, _))) => config.output_dir.join("dashboard"),
        // No dashboard to record the failure beside: the load error is the command's.
        (None, Err(_)) => return loaded.map(|_| ExitCode::FAILURE),
    };
    let options = refresh::Options {
        dashboard: dashboard.clone(),
        months: args.months,
        force: args.force,
        wait: std::time::Duration::from_secs(args.wait),
    };
    let report = refresh::refresh(loaded.map_err(Into::into), &options).await;
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
        Err(
            e @ (refresh::RefreshError::Lock(_)
            | refresh::RefreshError::Place(_)
            | refresh::RefreshError::Publish(refresh::publish::PublishError::NotOurs(_))),
        ) => {
            // Refused before anything was written: no status file records it.
            eprintln!("error: {}", vrn_sna::text::printable(&e.to_string()));
            Ok(ExitCode::from(e.exit_code()))
        }
        Err(e) => {
            let state = if dashboard.exists() {
                "The dashboard is unchanged"
            } else {
                "No dashboard was published"
            };
            eprintln!(
                "error: refresh of {} failed: {}\n{state}; {} records the failure.",
                dashboard.display(),
                vrn_sna::text::printable(&e.to_string()),
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

/// Opens a query session over the configured data directory, with `overrides` applied.
async fn open_session(
    loaded: LoadedConfig,
    overrides: &Overrides,
    allow_write: bool,
) -> Result<QuerySession> {
    let config = loaded.config.resolve(overrides)?;
    let queries = QuerySet::load(&config.queries_dir)?;
    Ok(QuerySession::open(&config, &config.data_dir, &queries, allow_write).await?)
}

/// `sna run`: the assessment bundle.
async fn run(loaded: LoadedConfig, args: RunArgs) -> Result<ExitCode> {
    let config = loaded.config.resolve(&args.overrides())?;
    let out = args
        .out
        .unwrap_or_else(|| config.output_dir.join(config.slug()));
    let queries = QuerySet::load(&config.queries_dir)?;
    let mut progress: Box<dyn Progress> = if args.quiet {
        Box::new(assess::Quiet)
    } else {
        Box::new(TerminalProgress::new())
    };
    let manifest = assess::run(
        &config,
        loaded.source.as_deref(),
        &queries,
        &out,
        args.compare.as_deref(),
        progress.as_mut(),
    )
    .await
    .with_context(|| format!("assessment not written to {}", out.display()))?;
    note_two_steps(manifest.replaced_in_two_steps, &out);
    if !args.quiet {
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

#[cfg(test)]
mod tests {
    use super::*;
    use vrn_sna::staging::StagingError;

    #[test]
    fn a_refusal_is_found_inside_a_command_error() {
        let refused = StagingError::NotOurs {
            path: PathBuf::from("out"),
            noun: "an assessment bundle",
        };
        let error = anyhow::Error::from(assess::AssessError::Staging(refused))
            .context("assessment not written to out");
        assert!(is_refusal(&error));
        let refused = StagingError::NotADirectory {
            path: PathBuf::from("out"),
            noun: "a partner pack",
        };
        let error = anyhow::Error::from(pack::PackError::Staging(refused))
            .context("partner pack not written to out");
        assert!(is_refusal(&error));
        let refused = vrn_sna::output::OutputRefused {
            path: PathBuf::from("x.csv"),
            reason: "is a directory".to_owned(),
        };
        assert!(is_refusal(&query::QueryError::from(refused).into()));
        // A write that failed is not a refusal.
        let failed = StagingError::Io {
            action: "creating",
            path: PathBuf::from("out"),
            source: std::io::Error::other("disk full"),
        };
        let error = anyhow::Error::from(generate::GenerateError::Staging(failed));
        assert!(!is_refusal(&error));
    }

    #[test]
    fn a_broken_pipe_is_found_in_the_chain() {
        // A real broken pipe: the reading end closed before the write.
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let io = writer.write_all(b"rows\n").expect_err("nobody reads");
        assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        assert_eq!(io.to_string(), broken_pipe_text());
        let error = anyhow::Error::from(query::QueryError::Write {
            path: PathBuf::from("standard output"),
            source: io.into(),
        })
        .context("writing the result");
        assert!(is_broken_pipe(&error));
        // As arrow's CSV writer reports it: the error's text only.
        let csv = arrow::error::ArrowError::CsvError(broken_pipe_text());
        assert!(is_broken_pipe(&anyhow::Error::from(csv)));
        // Other write errors are errors.
        let full = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(!is_broken_pipe(&full));
        let other = arrow::error::ArrowError::CsvError("Broken pipe, or not".to_owned());
        assert!(!is_broken_pipe(&anyhow::Error::from(other)));
    }
}
