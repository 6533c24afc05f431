//! The job runner: SQL jobs run in the order their dependencies require, each streamed into
//! `tables/<job>.csv` and `.parquet`, registered so later jobs can read it, and checked
//! against the tests its metadata declares. Used by `sna run` and `sna refresh`.
//!
//! Dependencies are read from the SQL itself by DataFusion's parser (the tables and views a
//! statement reads, its own CTEs left out), as dbt reads `ref()`: a job that reads another
//! job's table runs after it whatever the file names, a reference to nothing is an error
//! naming the job and the missing name, and a cycle is an error naming both jobs.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::MemoryLimit;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use futures::StreamExt;
use serde::Serialize;

use crate::engine::catalog::{self, CatalogError};
use crate::engine::metadata::{Column, TableTest};
use crate::engine::queries::{QuerySet, SqlFile};
use crate::output::{OutputError, TableFiles};
use crate::text::printable;

/// Errors of running jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A job's SQL failed.
    #[error("job {job} (queries/{file}): {source}")]
    Sql {
        /// The job name.
        job: String,
        /// Its file.
        file: String,
        /// DataFusion's error.
        #[source]
        source: DataFusionError,
    },
    /// A job's SQL ran out of the memory the session was given.
    #[error(
        "job {job} (queries/{file}) needs more memory than the memory limit{} allows, even spilling to disk up to 8 times the limit ({detail}). Raise `memory_limit` in sna.toml, or narrow the job",
        limit_bytes.map(|b| format!(" of {:.1} MiB", b as f64 / f64::from(1 << 20))).unwrap_or_default()
    )]
    MemoryExhausted {
        /// The job name.
        job: String,
        /// Its file.
        file: String,
        /// The session's memory limit, when it has a finite one.
        limit_bytes: Option<usize>,
        /// What DataFusion said: its `ResourcesExhausted` error carries only this text.
        detail: String,
    },
    /// A job or view reads a table that is neither an input, a view nor a job.
    #[error("queries/{file} reads `{name}`, which is no input table, view or job of this run")]
    MissingDependency {
        /// The SQL file.
        file: String,
        /// The name it reads.
        name: String,
    },
    /// Jobs or views read each other in a circle.
    #[error("queries/{first} and queries/{second} read each other: neither can run first")]
    Cycle {
        /// One file of the cycle.
        first: String,
        /// The file it waits for.
        second: String,
    },
    /// A result failed a test of its metadata.
    #[error("job {job}: {test} fails: {found} (tests in queries/{meta})")]
    Test {
        /// The job.
        job: String,
        /// The metadata file.
        meta: String,
        /// The test, e.g. `column share_pct: max = 100`.
        test: String,
        /// What was found, e.g. `104.2`.
        found: String,
    },
    /// A test of a result's metadata could not be run.
    #[error(
        "job {job}: {test} fails: could not check it: {} (tests in queries/{meta})",
        printable(&source.to_string())
    )]
    Untestable {
        /// The job.
        job: String,
        /// The metadata file.
        meta: String,
        /// The test.
        test: String,
        /// DataFusion's error.
        source: DataFusionError,
    },
    /// A writer other than the runner's own failed (e.g. the partner pack's disclosure
    /// control).
    #[error("{0}")]
    Writer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A result could not be written.
    #[error("{0}")]
    Output(#[from] OutputError),
    /// A result could not be registered for later jobs.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
}

/// What a job did, for the terminal and the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct JobResult {
    /// Job (table) name.
    pub job: String,
    /// SQL file relative to the queries directory.
    pub file: String,
    /// SHA-256 of the SQL text.
    pub sql_sha256: String,
    /// SHA-256 of the metadata beside it, when there is metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_sha256: Option<String>,
    /// Rows written.
    pub rows: u64,
    /// Seconds taken.
    pub seconds: f64,
}

