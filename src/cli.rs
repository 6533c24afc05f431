//! The command line: what each command takes, parsed by clap. `main` dispatches on
//! [`Command`]; the arguments that several commands share (`--config`, `--data`, the period)
//! are defined once here and become [`Overrides`] of the configuration file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use vrn_sna::config::{Overrides, parse_date};
use vrn_sna::generate;
use vrn_sna::partners::query::Format;
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
    /// Neither read nor write the cache of validation reports and views (see `sna cache`).
    #[arg(long)]
    pub no_cache: bool,
    /// Where the SQL runs: `local` (this process) or `ballista://HOST:PORT`, an Apache
    /// DataFusion Ballista cluster's scheduler (overrides the config's engine; needs a build
    /// with `--features distributed`).
    #[arg(long, value_name = "URL")]
    pub engine: Option<String>,
}

impl DataArg {
    /// As configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.dir.clone(),
            no_cache: self.no_cache,
            engine: self.engine.clone(),
            ..Overrides::default()
        }
    }
}

/// The commands.
/// What `sna import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// police.uk monthly street-level files (YYYY-MM-<force>-street.csv), loose or in the
    /// YYYY-MM/ folders of the bulk download, into an extract in the open-data form: each crime
    /// placed in its 2021 LSOA by its point, anti-social behaviour kept apart, duplicates once,
    /// and import_report.json saying what was read.
    PoliceUk {
        /// Files, or directories searched for *-street.csv.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The extract to write (replaced only when the new one is complete, and only if an
        /// earlier import wrote it).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// LSOA 2021 boundaries (GeoJSON, as ONS publishes them) replacing the bundled ones
        /// of Leicester, Leicestershire and Rutland.
        #[arg(long, value_name = "FILE")]
        boundaries: Option<PathBuf>,
        /// An LSOA lookup (the columns of data/reference/lsoa.csv) replacing the bundled one.
        #[arg(long, value_name = "FILE")]
        lookup: Option<PathBuf>,
        /// ONS population estimates by single year of age (as for `sna import ons-population`)
        /// to write as the extract's population.parquet, so that `sna run` needs nothing else.
        #[arg(long, value_name = "FILE")]
        population: Option<PathBuf>,
        /// The mid-year of --population to read (default: every Mid-YYYY sheet).
        #[arg(long, value_name = "YEAR")]
        population_year: Option<i32>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Any CSV or Excel export (a force's records system, an NHS return, an ambulance
    /// service's extract) into one table of the contract (offences, persons, ae_attendances,
    /// ambulance or istv), by a mapping file: the source column (or a constant) of each contract
    /// column, date formats, value recodings, and unmapped = "error" or "unknown" (counted in
    /// <table>_report.json). Examples: docs/mappings/.
    Csv {
        /// The mapping file (TOML).
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// The export files (.csv, .xlsx, .xls, .ods), read in order as one table.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The extract to write into (new, or written by an earlier sna import).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// Emergency departments' ISTV returns (Information Sharing to Tackle Violence: each
    /// assault attendance with when, where and how the assault happened), CSV or Excel, into
    /// the extract's istv.parquet: the Cardiff Model section of the report. Read by the usual
    /// layout (docs/mappings/istv_return.toml) or by --mapping for a department's own headers;
    /// means of assault recoded (the department's words kept), unrecoded words counted in
    /// istv_report.json.
    Istv {
        /// The returns (.csv, .xlsx, .xls, .ods), read in order as one table.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The extract to write into (new, or written by an earlier sna import).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A mapping (TOML, `table = "istv"`) for a return whose headers differ from the usual
        /// layout; start from docs/mappings/istv_return.toml.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
    /// ONS small-area population estimates by single year of age and sex, as ONS publishes
    /// them (a workbook with one Mid-YYYY sheet per year, or CSV): title rows above the header
    /// are skipped, the LSOA code, Total, F0…F90 and M0…M90 columns found by name. Writes the
    /// extract's population.parquet (the LSOAs of the area's lookup), into a new extract or
    /// replacing the population of one an earlier import wrote; totals that are not the sum of
    /// their single years are reported in population_report.json.
    OnsPopulation {
        /// The workbook (.xlsx, .xls, .ods) or CSV file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The extract to write into (new, or written by an earlier sna import).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The mid-year to read (required for CSV; default: every Mid-YYYY sheet).
        #[arg(long, value_name = "YEAR")]
        year: Option<i32>,
        /// The sheet to read, by name.
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// The area's LSOA lookup (default: the extract's reference/lsoa.csv, else the
        /// bundled one of Leicester, Leicestershire and Rutland).
        #[arg(long, value_name = "FILE")]
        lookup: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
}

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
    /// Bring real data in as an extract (today: police.uk street-level files).
    #[command(subcommand)]
    Import(ImportSource),
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
    /// Split a grant across areas by a needs-based formula (crime harm, crime rate, population).
    ///
    /// Area i receives pot × Σ weightₖ × xᵢₖ / Σⱼ xⱼₖ. The inputs come from a CSV file
    /// (--inputs) or are computed from the extract: population in the period's population year,
    /// crimes = every recorded offence in the period (default: the last complete financial
    /// year), harm = the Crime Harm Index over the --harm-years financial years ending with the
    /// period. On police.uk open data, crimes are counted by month (the period must be whole
    /// months) and harm is estimated from each crime's police.uk crime type
    /// (data/reference/police_uk_harm.csv; docs/funding.md), which the output notes.
    #[command(after_help = "\
Rounding: money is computed at full precision and rounded only when written. Each
component is rounded half-up to the penny; an area's total is the sum of its rounded
components plus a rounding adjustment (almost always 0) so that the totals add up to the
pot exactly. Any penny difference is assigned one penny at a time by largest remainder: the
areas whose exact totals lost most in rounding gain a penny first (or, when rounding gained,
those that gained most give one back); ties go to the first area by name. The last line of
the table output (standard error for csv and json) says how the pot reconciles.

Inputs CSV: columns area, population, crimes, harm and optionally current (the current
allocation), in any order; other columns are ignored; thousands separators and £ signs are
accepted.")]
    Funding(FundingArgs),
    /// List every table and view with its columns, types and row count.
    Tables {
        #[command(flatten)]
        data: DataArg,
    },
    /// Audit partner packs (or a shareable bundle) as an intruder holding them would.
    ///
    /// Every suppressed count is an unknown (at least 1, since zeros are published), every
    /// relation the pack's manifest declares (within and across its tables) an equation or
    /// inequality; each unknown's smallest and largest possible value is solved by linear
    /// programming. With several packs (e.g. of overlapping periods) they are audited together:
    /// a count of the same events in two packs is one unknown, or is known when either
    /// publishes it. Exits 0 when every suppressed count's interval is at least the protection
    /// level wide, 1 when some count is recovered exactly or narrowed further (they are listed).
    /// A bundle of `sna run --shareable` is audited on its own, its tables' totals assumed
    /// known.
    AuditPack {
        /// The pack directories, or one shareable bundle (each holding manifest.json).
        #[arg(value_name = "PACK", required = true)]
        packs: Vec<PathBuf>,
        /// Required width of each suppressed count's interval (default: the largest of the
        /// packs' thresholds and protection levels).
        #[arg(long, value_name = "N")]
        protection: Option<u64>,
    },
    /// Show or remove the cache of validation reports and views that commands share.
    ///
    /// `sna run`, `export --partner` and `refresh` store the validation report and the
    /// analysis views (sv_offences, sv_victims, …) in the cache directory (`cache_dir` in
    /// sna.toml, default ~/.cache/vrn-sna); every command reads them instead of deriving
    /// them again while the extract, the configuration, the SQL and the build are unchanged.
    /// `--no-cache` on any command bypasses it.
    #[command(subcommand)]
    Cache(CacheAction),
    /// Run an Apache DataFusion Ballista scheduler that knows vrn-sna's SQL functions, for
    /// `--engine ballista://HOST:PORT` (needs a build with `--features distributed`).
    ///
    /// Runs until stopped. Clients (`sna run --engine …`) and executors (`sna executor`)
    /// connect to it; the extract must be at the same path for every executor.
    Scheduler {
        /// Address to listen on.
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:50050")]
        bind: String,
        /// Seconds without a heartbeat after which an executor is taken for dead and its
        /// tasks are run again on the others.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        executor_timeout: u64,
    },
    /// Run an Apache DataFusion Ballista executor with vrn-sna's SQL functions, which takes
    /// tasks from a scheduler (needs a build with `--features distributed`).
    Executor {
        /// The scheduler's address.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address of the executor's Arrow Flight service (results are fetched from it); the
        /// host is what the scheduler and other executors connect to.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
        bind: String,
        /// Port of its gRPC service (default: the Flight port + 1).
        #[arg(long, value_name = "PORT")]
        grpc_port: Option<u16>,
        /// Tasks run at once (default: the machine's cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: Option<u16>,
        /// Directory for shuffle files (default: a temporary directory).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
}

/// What `sna cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// List what the cache holds: each view's entries with rows, size and whether intact.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove what the cache wrote (and its directory, when that leaves it empty).
    Clear,
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
    /// An earlier bundle to compare the headline measures with (a "what changed" section).
    #[arg(long, value_name = "BUNDLE")]
    pub compare: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// A bundle to share outside the partnership: every table and chart under disclosure
    /// control (small counts suppressed and audited, as in the partner pack), the tables not
    /// declared for it withheld (config: shareable = true).
    #[arg(long)]
    pub shareable: bool,
}

impl RunArgs {
    /// As configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            start: self.start,
            end: self.end,
            shareable: self.shareable,
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

/// How `sna funding` writes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FundingFormat {
    /// An aligned table for reading: rates to one decimal, money in pounds.
    Table,
    /// CSV: full precision, money to the penny.
    Csv,
    /// JSON lines: one object per area, then the totals.
    Json,
}

/// The arguments of `sna funding`.
#[derive(Debug, Args)]
pub struct FundingArgs {
    /// The amount to allocate, in pounds (e.g. 1250000 or "£1,250,000").
    #[arg(long, value_name = "AMOUNT")]
    pub pot: String,
    /// Component weights, summing to 1.
    #[arg(
        long,
        value_name = "harm=W,rate=W,population=W",
        default_value = "harm=0.65,rate=0.20,population=0.15"
    )]
    pub weights: String,
    /// Areas' inputs from a CSV file instead of the extract.
    #[arg(long, value_name = "areas.csv")]
    pub inputs: Option<PathBuf>,
    /// The previous year's inputs (same columns), for --sensitivity with --inputs.
    #[arg(long, value_name = "areas.csv", requires = "inputs")]
    pub previous_inputs: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArg,
    /// First day of the period (with --end; default: the last complete financial year).
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "end")]
    pub start: Option<chrono::NaiveDate>,
    /// Last day of the period.
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "start")]
    pub end: Option<chrono::NaiveDate>,
    /// Financial years of crime harm, ending with the period's.
    #[arg(long, value_name = "N", default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..=10))]
    pub harm_years: u32,
    /// The areas to allocate to.
    #[arg(long, value_enum, default_value_t = vrn_sna::funding::extract::Level::Csp)]
    pub level: vrn_sna::funding::extract::Level,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FundingFormat::Table)]
    pub format: FundingFormat,
    /// Write the table to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Add each area's allocation with each weight moved ±10 percentage points (the others
    /// rescaled) and, where available, under the previous year's data.
    #[arg(long)]
    pub sensitivity: bool,
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
        value_parser = clap::value_parser!(u32).range(1..=600))]
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
