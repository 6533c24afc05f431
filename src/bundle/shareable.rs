//! `sna run --shareable`: the bundle under the partner pack's disclosure control.
//!
//! Right after the jobs have written their tables into the staging directory, and before any
//! chart, finding or report is made from them:
//!
//! - a job whose metadata declares a `disclosure` layout (the partner tables' grammar; a job's
//!   may leave out `columns=`, one count per row) has its counts protected, together with every
//!   other declared job's as **one system** ([`disclosure::protect`]): an intruder holds the
//!   whole bundle. Each count column gets a `<count>_suppressed` flag; the count and the columns
//!   derived from it (`suppress_with`: rates, shares, confidence limits) are blanked where it is
//!   suppressed; the table is rewritten in place, CSV and Parquet.
//! - every other table is **withheld**: removed, and carried like a job the data cannot support
//!   ([`NotPossible`]), so its charts and report sections are skipped, saying why.
//!
//! Job tables have no Total rows or columns, but an intruder can add up what is published, and
//! the report states totals. So each declared grid is given its row, column and grand totals
//! as cells that are not published but which the audit assumes the intruder knows unless they
//! are suppressed too (stronger than the truth, so protection against it holds against the
//! truth). A grand total is never left suppressed: it is stated elsewhere (e.g. the hour
//! profile's `total`), so protection that needs it hidden is refused.
//!
//! The tables as written are then audited by linear programming over the same system
//! ([`audit`]), from their files; a bundle that fails is not published.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::{cast, nullif};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use serde::{Deserialize, Serialize};

use crate::engine::capability::NotPossible;
use crate::engine::queries::SqlFile;
use crate::output::{OutputError, TableFiles};
use crate::partners::audit::{self, AuditError};
use crate::partners::disclosure::{self, DisclosureError, SUPPRESSED_AT_LEAST};
use crate::partners::pack_audit::{PackAudit, grids_of, matched_values, read_parquet};
use crate::partners::structure::{Grid, GridCell, Layout, Period, Release, System, TOTAL};

/// Why a table is not in a shareable bundle.
pub const WITHHELD: &str = "withheld from a shareable bundle: its counts are not declared for disclosure control (no `disclosure` layout in its metadata)";

/// The column axis of a job table with one count per row: every cell's value is [`TOTAL`],
/// so the grid has only its column of counts and their grand total.
const ONE_COLUMN: &str = "_whole_row";

/// Errors in making a bundle shareable. Any of them leaves no bundle behind.
#[derive(Debug, thiserror::Error)]
pub enum ShareableError {
    /// A job's `disclosure` or `suppress_with` does not fit its table.
    #[error("queries/{}: {problem}", crate::engine::queries::meta_file_of(file))]
    Layout {
        /// The SQL file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A table file could not be read back.
    #[error("{path}: {problem}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The declared layouts imply relations the counts do not satisfy.
    #[error(
        "the shareable tables' declared structure does not hold on these data ({count} relation(s)), e.g. {example}; check the `disclosure` lines of the jobs' .toml files"
    )]
    Structure {
        /// How many relations fail.
        count: usize,
        /// The first.
        example: String,
    },
    /// Disclosure control could not protect the tables.
    #[error("{0}")]
    Disclosure(#[from] DisclosureError),
    /// Protection would hide a grand total, which the bundle states elsewhere.
    #[error(
        "disclosure control of the shareable bundle would have to hide the grand total {cell}, which the bundle states elsewhere: too few events to share (a shareable bundle was not written)"
    )]
    GrandTotal {
        /// The total's cell.
        cell: String,
    },
    /// The audit could not be solved.
    #[error("the shareable tables could not be audited: {0}")]
    Audit(#[from] AuditError),
    /// The bundle cannot be protected beside the earlier releases.
    #[error(
        "the shareable bundle cannot be protected together with the earlier releases in the release log {log} ({releases}): {cause}. An intruder holding them and this bundle could narrow counts they suppress, so it was not written. Share one or the other; if they go to audiences that never meet, give this bundle its own log (`release_log` in sna.toml)"
    )]
    Joint {
        /// The release log.
        log: String,
        /// The earlier releases.
        releases: String,
        /// Why protection failed.
        #[source]
        cause: DisclosureError,
    },
    /// The counts contradict what an earlier release published (revised data).
    #[error(
        "the bundle's counts differ from what an earlier release in the release log {log} published, e.g. {example}: revised data cannot be shared beside the earlier release without giving suppressed counts away (a shareable bundle was not written; if the earlier release was never shared, remove it from the log)"
    )]
    Revised {
        /// The release log.
        log: String,
        /// The first contradiction.
        example: String,
    },
    /// The written tables fail the audit: nothing is published.
    #[error(
        "the shareable bundle fails its audit, so it was not written: {exact} suppressed count(s) recovered exactly and {narrowed} narrowed to an interval under {protection} wide by linear programming over all its tables, e.g. {example}"
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
    /// A table could not be rewritten or removed.
    #[error("{0}")]
    Output(#[from] OutputError),
}

/// One protected table, for the manifest and the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtectedTable {
    /// The job (file stem).
    pub table: String,
    /// Its count columns.
    pub counts: Vec<String>,
    /// Counts in the table.
    pub cells: usize,
    /// Of which suppressed.
    pub suppressed: usize,
    /// Columns blanked with their count.
    pub blanked_with: BTreeMap<String, Vec<String>>,
    /// Columns blanked on every row of a grid with one row's count (`count@row`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub blanked_with_row: BTreeMap<String, Vec<String>>,
}