impl JobResult {
    /// What `job` did: `rows` written since `started`, with the hashes of its files.
    pub fn of(job: &SqlFile, rows: u64, started: Instant) -> JobResult {
        JobResult {
            job: job.name.clone(),
            file: job.relative_path.clone(),
            sql_sha256: job.sha256(),
            metadata_sha256: job.meta_sha256(),
            rows,
            seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }
}

/// The lower-case names of the tables and views `sql` reads, its own CTEs and the view it
/// creates left out.
pub fn references(sql: &str) -> Result<BTreeSet<String>, DataFusionError> {
    let mut out = BTreeSet::new();
    for statement in DFParser::parse_sql(sql)? {
        let (tables, _ctes) = datafusion::sql::resolve::resolve_table_references(&statement, true)?;
        // Tables of another schema (`information_schema.tables`) are DataFusion's, not jobs,
        // views or inputs: left to DataFusion to resolve.
        out.extend(
            tables
                .iter()
                .filter(|t| t.schema().is_none_or(|s| s.eq_ignore_ascii_case("public")))
                .map(|t| t.table().to_ascii_lowercase()),
        );
        if let datafusion::sql::parser::Statement::Statement(s) = &statement
            && let datafusion::sql::sqlparser::ast::Statement::CreateView(view) = s.as_ref()
        {
            out.remove(&view.name.to_string().trim_matches('"').to_ascii_lowercase());
        }
    }
    Ok(out)
}

/// The input tables of the data contract (`offences`, `persons`, ...) that `sql` reads,
/// directly or through the views and jobs of `queries` (and what they read), in name order.
/// What a job needs is read from its SQL, so it cannot disagree with what it does.
pub fn sources(sql: &str, queries: &QuerySet) -> Result<BTreeSet<String>, DataFusionError> {
    let inputs: Vec<&str> = crate::sources::contract::TABLES
        .iter()
        .map(|t| t.name)
        .collect();
    // Every definition of a name: a view of either form (what a view reads in the open-data
    // form counts too), or a job.
    let definitions = |name: &str| -> Vec<&SqlFile> {
        let views: Vec<&SqlFile> = queries
            .views
            .iter()
            .chain(&queries.open_data_views)
            .filter(|v| view_name(&v.sql).is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .collect();
        if views.is_empty() {
            queries
                .jobs
                .iter()
                .filter(|j| j.name.eq_ignore_ascii_case(name))
                .collect()
        } else {
            views
        }
    };
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = references(sql)?.into_iter().collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if inputs.contains(&name.as_str()) {
            out.insert(name);
        } else {
            for definition in definitions(&name) {
                todo.extend(references(&definition.sql)?);
            }
        }
    }
    Ok(out)
}

/// The name in `CREATE VIEW name AS ...`, as the parser reads it.
pub fn view_name(sql: &str) -> Option<String> {
    for statement in DFParser::parse_sql(sql).ok()? {
        if let datafusion::sql::parser::Statement::Statement(s) = &statement
            && let datafusion::sql::sqlparser::ast::Statement::CreateView(view) = s.as_ref()
        {
            return Some(view.name.to_string().trim_matches('"').to_owned());
        }
    }
    None
}

/// `jobs` (or views) in an order in which each comes after those whose tables it reads (file
/// order otherwise). `name_of` gives the table each creates; `known` says whether a name is
/// a table that exists already.
pub fn ordered<'a>(
    jobs: &[&'a SqlFile],
    name_of: &dyn Fn(&SqlFile) -> String,
    known: &dyn Fn(&str) -> bool,
) -> Result<Vec<&'a SqlFile>, JobError> {
    let names: Vec<String> = jobs
        .iter()
        .map(|j| name_of(j).to_ascii_lowercase())
        .collect();
    let mut needs: Vec<Vec<usize>> = Vec::new();
    for job in jobs {
        let refs = references(&job.sql).map_err(|source| JobError::Sql {
            job: job.name.clone(),
            file: job.relative_path.clone(),
            source,
        })?;
        let mut deps = Vec::new();
        for name in refs {
            // An existing table wins over a job of the same name (see `run_all`).
            if known(&name) {
                continue;
            }
            if let Some(i) = names.iter().position(|n| *n == name) {
                deps.push(i);
            } else {
                return Err(JobError::MissingDependency {
                    file: job.relative_path.clone(),
                    name,
                });
            }
        }
        needs.push(deps);
    }
    // Depth-first, visiting in file order: 0 new, 1 on the path, 2 done.
    fn visit(
        i: usize,
        needs: &[Vec<usize>],
        state: &mut [u8],
        out: &mut Vec<usize>,
        jobs: &[&SqlFile],
    ) -> Result<(), JobError> {
        state[i] = 1;
        for &d in &needs[i] {
            match state[d] {
                0 => visit(d, needs, state, out, jobs)?,
                1 => {
                    return Err(JobError::Cycle {
                        first: jobs[i].relative_path.clone(),
                        second: jobs[d].relative_path.clone(),
                    });
                }
                _ => {}
            }
        }
        state[i] = 2;
        out.push(i);
        Ok(())
    }
    let mut state = vec![0u8; jobs.len()];
    let mut order = Vec::new();
    for i in 0..jobs.len() {
        if state[i] == 0 {
            visit(i, &needs, &mut state, &mut order, jobs)?;
        }
    }
    Ok(order.into_iter().map(|i| jobs[i]).collect())
}

