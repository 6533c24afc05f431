//! The commands: each parses nothing (clap has) and calls the library, printing what a person
//! at a terminal or a scheduler's log needs. `main` only parses and reports errors.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vrn_sna::bundle::assess::{self, JobResult, Progress};
use vrn_sna::config::{Config, LoadedConfig, Overrides};
use vrn_sna::engine::cluster;
use vrn_sna::engine::queries::QuerySet;
use vrn_sna::generate;
use vrn_sna::partners::query::{self, QuerySession};
use vrn_sna::partners::{pack, shell};
use vrn_sna::refresh::{self, Done};
use vrn_sna::sources::validate;

use crate::cli::{self, Cli, Command, FundingArgs, FundingFormat, QueryArgs, RefreshArgs, RunArgs};

mod dashboard;
mod funding;
mod run;
mod sql;

pub(crate) async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::Refresh(args) = cli.command {
        return dashboard::refresh_command(cli.config, args).await;
    }
    // Cluster processes take no configuration file: they run what clients send.
    match &cli.command {
        Command::Scheduler {
            bind,
            executor_timeout,
        } => {
            let (host, port) = cluster::host_port("--bind", bind)?;
            cluster::run_scheduler(cluster::SchedulerOptions {
                host,
                port,
                executor_timeout_seconds: *executor_timeout,
            })
            .await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Executor {
            scheduler,
            bind,
            grpc_port,
            concurrency,
            work_dir,
        } => {
            let (scheduler_host, scheduler_port) = cluster::host_port("--scheduler", scheduler)?;
            let (host, port) = cluster::host_port("--bind", bind)?;
            let grpc_port = match grpc_port {
                Some(p) => *p,
                None => port
                    .checked_add(1)
                    .ok_or_else(|| cluster::ClusterError::Address {
                        flag: "--bind",
                        value: bind.clone(),
                    })?,
            };
            cluster::run_executor(cluster::ExecutorOptions {
                scheduler_host,
                scheduler_port,
                host,
                port,
                grpc_port,
                concurrency: concurrency.map(usize::from),
                work_dir: work_dir.clone(),
            })
            .await?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    // A pack is audited from its own files; the configuration plays no part.
    if let Command::AuditPack { packs, protection } = &cli.command {
        let audited =
            vrn_sna::partners::pack_audit::audit_packs(packs, *protection).with_context(|| {
                let names: Vec<String> = packs.iter().map(|p| p.display().to_string()).collect();
                format!("cannot audit {}", names.join(" and "))
            })?;
        print!("{}", vrn_sna::partners::pack_audit::report(&audited));
        return Ok(if audited.audit.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
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
        Command::Run(args) => run::run(loaded, args).await,
        Command::Cache(action) => cache_command(&loaded.config, action),
        Command::Query(args) => sql::query_command(loaded, args).await,
        Command::Funding(args) => funding::funding_command(loaded, args).await,
        Command::Shell { data, allow_write } => {
            let session = sql::open_session(loaded, &data.overrides(), allow_write).await?;
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
            population,
            population_year,
            quiet,
        }) => {
            let options = vrn_sna::sources::import::PoliceUkOptions {
                paths,
                out: out.clone(),
                boundaries,
                lookup,
                population: population.map(|file| vrn_sna::sources::import::Population {
                    file,
                    year: population_year,
                    sheet: None,
                }),
            };
            let bar = ImportProgress::new(&[], quiet);
            let imported = vrn_sna::sources::import::police_uk(&options, &|done, total| {
                bar.at_of(done, total)
            });
            bar.finish();
            let imported = imported?;
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
                use vrn_sna::sources::import::PopulationSource;
                match &imported.population {
                    PopulationSource::Ons(population) => report_population(population),
                    PopulationSource::Kept { census: true } => eprintln!(
                        "Kept the population an earlier import added: the bundled Census 2021 usual residents, all ages (population_report.json); for rates by age or sex add ONS estimates with `sna import ons-population FILE --out {}`",
                        out.display()
                    ),
                    PopulationSource::Kept { census: false } => eprintln!(
                        "Kept the population an earlier import added (population_report.json)"
                    ),
                    PopulationSource::Census(census) => eprintln!(
                        "Population: the bundled Census 2021 usual residents, all ages ({} residents in {} LSOAs): rates of all residents, none by age or sex; for those, add ONS estimates with `sna import ons-population FILE --out {}`",
                        census.residents,
                        census.lsoas,
                        out.display()
                    ),
                    PopulationSource::None => eprintln!(
                        "No population: sna run needs one; add it with `sna import ons-population FILE --out {}`",
                        out.display()
                    ),
                }
                eprintln!(
                    "Wrote the extract to {} (import_report.json has the counts)",
                    out.display()
                );
            }
            note_two_steps(imported.replaced_in_two_steps, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(cli::ImportSource::Csv {
            mapping,
            files,
            out,
            quiet,
        }) => {
            let bar = ImportProgress::new(&files, quiet);
            let imported = vrn_sna::sources::import::mapped(&mapping, &files, &out, &|b| bar.at(b));
            bar.finish();
            let (report, gap) = imported?;
            if !quiet {
                report_mapped(&report, &out);
            }
            note_two_steps(gap, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(cli::ImportSource::Istv {
            files,
            out,
            mapping,
            quiet,
        }) => {
            let bar = ImportProgress::new(&files, quiet);
            let imported =
                vrn_sna::sources::import::istv(mapping.as_deref(), &files, &out, &|b| bar.at(b));
            bar.finish();
            let (report, gap) = imported?;
            if !quiet {
                report_mapped(&report, &out);
                eprintln!(
                    "The Cardiff Model section of sna run reads it: sna run --data {}",
                    out.display()
                );
            }
            note_two_steps(gap, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(cli::ImportSource::OnsPopulation {
            file,
            out,
            year,
            sheet,
            lookup,
            quiet,
        }) => {
            let options = vrn_sna::sources::import::OnsOptions {
                population: vrn_sna::sources::import::Population { file, year, sheet },
                out: out.clone(),
                lookup,
            };
            let (report, gap) = vrn_sna::sources::import::ons_population(&options)?;
            if !quiet {
                report_population(&report);
                eprintln!(
                    "Wrote population.parquet into {} (population_report.json has the counts)",
                    out.display()
                );
            }
            note_two_steps(gap, &out);
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
                "Wrote {} tables to {} ({suppressed} cells suppressed; threshold {}, protection {}; suppression chosen in {:.1} s over {} rounds, audit passed in {:.1} s)",
                manifest.tables.len(),
                out.display(),
                manifest.threshold,
                manifest.disclosure.protection,
                manifest.protect_seconds,
                manifest.disclosure.rounds,
                manifest.audit_seconds
            );
            eprintln!(
                "Recorded in the release log {}{}",
                manifest.release_log,
                if manifest.protected_with.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; protected and audited together with the {} earlier release(s) there: {}",
                        manifest.protected_with.len(),
                        manifest.protected_with.join("; ")
                    )
                }
            );
            let missing: Vec<&str> = manifest
                .not_possible
                .iter()
                .filter(|n| n.listed)
                .map(|n| n.job.as_str())
                .collect();
            if !missing.is_empty() {
                eprintln!(
                    "Not possible with these data, so not in the pack: {} (README.md says why)",
                    missing.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tables { data } => {
            let session = sql::open_session(loaded, &data.overrides(), false).await?;
            let mut stdout = std::io::stdout().lock();
            for table in query::list_tables(&session).await? {
                let rows = query::row_count(&session, &table.name).await?;
                query::describe(&mut stdout, &table, Some(rows))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Refresh(_)
        | Command::AuditPack { .. }
        | Command::Scheduler { .. }
        | Command::Executor { .. } => unreachable!("handled above"),
    }
}

/// Says when the previous output was replaced in two renames rather than one exchange, so a
/// reader may have found nothing there for a moment.
pub(super) fn note_two_steps(two_steps: bool, out: &std::path::Path) {
    if two_steps {
        eprintln!(
            "note: this file system cannot exchange two directories in one step, so {} was replaced by two renames; for a moment in between it was missing",
            out.display()
        );
    }
}

/// Prints what a mapped import read.
fn report_mapped(report: &vrn_sna::sources::import::mapped::MappedReport, out: &Path) {
    eprintln!(
        "Read {} rows into {}.parquet in {} ({}_report.json has the counts)",
        report.rows,
        report.table,
        out.display(),
        report.table
    );
    for (column, values) in &report.unmapped {
        let list: Vec<String> = values
            .iter()
            .map(|(v, n)| format!("`{}` ({n})", vrn_sna::text::printable(v)))
            .collect();
        eprintln!(
            "{column}: written as unknown: {} (recode them in the mapping)",
            list.join(", ")
        );
    }
}

/// A progress bar of an import's bytes read, on a terminal only (nothing in logs).
struct ImportProgress {
    bar: Option<ProgressBar>,
}

impl ImportProgress {
    fn new(files: &[PathBuf], quiet: bool) -> ImportProgress {
        let total: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} read  {eta} left")
                    .expect("valid template"),
            );
            bar
        });
        ImportProgress { bar }
    }

    fn at(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    /// At `bytes` of `total` (when the total is known only once the files are found).
    fn at_of(&self, bytes: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What a population import read, for the terminal.
fn report_population(report: &vrn_sna::sources::import::ons_population::PopulationReport) {
    eprintln!(
        "Population: {}",
        vrn_sna::sources::import::ons_population::summary(report)
    );
    for sheet in &report.sheets {
        if sheet.total_mismatches > 0 {
            eprintln!(
                "warning: sheet {}: {} LSOA totals are not the sum of their single years (e.g. {})",
                vrn_sna::text::printable(&sheet.sheet),
                sheet.total_mismatches,
                vrn_sna::text::printable(&sheet.mismatch_examples.join("; "))
            );
        }
    }
    if report.area_lsoas_missing > 0 {
        eprintln!(
            "warning: {} of the area's LSOAs are in no sheet: they have no residents",
            report.area_lsoas_missing
        );
    }
}

/// `sna cache status|clear`.
fn cache_command(config: &Config, action: cli::CacheAction) -> Result<ExitCode> {
    let dir = vrn_sna::cache::dir_of(config);
    match action {
        cli::CacheAction::Status { json } => {
            let status = vrn_sna::cache::status(&dir)?;
            let mut stdout = std::io::stdout().lock();
            if json {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&status)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            if !status.exists {
                writeln!(
                    stdout,
                    "No cache at {} (nothing stored yet).",
                    dir.display()
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                stdout,
                "Cache {}: {} view entries, {} validation reports, {:.1} MiB",
                dir.display(),
                status.views.len(),
                status.validations,
                status.bytes as f64 / (1 << 20) as f64
            )?;
            for view in &status.views {
                writeln!(
                    stdout,
                    "  {:<28} {}  {:>10} rows {:>10.1} KiB{}",
                    view.view,
                    view.key,
                    view.rows,
                    view.bytes as f64 / 1024.0,
                    if view.intact {
                        ""
                    } else {
                        "  CORRUPT (will be computed again)"
                    }
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        cli::CacheAction::Clear => {
            let freed = vrn_sna::cache::clear(&dir)?;
            eprintln!(
                "Removed the cache {} ({:.1} MiB)",
                dir.display(),
                freed as f64 / (1 << 20) as f64
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