/// What making the bundle shareable did: recorded in the manifest, stated in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shareable {
    /// How counts were protected.
    pub method: String,
    /// Counts from 1 to this minus one are suppressed.
    pub threshold: u32,
    /// Each suppressed count's feasible interval is at least this wide.
    pub protection: u64,
    /// What an intruder is assumed to know of every suppressed count: at least this.
    pub suppressed_at_least: u64,
    /// The tables published, protected.
    pub tables: Vec<ProtectedTable>,
    /// The tables and files withheld, with why.
    pub withheld: Vec<Withheld>,
    /// Published counts suppressed as small (1 to threshold - 1).
    pub primary: usize,
    /// Published counts suppressed to protect others (complements, cohort counts equal to
    /// their whole).
    pub secondary: usize,
    /// Sum of the suppressed published counts (information lost).
    pub suppressed_total: u64,
    /// Sum of the published counts left.
    pub published_total: u64,
    /// Rounds of audit and complement.
    pub rounds: usize,
    /// Linear programs the audit of the written tables solved.
    pub audit_programs: usize,
    /// Each protected grid's layout and totals: what `sna audit-pack` needs to audit the
    /// bundle from its files.
    pub structure: Vec<SharedGrid>,
    /// Measures published because every count they are computed from is published above,
    /// with those cells.
    pub measures: Vec<measures::PublishedMeasure>,
    /// Measures withheld (`table: measure`), with why.
    pub measures_withheld: Vec<Withheld>,
    /// The earlier releases (partner packs, shareable bundles) of the release log it was
    /// protected and audited with.
    pub protected_with: Vec<String>,
    /// The release log it is recorded in.
    pub release_log: Option<String>,
    /// Every grid as published (suppressed counts without their values): what the release
    /// log records.
    #[serde(skip)]
    pub published: Vec<Grid>,
}

/// One count column of a protected table, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedGrid {
    /// The table (file stem under `tables/`).
    pub table: String,
    /// What the counts count (the count column's name unless the job's layout says
    /// `events=`); grids of the same events are linked where their axes allow.
    pub count: String,
    /// Its layout: the count column is `counts` (`columns` is `_whole_row` for a table of one
    /// count per row).
    pub layout: Layout,
    /// Its row, column and grand totals, which the tables do not publish but the audit
    /// assumes known: the value, or null when suppressed.
    pub totals: Vec<KnownTotal>,
    /// For a table whose layout says `dimension=`: the rows of this grid (one panel value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Selection>,
}

/// The rows of a table that make one grid of a `dimension=` layout: those whose `column` is
/// `value`, their `rows` column read as the grid's row axis (named `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The dimension's panel column (e.g. `breakdown`).
    pub column: String,
    /// Its value on these rows (e.g. `district`): the name of their row axis.
    pub value: String,
    /// The table's row column (e.g. `category`).
    pub rows: String,
}

/// One grid's place in its table: the table rows its inner cells are, in order, and how they
/// were selected.
struct Placed {
    rows: Vec<usize>,
    select: Option<Selection>,
}

/// A total of a protected grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownTotal {
    /// Its value on each axis of the layout (`Total` on the summed ones).
    pub axes: Vec<String>,
    /// The row's group (the layout's `groups` column), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The total, or null when suppressed.
    pub value: Option<u64>,
}

/// A table or file not in a shareable bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// The job or file.
    pub name: String,
    /// Why.
    pub reason: String,
}

impl Shareable {
    /// The disclosure notice of the report, `summary.md` and `tables/README.md`, in words.
    pub fn notice(&self) -> String {
        let suppressed = self.primary + self.secondary;
        let cells: usize = self.tables.iter().map(|t| t.cells).sum();
        format!(
            "Every table and chart of this bundle has passed disclosure \
             control: counts from 1 to {} are suppressed (empty in the tables, – in the report's tables, grey in its charts; so are the rates, shares \
             and confidence limits derived from them), and further counts are suppressed until a \
             linear-programming audit of all the published tables together, assuming an intruder \
             knows every published count, every total and that a suppressed count is at least {}, \
             shows each suppressed count could take values at least {} apart ({} of {} counts \
             suppressed in {} tables: {} small, {} to protect them). The {} tables and files whose counts \
             are not declared for disclosure control (among them {}) are withheld, with their \
             charts and sections.{}",
            self.threshold.saturating_sub(1),
            self.suppressed_at_least,
            self.protection,
            suppressed,
            cells,
            self.tables.len(),
            self.primary,
            self.secondary,
            self.withheld.len(),
            self.withheld
                .iter()
                .take(4)
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if self.measures.is_empty() && self.measures_withheld.is_empty() {
                String::new()
            } else {
                format!(
                    " Of the headline measures, {} are published because every count they are \
                     computed from is published in these tables (or is a total assumed known), \
                     and {} are withheld.",
                    self.measures.len(),
                    self.measures_withheld.len()
                )
            },
        )
    }
}

/// One declared table, read back from staging.
struct Declared {
    job: String,
    relative_path: String,
    layout: Layout,
    /// What the counts count (`events=` in the layout; default: the count column's name):
    /// grids of the same events are linked where their axes allow.
    events: Option<String>,
    suppress_with: BTreeMap<String, Vec<String>>,
    /// `suppress_with_row`, parsed: (count, row value, columns blanked on every row of the
    /// grid's panel where that row's count is suppressed).
    suppress_with_row: Vec<RowDerived>,
    /// `withhold_rows`, and how many rows it left out.
    withhold_rows: BTreeMap<String, Vec<String>>,
    rows_withheld: usize,
    batch: RecordBatch,
}

