//! `sna run`, with a progress bar on a terminal.

use super::*;

/// `sna run`: the assessment bundle.
pub(super) async fn run(loaded: LoadedConfig, args: RunArgs) -> Result<ExitCode> {
    let config = loaded.config.resolve(&args.overrides())?;
    let out = args.out.unwrap_or_else(|| {
        // A shareable bundle goes beside the internal one, never over it.
        let slug = config.slug();
        let name = if config.shareable {
            format!("{slug}-shareable")
        } else {
            slug
        };
        config.output_dir.join(name)
    });
    let queries = QuerySet::load(&config.queries_dir)?;
    let mut progress: Box<dyn Progress> = if args.quiet {
        Box::new(assess::Quiet)
    } else {
        Box::new(TerminalProgress::new())
    };
    let manifest = assess::run(
        &config,
        loaded.source.as_deref(),
        &queries,
        &out,
        args.compare.as_deref(),
        progress.as_mut(),
    )
    .await
    .with_context(|| format!("assessment not written to {}", out.display()))?;
    note_two_steps(manifest.replaced_in_two_steps, &out);
    if !args.quiet {
        note_cache(&manifest.cache, &config, &out);
        let rows: u64 = manifest.jobs.iter().map(|j| j.rows).sum();
        eprintln!(
            "Wrote {} tables ({rows} rows) to {}",
            manifest.jobs.len(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal; one line per job otherwise (for logs).
pub(super) struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    fn new() -> Self {
        Self { bar: None }
    }
}

impl Progress for TerminalProgress {
    fn start(&mut self, jobs: usize) {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(jobs as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} jobs  {msg}")
                    .expect("valid template"),
            );
            self.bar = Some(bar);
        }
    }

    fn job_done(&mut self, result: &JobResult) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} ({} rows)", result.job, result.rows));
                bar.inc(1);
            }
            None => eprintln!(
                "  {:<28} {:>8} rows {:>8.2} s",
                result.job, result.rows, result.seconds
            ),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// One line on what came from the cache, so that a user sees why a run was quick (or not).
pub(super) fn note_cache(cache: &vrn_sna::engine::catalog::CacheUse, config: &Config, out: &Path) {
    let Some(dir) = &cache.dir else {
        let why = if config.no_cache {
            "--no-cache"
        } else if vrn_sna::cache::outside(config, out).no_cache {
            "it would lie inside the output directory"
        } else {
            "the extract could not be read to key it, or the cache directory could not be read"
        };
        eprintln!("Cache not used ({why})");
        return;
    };
    let views = cache.views_from_cache.len() + cache.views_computed.len();
    eprintln!(
        "Cache {}: validation {}, {} of {views} views read from it ({} computed)",
        dir.display(),
        if cache.validation_from_cache {
            "read from it"
        } else {
            "computed"
        },
        cache.views_from_cache.len(),
        cache.views_computed.len()
    );
}
