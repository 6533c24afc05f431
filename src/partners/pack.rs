//! `sna export --partner`: the partner pack, an aggregate-only extract that a community safety
//! partnership, council or health analyst may hold.
//!
//! Each table is an SQL file in `queries/partner/` whose metadata declares its layout
//! (`disclosure = "panel=... rows=... columns=... counts=..."`); the SQL returns every cell of
//! the grid, zeros included, with its Total row, Total column and grand total. Counts then go
//! through [`disclosure::protect`]: small counts and their complements are withheld (null,
//! with `<count>_suppressed` true), and the tables as written are audited by linear
//! programming ([`pack_audit::audit_files`]); a pack that fails is not published. Both are done
//! together with every earlier pack recorded in the release log ([`release_log`]), as an
//! intruder holding all of them would see them, and the pack is recorded there before it is
//! published. The pack holds no identifiers, no row-level records and no
//! timestamps; the writer refuses a table that would. A table the extract cannot support
//! ([`capability::possible`]) is not written; the manifest and README list it with why.

use crate::engine::jobs::{self, JobError, JobResult};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::capability::{self, NotPossible};
use crate::engine::catalog::{self, CatalogError};
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, TableFiles, sha256_file, write_json, write_text};
use crate::partners::disclosure::{self, Protection};
use crate::partners::pack_audit;
use crate::partners::release_log::{self, LoggedRelease, ReleaseLog, ReleaseLogError};
use crate::partners::structure::{self, Grid, Period, Release, System};
use crate::sources::contract::Form;
use crate::staging::{OutputKind, Staging, StagingError};

/// The file that marks a directory as a partner pack.
pub const PACK_MANIFEST: &str = crate::staging::MANIFEST;

/// Whether `dir` holds a partner pack (its manifest says so).
pub fn is_pack(dir: &Path) -> bool {
    crate::staging::holds(dir, OutputKind::PartnerPack)
}

/// The tables and views a pack does not hold because they are row-level: the contract's input
/// tables and the views of `queries/views/`.
pub fn row_level_names(queries: &QuerySet) -> Vec<String> {
    let mut names: Vec<String> = crate::sources::contract::TABLES
        .iter()
        .map(|t| t.name.to_owned())
        .collect();
    names.extend(
        queries
            .views
            .iter()
            .filter_map(|v| crate::engine::jobs::view_name(&v.sql)),
    );
    names
}

/// Errors in writing a partner pack. Any of them leaves no pack behind.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A partner table could not be ordered, registered or checked against its tests.
    #[error("{0}")]
    Job(#[source] JobError),
    /// The extract could not be opened.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// Validation found errors that would make the pack wrong (as for `sna run`).
    #[error("{0}")]
    Unusable(#[source] Box<crate::bundle::assess::AssessError>),
    /// A pack table's metadata has no usable `disclosure` layout.
    #[error("queries/{file}: {problem}")]
    Layout {
        /// The SQL file.
        file: String,
        /// What is wrong with its layout line.
        problem: String,
    },
    /// A pack table's SQL failed.
    #[error("pack table {table} (queries/{file}): {source}")]
    Sql {
        /// Table name.
        table: String,
        /// Its file.
        file: String,
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// A table would carry row-level or identifying data.
    #[error(
        "pack table {table}: column `{column}` {problem}; a partner pack holds aggregates only"
    )]
    Disclosive {
        /// Table name.
        table: String,
        /// The column.
        column: String,
        /// Why it may not be shared.
        problem: String,
    },
    /// The period is shorter than the configured minimum for a pack.
    #[error(
        "the period {start} to {end} is shorter than {min} months (min_pack_months): a pack of a short period gives away when and where single offences happened; choose a longer period or lower min_pack_months in sna.toml"
    )]
    TooShort {
        /// First day.
        start: String,
        /// Last day.
        end: String,
        /// The minimum, in months.
        min: u32,
    },
    /// The tables' layouts declare a relation the counts do not satisfy.
    #[error(
        "the pack's declared structure does not hold on these data ({count} relation(s)), e.g. {example}; check the `disclosure` lines in queries/partner/*.toml"
    )]
    Structure {
        /// How many relations fail.
        count: usize,
        /// The first.
        example: String,
    },
    /// The counts differ from those an earlier release published for the same events.
    #[error(
        "the counts differ from those published in an earlier release in {log} for the same events ({count} relation(s)), e.g. {example}: the data were revised since, and the audit cannot yet protect revised counts beside the earlier ones (an intruder holding both sees what changed); nothing was written. Share a pack of revised data only with partners who do not hold the earlier packs, recorded in a release log of its own (release_log in sna.toml)"
    )]
    Revised {
        /// The release log.
        log: String,
        /// How many relations fail.
        count: usize,
        /// The first.
        example: String,
    },
    /// The release log could not be read or written.
    #[error("{0}")]
    ReleaseLog(#[from] ReleaseLogError),
    /// Disclosure control could not protect the pack.
    #[error("{0}")]
    Disclosure(#[from] crate::partners::disclosure::DisclosureError),
    /// The written pack could not be audited.
    #[error("the pack could not be audited: {0}")]
    Audit(#[from] crate::partners::pack_audit::PackAuditError),
    /// The written pack fails the audit: it is not published.
    #[error(
        "the pack fails its audit, so it was not written: {exact} suppressed count(s) recovered exactly and {narrowed} narrowed to an interval under {protection} wide by linear programming over the whole pack, e.g. {example}; nothing was written or replaced"
    )]
    AuditFailed {
        /// Counts recovered exactly.
        exact: usize,
        /// Counts narrowed below the protection level.
        narrowed: usize,
        /// The protection level.
        protection: u64,
        /// The first exposed count, with its interval.
        example: String,
    },

    /// The pack directory could not be staged or published.
    #[error("{0}")]
    Staging(#[from] StagingError),
    /// A table file could not be written or hashed.
    #[error("{0}")]
    Output(#[from] OutputError),
}

pub use crate::partners::structure::Layout;

/// One table of a written pack, as recorded in its manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackTable {
    /// Table name (file stem).
    pub name: String,
    /// Title from the metadata.
    pub title: String,
    /// Rows.
    pub rows: usize,
    /// Cells withheld by disclosure control (over all count columns).
    pub suppressed: usize,
    /// SHA-256 of the Parquet file.
    pub parquet_sha256: String,
    /// SHA-256 of the CSV file.
    pub csv_sha256: String,
}

/// One grid of the pack's structure: a count column of a table and the table's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridLayout {
    /// The table (its `.parquet` and `.csv` files).
    pub table: String,
    /// The count column; grids with the same count column count the same things.
    pub count: String,
    /// Panels, rows, columns, groups and whole panel.
    pub layout: Layout,
}