/// Columns derived from one row's count and repeated on every row (`count@row = [...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowDerived {
    count: String,
    row: String,
    columns: Vec<String>,
}

/// What was released before (the release log's releases), for a bundle of `period`.
#[derive(Debug, Clone, Default)]
pub struct Earlier {
    /// The logged releases, published.
    pub releases: Vec<Release>,
    /// The largest protection level among them.
    pub protection: u64,
    /// This bundle's period; without one no relation to other releases is derived.
    pub period: Option<Period>,
    /// The release log they come from, to name in errors.
    pub log: String,
}

impl Earlier {
    /// The joint system of the earlier releases and this bundle's `grids` (its last release;
    /// one release when there are none).
    fn joint_with(&self, grids: Vec<Grid>) -> System {
        let mut releases = self.releases.clone();
        releases.push(Release {
            label: if releases.is_empty() {
                String::new()
            } else {
                "this bundle (new)".to_owned()
            },
            period: self.period,
            published: false,
            grids,
        });
        System::joint(releases)
    }
}

/// Protects the declared tables of `jobs` in `tables` as one system and withholds the others;
/// returns what it did and the withheld jobs as not possible.
pub fn protect(
    tables: &Path,
    jobs: &[&SqlFile],
    threshold: u32,
) -> Result<(Shareable, Vec<NotPossible>), ShareableError> {
    protect_with(tables, jobs, threshold, Earlier::default())
}

/// [`protect`], jointly with the `earlier` releases of the release log, as an intruder who
/// holds them all: their published counts fixed and known, their suppressed counts unknowns.
pub fn protect_with(
    tables: &Path,
    jobs: &[&SqlFile],
    threshold: u32,
    earlier: Earlier,
) -> Result<(Shareable, Vec<NotPossible>), ShareableError> {
    let mut declared = Vec::new();
    let mut measure_tables = Vec::new();
    let mut withheld = Vec::new();
    let mut not_possible = Vec::new();
    for job in jobs {
        if !tables.join(format!("{}.parquet", job.name)).is_file() {
            continue;
        }
        match (&job.meta.disclosure, &job.meta.disclosure_rows) {
            (Some(_), Some(_)) => {
                return Err(ShareableError::Layout {
                    file: job.relative_path.clone(),
                    problem: "declares both disclosure (a table of counts) and disclosure_rows (a table of measures): it is one or the other".to_owned(),
                });
            }
            (Some(text), None) => declared.push(read_declared(tables, job, text)?),
            (None, Some(rows)) => measure_tables.push((*job, rows)),
            (None, None) => {
                for ext in ["csv", "parquet"] {
                    let path = tables.join(format!("{}.{ext}", job.name));
                    std::fs::remove_file(&path).map_err(OutputError::at(&path))?;
                }
                withheld.push(Withheld {
                    name: job.name.clone(),
                    reason: WITHHELD.to_owned(),
                });
                not_possible.push(NotPossible {
                    job: job.name.clone(),
                    title: job.title(),
                    reason: WITHHELD.to_owned(),
                    listed: true,
                });
            }
        }
    }
    declared.sort_by(|a, b| a.job.cmp(&b.job));
    for table in &declared {
        if table.rows_withheld > 0 {
            for (column, values) in &table.withhold_rows {
                withheld.push(Withheld {
                    name: format!("{}: {column} = {}", table.job, values.join(", ")),
                    reason: format!(
                        "{} row(s) left out: their relations to the table's other rows are not declared for disclosure control",
                        table.rows_withheld
                    ),
                });
            }
        }
    }
    let mut grids = Vec::new();
    let mut placed = Vec::new();
    for table in &declared {
        for (mut grid, place) in table_grids(table)? {
            with_totals(&mut grid);
            grids.push(grid);
            placed.push(place);
        }
    }
    check_groups(&declared, &grids)?;
    let own = System::new(grids);
    let contradictions = own.contradictions();
    if let Some(example) = contradictions.first() {
        return Err(ShareableError::Structure {
            count: contradictions.len(),
            example: example.clone(),
        });
    }
    // Jointly with every earlier release, as an intruder holding them all (one release when
    // there are none).
    let protected_with: Vec<String> = earlier.releases.iter().map(|r| r.label.clone()).collect();
    let protection = earlier.protection.max(u64::from(threshold));
    let new = earlier.releases.len();
    let mut joint = earlier.joint_with(own.grids.clone());
    if new > 0
        && let Some(example) = joint.contradictions().first()
    {
        return Err(ShareableError::Revised {
            log: earlier.log.clone(),
            example: example.clone(),
        });
    }
    let truth = own;
    let protected =
        disclosure::protect(&mut joint, u64::from(threshold), protection).map_err(|source| {
            if new == 0 {
                ShareableError::Disclosure(source)
            } else {
                ShareableError::Joint {
                    log: earlier.log.clone(),
                    releases: protected_with.join("; "),
                    cause: source,
                }
            }
        })?;
    let system = System::new(joint.release_grids(new).to_vec());
    if let Some(id) = (0..system.len()).find(|&id| {
        let cell = system.cell(id);
        let (g, _) = system.locate(id);
        let panel = system.grids[g].layout.panel.len();
        cell.suppressed && cell.axes[panel..].iter().all(|a| a == TOTAL)
    }) {
        return Err(ShareableError::GrandTotal {
            cell: system.describe(id),
        });
    }
    let mut summary = Shareable {
        method: "cell suppression: primary (small counts; cohort counts equal to their whole) and secondary until the linear-programming audit over all published tables passes".into(),
        threshold,
        protection,
        suppressed_at_least: SUPPRESSED_AT_LEAST,
        tables: Vec::new(),
        withheld,
        primary: 0,
        secondary: 0,
        suppressed_total: 0,
        published_total: 0,
        rounds: protected.rounds,
        audit_programs: 0,
        structure: Vec::new(),
        measures: Vec::new(),
        measures_withheld: Vec::new(),
        protected_with: Vec::new(),
        release_log: None,
        published: Vec::new(),
    };
    // Tables of measures: each measure published only where every count it repeats is.
    for (job, rows) in measure_tables {
        let path = tables.join(format!("{}.parquet", job.name));
        let batch = read_parquet(&path).map_err(|problem| ShareableError::Table {
            path: path.clone(),
            problem,
        })?;
        let decided = measures::decide(&job.name, rows, &batch, &system).map_err(|problem| {
            ShareableError::Layout {
                file: job.relative_path.clone(),
                problem,
            }
        })?;
        let kept = arrow::compute::filter_record_batch(&batch, &measures::filter(&decided))
            .map_err(OutputError::at(&path))?;
        let mut files = TableFiles::create(tables, &job.name, kept.schema())?;
        files.write(&kept)?;
        files.finish()?;
        summary.measures.extend(decided.published);
        summary
            .measures_withheld
            .extend(
                decided
                    .withheld
                    .into_iter()
                    .map(|(measure, reason)| Withheld {
                        name: format!("{}: {measure}", job.name),
                        reason,
                    }),
            );
    }
    for table in &declared {
        let mine: Vec<(&Grid, &Placed)> = system
            .grids
            .iter()
            .zip(&placed)
            .filter(|(g, _)| g.table == table.job)
            .collect();
        let record = write_protected(tables, table, &mine)?;
        for (grid, place) in &mine {
            for cell in &grid.cells[..place.rows.len()] {
                let value = cell.value.unwrap_or(0);
                match (cell.suppressed, value >= 1 && value < u64::from(threshold)) {
                    (true, true) => summary.primary += 1,
                    (true, false) => summary.secondary += 1,
                    (false, _) => summary.published_total += value,
                }
                if cell.suppressed {
                    summary.suppressed_total += value;
                }
            }
        }
        summary.tables.push(record);
    }
    // The tables as written, audited from their files as an intruder would (with the totals
    // assumed known); the true counts only speed the audit up.
    summary.structure = structure_of(&system, &placed);
    let written = earlier.joint_with(system_from_files(tables, &summary.structure)?.grids);
    let hint = matched_values(&written, &truth);
    let audit = audit::audit_with(
        &written,
        protection as f64,
        SUPPRESSED_AT_LEAST as f64,
        audit::Options {
            hint: Some(&hint),
            ..audit::Options::default()
        },
    )?;
    if let Some(first) = audit.exposed.first() {
        return Err(ShareableError::AuditFailed {
            exact: audit.exact(),
            narrowed: audit.exposed.len() - audit.exact(),
            protection,
            example: format!(
                "{} in [{}, {}]",
                written.describe(first.cell),
                first.low,
                first.high
            ),
        });
    }
    summary.audit_programs = audit.programs;
    summary.protected_with = protected_with;
    summary.published = written.release_grids(new).to_vec();
    Ok((summary, not_possible))
}

