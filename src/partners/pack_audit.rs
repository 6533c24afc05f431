//! `sna audit-pack`: written partner packs audited from their files alone (each manifest's
//! `structure` and period and the tables' published counts), as an intruder holding the packs
//! would: one pack, or several together (of overlapping periods, the same events published in
//! two packs are one count: [`System::joint`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::partners::audit::{self, Audit, AuditError};
use crate::partners::pack::Structure;
use crate::partners::structure::{Grid, GridCell, Layout, Period, Release, System};

/// Errors in auditing a pack.
#[derive(Debug, thiserror::Error)]
pub enum PackAuditError {
    /// No readable manifest.
    #[error("{path}: {problem}")]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A table file could not be read.
    #[error("{path}: {problem}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The audit could not be solved.
    #[error("{0}")]
    Audit(#[from] AuditError),
    /// A shareable bundle could not be audited.
    #[error("{0}")]
    Bundle(String),
}

/// The parts of a pack manifest the audit reads.
#[derive(Debug, Deserialize)]
struct Manifest {
    kind: String,
    threshold: u32,
    period_start: String,
    period_end: String,
    structure: Structure,
    #[serde(default)]
    disclosure: Option<Protected>,
}

/// The protection level a pack was written for (above its threshold when an earlier release
/// protected with it had a higher one).
#[derive(Debug, Deserialize)]
struct Protected {
    protection: u64,
}

/// A pack's audit with what it needs to describe its cells.
#[derive(Debug)]
pub struct PackAudit {
    /// The pack's threshold.
    pub threshold: u32,
    /// The protection level audited.
    pub protection: u64,
    /// The floor assumed for suppressed counts.
    pub floor: u64,
    /// The pack's tables as a system of relations.
    pub system: System,
    /// What the audit found.
    pub audit: Audit,
}

/// Audits the pack in `dir` at `protection` (default: the pack's threshold).
pub fn audit_pack(dir: &Path, protection: Option<u64>) -> Result<PackAudit, PackAuditError> {
    audit_packs(&[dir.to_owned()], protection)
}

/// Audits the packs in `dirs` together, as an intruder holding all of them would, at
/// `protection` (default: the largest of their thresholds and the protection levels they were
/// written for).
///
/// A shareable assessment bundle (`sna run --shareable`) records its own structure and is
/// audited on its own.
pub fn audit_packs(dirs: &[PathBuf], protection: Option<u64>) -> Result<PackAudit, PackAuditError> {
    if let Some(bundle) = dirs.iter().find(|dir| is_bundle(dir)) {
        if dirs.len() > 1 {
            return Err(PackAuditError::Bundle(format!(
                "{} is a shareable bundle: it is audited on its own, not with partner packs",
                bundle.display()
            )));
        }
        return crate::bundle::shareable::audit_bundle(bundle, protection)
            .map_err(|e| PackAuditError::Bundle(e.to_string()));
    }
    let mut releases = Vec::new();
    let mut threshold = 0;
    let mut level = 0;
    let mut floor = u64::MAX;
    for dir in dirs {
        let (manifest, period) = read_manifest(dir)?;
        threshold = threshold.max(manifest.threshold);
        level = level
            .max(u64::from(manifest.threshold))
            .max(manifest.disclosure.as_ref().map_or(0, |d| d.protection));
        floor = floor.min(manifest.structure.suppressed_at_least);
        releases.push(Release {
            label: if dirs.len() > 1 {
                format!("{} ({period})", dir.display())
            } else {
                String::new()
            },
            period: Some(period),
            published: true,
            grids: read_grids(dir, &manifest.structure)?,
        });
    }
    let system = System::joint(releases);
    let protection = protection.unwrap_or(level);
    let audit = audit::audit(&system, protection as f64, floor as f64)?;
    Ok(PackAudit {
        threshold,
        protection,
        floor,
        system,
        audit,
    })
}

/// Whether `dir`'s manifest says it is an assessment bundle (an unreadable one is left to
/// [`read_manifest`] to report).
fn is_bundle(dir: &Path) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
    }
    std::fs::read_to_string(dir.join(crate::staging::MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str::<Kind>(&text).ok())
        .is_some_and(|k| k.kind == crate::staging::OutputKind::Bundle.marker())
}