/// Relations of one kind between two grids (or within one), as counted in the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationGroup {
    /// `margins`, `link` or `subset`.
    pub kind: String,
    /// The grid whose cells are totals (or subsets), as `table.count`.
    pub of: String,
    /// The grid whose cells sum to them (for links), as `table.count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_in: Option<String>,
    /// How many relations.
    pub count: usize,
    /// What they say.
    pub meaning: String,
}

/// The pack's structure: enough to derive every relation an intruder can use, without SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Structure {
    /// The label of total rows and columns.
    pub total: String,
    /// What an intruder knows of every suppressed count: at least this (zeros are published
    /// and never suppressed).
    pub suppressed_at_least: u64,
    /// The rules that derive the relations from the layouts.
    pub rules: Vec<String>,
    /// Each count column of each table with its layout.
    pub grids: Vec<GridLayout>,
    /// The relations, counted by kind and grids.
    pub relations: Vec<RelationGroup>,
}

/// What disclosure control did, for the manifest and README.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisclosureSummary {
    /// How counts were protected.
    pub method: String,
    /// Each suppressed count's feasible interval is at least this wide.
    pub protection: u64,
    /// Rounds of audit and complement it took.
    pub rounds: usize,
    /// Linear programs the final audit of the written tables solved.
    pub audit_programs: usize,
    /// Counts suppressed as small (1 to threshold - 1).
    pub primary: usize,
    /// Cohort counts suppressed because they equal their whole-population count.
    pub attribute: usize,
    /// Counts suppressed to protect the others.
    pub secondary: usize,
    /// Sum of the suppressed counts (information lost).
    pub suppressed_total: u64,
    /// Sum of the published counts.
    pub published_total: u64,
    /// Counts (cells) over all tables.
    pub cells: usize,
}

/// The pack's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PackManifest {
    /// Always `vrn-sna partner pack`; marks the directory as a pack for `sna query --data`
    /// and as one a later export may replace.
    pub kind: &'static str,
    /// `vrn-sna <version>`.
    pub tool: String,
    /// Assessment title.
    pub title: String,
    /// First day of the period.
    pub period_start: String,
    /// Last day of the period.
    pub period_end: String,
    /// Counts from 1 to this minus one are suppressed.
    pub threshold: u32,
    /// The extract's form: `full` or `open_data`.
    pub form: Form,
    /// Where the SQL ran: `local`, or `ballista://HOST:PORT` (a cluster's scheduler).
    pub engine: String,
    /// The serious-violence definition (of the extract's form).
    pub definition: String,
    /// Every table written.
    pub tables: Vec<PackTable>,
    /// How the tables relate, for an audit (`sna audit-pack`).
    pub structure: Structure,
    /// What disclosure control did.
    pub disclosure: DisclosureSummary,
    /// The release log this pack is recorded in.
    pub release_log: String,
    /// The earlier releases in the log (pack and period) it was protected and audited with.
    pub protected_with: Vec<String>,
    /// The partner tables these data cannot support, with why: not in the pack.
    pub not_possible: Vec<NotPossible>,
    /// When the pack was written (UTC, RFC 3339).
    pub created_at: String,
    /// Every file of the pack (but the manifest) with its SHA-256: a later export replaces the
    /// pack only while it holds exactly these.
    pub files: Vec<crate::staging::FileEntry>,
    /// True when the file system could not swap the pack in one step; not written.
    #[serde(skip)]
    pub replaced_in_two_steps: bool,
    /// Seconds spent choosing suppressions; not written (a pack is the same whatever the time).
    #[serde(skip)]
    pub protect_seconds: f64,
    /// Seconds spent auditing the written tables; not written.
    #[serde(skip)]
    pub audit_seconds: f64,
}