/// Refuses a row whose group (`groups=` column) is no value of that dimension in the tables:
/// its sum with the other rows of its group could not be related to them (a community safety
/// partnership or locality across several districts, whose `district` says `Several`), and an
/// audit that misses a relation the intruder can write down proves nothing.
fn check_groups(declared: &[Declared], grids: &[Grid]) -> Result<(), ShareableError> {
    let file_of = |table: &str| {
        declared
            .iter()
            .find(|d| d.job == table)
            .map_or_else(|| table.to_owned(), |d| d.relative_path.clone())
    };
    let mut values: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for grid in grids {
        for (axis, name) in grid.layout.axes().into_iter().enumerate() {
            let set = values.entry(name).or_default();
            set.extend(
                grid.cells
                    .iter()
                    .map(|c| c.axes[axis].as_str())
                    .filter(|v| *v != TOTAL),
            );
        }
    }
    // Two levels of one table that both split a group into several rows (CSPs and wards of
    // one district) nest in a way the layout does not say (which wards make which CSP), so
    // the relations between them would be missing.
    let mut splitting: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for grid in grids {
        let Some(dimension) = &grid.layout.groups else {
            continue;
        };
        let rows = grid.layout.panel.len();
        let mut per_group: BTreeMap<(&[String], &str), BTreeSet<&str>> = BTreeMap::new();
        for cell in grid
            .cells
            .iter()
            .filter(|c| c.axes[rows] != TOTAL && !c.group.is_empty())
        {
            per_group
                .entry((&cell.axes[..rows], cell.group.as_str()))
                .or_default()
                .insert(cell.axes[rows].as_str());
        }
        if let Some(((_, group), _)) = per_group.iter().find(|(_, r)| r.len() > 1) {
            let key = (grid.table.as_str(), dimension.as_str());
            if let Some(other) = splitting.get(&key).filter(|o| **o != grid.layout.rows) {
                return Err(ShareableError::Layout {
                    file: file_of(&grid.table),
                    problem: format!(
                        "both its `{other}` rows and its `{}` rows split {dimension} `{}` into several rows, and the layout does not say how one nests in the other, so the relations between them could not be audited; leave one level out of a shareable bundle (withhold_rows)",
                        grid.layout.rows,
                        crate::text::printable(group),
                    ),
                });
            }
            splitting.insert(key, grid.layout.rows.as_str());
        }
    }
    for grid in grids {
        let Some(dimension) = &grid.layout.groups else {
            continue;
        };
        let Some(known) = values.get(dimension.as_str()) else {
            continue;
        };
        let rows = grid.layout.panel.len();
        if let Some(cell) = grid.cells.iter().find(|c| {
            !c.group.is_empty() && c.axes[rows] != TOTAL && !known.contains(c.group.as_str())
        }) {
            return Err(ShareableError::Layout {
                file: file_of(&grid.table),
                problem: format!(
                    "row `{}` ({}) is in {dimension} `{}`, which is no {dimension} of the shareable tables, so its relation to them cannot be declared and the audit could not hold; a shareable bundle cannot include areas across several {dimension}s (e.g. [localities] spanning districts)",
                    crate::text::printable(&cell.axes[rows]),
                    grid.layout.rows,
                    crate::text::printable(&cell.group),
                ),
            });
        }
    }
    Ok(())
}

