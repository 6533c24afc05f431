//! `sna query`, and what `sna shell` and `sna tables` share with it.

use super::*;

/// `sna query`: each statement's result to standard output, or the one result to `--output`.
pub(super) async fn query_command(loaded: LoadedConfig, args: QueryArgs) -> Result<ExitCode> {
    let sql = match (args.sql, &args.file) {
        (Some(sql), _) => sql,
        (None, Some(file)) => read_sql_file(file)?,
        (None, None) => unreachable!("clap requires SQL or --file"),
    };
    let config_file = loaded.source.clone();
    let mut session = open_session(loaded, &args.data.overrides(), args.allow_write).await?;
    for read in args.file.iter().chain(config_file.iter()) {
        session.reads(read);
    }
    let (format, output) = (args.format, args.output.as_deref());
    if let Some(path) = output {
        // Refused before any work, so nothing runs for a result that cannot be kept.
        session.check_output(path)?;
    }
    let mut stdout = std::io::stdout();
    if let Some(note) = session.stand_in_note(&sql) {
        eprintln!("{note}");
    }
    let written = query::exec_and_print(&session, &sql, format, output, &mut stdout).await?;
    if let (Some(path), Some(result)) = (output, written.first()) {
        eprintln!("{} row(s) written to {}", result.rows, path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads an SQL file, refusing anything but a regular file (a named pipe would block).
pub(super) fn read_sql_file(file: &std::path::Path) -> Result<String> {
    vrn_sna::sources::contract::ensure_regular_file(file)?;
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Opens a query session over the configured data directory, with `overrides` applied.
pub(super) async fn open_session(
    loaded: LoadedConfig,
    overrides: &Overrides,
    allow_write: bool,
) -> Result<QuerySession> {
    let config = loaded.config.resolve(overrides)?;
    let queries = QuerySet::load(&config.queries_dir)?;
    Ok(QuerySession::open(&config, &config.data_dir, &queries, allow_write).await?)
}