/// Whether `name` is a table, view or table function (`generate_series`) of `ctx`.
pub fn exists(ctx: &SessionContext, name: &str) -> bool {
    ctx.table_exist(name).unwrap_or(false) || ctx.table_function(name).is_ok()
}

/// Runs `jobs` over `ctx` in dependency order into `tables`, registering each result as a
/// table for the jobs after it and checking its tests; `done` hears of each job as it ends.
///
/// A job named like an input table or view (the `ambulance` job summarises the `ambulance`
/// input) does not hide it: later jobs reading that name read the input, and the job's
/// tests read its own file.
pub async fn run_all(
    ctx: &SessionContext,
    jobs: &[&SqlFile],
    tables: &Path,
    done: &mut dyn FnMut(&JobResult),
) -> Result<Vec<JobResult>, JobError> {
    run_all_with(ctx, jobs, tables, &mut AsIs, done).await
}

/// Where a job's result goes: `<dir>/<job>.csv` and `.parquet` as the query gives it
/// ([`AsIs`], the bundle and the dashboard), or through disclosure control first (the partner
/// pack). Whatever it writes, the runner then registers `<dir>/<job>.parquet` for later jobs and
/// checks the job's tests against it.
pub trait Writer {
    /// Runs `job` over `ctx` and writes its result into `dir`.
    fn write(
        &mut self,
        ctx: &SessionContext,
        job: &SqlFile,
        dir: &Path,
    ) -> impl std::future::Future<Output = Result<JobResult, JobError>>;
}

/// Results written as the query gives them, streamed batch by batch.
pub struct AsIs;

impl Writer for AsIs {
    async fn write(
        &mut self,
        ctx: &SessionContext,
        job: &SqlFile,
        dir: &Path,
    ) -> Result<JobResult, JobError> {
        run_job(ctx, job, dir).await
    }
}

/// [`run_all`] with another [`Writer`].
pub async fn run_all_with<W: Writer>(
    ctx: &SessionContext,
    jobs: &[&SqlFile],
    tables: &Path,
    writer: &mut W,
    done: &mut dyn FnMut(&JobResult),
) -> Result<Vec<JobResult>, JobError> {
    let order = ordered(jobs, &|j| j.name.clone(), &|name| exists(ctx, name))?;
    let known = |name: &str| ctx.table_exist(name).unwrap_or(false);
    let mut results = Vec::new();
    for job in order {
        let result = writer.write(ctx, job, tables).await?;
        let path = tables.join(format!("{}.parquet", job.name));
        if known(&job.name) {
            let own = SessionContext::new();
            catalog::register_parquet(&own, &job.name, &path).await?;
            check(&own, job).await?;
        } else {
            catalog::register_parquet(ctx, &job.name, &path).await?;
            check(ctx, job).await?;
        }
        done(&result);
        results.push(result);
    }
    Ok(results)
}