/// Reads a declared job's table back from staging and checks its layout against it.
fn read_declared(tables: &Path, job: &SqlFile, text: &str) -> Result<Declared, ShareableError> {
    let layout_error = |problem: String| ShareableError::Layout {
        file: job.relative_path.clone(),
        problem,
    };
    let one_column = !text.split_whitespace().any(|p| p.starts_with("columns="));
    let events = text
        .split_whitespace()
        .find_map(|p| p.strip_prefix("events="))
        .map(str::to_owned);
    let text: Vec<&str> = text
        .split_whitespace()
        .filter(|p| !p.starts_with("events="))
        .collect();
    let text = text.join(" ");
    let full = if one_column {
        format!("{text} columns={ONE_COLUMN}")
    } else {
        text
    };
    let layout = Layout::parse(&full).map_err(|p| layout_error(format!("disclosure: {p}")))?;
    let path = tables.join(format!("{}.parquet", job.name));
    let batch = read_parquet(&path).map_err(|problem| ShareableError::Table {
        path: path.clone(),
        problem,
    })?;
    // Rows whose relations to the others cannot be declared are not published at all.
    let mut rows_withheld = 0;
    let batch = if job.meta.withhold_rows.is_empty() {
        batch
    } else {
        let mut keep = vec![true; batch.num_rows()];
        for (column, values) in &job.meta.withhold_rows {
            let text = text_column(&batch, column)
                .map_err(|p| layout_error(format!("withhold_rows: {p}")))?;
            for (k, v) in keep.iter_mut().zip(text) {
                if v.is_some_and(|v| values.contains(&v)) {
                    *k = false;
                }
            }
        }
        rows_withheld = keep.iter().filter(|k| !**k).count();
        arrow::compute::filter_record_batch(&batch, &BooleanArray::from(keep))
            .map_err(OutputError::at(&path))?
    };
    let schema = batch.schema();
    let mut named: Vec<&str> = layout.axes();
    if one_column {
        named.pop();
    }
    named.extend(layout.counts.iter().map(String::as_str));
    for (count, derived) in &job.meta.suppress_with {
        if !layout.counts.contains(count) {
            return Err(layout_error(format!(
                "suppress_with names `{count}`, which is not a count of its disclosure layout"
            )));
        }
        named.extend(derived.iter().map(String::as_str));
    }
    let mut suppress_with_row = Vec::new();
    for (key, derived) in &job.meta.suppress_with_row {
        let Some((count, row)) = key
            .split_once('@')
            .filter(|(c, r)| !c.is_empty() && !r.is_empty())
        else {
            return Err(layout_error(format!(
                "suppress_with_row key `{key}` should be <count>@<row value>"
            )));
        };
        if !layout.counts.iter().any(|c| c == count) {
            return Err(layout_error(format!(
                "suppress_with_row names `{count}`, which is not a count of its disclosure layout"
            )));
        }
        named.extend(derived.iter().map(String::as_str));
        suppress_with_row.push(RowDerived {
            count: count.to_owned(),
            row: row.to_owned(),
            columns: derived.clone(),
        });
    }
    for column in named {
        if schema.index_of(column).is_err() {
            return Err(layout_error(format!(
                "names column `{column}`, which the query does not return"
            )));
        }
    }
    Ok(Declared {
        job: job.name.clone(),
        relative_path: job.relative_path.clone(),
        layout,
        events,
        suppress_with: job.meta.suppress_with.clone(),
        suppress_with_row,
        withhold_rows: job.meta.withhold_rows.clone(),
        rows_withheld,
        batch,
    })
}