/// The manifest of the pack in `dir`, with its period.
fn read_manifest(dir: &Path) -> Result<(Manifest, Period), PackAuditError> {
    let path = dir.join(crate::staging::MANIFEST);
    let manifest_error = |problem: String| PackAuditError::Manifest {
        path: path.clone(),
        problem,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| manifest_error(format!("cannot read the pack's manifest: {e}")))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        manifest_error(format!(
            "not a partner pack manifest with a `structure` (written by an older sna?): {e}"
        ))
    })?;
    let kind = crate::staging::OutputKind::PartnerPack.marker();
    if manifest.kind != kind {
        return Err(manifest_error(format!(
            "kind is `{}`, not `{kind}`",
            manifest.kind
        )));
    }
    let day = |field: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|e| manifest_error(format!("`{field}` is `{text}`, not a date: {e}")))
    };
    let period = Period {
        start: day("period_start", &manifest.period_start)?,
        end: day("period_end", &manifest.period_end)?,
    };
    Ok((manifest, period))
}

/// The grids of the tables in `dir` as laid out by `structure`.
fn read_grids(dir: &Path, structure: &Structure) -> Result<Vec<Grid>, PackAuditError> {
    let mut grids = Vec::new();
    let mut tables: Vec<&str> = structure.grids.iter().map(|g| g.table.as_str()).collect();
    tables.dedup();
    for table in tables {
        let layouts: Vec<&Layout> = structure
            .grids
            .iter()
            .filter(|g| g.table == table)
            .map(|g| &g.layout)
            .collect();
        let file = dir.join(format!("{table}.parquet"));
        let table_error = |problem: String| PackAuditError::Table {
            path: file.clone(),
            problem,
        };
        let batch = read_parquet(&file).map_err(table_error)?;
        let mut layout = layouts[0].clone();
        layout.counts = structure
            .grids
            .iter()
            .filter(|g| g.table == table)
            .map(|g| g.count.clone())
            .collect();
        grids.extend(grids_of(table, &layout, &batch).map_err(table_error)?);
    }
    Ok(grids)
}

/// Audits the tables in `dir` as laid out by `structure` (a pack being written, before its
/// manifest is) for `period`, together with the `earlier` releases an intruder also holds, at
/// `protection` (default: the threshold). `hint`, the system of true counts the pack was made
/// from, only speeds the audit up: it is matched to the files' cells by table, count and axes
/// and used only where it satisfies every constraint.
pub fn audit_files(
    dir: &Path,
    structure: &Structure,
    threshold: u32,
    protection: Option<u64>,
    hint: Option<&System>,
    period: Option<Period>,
    earlier: Vec<Release>,
) -> Result<PackAudit, PackAuditError> {
    let grids = read_grids(dir, structure)?;
    let mut releases = earlier;
    releases.push(Release {
        label: if releases.is_empty() {
            String::new()
        } else {
            format!("{} (new)", dir.display())
        },
        period,
        published: false,
        grids,
    });
    let system = System::joint(releases);
    let protection = protection.unwrap_or(u64::from(threshold));
    let floor = structure.suppressed_at_least;
    let hint = hint.map(|truth| matched_values(&system, truth));
    let audit = audit::audit_with(
        &system,
        protection as f64,
        floor as f64,
        audit::Options {
            hint: hint.as_deref(),
            ..audit::Options::default()
        },
    )?;
    Ok(PackAudit {
        threshold,
        protection,
        floor,
        system,
        audit,
    })
}

/// The value of each cell of `system`'s new release in `truth` (the same table, count and
/// axes), else its published value (zero when suppressed); an earlier release's suppressed
/// count takes the value of the new count it equals, where there is one.
pub(crate) fn matched_values(system: &System, truth: &System) -> Vec<f64> {
    let key = |s: &System, id: usize| {
        let (g, _) = s.locate(id);
        (
            s.grids[g].table.clone(),
            s.grids[g].count.clone(),
            s.cell(id).axes.clone(),
        )
    };
    let known: std::collections::HashMap<_, u64> = (0..truth.len())
        .map(|id| (key(truth, id), truth.cell(id).value.unwrap_or(0)))
        .collect();
    let mut values: Vec<f64> = (0..system.len())
        .map(|id| {
            let from_truth = if system.fixed(id) {
                None
            } else {
                known.get(&key(system, id)).copied()
            };
            from_truth.or(system.cell(id).value).unwrap_or(0) as f64
        })
        .collect();
    crate::partners::disclosure::fill_from_equal(system, &mut values);
    values
}