/// Refuses a pack whose audit found any suppressed count insufficiently protected.
fn refuse_unless_passed(audited: &pack_audit::PackAudit) -> Result<(), PackError> {
    let audit = &audited.audit;
    let Some(first) = audit.exposed.first() else {
        return Ok(());
    };
    Err(PackError::AuditFailed {
        exact: audit.exact(),
        narrowed: audit.exposed.len() - audit.exact(),
        protection: audited.protection,
        example: format!(
            "{} in [{}, {}]",
            audited.system.describe(first.cell),
            first.low,
            first.high
        ),
    })
}

/// The rules of [`Structure::rules`], in words.
pub const STRUCTURE_RULES: &[&str] = &[
    "margins: within each panel of a grid, every row's cells sum to its Total column and every column's cells sum to its Total row",
    "links: a cell of one grid equals the sum of the cells of another grid with the same count column that cover exactly the same events: on each axis the cell's value, or every value inside it (the rows of a `groups` value, e.g. the LSOAs of a district; the months of a financial year, April to March), or Total (every panel, for a panel column without Total); the whole panel stands for no restriction",
    "subsets: with whole=<column>:<value>, every other panel of that column is at most the whole panel, cell by cell",
];

/// Writes the partner pack for `config`'s period into `out`: every table through disclosure
/// control as one system, then the written pack audited (and not published unless it passes).
pub async fn export(
    config: &Config,
    queries: &QuerySet,
    out: &Path,
    threshold: u32,
) -> Result<PackManifest, PackError> {
    let config = &*crate::cache::outside(config, out);
    check_period(config)?;
    let staging = Staging::new(out, OutputKind::PartnerPack, &[&config.data_dir])?;
    // The earlier releases, read before any work: a file there that is not a log refuses the
    // export.
    let log_path = config
        .release_log
        .clone()
        .unwrap_or_else(|| release_log::default_path(out));
    let log = ReleaseLog::load(&log_path)?;
    // The same checks as `sna run`: a pack of an extract with data errors, or of a period
    // with no offences (every count a zero), is not written.
    let report = crate::sources::validate::validate(config, &config.data_dir).await?;
    crate::bundle::assess::ensure_usable(&report, &config.data_dir)
        .map_err(|e| PackError::Unusable(Box::new(e)))?;
    let catalog =
        catalog::open(config, &config.data_dir, queries, catalog::ViewMode::Cached).await?;
    let mut writer = Collecting {
        inputs: catalog.input_paths(),
        tables: Vec::new(),
    };
    // Only the tables these data support are written; the others are listed with why.
    let all: Vec<&SqlFile> = queries.partner.iter().collect();
    let (jobs, not_possible) =
        capability::possible(&all, queries, &catalog.available).map_err(PackError::Job)?;
    let form = catalog.available.form;
    // The tables before suppression go to a private temporary directory (removed on return),
    // where their column tests run; only suppressed tables are written into the pack.
    let temp = std::env::temp_dir();
    let raw = tempfile::tempdir().map_err(OutputError::at(&temp))?;
    jobs::run_all_with(&catalog.ctx, &jobs, raw.path(), &mut writer, &mut |_| {})
        .await
        .map_err(|e| match e {
            JobError::Writer(inner) => match inner.downcast::<PackError>() {
                Ok(pack) => *pack,
                Err(other) => PackError::Job(JobError::Writer(other)),
            },
            other => PackError::Job(other),
        })?;
    let mut collected = writer.tables;
    collected.sort_by(|a, b| a.name.cmp(&b.name));

    // Every count of every table, with the relations between them, protected as one system.
    let mut grids = Vec::new();
    for table in &collected {
        grids.extend(
            pack_audit::grids_of(&table.name, &table.layout, &table.batch).map_err(|problem| {
                PackError::Layout {
                    file: table.relative_path.clone(),
                    problem,
                }
            })?,
        );
    }
    // The pack alone first: its declared structure must hold on its counts.
    let own = System::new(grids.clone());
    let contradictions = own.contradictions();
    if let Some(example) = contradictions.first() {
        return Err(PackError::Structure {
            count: contradictions.len(),
            example: example.clone(),
        });
    }
    // Then with every earlier release in the log, as an intruder holding them all.
    let period = Period {
        start: config.start,
        end: config.end,
    };
    let mut releases = log.releases();
    let protected_with: Vec<String> = releases.iter().map(|r| r.label.clone()).collect();
    let protection = log.protection(u64::from(threshold));
    releases.push(Release {
        label: if releases.is_empty() {
            String::new()
        } else {
            format!("{} (new)", out.display())
        },
        period: Some(period),
        published: false,
        grids,
    });
    let new = releases.len() - 1;
    let mut system = System::joint(releases);
    if new > 0 {
        let revised = system.contradictions();
        if let Some(example) = revised.first() {
            return Err(PackError::Revised {
                log: log_path.display().to_string(),
                count: revised.len(),
                example: example.clone(),
            });
        }
    }
    let started = std::time::Instant::now();
    let protected = disclosure::protect(&mut system, u64::from(threshold), protection)?;
    let protect_seconds = started.elapsed().as_secs_f64();
    let written = System::new(system.release_grids(new).to_vec());

    let mut tables = Vec::new();
    for table in &collected {
        tables.push(write_table(staging.path(), table, &written.grids)?);
    }
    // The tables as written, audited from their files as an intruder holding them and every
    // earlier release would (the true counts only speed it up): a pack that fails is not
    // published.
    let structure = structure_of(&written);
    let started = std::time::Instant::now();
    let audited = pack_audit::audit_files(
        staging.path(),
        &structure,
        threshold,
        Some(protection),
        Some(&own),
        Some(period),
        log.releases(),
    )?;
    refuse_unless_passed(&audited)?;
    let audit_seconds = started.elapsed().as_secs_f64();
    let mut manifest = PackManifest {
        kind: OutputKind::PartnerPack.marker(),
        tool: crate::readable::tool(),
        title: config.title.clone(),
        period_start: config.start.to_string(),
        period_end: config.end.to_string(),
        threshold,
        form,
        engine: config.engine().to_string(),
        definition: config.serious_violence.describe_for(form),
        tables,
        structure,
        disclosure: summary(&written, &protected, protection, &audited.audit),
        release_log: log_path.display().to_string(),
        protected_with,
        not_possible,
        created_at: chrono::Utc::now().to_rfc3339(),
        files: Vec::new(),
        replaced_in_two_steps: false,
        protect_seconds,
        audit_seconds,
    };
    write_readme(staging.path(), queries, &manifest)?;
    manifest.files = staging.files()?;
    let path = staging.path().join(PACK_MANIFEST);
    write_json(&path, &manifest)?;
    // Recorded before it is published: a pack recorded but not published only makes later
    // packs more cautious, while one published but not recorded would be forgotten.
    let published = audited
        .system
        .release_grids(audited.system.releases.len() - 1);
    ReleaseLog::record(
        &log_path,
        log.releases.len(),
        LoggedRelease {
            pack: out.display().to_string(),
            period_start: manifest.period_start.clone(),
            period_end: manifest.period_end.clone(),
            released_at: manifest.created_at.clone(),
            tool: manifest.tool.clone(),
            threshold,
            protection,
            suppressed_at_least: disclosure::SUPPRESSED_AT_LEAST,
            grids: LoggedRelease::of_grids(published),
        },
    )?;
    manifest.replaced_in_two_steps = staging.publish()?.gap;
    Ok(manifest)
}