/// Runs one SQL job and streams its result into `tables/<job>.csv` and `.parquet`.
pub async fn run_job(
    ctx: &SessionContext,
    job: &SqlFile,
    tables: &Path,
) -> Result<JobResult, JobError> {
    let started = Instant::now();
    let job_error = |source: DataFusionError| match catalog::memory_exhausted(&source) {
        Some(detail) => JobError::MemoryExhausted {
            job: job.name.clone(),
            file: job.relative_path.clone(),
            limit_bytes: match ctx.runtime_env().memory_pool.memory_limit() {
                MemoryLimit::Finite(bytes) => Some(bytes),
                MemoryLimit::Infinite | MemoryLimit::Unknown => None,
            },
            detail: printable(&detail).into_owned(),
        },
        None => JobError::Sql {
            job: job.name.clone(),
            file: job.relative_path.clone(),
            source,
        },
    };
    let df = ctx.sql(&job.sql).await.map_err(job_error)?;
    let mut stream = df.execute_stream().await.map_err(job_error)?;
    let mut files = TableFiles::create(tables, &job.name, stream.schema())?;
    while let Some(batch) = stream.next().await {
        files.write(&batch.map_err(job_error)?)?;
    }
    let (rows, _, _) = files.finish()?;
    Ok(JobResult::of(job, rows, started))
}

/// A SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The checks of one column as `(test, SQL returning an offending value or nothing)`.
fn column_checks(table: &str, c: &Column) -> Vec<(String, String)> {
    let col = ident(&c.name);
    let text = format!("CAST({col} AS VARCHAR)");
    let mut out = Vec::new();
    let test = |t: &str| format!("column {}: {t}", c.name);
    if c.not_null {
        out.push((
            test("not_null"),
            format!("SELECT CAST(COUNT(*) AS VARCHAR) || ' null rows' FROM {table} WHERE {col} IS NULL HAVING COUNT(*) > 0"),
        ));
    }
    if c.unique {
        out.push((
            test("unique"),
            format!(
                "SELECT found FROM (SELECT {text} || ' appears ' || CAST(COUNT(*) AS VARCHAR) || ' times' AS found \
                 FROM {table} WHERE {col} IS NOT NULL GROUP BY {col} HAVING COUNT(*) > 1) ORDER BY found LIMIT 1"
            ),
        ));
    }
    if !c.accepted_values.is_empty() {
        let list: Vec<String> = c.accepted_values.iter().map(|v| literal(v)).collect();
        out.push((
            test(&format!(
                "accepted_values = [{}]",
                c.accepted_values.join(", ")
            )),
            format!(
                "SELECT found FROM (SELECT {text} AS found FROM {table} WHERE {col} IS NOT NULL) \
                 WHERE found NOT IN ({}) ORDER BY found LIMIT 1",
                list.join(", ")
            ),
        ));
    }
    // The most extreme offending value is reported.
    for (bound, op, key, direction) in [(c.min, "<", "min", "ASC"), (c.max, ">", "max", "DESC")] {
        if let Some(b) = bound {
            out.push((
                test(&format!("{key} = {b}")),
                format!(
                    "SELECT found FROM (SELECT {text} AS found, CAST({col} AS DOUBLE) AS v FROM {table}) \
                     WHERE v {op} {b:?} OR isnan(v) ORDER BY v {direction} LIMIT 1"
                ),
            ));
        }
    }
    out
}