pub(crate) fn read_parquet(path: &Path) -> Result<RecordBatch, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let schema = builder.schema().clone();
    let reader = builder
        .build()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    concat_batches(&schema, &batches).map_err(|e| e.to_string())
}

/// The grids of one table (one per count column of `layout`), from its rows: axis values as
/// text, counts, and the `<count>_suppressed` flags when the table has them (a written pack)
/// or none suppressed (a table before disclosure control).
pub fn grids_of(table: &str, layout: &Layout, batch: &RecordBatch) -> Result<Vec<Grid>, String> {
    let schema = batch.schema();
    let column = |name: &str| {
        schema
            .index_of(name)
            .map(|i| batch.column(i))
            .map_err(|_| format!("no column `{name}`, which the layout names"))
    };
    let text = |name: &str| -> Result<Vec<String>, String> {
        let values = cast(column(name)?, &DataType::Utf8).map_err(|e| e.to_string())?;
        let values = values.as_string::<i32>();
        Ok((0..values.len())
            .map(|i| {
                if values.is_null(i) {
                    String::new()
                } else {
                    values.value(i).to_owned()
                }
            })
            .collect())
    };
    let axes: Vec<Vec<String>> = layout
        .axes()
        .into_iter()
        .map(&text)
        .collect::<Result<_, _>>()?;
    let groups = match &layout.groups {
        Some(name) => text(name)?,
        None => vec![String::new(); batch.num_rows()],
    };
    let mut grids = Vec::new();
    for count in &layout.counts {
        let values = cast(column(count)?, &DataType::Int64).map_err(|e| e.to_string())?;
        let values = values.as_primitive::<Int64Type>();
        let flag_name = format!("{count}_suppressed");
        let flags = match schema.index_of(&flag_name) {
            Ok(i) => Some(
                cast(batch.column(i), &DataType::Boolean)
                    .map_err(|e| format!("`{flag_name}`: {e}"))?,
            ),
            Err(_) => None,
        };
        let flags = flags.as_ref().map(|f| f.as_boolean());
        let mut cells = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let value = if values.is_null(i) {
                None
            } else {
                let v = values.value(i);
                Some(
                    u64::try_from(v)
                        .map_err(|_| format!("`{count}` is negative ({v}) on row {}", i + 1))?,
                )
            };
            let suppressed = flags.is_some_and(|f| f.is_valid(i) && f.value(i));
            cells.push(GridCell {
                axes: axes.iter().map(|a| a[i].clone()).collect(),
                group: groups[i].clone(),
                value,
                suppressed,
            });
        }
        grids.push(Grid {
            table: table.to_owned(),
            count: count.clone(),
            layout: Layout {
                counts: vec![count.clone()],
                ..layout.clone()
            },
            cells,
        });
    }
    Ok(grids)
}

/// The audit for people: what was solved, and every exposed cell with its interval.
pub fn report(pack: &PackAudit) -> String {
    let audit = &pack.audit;
    let mut out = String::new();
    let relations = pack.system.relations.len();
    let _ = writeln!(
        out,
        "{} counts in {} tables, {} relations; {} suppressed counts (each known to be at least {}), {} constraints on them, {} linear programs solved.",
        pack.system.len(),
        pack.system.grids.len(),
        relations,
        audit.suppressed,
        pack.floor,
        audit.constraints,
        audit.programs
    );
    if audit.passed() {
        let _ = writeln!(
            out,
            "PASS: every suppressed count's feasible interval is at least {} wide (none recovered exactly).",
            pack.protection
        );
        return out;
    }
    let _ = writeln!(
        out,
        "FAIL: {} suppressed counts recovered exactly, {} more narrowed to an interval under {} wide:",
        audit.exact(),
        audit.exposed.len() - audit.exact(),
        pack.protection
    );
    for exposure in &audit.exposed {
        let what = if exposure.exact() {
            format!("= {}", round(exposure.low))
        } else {
            format!("in [{}, {}]", round(exposure.low), round(exposure.high))
        };
        let _ = writeln!(out, "  {} {what}", pack.system.describe(exposure.cell));
    }
    out
}

fn round(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    format!("{rounded}")
}
