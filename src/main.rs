//! `sna`: the vrn-sna command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use vrn_sna::assess::{self, JobResult, Progress};
use vrn_sna::config::{Config, LoadedConfig, parse_date};
use vrn_sna::queries::QuerySet;
use vrn_sna::validate;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let loaded = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Validate { data, json } => {
            let mut config = loaded.config;
            if let Some(dir) = data {
                config.data_dir = dir;
            }
            let report = validate::validate(&config, &config.data_dir).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
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
    }
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
    let manifest = assess::run(&config, loaded.source.as_deref(), &queries, &out, progress.as_mut())
        .await
        .with_context(|| format!("assessment not written to {}", out.display()))?;
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
