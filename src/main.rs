//! `sna`: the vrn-sna command line.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

use cli::Cli;

/// Stack for the thread that parses, plans and drives queries, and for DataFusion's workers.
/// Planning and optimising recurse over the expression tree: a `WHERE` of thousands of `OR`
/// terms overflows the default 8 MiB (an abort with no message). The memory is reserved, not
/// used, until a deep query needs it; deeper still is refused by
/// [`vrn_sna::partners::query::MAX_EXPRESSION_DEPTH`].
const STACK_BYTES: usize = 256 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A cluster process is a server: a panic in any of its threads is said, with the thread,
    // by the default hook (it would otherwise be lost in a task that Ballista retries).
    if !matches!(
        cli.command,
        cli::Command::Scheduler { .. } | cli::Command::Executor { .. }
    ) {
        quiet_worker_panics();
    }
    // Its panics are caught and reported in `run_cli`, so the hook stays quiet for it.
    let worker = std::thread::Builder::new()
        .name("sna".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(move || run_cli(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A panic re-raised from a query worker (`resume_unwind`) skips the panic hook; caught
    // here, it is still said, never a silent exit.
    let outcome = runtime.block_on(async {
        use futures::FutureExt;
        std::panic::AssertUnwindSafe(commands::dispatch(cli))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(anyhow::anyhow!(
                    "internal error ({}); please report it",
                    vrn_sna::text::panic_message(panic.as_ref())
                ))
            })
    });
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote values from data: nothing in them may act on the terminal.
            let message = vrn_sna::text::error_chain(e.as_ref());
            eprintln!("error: {}", vrn_sna::text::printable(&message));
            if is_refusal(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// True when the command refused to write where it was asked to (a directory or file it does
/// not own, the extract itself): a usage error, exit 2, with nothing changed.
fn is_refusal(error: &anyhow::Error) -> bool {
    use vrn_sna::staging::StagingError;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<StagingError>()
            .is_some_and(StagingError::is_refusal)
            || cause.is::<vrn_sna::output::OutputRefused>()
    })
}

/// A panic in a DataFusion worker thread (for example the Parquet decoder meeting corrupt
/// pages) comes back to us as an error naming the file, and a panic on the `sna` thread is
/// caught in [`run_cli`]; either is reported once at the edge, where the default hook would
/// also print the panic and a backtrace. So the hook is silent but on the process's own main
/// thread, where a panic is one line, never a backtrace.
fn quiet_worker_panics() {
    std::panic::set_hook(Box::new(|info| {
        if std::thread::current().name() != Some("main") {
            return;
        }
        let message = vrn_sna::text::panic_message(info.payload());
        eprintln!(
            "error: internal error ({}); please report it",
            vrn_sna::text::printable(&message)
        );
    }));
}

/// True when the reader of standard output went away (e.g. `sna tables | head`): not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use arrow::error::ArrowError;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            // arrow's CSV writer keeps only the text of the I/O error it met.
            || matches!(
                cause.downcast_ref::<ArrowError>(),
                Some(ArrowError::CsvError(text)) if *text == broken_pipe_text()
            )
    })
}

/// The text of the operating system's broken-pipe error, `Broken pipe (os error 32)`.
fn broken_pipe_text() -> String {
    std::io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;
    use vrn_sna::bundle::assess;
    use vrn_sna::generate;
    use vrn_sna::partners::{pack, query};
    use vrn_sna::staging::StagingError;

    #[test]
    fn a_refusal_is_found_inside_a_command_error() {
        let refused = StagingError::NotOurs {
            path: PathBuf::from("out"),
            noun: "an assessment bundle",
        };
        let error = anyhow::Error::from(assess::AssessError::Staging(refused))
            .context("assessment not written to out");
        assert!(is_refusal(&error));
        let refused = StagingError::NotADirectory {
            path: PathBuf::from("out"),
            noun: "a partner pack",
        };
        let error = anyhow::Error::from(pack::PackError::Staging(refused))
            .context("partner pack not written to out");
        assert!(is_refusal(&error));
        let refused = vrn_sna::output::OutputRefused {
            path: PathBuf::from("x.csv"),
            reason: "is a directory".to_owned(),
        };
        assert!(is_refusal(&query::QueryError::from(refused).into()));
        // A write that failed is not a refusal.
        let failed = StagingError::Io {
            action: "creating",
            path: PathBuf::from("out"),
            source: std::io::Error::other("disk full"),
        };
        let error = anyhow::Error::from(generate::GenerateError::Staging(failed));
        assert!(!is_refusal(&error));
    }

    #[test]
    fn a_broken_pipe_is_found_in_the_chain() {
        // A real broken pipe: the reading end closed before the write.
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let io = writer.write_all(b"rows\n").expect_err("nobody reads");
        assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
        assert_eq!(io.to_string(), broken_pipe_text());
        let error = anyhow::Error::from(query::QueryError::Write {
            path: PathBuf::from("standard output"),
            source: io.into(),
        })
        .context("writing the result");
        assert!(is_broken_pipe(&error));
        // As arrow's CSV writer reports it: the error's text only.
        let csv = arrow::error::ArrowError::CsvError(broken_pipe_text());
        assert!(is_broken_pipe(&anyhow::Error::from(csv)));
        // Other write errors are errors.
        let full = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(!is_broken_pipe(&full));
        let other = arrow::error::ArrowError::CsvError("Broken pipe, or not".to_owned());
        assert!(!is_broken_pipe(&anyhow::Error::from(other)));
    }
}