/// Refuses a period shorter than `min_pack_months`.
fn check_period(config: &Config) -> Result<(), PackError> {
    let min = config.min_pack_months;
    let long_enough = config
        .start
        .checked_add_months(chrono::Months::new(min))
        .zip(config.end.succ_opt())
        .is_some_and(|(earliest_end, after_end)| earliest_end <= after_end);
    if long_enough {
        Ok(())
    } else {
        Err(PackError::TooShort {
            start: config.start.to_string(),
            end: config.end.to_string(),
            min,
        })
    }
}

/// The structure of a protected system, for the manifest.
fn structure_of(system: &System) -> Structure {
    let name = |g: usize| format!("{}.{}", system.grids[g].table, system.grids[g].count);
    let relations = system
        .summary()
        .into_iter()
        .map(|(origin, count)| match origin {
            structure::Origin::Margin(g) => RelationGroup {
                kind: "margins".into(),
                of: name(g),
                parts_in: None,
                count,
                meaning: "each row and column of a panel sums to its Total".into(),
            },
            structure::Origin::Link(a, b) => RelationGroup {
                kind: "link".into(),
                of: name(a),
                parts_in: Some(name(b)),
                count,
                meaning: format!(
                    "cells of {} equal sums of cells of {}",
                    system.grids[a].table, system.grids[b].table
                ),
            },
            structure::Origin::Across(a, b) => RelationGroup {
                kind: "across".into(),
                of: name(a),
                parts_in: Some(name(b)),
                count,
                meaning: format!(
                    "cells of {} equal sums of cells of {} in another release",
                    system.grids[a].table, system.grids[b].table
                ),
            },
            structure::Origin::Subset(g) => RelationGroup {
                kind: "subset".into(),
                of: name(g),
                parts_in: None,
                count,
                meaning: system.grids[g]
                    .layout
                    .whole
                    .as_ref()
                    .map(|w| {
                        format!(
                            "each {} panel other than {} is at most the {} panel, cell by cell",
                            w.column, w.value, w.value
                        )
                    })
                    .unwrap_or_default(),
            },
        })
        .collect();
    Structure {
        total: structure::TOTAL.into(),
        suppressed_at_least: disclosure::SUPPRESSED_AT_LEAST,
        rules: STRUCTURE_RULES.iter().map(|r| (*r).to_owned()).collect(),
        grids: system
            .grids
            .iter()
            .map(|g| GridLayout {
                table: g.table.clone(),
                count: g.count.clone(),
                layout: g.layout.clone(),
            })
            .collect(),
        relations,
    }
}