/// The SQL of a sums-to test. A group with nothing to sum (no rows, or only nulls, as a share
/// of an empty total is) passes: the test is about the values there are.
fn sum_check(table: &str, t: &TableTest) -> (String, String) {
    let col = ident(&t.column);
    let groups: Vec<String> = t.group_by.iter().map(|g| ident(g)).collect();
    let label = if groups.is_empty() {
        "'the table'".to_owned()
    } else {
        groups
            .iter()
            .map(|g| format!("COALESCE(CAST({g} AS VARCHAR), 'null')"))
            .collect::<Vec<_>>()
            .join(" || ', ' || ")
    };
    let filters: Vec<String> = t
        .filter
        .iter()
        .map(|(k, v)| {
            let column = ident(k);
            match v {
                // A number compares as a number, so 1 matches a float column's 1.0.
                crate::engine::metadata::FilterValue::Integer(i) => {
                    format!("CAST({column} AS DOUBLE) = {i}")
                }
                crate::engine::metadata::FilterValue::Flag(b) => {
                    format!("CAST({column} AS VARCHAR) = {}", literal(&b.to_string()))
                }
                crate::engine::metadata::FilterValue::Text(t) => {
                    format!("CAST({column} AS VARCHAR) = {}", literal(t))
                }
                crate::engine::metadata::FilterValue::AnyOf(list) => {
                    let list: Vec<String> = list.iter().map(|t| literal(t)).collect();
                    format!("CAST({column} AS VARCHAR) IN ({})", list.join(", "))
                }
            }
        })
        .collect();
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let group = if groups.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", groups.join(", "))
    };
    let where_text = if t.filter.is_empty() {
        String::new()
    } else {
        format!(
            " where {}",
            t.filter
                .iter()
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    (
        format!(
            "{} sums to {} (±{}) by [{}]{where_text}",
            t.column,
            t.sums_to,
            t.tolerance,
            t.group_by.join(", ")
        ),
        format!(
            "SELECT found FROM (SELECT {label} || ': ' || CAST(SUM(CAST({col} AS DOUBLE)) AS VARCHAR) AS found, \
             SUM(CAST({col} AS DOUBLE)) AS total FROM {table} {filter} {group}) \
             WHERE ABS(total - {:?}) > {:?} ORDER BY found LIMIT 1",
            t.sums_to, t.tolerance
        ),
    )
}

/// Checks a job's registered result against its metadata's tests.
pub async fn check(ctx: &SessionContext, job: &SqlFile) -> Result<(), JobError> {
    let meta_file = job.meta_file();
    let table = ident(&job.name);
    // Every column the metadata describes must be in the result: a renamed column is named
    // here, not found missing when the report is written.
    let fields: Vec<String> = ctx
        .table(job.name.as_str())
        .await
        .map(|df| {
            df.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    for column in &job.meta.columns {
        if !fields.contains(&column.name) {
            return Err(JobError::Test {
                job: job.name.clone(),
                meta: meta_file.clone(),
                test: format!("column {}", column.name),
                found: format!(
                    "the result has no such column (its columns: {})",
                    fields.join(", ")
                ),
            });
        }
    }
    let mut checks = Vec::new();
    for column in &job.meta.columns {
        checks.extend(column_checks(&table, column));
    }
    for test in &job.meta.tests {
        checks.push(sum_check(&table, test));
    }
    for (test, sql) in checks {
        let fail = |found: String| JobError::Test {
            job: job.name.clone(),
            meta: meta_file.clone(),
            test: test.clone(),
            found,
        };
        let batches = match ctx.sql(&sql).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        }
        .map_err(|source| JobError::Untestable {
            job: job.name.clone(),
            meta: meta_file.clone(),
            test: test.clone(),
            source,
        })?;
        let first = batches.iter().find(|b| b.num_rows() > 0);
        if let Some(batch) = first {
            let value =
                arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap_or_default();
            return Err(fail(printable(&value).into_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
