//! The command line: what each command takes, parsed by clap. `main` dispatches on
//! [`Command`]; the arguments that several commands share (`--config`, `--data`, the period)
//! are defined once here and become [`Overrides`] of the configuration file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use vrn_sna::config::{Overrides, parse_date};
use vrn_sna::generate;
use vrn_sna::query::Format;
use vrn_sna::refresh;

/// Serious-violence Strategic Needs Assessment for Violence Reduction Networks.
#[derive(Debug, Parser)]
#[command(name = "sna", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: sna.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// `--data`, which every command reading an extract takes.
#[derive(Debug, Clone, Args)]
pub struct DataArg {
    /// Extract (or partner pack) directory (overrides the config's data_dir).
    #[arg(long = "data", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl DataArg {
    /// As configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.dir.clone(),
            ..Overrides::default()
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an extract against the data contract and print a data-quality report.
    ///
    /// Exits 0 when the extract is usable (warnings only), 1 when it has errors.
    Validate {
        #[command(flatten)]
        data: DataArg,
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
    Run(RunArgs),
    /// Run SQL over the same tables, views and functions as `sna run` (read-only by default).
    ///
    /// Several statements separated by `;` run in order and print each result.
    Query(QueryArgs),
    /// Interactive SQL prompt over the same tables (\d, \d NAME, \f FORMAT, \q).
    Shell {
        #[command(flatten)]
        data: DataArg,
        /// Allow statements that write files or change the catalogue.
        #[arg(long)]
        allow_write: bool,
    },
    /// Write a shareable, aggregate-only extract with disclosure control.
    Export {
        /// Write the partner pack (the only kind of export so far).
        #[arg(long, required = true)]
        partner: bool,
        #[command(flatten)]
        data: DataArg,
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
  2   usage error, or a dashboard path that may not be written (the extract, or not ours)
  75  another refresh holds the lock and did not release it within --wait")]
    Refresh(RefreshArgs),
    /// List every table and view with its columns, types and row count.
    Tables {
        #[command(flatten)]
        data: DataArg,
    },
}

/// The arguments of `sna run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// First day of the period, YYYY-MM-DD (overrides the config).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub start: Option<chrono::NaiveDate>,
    /// Last day of the period, YYYY-MM-DD (overrides the config).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub end: Option<chrono::NaiveDate>,
    /// The bundle directory itself (default: <output_dir>/<slug of title and period>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// As configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            start: self.start,
            end: self.end,
            ..self.data.overrides()
        }
    }
}

/// The arguments of `sna query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from a file.
    #[arg(long, value_name = "F.sql")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArg,
    /// Output format: json is one object per line; parquet needs --output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the result to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Allow statements that write files or change the catalogue (COPY, CREATE, INSERT, ...).
    #[arg(long)]
    pub allow_write: bool,
}

/// The arguments of `sna refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The dashboard path, a symbolic link to the current version (default:
    /// <output_dir>/dashboard).
    #[arg(long, value_name = "DIR")]
    pub dashboard: Option<PathBuf>,
    /// Months in the trend window: the latest N complete months in the data.
    #[arg(long, value_name = "N", default_value_t = refresh::DEFAULT_MONTHS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub months: u32,
    /// Rebuild even when nothing changed.
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for another refresh of the same dashboard to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_flags_become_overrides() {
        let cli = Cli::parse_from([
            "sna",
            "run",
            "--data",
            "x",
            "--start",
            "2021-01-01",
            "--out",
            "b",
        ]);
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        let overrides = args.overrides();
        assert_eq!(overrides.data_dir, Some(PathBuf::from("x")));
        assert_eq!(
            overrides.start.map(|d| d.to_string()).as_deref(),
            Some("2021-01-01")
        );
        assert_eq!(overrides.end, None);
    }
}
