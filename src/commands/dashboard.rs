//! `sna refresh`: the dashboard, for a scheduler.

use super::*;

/// `sna refresh`: a configuration that cannot be loaded is a failure recorded in the status
/// file like any other, when the dashboard is known from `--dashboard`.
pub(super) async fn refresh_command(
    config_path: Option<PathBuf>,
    args: RefreshArgs,
) -> Result<ExitCode> {
    let loaded = Config::load(config_path.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|loaded| {
            let config = loaded.config.resolve(&args.data.overrides())?;
            let queries = QuerySet::load(&config.queries_dir)?;
            Ok((config, queries))
        });
    let dashboard = match (&args.dashboard, &loaded) {
        (Some(path), _) => path.clone(),
        (None, Ok((config, _))) => config.output_dir.join("dashboard"),
        // No dashboard to record the failure beside: the load error is the command's.
        (None, Err(_)) => return loaded.map(|_| ExitCode::FAILURE),
    };
    let options = refresh::Options {
        dashboard: dashboard.clone(),
        months: args.months,
        force: args.force,
        wait: std::time::Duration::from_secs(args.wait),
    };
    let report = refresh::refresh(loaded.map_err(Into::into), &options).await;
    if let Some(holder) = &report.took_over_from
        && !args.quiet
    {
        eprintln!("note: took over the lock left by a refresh that did not finish ({holder})");
    }
    match report.result {
        Ok(Done::Refreshed {
            data_up_to, months, ..
        }) => {
            if !args.quiet {
                eprintln!(
                    "Refreshed {}: data up to {data_up_to} ({months} months), in {:.1} s",
                    dashboard.display(),
                    report.seconds
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Done::UpToDate { data_up_to }) => {
            if !args.quiet {
                eprintln!(
                    "{} is up to date (data up to {}): nothing changed since the last refresh",
                    dashboard.display(),
                    data_up_to.as_deref().unwrap_or("unknown")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(
            e @ (refresh::RefreshError::Lock(_)
            | refresh::RefreshError::Place(_)
            | refresh::RefreshError::Publish(refresh::publish::PublishError::NotOurs(_))),
        ) => {
            // Refused before anything was written: no status file records it.
            eprintln!("error: {}", vrn_sna::text::printable(&e.to_string()));
            Ok(ExitCode::from(e.exit_code()))
        }
        Err(e) => {
            let state = if dashboard.exists() {
                "The dashboard is unchanged"
            } else {
                "No dashboard was published"
            };
            eprintln!(
                "error: refresh of {} failed: {}\n{state}; {} records the failure.",
                dashboard.display(),
                vrn_sna::text::printable(&e.to_string()),
                refresh::status::Status::path_for(&dashboard).display()
            );
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}
