//! `sna validate`: checks an extract against the data contract and reports its data quality.
//!
//! A file that cannot be read as the contract says (missing, not Parquet, corrupt, a column
//! missing or of the wrong kind) stops validation with a [`CatalogError`]. Everything else is a
//! [`Finding`]: an error when the assessment would be wrong with the data as it is (nulls in a
//! required column, duplicate keys, unknown offence codes, values outside an allowed set), a
//! warning when rows are left out or shown as unknown (no LSOA, unknown age or sex, persons
//! whose crime is missing, dates outside the period).

use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::catalog::{self, Catalog, CatalogError, DecodeError, LookupSource};
use crate::sources::contract::{self, ExtractFile, Form, Kind, TableSpec};

mod keys;
mod report;

pub use report::*;

/// Validates the extract in `data_dir` under `config`'s period. The report is taken from the
/// cache when one was stored for the same extract, configuration and build, and stored there
/// otherwise; [`Report::from_cache`] says which.
pub async fn validate(config: &Config, data_dir: &Path) -> Result<Report, CatalogError> {
    let cache = crate::cache::Cache::open(config, data_dir)?;
    let config_json = serde_json::to_string(config).unwrap_or_default();
    let data_dir_text = data_dir.display().to_string();
    let key = cache
        .as_ref()
        // Today's date too: the check of times in the future reads the clock.
        .map(|c| {
            let today = chrono::Local::now().format("%Y-%m-%d %z").to_string();
            c.key("validation", &[&config_json, &data_dir_text, &today])
        });
    if let (Some(cache), Some(key)) = (&cache, &key)
        && let Some(mut report) = cache.validation::<Report>(key)
    {
        report.from_cache = true;
        return Ok(report);
    }
    let report = check(config, data_dir).await?;
    if let (Some(cache), Some(key)) = (&cache, &key)
        && let Err(e) = cache.store_validation(key, &report)
    {
        crate::cache::warn_not_written(&e);
    }
    Ok(report)
}

/// Validates the extract in `data_dir` under `config`'s period, reading every file.
async fn check(config: &Config, data_dir: &Path) -> Result<Report, CatalogError> {
    let catalog = catalog::open_tables(config, data_dir).await?;
    let mut checker = Checker {
        ctx: &catalog.ctx,
        files: &catalog.files,
        findings: Vec::new(),
    };
    let mut files = Vec::new();
    for file in &catalog.files {
        files.push(
            checker
                .file_report(file.spec, file.rows, file.bytes)
                .await?,
        );
        checker.allowed_values(file.spec).await?;
        checker.duplicate_keys(file.spec).await?;
    }
    checker.references(&catalog, config).await?;
    let population_years = checker
        .strings("SELECT DISTINCT CAST(year AS BIGINT) FROM population ORDER BY 1")
        .await?
        .iter()
        .filter_map(|y| y.parse().ok())
        .collect();
    let mut findings = checker.findings;
    findings.sort_by_key(|f| f.severity != Severity::Error);
    Ok(Report {
        data_dir: data_dir.display().to_string(),
        period: (config.start.to_string(), config.end.to_string()),
        form: catalog.available.form.describe().to_owned(),
        sources: {
            let (found, missing): (Vec<&str>, Vec<&str>) =
                crate::sources::contract::optional_sources()
                    .filter(|name| catalog.available.form == Form::Full || *name != "persons")
                    .partition(|name| catalog.files.iter().any(|f| f.spec.name == *name));
            Sources {
                found: found.into_iter().map(str::to_owned).collect(),
                missing: missing.into_iter().map(str::to_owned).collect(),
            }
        },
        lsoa_lookup: match &catalog.lsoa_source {
            LookupSource::Bundled => "bundled (data/reference/lsoa.csv)".to_owned(),
            LookupSource::Extract { path, .. } => path.display().to_string(),
        },
        population: if catalog
            .available
            .has(crate::engine::capability::Capability::ResidentsByAgeSex)
        {
            "by single year of age and sex".to_owned()
        } else {
            "all ages (no age or sex: measures of residents by age or sex are not possible)"
                .to_owned()
        },
        population_years,
        population_year: catalog.population_year,
        files,
        findings,
        from_cache: false,
    })
}

