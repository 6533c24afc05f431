//! `sna audit-pack`: a written partner pack audited from its files alone (the manifest's
//! `structure` and the tables' published counts), as an intruder holding the pack would.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::partners::audit::{self, Audit, AuditError};
use crate::partners::pack::Structure;
use crate::partners::structure::{Grid, GridCell, Layout, System};

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
}

/// The parts of a pack manifest the audit reads.
#[derive(Debug, Deserialize)]
struct Manifest {
    kind: String,
    threshold: u32,
    structure: Structure,
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
    audit_files(
        dir,
        &manifest.structure,
        manifest.threshold,
        protection,
        None,
    )
}

/// Audits the tables in `dir` as laid out by `structure` (a pack's files, or a pack being
/// written before its manifest is), at `protection` (default: the threshold). `hint`, the
/// system of true counts the pack was made from, only speeds the audit up: it is matched to the
/// files' cells by table, count and axes and used only where it satisfies every constraint.
pub fn audit_files(
    dir: &Path,
    structure: &Structure,
    threshold: u32,
    protection: Option<u64>,
    hint: Option<&System>,
) -> Result<PackAudit, PackAuditError> {
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
    let system = System::new(grids);
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

/// The value of each cell of `system` in `truth` (the same table, count and axes), else its
/// published value (zero when suppressed).
fn matched_values(system: &System, truth: &System) -> Vec<f64> {
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
    (0..system.len())
        .map(|id| {
            known
                .get(&key(system, id))
                .copied()
                .or(system.cell(id).value)
                .unwrap_or(0) as f64
        })
        .collect()
}

fn read_parquet(path: &Path) -> Result<RecordBatch, String> {
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
