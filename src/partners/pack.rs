//! `sna export --partner`: the partner pack, an aggregate-only extract that a community safety
//! partnership, council or health analyst may hold.
//!
//! Each table is an SQL file in `queries/partner/` whose metadata declares its layout
//! (`disclosure = "panel=... rows=... columns=... counts=..."`); the SQL returns every cell of
//! the grid, zeros included, with its Total row, Total column and grand total. Counts then go
//! through [`disclosure::suppress`]: small counts and their complements are withheld (null,
//! with `<count>_suppressed` true). The pack holds no identifiers, no row-level records and no
//! timestamps; the writer refuses a table that would. A table the extract cannot support
//! ([`capability::possible`]) is not written; the manifest and README list it with why.

use crate::engine::jobs::{self, JobError, JobResult};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use serde::Serialize;

use crate::config::Config;
use crate::engine::capability::{self, NotPossible};
use crate::engine::catalog::{self, CatalogError};
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, TableFiles, sha256_file, write_json, write_text};
use crate::partners::disclosure::{self, Cell};
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
        problem: &'static str,
    },
    /// The pack directory could not be staged or published.
    #[error("{0}")]
    Staging(#[from] StagingError),
    /// A table file could not be written or hashed.
    #[error("{0}")]
    Output(#[from] OutputError),
}

/// How a pack table is laid out for disclosure control.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Columns identifying a panel (an independent grid).
    pub panel: Vec<String>,
    /// The column whose values are the grid's rows (with a `Total` row).
    pub rows: String,
    /// The column whose values are the grid's columns (with a `Total` column).
    pub columns: String,
    /// The count columns to protect.
    pub counts: Vec<String>,
    /// A column grouping rows whose sums are published in another table of the pack (e.g.
    /// `district` in the LSOA table), protected as relations too.
    pub groups: Option<String>,
}

impl Layout {
    /// Parses `panel=a,b rows=r columns=c counts=n` (panel optional).
    pub fn parse(text: &str) -> Result<Layout, String> {
        let mut layout = Layout {
            panel: Vec::new(),
            rows: String::new(),
            columns: String::new(),
            counts: Vec::new(),
            groups: None,
        };
        for part in text.split_whitespace() {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let list = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
            match key {
                "panel" => layout.panel = list(),
                "rows" => layout.rows = value.to_owned(),
                "columns" => layout.columns = value.to_owned(),
                "counts" => layout.counts = list(),
                "groups" => layout.groups = Some(value.to_owned()),
                other => return Err(format!("unknown layout key `{other}`")),
            }
        }
        if layout.rows.is_empty() || layout.columns.is_empty() || layout.counts.is_empty() {
            return Err("the layout needs rows=, columns= and counts=".to_owned());
        }
        Ok(layout)
    }
}

/// One table of a written pack, as recorded in its manifest.
#[derive(Debug, Clone, Serialize)]
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
    /// The serious-violence definition (of the extract's form).
    pub definition: String,
    /// Every table written.
    pub tables: Vec<PackTable>,
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
}

/// Writes the partner pack for `config`'s period into `out`.
pub async fn export(
    config: &Config,
    queries: &QuerySet,
    out: &Path,
    threshold: u32,
) -> Result<PackManifest, PackError> {
    let config = &*crate::cache::outside(config, out);
    let staging = Staging::new(out, OutputKind::PartnerPack, &[&config.data_dir])?;
    // The same checks as `sna run`: a pack of an extract with data errors, or of a period
    // with no offences (every count a zero), is not written.
    let report = crate::sources::validate::validate(config, &config.data_dir).await?;
    crate::bundle::assess::ensure_usable(&report, &config.data_dir)
        .map_err(|e| PackError::Unusable(Box::new(e)))?;
    let catalog =
        catalog::open(config, &config.data_dir, queries, catalog::ViewMode::Cached).await?;
    let mut writer = Suppressing {
        threshold: u64::from(threshold),
        inputs: catalog.input_paths(),
        tables: Vec::new(),
    };
    // Only the tables these data support are written; the others are listed with why.
    let all: Vec<&SqlFile> = queries.partner.iter().collect();
    let (jobs, not_possible) =
        capability::possible(&all, queries, &catalog.available).map_err(PackError::Job)?;
    let form = catalog.available.form;
    jobs::run_all_with(
        &catalog.ctx,
        &jobs,
        staging.path(),
        &mut writer,
        &mut |_| {},
    )
    .await
    .map_err(|e| match e {
        JobError::Writer(inner) => match inner.downcast::<PackError>() {
            Ok(pack) => *pack,
            Err(other) => PackError::Job(JobError::Writer(other)),
        },
        other => PackError::Job(other),
    })?;
    let tables = writer.tables;
    let mut manifest = PackManifest {
        kind: OutputKind::PartnerPack.marker(),
        tool: crate::readable::tool(),
        title: config.title.clone(),
        period_start: config.start.to_string(),
        period_end: config.end.to_string(),
        threshold,
        form,
        definition: config.serious_violence.describe_for(form),
        tables,
        not_possible,
        created_at: chrono::Utc::now().to_rfc3339(),
        files: Vec::new(),
        replaced_in_two_steps: false,
    };
    write_readme(staging.path(), queries, &manifest)?;
    manifest.files = staging.files()?;
    let path = staging.path().join(PACK_MANIFEST);
    write_json(&path, &manifest)?;
    manifest.replaced_in_two_steps = staging.publish()?.gap;
    Ok(manifest)
}

/// The pack's [`jobs::Writer`]: each partner table through disclosure control, then written.
struct Suppressing {
    threshold: u64,
    inputs: Vec<PathBuf>,
    tables: Vec<PackTable>,
}

