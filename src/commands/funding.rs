//! `sna funding`.

use super::*;

/// `sna funding`: the allocation table, from a CSV of inputs or from the extract.
pub(super) async fn funding_command(loaded: LoadedConfig, args: FundingArgs) -> Result<ExitCode> {
    use vrn_sna::funding::{self, extract, output};
    let pot = funding::parse_amount(&args.pot)
        .filter(|p| *p > 0.0)
        .ok_or_else(|| funding::FundingError::Pot(args.pot.clone()))?;
    let weights = funding::Weights::parse(&args.weights)?;
    let config = loaded.config.resolve(&args.data.overrides())?;
    // What the command reads; the output may be none of it. Refused before any work.
    let mut reads: Vec<PathBuf> = args
        .inputs
        .iter()
        .chain(&args.previous_inputs)
        .chain(&loaded.source)
        .cloned()
        .collect();
    if args.inputs.is_none() {
        reads.extend([config.data_dir.clone(), config.queries_dir.clone()]);
    }
    if let Some(path) = &args.output {
        vrn_sna::output::check_result_path(path, &reads)?;
    }
    let mut estimate = None;
    let (areas, previous) = match &args.inputs {
        Some(path) => {
            let previous = match &args.previous_inputs {
                Some(p) => Some(funding::read_inputs(p)?),
                None => None,
            };
            (funding::read_inputs(path)?, previous)
        }
        None => {
            let queries = QuerySet::load(&config.queries_dir)?;
            let period = args.start.zip(args.end);
            let found = extract::from_extract(
                &config,
                &queries,
                period,
                None,
                args.level,
                args.harm_years,
                args.sensitivity,
            )
            .await?;
            let w = found.window;
            eprintln!(
                "Crimes and population from {} to {}; harm from {} to {}; {} areas from {}.",
                w.start,
                w.end,
                w.harm_start,
                w.end,
                found.areas.len(),
                config.data_dir.display()
            );
            if found.unplaced > 0 {
                eprintln!(
                    "note: {} offence(s) in the period are in no area (no LSOA, one outside the lookup, or outside every locality)",
                    found.unplaced
                );
            }
            if found.basis == extract::HarmBasis::PoliceUkTypes {
                eprintln!("note: {}.", funding::police_uk::NOTE);
                estimate = Some(output::HarmEstimate::police_uk());
            }
            if args.sensitivity && found.previous.is_none() {
                eprintln!(
                    "note: the extract does not reach back far enough for the previous year's allocation"
                );
            }
            (found.areas, found.previous)
        }
    };
    let (allocation, mut extras) =
        funding::allocate_with_extras(pot, weights, &areas, args.sensitivity, previous.as_deref())?;
    extras.harm_estimate = estimate;
    let text = match args.format {
        FundingFormat::Table => output::table(&allocation, &extras),
        FundingFormat::Csv => output::csv(&allocation, &extras),
        FundingFormat::Json => output::json(&allocation, &extras),
    };
    match &args.output {
        Some(path) => {
            vrn_sna::output::write_atomically(path, text.as_bytes())?;
            eprintln!("{}", allocation.reconciliation());
            eprintln!(
                "Wrote {} areas to {}",
                allocation.areas.len(),
                path.display()
            );
        }
        None => {
            // Not print!, which panics when the reader has gone: the I/O error is returned.
            std::io::stdout().lock().write_all(text.as_bytes())?;
            if args.format != FundingFormat::Table {
                eprintln!("{}", allocation.reconciliation());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