struct Checker<'a> {
    ctx: &'a SessionContext,
    files: &'a [ExtractFile],
    findings: Vec<Finding>,
}

/// How many offending values a finding shows as examples.
const EXAMPLES: usize = 5;

/// What a check reports when its condition holds for some rows.
struct Check<'s> {
    severity: Severity,
    check: &'static str,
    table: &'s str,
    column: Option<&'s str>,
    /// SQL `FROM ... WHERE ...` selecting the offending rows.
    from_where: String,
    /// Expression shown as an example for each offending row.
    example: String,
    /// What is counted: `row(s)`, or `key value(s)` for duplicate keys.
    unit: &'static str,
    /// What is wrong; the count and unit are put in front.
    message: String,
}

impl Checker<'_> {
    async fn strings(&self, sql: &str) -> Result<Vec<String>, CatalogError> {
        let batches = match self.ctx.sql(sql).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        let batches = batches.map_err(CatalogError::datafusion(format!(
            "data-quality query `{sql}`"
        )))?;
        let mut out = Vec::new();
        for batch in batches {
            let column = cast(batch.column(0), &DataType::Utf8)
                .map_err(|e| CatalogError::datafusion(sql.to_owned())(e.into()))?;
            let column = column.as_string::<i32>();
            out.extend((0..column.len()).map(|i| {
                if column.is_null(i) {
                    "(null)".to_owned()
                } else {
                    column.value(i).to_owned()
                }
            }));
        }
        Ok(out)
    }

    async fn counts(&self, sql: &str) -> Result<Vec<u64>, CatalogError> {
        let batches = match self.ctx.sql(sql).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        let batches = batches.map_err(CatalogError::datafusion(format!(
            "data-quality query `{sql}`"
        )))?;
        let batch = batches.iter().find(|b| b.num_rows() > 0);
        Ok(match batch {
            Some(batch) => batch
                .columns()
                .iter()
                .map(|c| {
                    let c = cast(c, &DataType::Int64).expect("counts cast to Int64");
                    c.as_primitive::<Int64Type>().value(0).max(0) as u64
                })
                .collect(),
            None => Vec::new(),
        })
    }

    /// Names the file when a query failed because its data could not be decoded (a Parquet
    /// error, or the decoder panicking on corrupt pages); other errors pass through.
    fn unreadable(&self, table: &str, error: CatalogError) -> CatalogError {
        let Some(file) = self.files.iter().find(|f| f.spec.name == table) else {
            return error;
        };
        let source = match catalog::panic_in(&error) {
            Some(catalog::Panic::Task(Some(message))) => DecodeError::Panic(message),
            _ if catalog::is_decode_failure(&error) => DecodeError::Query(Box::new(error)),
            _ => return error,
        };
        CatalogError::Unreadable {
            path: file.path.clone(),
            source,
        }
    }

    async fn run(&mut self, check: Check<'_>) -> Result<u64, CatalogError> {
        let counted = self
            .counts(&format!("SELECT COUNT(*) {}", check.from_where))
            .await
            .map_err(|e| self.unreadable(check.table, e));
        let rows = match counted {
            Ok(counts) => counts.first().copied().unwrap_or(0),
            Err(e @ CatalogError::Unreadable { .. }) => return Err(e),
            Err(e) => {
                self.could_not_check(&check, &e).await;
                return Ok(0);
            }
        };
        if rows > 0 {
            let examples = self
                .strings(&format!(
                    "SELECT DISTINCT {} AS example {} ORDER BY example LIMIT {EXAMPLES}",
                    check.example, check.from_where
                ))
                .await
                .unwrap_or_default();
            self.record(&check, rows, examples);
        }
        Ok(rows)
    }

    /// Records the finding of `check` when it holds for `rows` rows (none: nothing recorded).
    fn record(&mut self, check: &Check<'_>, rows: u64, examples: Vec<String>) {
        if rows == 0 {
            return;
        }
        self.findings.push(Finding {
            severity: check.severity,
            check: check.check.to_owned(),
            file: format!("{}.parquet", check.table),
            column: check.column.map(str::to_owned),
            rows,
            examples,
            message: format!("{} {} {}", group(rows), check.unit, check.message),
        });
    }

    /// Records that a check could not be run (the query engine failed on these values) as an
    /// error finding naming the file, the column and the range of its values, so that the
    /// analyst sees where to look instead of an internal error.
    async fn could_not_check(&mut self, check: &Check<'_>, error: &CatalogError) {
        let range = match check.column {
            Some(column) if !column.contains(',') => self
                .strings(&format!(
                    "SELECT CAST(MIN(\"{column}\") AS VARCHAR) FROM {0} UNION ALL SELECT CAST(MAX(\"{column}\") AS VARCHAR) FROM {0}",
                    check.table
                ))
                .await
                .ok()
                .filter(|r| r.len() == 2)
                .map(|r| format!("; its values range from {} to {}", r[0], r[1])),
            _ => None,
        };
        let cause = match error {
            CatalogError::DataFusion { source, .. } => source.message().to_string(),
            other => other.to_string(),
        };
        let first_line = cause.lines().next().unwrap_or_default().to_owned();
        self.findings.push(Finding {
            severity: Severity::Error,
            check: "check_failed".to_owned(),
            file: format!("{}.parquet", check.table),
            column: check.column.map(str::to_owned),
            rows: 0,
            examples: Vec::new(),
            message: format!(
                "could not be checked for rows that {}{}: the query engine failed on these values ({first_line}). Look for extreme or malformed values in this column",
                check.message,
                range.unwrap_or_default()
            ),
        });
    }

    /// Rows, nulls and time range of one file. Counting every column's nulls decodes every
    /// page, so a file whose footer is sound but whose data is corrupt is caught here, by name.
    async fn file_report(
        &mut self,
        spec: &TableSpec,
        rows: u64,
        bytes: u64,
    ) -> Result<FileReport, CatalogError> {
        let select: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("COUNT(*) - COUNT(\"{}\")", c.name))
            .collect();
        let nulls = self
            .counts(&format!("SELECT {} FROM {}", select.join(", "), spec.name))
            .await
            .map_err(|e| self.unreadable(spec.name, e))?;
        let nulls: Vec<(String, u64)> = spec
            .columns
            .iter()
            .zip(nulls.iter().copied().chain(std::iter::repeat(0)))
            .map(|(c, n)| (c.name.to_owned(), n))
            .collect();
        for (column, n) in &nulls {
            let spec_column = spec.column(column).expect("contract column");
            if spec_column.required && *n > 0 {
                self.run(Check {
                    severity: Severity::Error,
                    check: "null_required",
                    table: spec.name,
                    column: Some(column),
                    from_where: format!("FROM {} WHERE \"{column}\" IS NULL", spec.name),
                    example: format!("'row with ' || {}", key_expression(spec)),
                    unit: "row(s)",
                    message: "have no value in a required column".to_owned(),
                })
                .await?;
            }
        }
        // The first time column: a timestamp, or the month of open data.
        let time_column = spec
            .columns
            .iter()
            .find(|c| c.kind == Kind::Timestamp || (c.kind == Kind::Date && c.name == "month"));
        let time_range = match time_column {
            Some(c) if rows > 0 => {
                let range = self
                    .strings(&format!(
                        "SELECT CAST(MIN(\"{0}\") AS VARCHAR) FROM {1} UNION ALL SELECT CAST(MAX(\"{0}\") AS VARCHAR) FROM {1}",
                        c.name, spec.name
                    ))
                    .await?;
                let first = range.iter().min().cloned().unwrap_or_default();
                let last = range.iter().max().cloned().unwrap_or_default();
                Some((first, last))
            }
            _ => None,
        };
        Ok(FileReport {
            file: spec.file_name(),
            rows,
            bytes,
            nulls,
            time_range,
        })
    }

    async fn allowed_values(&mut self, spec: &TableSpec) -> Result<(), CatalogError> {
        for column in spec.columns {
            let Some(allowed) = column.allowed else {
                continue;
            };
            let list: Vec<String> = allowed.iter().map(|v| format!("'{v}'")).collect();
            self.run(Check {
                severity: Severity::Error,
                check: "value_not_allowed",
                table: spec.name,
                column: Some(column.name),
                from_where: format!(
                    "FROM {} WHERE \"{}\" IS NOT NULL AND \"{}\" NOT IN ({})",
                    spec.name,
                    column.name,
                    column.name,
                    list.join(", ")
                ),
                example: format!("'\"' || \"{}\" || '\"'", column.name),
                unit: "row(s)",
                message: format!(
                    "have a value outside the allowed set ({})",
                    allowed.join(", ")
                ),
            })
            .await?;
        }
        Ok(())
    }

    async fn duplicate_keys(&mut self, spec: &TableSpec) -> Result<(), CatalogError> {
        if spec.key.is_empty() {
            return Ok(());
        }
        let key: Vec<String> = spec.key.iter().map(|k| format!("\"{k}\"")).collect();
        let key = key.join(", ");
        // Fingerprints first (see `keys`): when no two are equal no key repeats, and the
        // `GROUP BY` below, which holds every key in a hash table, is not needed. When the
        // quick check fails or finds a repeat, the exact query counts and names them.
        if let Ok(false) =
            keys::may_repeat(self.ctx, &format!("SELECT {key} FROM {}", spec.name)).await
        {
            return Ok(());
        }
        self.run(Check {
            severity: Severity::Error,
            check: "duplicate_key",
            table: spec.name,
            column: Some(&spec.key.join(", ")),
            from_where: format!(
                "FROM (SELECT {key}, COUNT(*) AS copies FROM {} GROUP BY {key} HAVING COUNT(*) > 1) d",
                spec.name
            ),
            example: key_expression(spec),
            unit: "key value(s)",
            message: "occur more than once; the key must be unique".to_owned(),
        })
        .await?;
        Ok(())
    }

    async fn references(&mut self, catalog: &Catalog, config: &Config) -> Result<(), CatalogError> {
        let has = |name: &str| catalog.files.iter().any(|f| f.spec.name == name);
        let full = catalog.available.form == Form::Full;
        let period = format!("DATE '{}' AND DATE '{}'", config.start, config.end);
        if full {
            self.run(Check {
            severity: Severity::Error,
            check: "unknown_offence_code",
            table: "offences",
            column: Some("offence_code"),
            from_where: "FROM offences o LEFT JOIN offence_codes c ON c.offence_code = o.offence_code \
                 WHERE o.offence_code IS NOT NULL AND c.offence_code IS NULL"
                .to_owned(),
            example: "'\"' || o.offence_code || '\"'".to_owned(),
            unit: "row(s)",
            message: "have an offence code that is not in the reference offence_codes table (data/reference/offence_codes.csv)".to_owned(),
        })
        .await?;
        }
        self.run(Check {
            severity: Severity::Warning,
            check: "null_lsoa",
            table: "offences",
            column: Some("lsoa_code"),
            from_where: "FROM offences WHERE lsoa_code IS NULL".to_owned(),
            example: "crime_id".to_owned(),
            unit: "row(s)",
            message: "have no LSOA: they count in totals and appear as Unknown in area breakdowns"
                .to_owned(),
        })
        .await?;
        let lsoa_columns: &[(&str, &str)] = &[
            ("offences", "lsoa_code"),
            ("persons", "home_lsoa"),
            ("ae_attendances", "home_lsoa"),
            ("ambulance", "lsoa_code"),
            ("population", "lsoa_code"),
        ];
        for (table, column) in lsoa_columns {
            if !has(table) {
                continue;
            }
            let consequence = match *table {
                "offences" => "they count in totals and appear as Unknown in area breakdowns",
                "population" => "those residents are outside the area and are not counted",
                "ae_attendances" => {
                    "those patients are not residents of the area and are left out of resident rates"
                }
                _ => "they are treated as outside the area",
            };
            self.run(Check {
                severity: Severity::Warning,
                check: "unknown_lsoa",
                table,
                column: Some(column),
                from_where: format!(
                    "FROM {table} t LEFT JOIN lsoa l ON l.lsoa_code = t.\"{column}\" \
                     WHERE t.\"{column}\" IS NOT NULL AND l.lsoa_code IS NULL"
                ),
                example: format!("t.\"{column}\""),
                unit: "row(s)",
                message: format!(
                    "have an LSOA code that is not in the area's LSOA lookup: {consequence}"
                ),
            })
            .await?;
        }
        if has("persons") {
            let check = Check {
                severity: Severity::Warning,
                check: "orphan_person",
                table: "persons",
                column: Some("crime_id"),
                from_where: "FROM persons p LEFT JOIN offences o ON o.crime_id = p.crime_id WHERE o.crime_id IS NULL"
                    .to_owned(),
                example: "p.crime_id".to_owned(),
                unit: "row(s)",
                message: "name a crime_id that is not in offences.parquet: these persons are left out".to_owned(),
            };
            // By fingerprints (see `keys`), not a join that hashes every crime id; the join
            // is the fallback when that fails.
            match keys::missing_references(
                self.ctx,
                "SELECT crime_id FROM persons",
                "SELECT crime_id FROM offences",
                EXAMPLES,
            )
            .await
            {
                Ok((rows, examples)) => self.record(&check, rows, examples),
                Err(_) => {
                    self.run(check).await?;
                }
            }
        }
        let offence_time = if full { "committed_at" } else { "month" };
        for (table, time) in [
            ("offences", offence_time),
            ("ae_attendances", "arrived_at"),
            ("ambulance", "called_at"),
            ("istv", "arrived_at"),
        ] {
            if !has(table) {
                continue;
            }
            self.run(Check {
                severity: Severity::Warning,
                check: "outside_period",
                table,
                column: Some(time),
                from_where: format!(
                    "FROM {table} WHERE CAST(\"{time}\" AS DATE) NOT BETWEEN {period}"
                ),
                example: format!("to_char(\"{time}\", '%Y-%m')"),
                unit: "row(s)",
                message: format!(
                    "fall outside the configured period {} to {}: they are left out of the assessment (year-on-year comparisons may still use them)",
                    config.start, config.end
                ),
            })
            .await?;
            self.run(Check {
                severity: Severity::Warning,
                check: "future_time",
                table,
                column: Some(time),
                from_where: format!(
                    "FROM {table} WHERE CASE WHEN CAST(\"{time}\" AS DATE) > DATE '{}' THEN 1 ELSE 0 END = 1",
                    chrono::Local::now().date_naive()
                ),
                example: format!("CAST(CAST(\"{time}\" AS DATE) AS VARCHAR)"),
                unit: "row(s)",
                message: "are dated in the future: a mistyped year? Correct them at source".to_owned(),
            })
            .await?;
            // Open data are dated by the first day of their month: the period's last month is
            // covered by a record of that month.
            let last = if !full && table == "offences" {
                use chrono::Datelike;
                config.end.with_day(1).unwrap_or(config.end)
            } else {
                config.end
            };
            let covered = self
                .counts(&format!(
                    "SELECT COUNT(*) FILTER (WHERE CAST(\"{time}\" AS DATE) <= DATE '{}'), \
                            COUNT(*) FILTER (WHERE CAST(\"{time}\" AS DATE) >= DATE '{last}'), \
                            COUNT(*) FILTER (WHERE CAST(\"{time}\" AS DATE) BETWEEN DATE '{}' AND DATE '{}') FROM {table}",
                    config.start, config.start, config.end
                ))
                .await?;
            if table == "offences" && covered.get(2) == Some(&0) {
                self.findings.push(Finding {
                    severity: Severity::Error,
                    check: "period_without_offences".to_owned(),
                    file: format!("{table}.parquet"),
                    column: Some((*time).to_owned()),
                    rows: 0,
                    examples: Vec::new(),
                    message: format!(
                        "no offence falls in the configured period {} to {}: every measure would be zero; give a period the data cover (sna run --start/--end, or start and end in sna.toml)",
                        config.start, config.end
                    ),
                });
            } else if covered.first() == Some(&0) || covered.get(1) == Some(&0) {
                self.findings.push(Finding {
                    severity: Severity::Warning,
                    check: "period_not_covered".to_owned(),
                    file: format!("{table}.parquet"),
                    column: Some((*time).to_owned()),
                    rows: 0,
                    examples: Vec::new(),
                    message: format!(
                        "the data does not cover the whole configured period {} to {}: rates for months without data will be zero",
                        config.start, config.end
                    ),
                });
            }
        }
        if full {
            self.run(Check {
            severity: Severity::Warning,
            check: "recorded_before_committed",
            table: "offences",
            column: Some("recorded_date"),
            // Written as CASE so that DataFusion's interval analysis leaves it alone: for a
            // timestamp cast to DATE compared with another column it overestimates (when the
            // latest time is exactly midnight, or past 2262) and fails with an internal error.
            from_where: "FROM offences WHERE CASE WHEN recorded_date < CAST(committed_at AS DATE) THEN 1 ELSE 0 END = 1".to_owned(),
            example: "crime_id".to_owned(),
            unit: "row(s)",
            message: "were recorded before the date they were committed".to_owned(),
        })
        .await?;
        }
        for table in crate::sources::contract::optional_sources() {
            if !has(table) {
                continue;
            }
            self.run(Check {
                severity: Severity::Warning,
                check: "unknown_age",
                table,
                column: Some("age"),
                from_where: format!("FROM {table} WHERE age IS NULL"),
                example: key_expression(table_spec(table)),
                unit: "row(s)",
                message: "have no age: they are left out of age measures".to_owned(),
            })
            .await?;
            self.run(Check {
                severity: Severity::Warning,
                check: "age_out_of_range",
                table,
                column: Some("age"),
                from_where: format!("FROM {table} WHERE age < 0 OR age > 110"),
                example: "CAST(age AS VARCHAR)".to_owned(),
                unit: "row(s)",
                message: "have an age outside 0–110: treat as unknown and correct at source"
                    .to_owned(),
            })
            .await?;
            self.run(Check {
                severity: Severity::Warning,
                check: "unknown_sex",
                table,
                column: Some("sex"),
                from_where: format!("FROM {table} WHERE sex = 'U'"),
                example: key_expression(table_spec(table)),
                unit: "row(s)",
                message: "have sex U (unknown or other): they are left out of male/female splits"
                    .to_owned(),
            })
            .await?;
        }
        let by_age_sex = catalog
            .available
            .has(crate::engine::capability::Capability::ResidentsByAgeSex);
        let check = if by_age_sex {
            Check {
                severity: Severity::Error,
                check: "population_out_of_range",
                table: "population",
                column: Some("age, population"),
                from_where: "FROM population WHERE age < 0 OR age > 90 OR population < 0".to_owned(),
                example: "lsoa_code || ' ' || CAST(year AS VARCHAR) || ' ' || sex || ' age ' || CAST(age AS VARCHAR) || ': ' || CAST(population AS VARCHAR)".to_owned(),
                unit: "row(s)",
                message: "have an age outside 0–90 (90 means 90 and over) or a negative population".to_owned(),
            }
        } else {
            Check {
                severity: Severity::Error,
                check: "population_out_of_range",
                table: "population",
                column: Some("population"),
                from_where: "FROM population WHERE population < 0".to_owned(),
                example: "lsoa_code || ' ' || CAST(year AS VARCHAR) || ': ' || CAST(population AS VARCHAR)".to_owned(),
                unit: "row(s)",
                message: "have a negative population".to_owned(),
            }
        };
        self.run(check).await?;
        Ok(())
    }
}

fn table_spec(name: &str) -> &'static TableSpec {
    contract::TABLES
        .into_iter()
        .find(|t| t.name == name)
        .expect("contract table")
}

/// An SQL expression naming a row of `spec` by its key (or its first column).
fn key_expression(spec: &TableSpec) -> String {
    let key: Vec<&str> = if spec.key.is_empty() {
        vec![spec.columns[0].name]
    } else {
        spec.key.to_vec()
    };
    key.iter()
        .map(|k| format!("COALESCE(CAST(\"{k}\" AS VARCHAR), 'null')"))
        .collect::<Vec<_>>()
        .join(" || '/' || ")
}
