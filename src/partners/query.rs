//! Partner queries: analysts' own SQL over the same tables, views and functions that `sna run`
//! uses, read-only unless writing is allowed, with results as an aligned table, CSV, JSON lines
//! or Parquet.
//!
//! A query session opens either an extract (the contract files, reference lookups, parameters
//! and views of `queries/views`) or a partner pack written by `sna export --partner` (its
//! aggregate tables and the reference lookups; the row-level views are absent).

use crate::partners::pack;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use crate::config::Config;
use crate::engine::catalog::{self, CatalogError};
use crate::engine::queries::QuerySet;

mod listing;

pub use listing::*;

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table with the row count and elapsed time.
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON lines: one object per row.
    Json,
    /// Parquet (needs an output file).
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Format as clap::ValueEnum>::from_str(s, false)
            .map_err(|_| format!("unknown format \"{s}\"; use table, csv, json or parquet"))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = clap::ValueEnum::to_possible_value(self).expect("no variant is skipped");
        f.write_str(value.get_name())
    }
}

/// Errors of a query session.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The data could not be opened.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// The SQL could not be parsed, planned or run; DataFusion's message gives the position
    /// where it has one.
    #[error("{0}")]
    Sql(#[source] DataFusionError),
    /// The query ran out of the memory it was given.
    #[error(
        "the query needs more memory than the memory limit of {limit:.1} MiB allows, even spilling to disk ({detail}). Raise `memory_limit` in sna.toml, or narrow the query",
        limit = *.limit_bytes as f64 / f64::from(1 << 20)
    )]
    MemoryExhausted {
        /// The memory limit.
        limit_bytes: usize,
        /// What DataFusion said: its `ResourcesExhausted` error, at the root of the error it
        /// returned, carries only this text.
        detail: String,
    },
    /// A partner pack was asked for a table of row-level data, which it does not hold.
    #[error(
        "{source}\n`{name}` needs row-level data, which a partner pack does not hold; use the pack's aggregate tables (`sna tables --data PACK` lists them)"
    )]
    RowLevel {
        /// The table asked for.
        name: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// An expression nested deeper than [`MAX_EXPRESSION_DEPTH`].
    #[error(
        "refused: an expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep (a chain of {MAX_EXPRESSION_DEPTH} or more OR or AND terms, say); write a long list of alternatives as `column IN (a, b, c, ...)`"
    )]
    TooDeep,
    /// A statement that writes or changes the catalogue, without `--allow-write`.
    #[error(
        "refused: `{statement}` would write files or change the catalogue, and queries are read-only; add --allow-write to run it"
    )]
    Refused {
        /// The statement, shortened.
        statement: String,
    },
    /// Parquet output needs a file.
    #[error("--format parquet needs --output PATH")]
    ParquetNeedsOutput,
    /// The output file is one the query reads, or cannot be a file.
    #[error("{0}")]
    OutputRefused(#[from] crate::output::OutputRefused),
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong: an I/O, CSV, JSON, Arrow or Parquet error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The deepest expression a query may nest (a chain of `a OR b OR c …` counts one level per
/// operator). Planning recurses over the expression tree, slower than linearly: deeper
/// expressions are refused with a message instead of running for minutes or exhausting the
/// stack. A long list of alternatives is better written `x IN (a, b, c, …)`, which is flat.
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// The deepest nesting of expressions in `statement`, stopping once past the limit.
fn expression_depth(statement: &datafusion::sql::sqlparser::ast::Statement) -> usize {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    use std::ops::ControlFlow;
    struct Depth {
        current: usize,
        deepest: usize,
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.current += 1;
            self.deepest = self.deepest.max(self.current);
            if self.current > MAX_EXPRESSION_DEPTH {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.current -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut depth = Depth {
        current: 0,
        deepest: 0,
    };
    let _ = statement.visit(&mut depth);
    depth.deepest
}

/// An open query session.
pub struct QuerySession {
    /// The DataFusion session.
    pub ctx: SessionContext,
    /// True when the data is a partner pack.
    pub is_pack: bool,
    allow_write: bool,
    /// Files and directories the session reads, which an `--output` may not replace.
    reads: Vec<PathBuf>,
    /// The configuration it was opened with.
    config: Config,
    /// The Parquet files behind the tables, to name the one that cannot be decoded.
    inputs: Vec<PathBuf>,
    /// The tables and views a partner pack does not hold (see [`pack::row_level_names`]).
    row_level: Vec<String>,
    /// Tables and views that stand in empty for, or read, a source the extract does not hold,
    /// each with that source: a query reading them counts nothing.
    stand_ins: Vec<(String, String)>,
}

impl QuerySession {
    /// Opens the extract or partner pack in `data_dir`.
    pub async fn open(
        config: &Config,
        data_dir: &Path,
        queries: &QuerySet,
        allow_write: bool,
    ) -> Result<QuerySession, QueryError> {
        if pack::is_pack(data_dir) {
            let ctx = catalog::new_context(config)?;
            catalog::register_reference(&ctx, catalog::own_lsoa_lookup(data_dir).await?)?;
            let mut tables: Vec<PathBuf> = std::fs::read_dir(data_dir)
                .map_err(|e| QueryError::Write {
                    path: data_dir.to_path_buf(),
                    source: e.into(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect();
            tables.sort();
            let inputs = tables.clone();
            for path in tables {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                catalog::register_parquet(&ctx, &name, &path).await?;
            }
            Ok(QuerySession {
                ctx,
                is_pack: true,
                allow_write,
                reads: vec![data_dir.to_path_buf()],
                config: config.clone(),
                inputs,
                row_level: pack::row_level_names(queries),
                stand_ins: Vec::new(),
            })
        } else {
            let catalog = catalog::open(config, data_dir, queries, catalog::ViewMode::Lazy).await?;
            let inputs = catalog.input_paths();
            let stand_ins = stand_ins(&catalog.available, queries);
            Ok(QuerySession {
                ctx: catalog.ctx,
                is_pack: false,
                allow_write,
                reads: vec![data_dir.to_path_buf(), config.queries_dir.clone()],
                config: config.clone(),
                inputs,
                row_level: Vec::new(),
                stand_ins,
            })
        }
    }

    /// A note for a query that reads a source the extract does not hold (directly or through
    /// a view): its stand-in is empty, so what it counts is not measured.
    pub fn stand_in_note(&self, sql: &str) -> Option<String> {
        let refs = crate::engine::jobs::references(sql).ok()?;
        let mut names = Vec::new();
        let mut sources = std::collections::BTreeSet::new();
        for (name, source) in &self.stand_ins {
            if refs.contains(name) {
                names.push(name.as_str());
                sources.insert(source.as_str());
            }
        }
        (!names.is_empty()).then(|| {
            format!(
                "note: {} read{} {}, which this extract does not hold: an empty stand-in, so what it counts is not measured",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" },
                sources.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Records another file the session reads (the SQL file, the configuration), which an
    /// `--output` may not replace.
    pub fn reads(&mut self, path: &Path) {
        self.reads.push(path.to_path_buf());
    }

    /// Refuses an output path that is a directory, or is or lies inside anything the session
    /// reads.
    pub fn check_output(&self, path: &Path) -> Result<(), QueryError> {
        let reads: Vec<PathBuf> = self.reads.iter().chain(&self.inputs).cloned().collect();
        Ok(crate::output::check_result_path(path, &reads)?)
    }

    /// Parses `sql` into statements, plans each and checks it is allowed; returns each
    /// statement's text with its DataFrame, in order. Statements run when their DataFrame is
    /// executed, so later statements see the effect of earlier ones only when written with
    /// `--allow-write`.
    pub async fn plan(&self, sql: &str) -> Result<Vec<(String, DataFrame)>, QueryError> {
        let statements = DFParser::parse_sql(sql).map_err(QueryError::Sql)?;
        for statement in &statements {
            if let datafusion::sql::parser::Statement::Statement(inner) = statement
                && expression_depth(inner) > MAX_EXPRESSION_DEPTH
            {
                return Err(QueryError::TooDeep);
            }
        }
        let options = SQLOptions::new()
            .with_allow_ddl(self.allow_write)
            .with_allow_dml(self.allow_write)
            .with_allow_statements(self.allow_write);
        let mut planned = Vec::new();
        for statement in statements {
            let text = statement.to_string();
            let state = self.ctx.state();
            let plan = state
                .statement_to_plan(statement)
                .await
                .map_err(|e| self.explain(e))?;
            if options.verify_plan(&plan).is_err() {
                return Err(QueryError::Refused {
                    statement: shorten(&text),
                });
            }
            let df = self
                .ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| self.explain(e))?;
            planned.push((text, df));
        }
        Ok(planned)
    }

    /// DataFusion's error, named for what it means: memory exhausted, a file that cannot be
    /// decoded, or a row-level table that a partner pack does not hold.
    pub fn explain(&self, error: DataFusionError) -> QueryError {
        if let Some(detail) = catalog::memory_exhausted(&error) {
            return QueryError::MemoryExhausted {
                limit_bytes: self.config.memory_limit_bytes(),
                detail,
            };
        }
        if catalog::is_decode_failure(&error)
            && let Some((path, source)) = catalog::find_unreadable(&self.inputs)
        {
            return QueryError::Catalog(CatalogError::Unreadable { path, source });
        }
        if self.is_pack
            && let Some(name) = missing_table(&error)
                .and_then(|missing| self.row_level.iter().find(|name| **name == missing))
        {
            return QueryError::RowLevel {
                name: name.clone(),
                source: error,
            };
        }
        QueryError::Sql(error)
    }
}

/// The table that `error` says does not exist. DataFusion has no type for a missing table: it
/// is a planning error whose only content is its text, `table 'datafusion.public.x' not found`,
/// so that text is read (the last part of the name, as written or resolved).
fn missing_table(error: &DataFusionError) -> Option<&str> {
    match error.find_root() {
        DataFusionError::Plan(text) => text
            .strip_prefix("table '")?
            .strip_suffix("' not found")?
            .rsplit('.')
            .next(),
        _ => None,
    }
}

fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

impl QuerySession {
    /// Runs `work`, turning a panic that reaches it into an error. DataFusion re-raises a
    /// worker's panic (the Parquet decoder meeting corrupt pages panics) in the thread that
    /// polls the stream, where it would end the process without a word; here it becomes an
    /// error that [`QuerySession::explain`] can trace to the file.
    pub async fn guarded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, QueryError>>,
    ) -> Result<T, QueryError> {
        use futures::FutureExt;
        match std::panic::AssertUnwindSafe(work).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(self.explain(DataFusionError::Execution(format!(
                "a query worker panicked: {}",
                crate::text::panic_message(panic.as_ref())
            )))),
        }
    }
}

/// Plans `sql` and writes each statement's result in `format` to `out`, or the one result to
/// the file `output`; with several statements in table format each result is headed by its
/// statement. What `sna query` and `sna shell` both run.
pub async fn exec_and_print(
    session: &QuerySession,
    sql: &str,
    format: Format,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Vec<Written>, QueryError> {
    let planned = session.plan(sql).await?;
    let many = planned.len() > 1;
    if let Some(path) = output
        && many
    {
        return Err(crate::output::OutputRefused {
            path: path.to_path_buf(),
            reason: format!(
                "takes the result of one statement, and {} were given",
                planned.len()
            ),
        }
        .into());
    }
    let mut written = Vec::new();
    for (text, df) in planned {
        if many && format == Format::Table {
            writeln!(out, "{text}").map_err(|e| QueryError::Write {
                path: PathBuf::from("standard output"),
                source: e.into(),
            })?;
        }
        written.push(write_result(session, df, format, output, out).await?);
    }
    Ok(written)
}

/// What writing one result did.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Rows written.
    pub rows: usize,
    /// Seconds from execution to the last row.
    pub seconds: f64,
}

/// Executes `df` and writes its result in `format` to `out` (or to the file `output` when
/// given). Parquet needs `output`.
pub async fn write_result(
    session: &QuerySession,
    df: DataFrame,
    format: Format,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Written, QueryError> {
    session
        .guarded(write_unguarded(session, df, format, output, out))
        .await
}

async fn write_unguarded(
    session: &QuerySession,
    df: DataFrame,
    format: Format,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Written, QueryError> {
    let started = Instant::now();
    if format == Format::Parquet && output.is_none() {
        return Err(QueryError::ParquetNeedsOutput);
    }
    if let Some(path) = output {
        session.check_output(path)?;
    }
    let mut stream = df.execute_stream().await.map_err(|e| session.explain(e))?;
    let schema = stream.schema();
    let write_error =
        |path: &Path, e: Box<dyn std::error::Error + Send + Sync>| QueryError::Write {
            path: path.to_path_buf(),
            source: e,
        };
    let stdout_path = PathBuf::from("standard output");
    // A result file is staged and put in place only when the whole result is written (see
    // `ResultFile`): a query that fails part-way leaves the previous file as it was.
    let mut temp = match output {
        Some(path) => {
            Some(crate::output::ResultFile::create(path).map_err(|e| write_error(path, e.into()))?)
        }
        None => None,
    };
    let parquet_file = match (&mut temp, format, output) {
        (Some(file), Format::Parquet, Some(path)) => Some(
            file.file()
                .try_clone()
                .map_err(|e| write_error(path, e.into()))?,
        ),
        _ => None,
    };
    let mut file_sink = match (&mut temp, format) {
        (Some(file), f) if f != Format::Parquet => Some(std::io::BufWriter::new(file.file())),
        _ => None,
    };
    let sink: &mut dyn Write = match &mut file_sink {
        Some(file) => file,
        None => out,
    };
    let target = output.unwrap_or(&stdout_path);
    let mut rows = 0;
    match format {
        Format::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| session.explain(e))?;
                rows += batch.num_rows();
                batches.push(batch);
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(Arc::clone(&schema)));
            }
            let table = arrow::util::pretty::pretty_format_batches(&batches)
                .map_err(|e| write_error(target, e.into()))?
                .to_string();
            let seconds = started.elapsed().as_secs_f64();
            // The table is for reading: values that would act on a terminal are escaped.
            let table = crate::text::printable(&table);
            writeln!(sink, "{table}\n{rows} row(s) in {seconds:.3} s")
                .map_err(|e| write_error(target, e.into()))?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *sink);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| session.explain(e))?;
                rows += batch.num_rows();
                writer
                    .write(&batch)
                    .map_err(|e| write_error(target, e.into()))?;
                wrote = true;
            }
            if !wrote {
                writer
                    .write(&RecordBatch::new_empty(Arc::clone(&schema)))
                    .map_err(|e| write_error(target, e.into()))?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *sink);
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| session.explain(e))?;
                rows += batch.num_rows();
                writer
                    .write(&batch)
                    .map_err(|e| write_error(target, e.into()))?;
            }
            writer.finish().map_err(|e| write_error(target, e.into()))?;
        }
        Format::Parquet => {
            let path = output.ok_or(QueryError::ParquetNeedsOutput)?;
            let file = parquet_file.ok_or(QueryError::ParquetNeedsOutput)?;
            let standard = crate::output::parquet_schema(&schema);
            let mut writer = ArrowWriter::try_new(file, Arc::clone(&standard), None)
                .map_err(|e| write_error(path, e.into()))?;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| session.explain(e))?;
                rows += batch.num_rows();
                let batch = crate::output::to_parquet_batch(&batch, &standard)
                    .map_err(|e| write_error(path, e.into()))?;
                writer
                    .write(&batch)
                    .map_err(|e| write_error(path, e.into()))?;
            }
            writer.close().map_err(|e| write_error(path, e.into()))?;
        }
    }
    sink.flush().map_err(|e| write_error(target, e.into()))?;
    drop(file_sink);
    if let (Some(file), Some(path)) = (temp, output) {
        file.commit().map_err(|e| write_error(path, e.into()))?;
    }
    Ok(Written {
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests;

/// The tables and views of an extract that stand in empty for a source it does not hold, or
/// read one (through views, to any depth), each with that source.
fn stand_ins(
    available: &crate::engine::capability::Available,
    queries: &QuerySet,
) -> Vec<(String, String)> {
    use crate::engine::capability::Capability;
    let missing: Vec<&str> = crate::sources::contract::optional_sources()
        .filter(|s| Capability::of_source(s).is_some_and(|c| !available.has(c)))
        .collect();
    let mut out: Vec<(String, String)> = missing
        .iter()
        .map(|s| ((*s).to_owned(), (*s).to_owned()))
        .collect();
    for view in queries.views_for(available.form) {
        let Some(name) = crate::engine::jobs::view_name(&view.sql) else {
            continue;
        };
        let sources = crate::engine::jobs::sources(&view.sql, queries).unwrap_or_default();
        if let Some(source) = missing.iter().find(|s| sources.contains(**s)) {
            out.push((name.to_ascii_lowercase(), (*source).to_owned()));
        }
    }
    out
}