fn summary(
    system: &System,
    protected: &Protection,
    protection: u64,
    audit: &crate::partners::audit::Audit,
) -> DisclosureSummary {
    let published_total = (0..system.len())
        .map(|id| system.cell(id))
        .filter(|c| !c.suppressed)
        .map(|c| c.value.unwrap_or(0))
        .sum();
    DisclosureSummary {
        method: "cell suppression: primary (small counts; cohort counts equal to their whole) and secondary until the linear-programming audit over all tables passes".into(),
        protection,
        rounds: protected.rounds,
        audit_programs: audit.programs,
        primary: protected.primary,
        attribute: protected.attribute,
        secondary: protected.secondary,
        suppressed_total: protected.suppressed_total,
        published_total,
        cells: system.len(),
    }
}

/// One table's result, held until the whole pack is protected.
struct Collected {
    name: String,
    title: String,
    relative_path: String,
    layout: Layout,
    batch: RecordBatch,
}

/// The pack's [`jobs::Writer`]: runs each partner table and keeps its result.
struct Collecting {
    inputs: Vec<PathBuf>,
    tables: Vec<Collected>,
}

impl jobs::Writer for Collecting {
    async fn write(
        &mut self,
        ctx: &datafusion::prelude::SessionContext,
        job: &SqlFile,
        dir: &Path,
    ) -> Result<JobResult, JobError> {
        let started = std::time::Instant::now();
        let running = async {
            let table = run_table(ctx, job).await?;
            // Written with every `<count>_suppressed` false, for the table's column tests.
            let grids = pack_audit::grids_of(&table.name, &table.layout, &table.batch).map_err(
                |problem| PackError::Layout {
                    file: table.relative_path.clone(),
                    problem,
                },
            )?;
            let (raw, _) = published(&table, &grids)?;
            let mut files = TableFiles::create(dir, &table.name, raw.schema())?;
            files.write(&raw)?;
            files.finish()?;
            Ok::<_, PackError>(table)
        };
        let inputs = &self.inputs;
        let table = catalog::guarded(inputs, running)
            .await
            .map_err(|e| match e {
                PackError::Sql { ref source, .. } if catalog::is_decode_failure(source) => {
                    match catalog::find_unreadable(inputs) {
                        Some((path, source)) => CatalogError::Unreadable { path, source }.into(),
                        None => e,
                    }
                }
                other => other,
            })
            .map_err(|e| JobError::Writer(Box::new(e)))?;
        let result = JobResult::of(job, table.batch.num_rows() as u64, started);
        self.tables.push(table);
        Ok(result)
    }
}

async fn run_table(
    ctx: &datafusion::prelude::SessionContext,
    file: &SqlFile,
) -> Result<Collected, PackError> {
    let layout_error = |problem: String| PackError::Layout {
        file: file.relative_path.clone(),
        problem,
    };
    let layout = file
        .meta
        .disclosure
        .as_deref()
        .ok_or_else(|| layout_error(format!("no `disclosure = \"...\"` in {}.toml", file.name)))
        .and_then(|text| Layout::parse(text).map_err(layout_error))?;
    let sql_error = |source| PackError::Sql {
        table: file.name.clone(),
        file: file.relative_path.clone(),
        source,
    };
    let df = ctx.sql(&file.sql).await.map_err(sql_error)?;
    let logical_schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(sql_error)?;
    let schema = batches.first().map_or(logical_schema, RecordBatch::schema);
    let batch = concat_batches(&schema, &batches).map_err(|e| sql_error(e.into()))?;
    check_shareable(&file.name, &batch)?;
    for column in layout.axes().into_iter().chain(layout.groups.as_deref()) {
        if schema.index_of(column).is_err() {
            return Err(layout_error(format!(
                "layout names column `{column}`, which the query does not return"
            )));
        }
    }
    Ok(Collected {
        name: file.name.clone(),
        title: file.title(),
        relative_path: file.relative_path.clone(),
        layout,
        batch,
    })
}