/// The grids of a declared table as read (with its flags when written), the constant column
/// axis added for a table of one count per row, one set per panel value of a `dimension=`
/// layout. Axis values may not be `Total`.
fn table_grids(table: &Declared) -> Result<Vec<(Grid, Placed)>, ShareableError> {
    let layout_error = |problem: String| ShareableError::Layout {
        file: table.relative_path.clone(),
        problem,
    };
    let mut out = Vec::new();
    for (layout, select, rows) in
        dimension_parts(&table.layout, &table.batch).map_err(layout_error)?
    {
        let batch = match &select {
            Some(select) => selected(&table.batch, select, &layout).map_err(layout_error)?,
            None => table.batch.clone(),
        };
        for mut grid in grids_from(&table.job, &layout, &batch).map_err(layout_error)? {
            if let Some(events) = &table.events {
                grid.count = events.clone();
            }
            out.push((
                grid,
                Placed {
                    rows: rows.clone(),
                    select: select.clone(),
                },
            ));
        }
    }
    Ok(out)
}

/// One grid of a table: its layout, the selection of its rows (none: every row) and the rows.
type Part = (Layout, Option<Selection>, Vec<usize>);

/// The grids' layouts of a table: the layout itself over every row, or (`dimension=`) one per
/// value of the dimension's panel column, in order of first appearance, with its selection and
/// its rows.
fn dimension_parts(layout: &Layout, batch: &RecordBatch) -> Result<Vec<Part>, String> {
    let Some(dimension) = &layout.dimension else {
        return Ok(vec![(
            layout.clone(),
            None,
            (0..batch.num_rows()).collect(),
        )]);
    };
    let values = text_column(batch, dimension)?;
    let mut order: Vec<&str> = Vec::new();
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, value) in values.iter().enumerate() {
        let value = value.as_deref().ok_or_else(|| {
            format!(
                "column `{dimension}` (dimension=) is empty on row {}",
                i + 1
            )
        })?;
        if !rows.contains_key(value) {
            order.push(value);
        }
        rows.entry(value).or_default().push(i);
    }
    let schema = batch.schema();
    let mut parts = Vec::new();
    for value in order {
        // The value becomes the name of the row axis, so it may not be another axis or a
        // column the layout reads.
        // The groups column may share the name: the rows of that dimension are their own
        // groups (areas' `district` level), and the grid reads its rows in its place.
        let groups = layout.groups.as_deref() == Some(value);
        if value == TOTAL || value.is_empty() || (schema.index_of(value).is_ok() && !groups) {
            return Err(format!(
                "column `{dimension}` (dimension=) holds `{value}`, which cannot name the rows' dimension (it is empty, `{TOTAL}` or a column of the table)"
            ));
        }
        let named = layout
            .named_by_panel(value)
            .ok_or_else(|| "no dimension".to_owned())?;
        parts.push((
            named,
            Some(Selection {
                column: dimension.clone(),
                value: value.to_owned(),
                rows: layout.rows.clone(),
            }),
            rows[value].clone(),
        ));
    }
    Ok(parts)
}