impl jobs::Writer for Suppressing {
    async fn write(
        &mut self,
        ctx: &datafusion::prelude::SessionContext,
        job: &SqlFile,
        dir: &Path,
    ) -> Result<JobResult, JobError> {
        let started = std::time::Instant::now();
        let writing = write_table(ctx, job, dir, self.threshold);
        let inputs = &self.inputs;
        let table = catalog::guarded(inputs, writing)
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
        let result = JobResult::of(job, table.rows as u64, started);
        self.tables.push(table);
        Ok(result)
    }
}

async fn write_table(
    ctx: &datafusion::prelude::SessionContext,
    file: &SqlFile,
    dir: &Path,
    threshold: u64,
) -> Result<PackTable, PackError> {
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
    check_shareable(&file.name, &schema)?;

    let text_column = |name: &str| -> Result<Vec<String>, PackError> {
        let index = schema.index_of(name).map_err(|_| {
            layout_error(format!(
                "layout names column `{name}`, which the query does not return"
            ))
        })?;
        let column = cast(batch.column(index), &DataType::Utf8).map_err(|e| sql_error(e.into()))?;
        let column = column.as_string::<i32>();
        Ok((0..column.len())
            .map(|i| {
                if column.is_null(i) {
                    String::new()
                } else {
                    column.value(i).to_owned()
                }
            })
            .collect())
    };
    let panel_parts: Vec<Vec<String>> = layout
        .panel
        .iter()
        .map(|c| text_column(c))
        .collect::<Result<_, _>>()?;
    let panels: Vec<String> = (0..batch.num_rows())
        .map(|i| {
            panel_parts
                .iter()
                .map(|p| p[i].as_str())
                .collect::<Vec<_>>()
                .join("\u{1f}")
        })
        .collect();
    let rows = text_column(&layout.rows)?;
    let columns = text_column(&layout.columns)?;
    let groups = match &layout.groups {
        Some(column) => text_column(column)?,
        None => vec![String::new(); batch.num_rows()],
    };

    let mut fields: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut suppressed_cells = 0;
    for (index, field) in schema.fields().iter().enumerate() {
        if !layout.counts.contains(field.name()) {
            fields.push(field.as_ref().clone());
            arrays.push(Arc::clone(batch.column(index)));
            continue;
        }
        let counts =
            cast(batch.column(index), &DataType::Int64).map_err(|e| sql_error(e.into()))?;
        let counts = counts.as_primitive::<Int64Type>();
        let cells: Vec<Cell> = (0..batch.num_rows())
            .map(|i| Cell {
                panel: panels[i].clone(),
                group: groups[i].clone(),
                row: rows[i].clone(),
                column: columns[i].clone(),
                count: (!counts.is_null(i)).then(|| u64::try_from(counts.value(i)).unwrap_or(0)),
            })
            .collect();
        let flags = disclosure::suppress(&cells, threshold);
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
    let out =
        RecordBatch::try_new(Arc::clone(&out_schema), arrays).map_err(|e| sql_error(e.into()))?;

    let mut files = TableFiles::create(dir, &file.name, Arc::clone(&out_schema))?;
    files.write(&out)?;
    let (_, csv_path, parquet_path) = files.finish()?;
    Ok(PackTable {
        name: file.name.clone(),
        title: file.title(),
        rows: out.num_rows(),
        suppressed: suppressed_cells,
        parquet_sha256: sha256_file(&parquet_path)?.0,
        csv_sha256: sha256_file(&csv_path)?.0,
    })
}

/// Refuses identifier columns and timestamps: a pack holds aggregates only.
fn check_shareable(table: &str, schema: &Schema) -> Result<(), PackError> {
    for field in schema.fields() {
        let name = field.name();
        let problem = if name.ends_with("_id") || name == "patient" || name == "person" {
            Some("looks like an identifier")
        } else if matches!(
            field.data_type(),
            DataType::Timestamp(_, _) | DataType::Date64
        ) {
            Some("is a timestamp (finer than the hour)")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(PackError::Disclosive {
                table: table.to_owned(),
                column: name.clone(),
                problem,
            });
        }
    }
    Ok(())
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
    let _ = writeln!(
        out,
        "## Disclosure control\n\nThis pack holds aggregate counts only: no person or crime identifiers, no \
         row-level records and no timestamps finer than the hour. Counts from 1 to {} are suppressed \
         (published as empty, with the matching `_suppressed` column true). Each table is a set of \
         grids with Total rows, Total columns and grand totals; wherever a suppressed count could be \
         worked out from its row, column or grand total, further counts are suppressed too (secondary \
         suppression), so no suppressed value can be recovered by differencing within a table. \
         Zero counts are published. Residents are population estimates and are not suppressed.\n",
        manifest.threshold.saturating_sub(1)
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

    #[test]
    fn layout_lines_parse() {
        let layout =
            Layout::parse("panel=role,sex rows=district columns=age_band counts=persons").unwrap();
        assert_eq!(layout.panel, vec!["role", "sex"]);
        assert_eq!(layout.rows, "district");
        assert_eq!(layout.counts, vec!["persons"]);
        assert!(
            Layout::parse("rows=a counts=n")
                .unwrap_err()
                .contains("columns=")
        );
        assert!(
            Layout::parse("rows=a colums=b counts=n")
                .unwrap_err()
                .contains("colums")
        );
    }

    #[test]
    fn identifiers_and_timestamps_are_refused() {
        let schema = Schema::new(vec![Field::new("person_id", DataType::Utf8, true)]);
        assert!(
            check_shareable("t", &schema)
                .unwrap_err()
                .to_string()
                .contains("identifier")
        );
        let schema = Schema::new(vec![Field::new(
            "at",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
            true,
        )]);
        assert!(
            check_shareable("t", &schema)
                .unwrap_err()
                .to_string()
                .contains("timestamp")
        );
    }
}