/// A table's rows as published: each count null where its grid cell is suppressed, followed
/// by a `<count>_suppressed` flag; with the number of counts suppressed.
fn published(table: &Collected, grids: &[Grid]) -> Result<(RecordBatch, usize), PackError> {
    let batch = &table.batch;
    let schema = batch.schema();
    let sql_error = |source| PackError::Sql {
        table: table.name.clone(),
        file: table.relative_path.clone(),
        source,
    };
    let mut fields: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut suppressed_cells = 0;
    for (index, field) in schema.fields().iter().enumerate() {
        let grid = grids
            .iter()
            .find(|g| g.table == table.name && g.count == *field.name());
        let Some(grid) = grid else {
            fields.push(field.as_ref().clone());
            arrays.push(Arc::clone(batch.column(index)));
            continue;
        };
        let counts =
            cast(batch.column(index), &DataType::Int64).map_err(|e| sql_error(e.into()))?;
        let counts = counts.as_primitive::<Int64Type>();
        let flags: Vec<bool> = grid.cells.iter().map(|c| c.suppressed).collect();
        suppressed_cells += flags.iter().filter(|f| **f).count();
        let published: Int64Array = (0..batch.num_rows())
            .map(|i| (!flags[i] && !counts.is_null(i)).then(|| counts.value(i)))
            .collect();
        fields.push(Field::new(field.name(), DataType::Int64, true));
        arrays.push(Arc::new(published));
        fields.push(Field::new(
            format!("{}_suppressed", field.name()),
            DataType::Boolean,
            false,
        ));
        arrays.push(Arc::new(BooleanArray::from(flags)));
    }
    let out_schema = Arc::new(Schema::new(fields));
    let out = RecordBatch::try_new(out_schema, arrays).map_err(|e| sql_error(e.into()))?;
    Ok((out, suppressed_cells))
}

/// Writes one table with its counts as published: null where suppressed, with a
/// `<count>_suppressed` flag after each count column.
fn write_table(dir: &Path, table: &Collected, grids: &[Grid]) -> Result<PackTable, PackError> {
    let (out, suppressed_cells) = published(table, grids)?;
    let mut files = TableFiles::create(dir, &table.name, out.schema())?;
    files.write(&out)?;
    let (_, csv_path, parquet_path) = files.finish()?;
    Ok(PackTable {
        name: table.name.clone(),
        title: table.title.clone(),
        rows: out.num_rows(),
        suppressed: suppressed_cells,
        parquet_sha256: sha256_file(&parquet_path)?.0,
        csv_sha256: sha256_file(&csv_path)?.0,
    })
}