/// The rows of `batch` that `select` names, its row column renamed to the grid layout's rows.
fn selected(
    batch: &RecordBatch,
    select: &Selection,
    layout: &Layout,
) -> Result<RecordBatch, String> {
    let values = text_column(batch, &select.column)?;
    let keep: BooleanArray = values
        .iter()
        .map(|v| Some(v.as_deref() == Some(select.value.as_str())))
        .collect();
    let kept = arrow::compute::filter_record_batch(batch, &keep).map_err(|e| e.to_string())?;
    let schema = kept.schema();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in schema.fields().iter().zip(kept.columns()) {
        if *field.name() == select.rows {
            fields.push(field.as_ref().clone().with_name(layout.rows.clone()));
        } else if *field.name() == layout.rows {
            // The groups column of the rows' own dimension (a district's district): the rows
            // take its name.
            continue;
        } else {
            fields.push(field.as_ref().clone());
        }
        columns.push(Arc::clone(column));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// A column's values as text (null as `None`).
fn text_column(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`, which the layout names"))?;
    let values = cast(column, &DataType::Utf8).map_err(|e| e.to_string())?;
    let values = values.as_string::<i32>();
    Ok((0..values.len())
        .map(|i| (!values.is_null(i)).then(|| values.value(i).to_owned()))
        .collect())
}

/// The grids of `table` laid out by `layout` (whose `columns` is [`ONE_COLUMN`] for one count
/// per row: the constant axis is added), refusing `Total` on any axis.
fn grids_from(table: &str, layout: &Layout, batch: &RecordBatch) -> Result<Vec<Grid>, String> {
    let one_column = layout.columns == ONE_COLUMN;
    let batch = if one_column && batch.schema().index_of(ONE_COLUMN).is_err() {
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(ONE_COLUMN, DataType::Utf8, false));
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![TOTAL; batch.num_rows()])));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())?
    } else {
        batch.clone()
    };
    let grids = grids_of(table, layout, &batch)?;
    let inner = layout.axes().len() - usize::from(one_column);
    // Two rows at the same axis values (a ward name in two districts) would be read as one
    // cell: its relations would be wrong.
    if let Some(grid) = grids.first() {
        let mut seen = HashSet::new();
        for cell in &grid.cells {
            if !seen.insert(&cell.axes) {
                return Err(format!(
                    "two rows have the same {} ({}): disclosure control needs each row named once",
                    layout.axes()[..inner].join(", "),
                    crate::text::printable(&cell.axes[..inner].join(", ")),
                ));
            }
        }
    }
    for grid in &grids {
        for cell in &grid.cells {
            if let Some(axis) = cell.axes[..inner].iter().position(|a| a == TOTAL) {
                return Err(format!(
                    "column `{}` holds `{TOTAL}`, which disclosure control reads as a total",
                    grid.layout.axes()[axis]
                ));
            }
        }
    }
    Ok(grids)
}

/// Appends to `grid` its row totals, column totals and grand total in each panel (those not
/// already cells), in a fixed order: the sums an intruder can form from the table.
fn with_totals(grid: &mut Grid) {
    let panel = grid.layout.panel.len();
    let (row, column) = (panel, panel + 1);
    let existing: HashSet<Vec<String>> = grid.cells.iter().map(|c| c.axes.clone()).collect();
    let mut sums: BTreeMap<Vec<String>, (u64, String)> = BTreeMap::new();
    for cell in &grid.cells {
        let mut keys = BTreeSet::new();
        for (r, c, group) in [
            (cell.axes[row].as_str(), TOTAL, cell.group.as_str()),
            (TOTAL, cell.axes[column].as_str(), ""),
            (TOTAL, TOTAL, ""),
        ] {
            let mut key = cell.axes.clone();
            key[row] = r.to_owned();
            key[column] = c.to_owned();
            keys.insert((key, group.to_owned()));
        }
        for (key, group) in keys {
            let entry = sums.entry(key).or_insert((0, group));
            entry.0 += cell.value.unwrap_or(0);
        }
    }
    for (axes, (value, group)) in sums {
        if !existing.contains(&axes) {
            grid.cells.push(GridCell {
                axes,
                group,
                value: Some(value),
                suppressed: false,
            });
        }
    }
}

/// Rewrites a declared table with each count null where suppressed, followed by its
/// `<count>_suppressed` flag, and its derived columns null with it.
fn write_protected(
    dir: &Path,
    table: &Declared,
    grids: &[(&Grid, &Placed)],
) -> Result<ProtectedTable, ShareableError> {
    let batch = &table.batch;
    let rows = batch.num_rows();
    let schema = batch.schema();
    let path = dir.join(format!("{}.parquet", table.job));
    let arrow_error = |e: arrow::error::ArrowError| OutputError::at(&path)(e);
    let flags_of = |count: &str| -> Option<BooleanArray> {
        let mut flags = None;
        for (grid, place) in grids.iter().filter(|(g, _)| g.layout.counts == [count]) {
            let flags = flags.get_or_insert_with(|| vec![false; rows]);
            for (cell, &row) in grid.cells.iter().zip(&place.rows) {
                flags[row] = cell.suppressed;
            }
        }
        flags.map(BooleanArray::from)
    };
    // Rows whose panel has `row`'s `count` suppressed: every row of each grid of `count`
    // that shares its panel values with a suppressed cell whose row value is `row`.
    let rows_of_suppressed_row = |count: &str, row: &str| -> Option<BooleanArray> {
        let mut flags = None;
        for (grid, place) in grids.iter().filter(|(g, _)| g.layout.counts == [count]) {
            let flags = flags.get_or_insert_with(|| vec![false; rows]);
            let panel = grid.layout.panel.len();
            let inner = &grid.cells[..place.rows.len()];
            let hidden: HashSet<&[String]> = inner
                .iter()
                .filter(|c| c.suppressed && c.axes[panel] == row)
                .map(|c| &c.axes[..panel])
                .collect();
            for (cell, &r) in inner.iter().zip(&place.rows) {
                if hidden.contains(&cell.axes[..panel]) {
                    flags[r] = true;
                }
            }
        }
        flags.map(BooleanArray::from)
    };
    // Rows blank where either set of flags is.
    let either = |earlier: Option<BooleanArray>, flags: BooleanArray| match earlier {
        Some(earlier) => arrow::compute::or(&earlier, &flags).map_err(arrow_error),
        None => Ok(flags),
    };
    let mut fields: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut suppressed = 0;
    for (index, field) in schema.fields().iter().enumerate() {
        let column = batch.column(index);
        if let Some(flags) = flags_of(field.name()) {
            suppressed += flags.true_count();
            let counts = cast(column, &DataType::Int64).map_err(arrow_error)?;
            let counts = counts.as_primitive::<Int64Type>();
            let published: Int64Array = (0..rows)
                .map(|i| (!flags.value(i) && !counts.is_null(i)).then(|| counts.value(i)))
                .collect();
            fields.push(Field::new(field.name(), DataType::Int64, true));
            arrays.push(Arc::new(published));
            fields.push(Field::new(
                format!("{}_suppressed", field.name()),
                DataType::Boolean,
                false,
            ));
            arrays.push(Arc::new(flags));
            continue;
        }
        // A column derived from several counts (a share of one count in another) is blanked
        // where any of them is suppressed.
        let mut blank: Option<BooleanArray> = None;
        for (count, derived) in &table.suppress_with {
            if derived.iter().any(|d| d == field.name())
                && let Some(flags) = flags_of(count)
            {
                blank = Some(either(blank, flags)?);
            }
        }
        // A column derived from one row's count, repeated on every row (the known total and
        // the shares of it), is blanked on the whole panel where that count is suppressed.
        for derived in &table.suppress_with_row {
            if derived.columns.iter().any(|d| d == field.name())
                && let Some(flags) = rows_of_suppressed_row(&derived.count, &derived.row)
            {
                blank = Some(either(blank, flags)?);
            }
        }
        match blank {
            Some(flags) => {
                fields.push(field.as_ref().clone().with_nullable(true));
                arrays.push(nullif(column, &flags).map_err(arrow_error)?);
            }
            None => {
                fields.push(field.as_ref().clone());
                arrays.push(Arc::clone(column));
            }
        }
    }
    let out = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(arrow_error)?;
    let out = in_axis_order(&out, &table.layout).map_err(arrow_error)?;
    let mut files = TableFiles::create(dir, &table.job, out.schema())?;
    files.write(&out)?;
    files.finish()?;
    Ok(ProtectedTable {
        table: table.job.clone(),
        counts: table.layout.counts.clone(),
        cells: rows * table.layout.counts.len(),
        suppressed,
        blanked_with: table.suppress_with.clone(),
        blanked_with_row: table
            .suppress_with_row
            .iter()
            .map(|d| (format!("{}@{}", d.count, d.row), d.columns.clone()))
            .collect(),
    })
}

/// `batch`'s rows in the order of the layout's axis columns (panel columns, then rows, then
/// columns). A job may sort its rows by their counts (`areas`: most offences first), and then
/// a suppressed row's place between published ones would bound its count: the published
/// order may depend on nothing but the axes. Axis tuples are unique, so the order is total.
fn in_axis_order(
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let keys: Vec<arrow::compute::SortColumn> = layout
        .axes()
        .into_iter()
        .filter_map(|axis| batch.column_by_name(axis))
        .map(|column| arrow::compute::SortColumn {
            values: Arc::clone(column),
            options: Some(arrow::compute::SortOptions {
                descending: false,
                nulls_first: false,
            }),
        })
        .collect();
    if keys.is_empty() {
        return Ok(batch.clone());
    }
    let order = arrow::compute::lexsort_to_indices(&keys, None)?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &order, None))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(batch.schema(), columns)
}

/// The structure of the protected grids, for the manifest: each grid's layout and its totals
/// (published as known, or suppressed).
fn structure_of(system: &System, placed: &[Placed]) -> Vec<SharedGrid> {
    system
        .grids
        .iter()
        .zip(placed)
        .map(|(grid, place)| {
            let rows = place.rows.len();
            SharedGrid {
                table: grid.table.clone(),
                count: grid.count.clone(),
                layout: grid.layout.clone(),
                totals: grid.cells[rows..]
                    .iter()
                    .map(|c| KnownTotal {
                        axes: c.axes.clone(),
                        group: c.group.clone(),
                        value: if c.suppressed { None } else { c.value },
                    })
                    .collect(),
                select: place.select.clone(),
            }
        })
        .collect()
}

/// The system an intruder builds from a shareable bundle's tables in `dir` and its recorded
/// structure: the published counts and flags, with each grid's totals (known unless
/// suppressed).
pub fn system_from_files(dir: &Path, structure: &[SharedGrid]) -> Result<System, ShareableError> {
    let mut grids = Vec::new();
    let mut tables: Vec<&str> = structure.iter().map(|g| g.table.as_str()).collect();
    tables.dedup();
    for table in tables {
        let path = dir.join(format!("{table}.parquet"));
        let table_error = |problem: String| ShareableError::Table {
            path: path.clone(),
            problem,
        };
        let batch = read_parquet(&path).map_err(table_error)?;
        for shared in structure.iter().filter(|g| g.table == table) {
            let batch = match &shared.select {
                Some(select) => selected(&batch, select, &shared.layout).map_err(table_error)?,
                None => batch.clone(),
            };
            let mut found = grids_from(table, &shared.layout, &batch).map_err(table_error)?;
            let mut grid = found.remove(0);
            grid.count = shared.count.clone();
            for total in &shared.totals {
                grid.cells.push(GridCell {
                    axes: total.axes.clone(),
                    group: total.group.clone(),
                    value: total.value,
                    suppressed: total.value.is_none(),
                });
            }
            grids.push(grid);
        }
    }
    Ok(System::new(grids))
}

/// The parts of a bundle's manifest an audit reads.
#[derive(Debug, Deserialize)]
struct BundleManifest {
    kind: String,
    shareable: Option<RecordedControl>,
}

#[derive(Debug, Deserialize)]
struct RecordedControl {
    threshold: u32,
    suppressed_at_least: u64,
    structure: Vec<SharedGrid>,
}

/// Audits the shareable bundle in `dir` from its files alone (`sna audit-pack BUNDLE`), at
/// `protection` (default: its threshold).
pub fn audit_bundle(dir: &Path, protection: Option<u64>) -> Result<PackAudit, ShareableError> {
    let path = dir.join(crate::staging::MANIFEST);
    let table_error = |problem: String| ShareableError::Table {
        path: path.clone(),
        problem,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| table_error(format!("cannot read the bundle's manifest: {e}")))?;
    let manifest: BundleManifest = serde_json::from_str(&text)
        .map_err(|e| table_error(format!("not a bundle manifest: {e}")))?;
    if manifest.kind != crate::staging::OutputKind::Bundle.marker() {
        return Err(table_error(format!(
            "kind is `{}`, not a bundle",
            manifest.kind
        )));
    }
    let Some(control) = manifest.shareable else {
        return Err(table_error(
            "not a shareable bundle (written without --shareable): it has no disclosure control to audit"
                .to_owned(),
        ));
    };
    let system = system_from_files(&dir.join("tables"), &control.structure)?;
    let protection = protection.unwrap_or(u64::from(control.threshold));
    let audit = audit::audit(
        &system,
        protection as f64,
        control.suppressed_at_least as f64,
    )?;
    Ok(PackAudit {
        threshold: control.threshold,
        protection,
        floor: control.suppressed_at_least,
        system,
        audit,
    })
}

pub mod measures;

#[cfg(test)]
mod tests;