/// Refuses identifier columns and anything date- or time-like (by type, or by text values that
/// look like a date or a clock time): a pack holds aggregates only. Months (`YYYY-MM`),
/// financial years and whole hours (`0`..`23`) are allowed.
fn check_shareable(table: &str, batch: &RecordBatch) -> Result<(), PackError> {
    let schema = batch.schema();
    for (index, field) in schema.fields().iter().enumerate() {
        let name = field.name();
        let refuse = |problem: String| PackError::Disclosive {
            table: table.to_owned(),
            column: name.clone(),
            problem,
        };
        if name.ends_with("_id") || name == "patient" || name == "person" {
            return Err(refuse("looks like an identifier".into()));
        }
        if matches!(
            field.data_type(),
            DataType::Timestamp(_, _)
                | DataType::Date32
                | DataType::Date64
                | DataType::Time32(_)
                | DataType::Time64(_)
                | DataType::Duration(_)
                | DataType::Interval(_)
        ) {
            return Err(refuse(format!(
                "is of a date or time type ({})",
                field.data_type()
            )));
        }
        if matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) && let Ok(text) = cast(batch.column(index), &DataType::Utf8)
        {
            let text = text.as_string::<i32>();
            for i in 0..text.len() {
                if text.is_valid(i) && looks_like_date_or_time(text.value(i)) {
                    return Err(refuse(format!(
                        "holds a date or time value (`{}`)",
                        text.value(i)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether text holds a calendar date (`2021-03-04`, `04/03/2021`, `20210304`) or a clock time
/// (`13:45`): anything finer than a month or an hour.
fn looks_like_date_or_time(value: &str) -> bool {
    let bytes = value.as_bytes();
    let digits_at = |from: usize, n: usize| {
        bytes.len() >= from + n && bytes[from..from + n].iter().all(u8::is_ascii_digit)
    };
    for start in 0..bytes.len() {
        // YYYY-MM-DD or YYYY/MM/DD
        if digits_at(start, 4)
            && matches!(bytes.get(start + 4), Some(b'-' | b'/' | b'.'))
            && digits_at(start + 5, 2)
            && bytes.get(start + 7) == bytes.get(start + 4)
            && digits_at(start + 8, 2)
        {
            return true;
        }
        // DD/MM/YYYY, DD-MM-YYYY, DD.MM.YY
        if digits_at(start, 2)
            && matches!(bytes.get(start + 2), Some(b'-' | b'/' | b'.'))
            && digits_at(start + 3, 2)
            && bytes.get(start + 5) == bytes.get(start + 2)
            && digits_at(start + 6, 2)
        {
            return true;
        }
        // HH:MM
        if (start == 0 || !bytes[start - 1].is_ascii_digit())
            && (digits_at(start, 2) || digits_at(start, 1))
        {
            let width = if digits_at(start, 2) { 2 } else { 1 };
            if bytes.get(start + width) == Some(&b':') && digits_at(start + width + 1, 2) {
                return true;
            }
        }
    }
    // An eight-digit run that is a plausible YYYYMMDD.
    bytes.len() == 8
        && digits_at(0, 8)
        && matches!(&value[..2], "19" | "20")
        && matches!(value[4..6].parse::<u32>(), Ok(1..=12))
        && matches!(value[6..8].parse::<u32>(), Ok(1..=31))
}

/// What the README says of the packs released before this one.
fn other_packs(manifest: &PackManifest) -> String {
    let recorded = format!(
        "this pack is recorded in the release log `{}` with its period and published counts, and \
         every later pack recorded there is protected together with it.",
        manifest.release_log
    );
    if manifest.protected_with.is_empty() {
        return format!(
            "no earlier pack was recorded in the release log when this one was written; {recorded}"
        );
    }
    format!(
        "an intruder may hold the earlier packs recorded in the release log too ({}). This pack \
         was protected and audited together with them: a count of the same events in two packs \
         (the same table, cell and month, or a financial year or whole period that the other \
         pack's months cover exactly) is one count, known if either pack publishes it; counts \
         they withheld are withheld here too, and the audit above covers their counts as well as \
         this pack's. `sna audit-pack <pack> <pack> ...` repeats it. In short, {recorded}",
        manifest.protected_with.join("; ")
    )
}

fn write_readme(dir: &Path, queries: &QuerySet, manifest: &PackManifest) -> Result<(), PackError> {
    let mut out = String::new();
    let _ = writeln!(out, "# Partner pack: {}\n", manifest.title);
    let _ = writeln!(
        out,
        "Period {} to {}. {} Written by {} at {}.\n",
        manifest.period_start,
        manifest.period_end,
        manifest.definition,
        manifest.tool,
        manifest.created_at
    );
    let d = &manifest.disclosure;
    let _ = writeln!(
        out,
        "## Disclosure control\n\nThis pack holds aggregate counts only: no person or crime identifiers, no \
         row-level records and no dates or times finer than the month and the hour. Residents are \
         population estimates and are not suppressed.\n\n\
         **Method**: cell suppression. Counts from 1 to {} are suppressed (published as empty, with the \
         matching `_suppressed` column true), and so is any cohort count equal to its non-zero count for \
         everyone (it would say that every offence there involved the cohort). Further counts are \
         suppressed (secondary suppression, {} rounds) until the pack passes the audit statistical agencies \
         run (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012; the tau-Argus manual): every \
         suppressed count an unknown, every relation between the pack's counts an equation, solved by \
         linear programming for each suppressed count's smallest and largest possible value. The relations \
         are those within a table (rows and columns sum to their Totals) and across tables (a district's \
         cells are the sums of its LSOAs' and a financial year's the sums of its months' in the other \
         tables; the same count published in two tables; a cohort count is at most the count for \
         everyone), all declared in `manifest.json` (`structure`). Complements are published non-zero \
         counts of the failing count's most binding relation, inner cells before totals.\n\n\
         **What an intruder is assumed to know**: every published count and every relation above; and that \
         every suppressed count is at least {} (zeros are published and never suppressed).\n\n\
         **What is guaranteed**: threshold {}, protection level {}. This pack was audited as written, \
         with {} linear programs: no suppressed count can be recovered, and the smallest and largest values \
         each could take, given all the published counts and relations, are at least {} apart (in the \
         linear-programming relaxation, as tau-Argus audits). `sna audit-pack <this directory>` \
         repeats the audit from the pack's files alone.\n\n\
         **Other packs**: {}\n\n\
         Not covered: packs not recorded in that release log, and knowledge from outside the packs.\n\n\
         **Information lost**: {} of {} counts suppressed ({} small, {} cohort counts equal to everyone, {} \
         complements), holding {} events in all (the published counts hold {}).\n",
        manifest.threshold.saturating_sub(1),
        d.rounds,
        manifest.structure.suppressed_at_least,
        manifest.threshold,
        d.protection,
        d.audit_programs,
        d.protection,
        other_packs(manifest),
        d.primary + d.attribute + d.secondary,
        d.cells,
        d.primary,
        d.attribute,
        d.secondary,
        d.suppressed_total,
        d.published_total,
    );
    let _ = writeln!(
        out,
        "Query it with `sna query --data <this directory> \"SELECT ...\"`; `sna tables --data <this directory>` lists the tables.\n"
    );
    let not_possible: Vec<&NotPossible> =
        manifest.not_possible.iter().filter(|n| n.listed).collect();
    if !not_possible.is_empty() {
        let _ = writeln!(
            out,
            "## Not possible with these data ({} extract)\n\nThese tables are not in this pack, because the extract cannot support them:\n",
            manifest.form.label()
        );
        for n in not_possible {
            let _ = writeln!(out, "- **{}** (`{}`): {}.", n.title, n.job, n.reason);
        }
        let _ = writeln!(out);
    }
    for table in &manifest.tables {
        let Some(file) = queries.partner.iter().find(|f| f.name == table.name) else {
            continue;
        };
        let meta = &file.meta;
        let _ = writeln!(
            out,
            "## {} ({} rows, {} cells suppressed)\n",
            table.name, table.rows, table.suppressed
        );
        let _ = writeln!(out, "**{}**\n\n{}\n", file.title(), meta.description);
        let _ = writeln!(out, "Files: `{0}.csv`, `{0}.parquet`.\n", table.name);
        let _ = writeln!(out, "| column | meaning |\n| --- | --- |");
        for column in &meta.columns {
            let _ = writeln!(out, "| `{}` | {} |", column.name, column.description);
        }
        let _ = writeln!(out);
    }
    let path = dir.join("README.md");
    Ok(write_text(&path, &out)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn text_batch(name: &str, values: &[&str]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(values.to_vec()))]).unwrap()
    }

    #[test]
    fn identifiers_dates_and_times_are_refused() {
        let refused = |batch: &RecordBatch| check_shareable("t", batch).unwrap_err().to_string();
        assert!(refused(&text_batch("person_id", &["a"])).contains("identifier"));
        let schema = Arc::new(Schema::new(vec![Field::new(
            "at",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
            true,
        )]));
        let at = arrow::array::TimestampSecondArray::from(vec![Some(0)]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(at)]).unwrap();
        assert!(refused(&batch).contains("date or time type"));
        let schema = Arc::new(Schema::new(vec![Field::new("day", DataType::Date32, true)]));
        let day = arrow::array::Date32Array::from(vec![Some(0)]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(day)]).unwrap();
        assert!(refused(&batch).contains("date or time type"));
        // A text date under an innocent name, and a clock time.
        assert!(refused(&text_batch("label", &["x", "2021-03-04"])).contains("`2021-03-04`"));
        assert!(refused(&text_batch("label", &["04/03/2021"])).contains("date or time"));
        assert!(refused(&text_batch("slot", &["13:45"])).contains("date or time"));
        assert!(refused(&text_batch("code", &["20210304"])).contains("date or time"));
    }

    #[test]
    fn months_years_hours_and_codes_are_shareable() {
        for values in [
            &["2021-03", "Total"][..],
            &["2020/21", "2021/22"],
            &["0", "23", "Total"],
            &["E01025632", "Leicester 001A", "0-4", "90+"],
        ] {
            check_shareable("t", &text_batch("v", values)).unwrap();
        }
    }

    #[test]
    fn short_periods_are_refused() {
        let mut config = Config {
            min_pack_months: 3,
            start: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2021, 3, 31).unwrap(),
            ..Config::default()
        };
        check_period(&config).unwrap();
        config.end = chrono::NaiveDate::from_ymd_opt(2021, 3, 30).unwrap();
        let err = check_period(&config).unwrap_err().to_string();
        assert!(err.contains("shorter than 3 months"), "{err}");
        config.min_pack_months = 0;
        check_period(&config).unwrap();
    }

    #[test]
    fn a_pack_that_fails_its_audit_is_refused() {
        use crate::partners::structure::tests::grid;
        // [3, 20 | 23], [12, 30 | 42] with only the 3 hidden: recovered exactly.
        let mut g = grid("t", "n", &[&[3, 20], &[12, 30]]);
        g.cells[0].suppressed = true;
        let system = System::new(vec![g]);
        let audit = crate::partners::audit::audit(&system, 5.0, 1.0).unwrap();
        let failing = pack_audit::PackAudit {
            threshold: 5,
            protection: 5,
            floor: 1,
            system,
            audit,
        };
        let err = refuse_unless_passed(&failing).unwrap_err().to_string();
        assert!(err.contains("fails its audit"), "{err}");
        assert!(
            err.contains("1 suppressed count(s) recovered exactly"),
            "{err}"
        );
        assert!(
            err.contains("t.n [panel=p row=r0 column=c0] in [3, 3]"),
            "{err}"
        );
        // Protected, the same table passes.
        let mut g = grid("t", "n", &[&[3, 20], &[12, 30]]);
        for cell in &mut g.cells {
            cell.suppressed = cell.axes[1] != "Total" && cell.axes[2] != "Total";
        }
        let system = System::new(vec![g]);
        let audit = crate::partners::audit::audit(&system, 5.0, 1.0).unwrap();
        let passing = pack_audit::PackAudit {
            threshold: 5,
            protection: 5,
            floor: 1,
            system,
            audit,
        };
        refuse_unless_passed(&passing).unwrap();
    }
}
