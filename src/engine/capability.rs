//! What an extract can support, and which jobs it can therefore run.
//!
//! Areas hold different sources: a force's records with people, police.uk open data with
//! months and crime types only, with or without emergency-department and ambulance extracts.
//! Each [`Capability`] is one thing a measure may need. An extract has the capabilities of its
//! form and of the sources it holds ([`Available::of`]); a job needs the sources its SQL reads
//! (found from the SQL, so it cannot disagree with it) and the capabilities its metadata
//! declares (`needs = ["offence_times"]`). A job whose needs are not met is not run and is
//! listed, with why, as not possible with these data ([`possible`]): never run over an empty
//! table to give zeros.
//!
//! A job that reads a source but copes without it (the headline gives the measures it can)
//! says so with `copes_without = ["persons"]`, and reads the one-row `available` table to leave
//! out what it cannot give.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use serde::{Deserialize, Serialize};

use crate::engine::jobs::JobError;
use crate::engine::queries::{QuerySet, SqlFile};
use crate::sources::contract::{Extract, Form};

/// One thing a measure may need of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Victims and offenders: a `persons` file.
    Persons,
    /// Emergency-department attendances: an `ae_attendances` file.
    AeAttendances,
    /// Ambulance incidents: an `ambulance` file.
    Ambulance,
    /// Emergency departments' ISTV returns (where and how assaults happened): an `istv` file.
    Istv,
    /// Each offence's date and time of day (the full form; police.uk gives the month).
    OffenceTimes,
    /// Each offence's Home Office code, hence its offence group and harm weight (the full form).
    HomeOfficeCodes,
    /// The force's flags on each offence: knife, night-time economy, domestic abuse and type
    /// of location (the full form).
    OffenceFlags,
    /// police.uk crime types (the open-data form).
    PoliceUkCrimeTypes,
    /// Residents by single year of age and sex (ONS estimates), not only all-ages totals.
    ResidentsByAgeSex,
}

/// Every capability, in the order the `available` table gives them.
pub const ALL: [Capability; 9] = [
    Capability::Persons,
    Capability::AeAttendances,
    Capability::Ambulance,
    Capability::Istv,
    Capability::OffenceTimes,
    Capability::HomeOfficeCodes,
    Capability::OffenceFlags,
    Capability::PoliceUkCrimeTypes,
    Capability::ResidentsByAgeSex,
];

impl Capability {
    /// Its name in metadata and in the `available` table.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Persons => "persons",
            Capability::AeAttendances => "ae_attendances",
            Capability::Ambulance => "ambulance",
            Capability::Istv => "istv",
            Capability::OffenceTimes => "offence_times",
            Capability::HomeOfficeCodes => "home_office_codes",
            Capability::OffenceFlags => "offence_flags",
            Capability::PoliceUkCrimeTypes => "police_uk_crime_types",
            Capability::ResidentsByAgeSex => "residents_by_age_sex",
        }
    }

    /// The capability an input table of the contract gives (`offences` and `population`,
    /// which every extract has, give none).
    pub fn of_source(table: &str) -> Option<Capability> {
        match table {
            "persons" => Some(Capability::Persons),
            "ae_attendances" => Some(Capability::AeAttendances),
            "ambulance" => Some(Capability::Ambulance),
            "istv" => Some(Capability::Istv),
            _ => None,
        }
    }

    /// What is missing, in words, for "not possible with these data: ...".
    pub fn missing(self) -> &'static str {
        match self {
            Capability::Persons => "victims and offenders need a persons extract",
            Capability::AeAttendances => {
                "emergency-department measures need an ae_attendances extract"
            }
            Capability::Ambulance => "ambulance measures need an ambulance extract",
            Capability::Istv => {
                "the Cardiff Model view needs emergency departments' ISTV returns (sna import istv)"
            }
            Capability::OffenceTimes => {
                "the day and time of offences need each offence's time (police.uk gives the month only)"
            }
            Capability::HomeOfficeCodes => {
                "offence groups and harm need Home Office offence codes (police.uk gives its own crime types)"
            }
            Capability::OffenceFlags => {
                "knife, night-time economy and place flags need the force's records (police.uk has none)"
            }
            Capability::PoliceUkCrimeTypes => {
                "the police.uk crime-type mix needs police.uk open data"
            }
            Capability::ResidentsByAgeSex => {
                "rates by age or sex need residents by single year of age and sex (ONS mid-year estimates: sna import ons-population); this population is all ages"
            }
        }
    }
}

/// What one extract can support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// The extract's form.
    pub form: Form,
    set: BTreeSet<Capability>,
}

impl Available {
    /// The capabilities of `extract`: its form's, and its optional sources'.
    pub fn of(extract: &Extract) -> Available {
        let mut set: BTreeSet<Capability> = extract
            .files
            .iter()
            .filter_map(|f| Capability::of_source(f.spec.name))
            .collect();
        match extract.form {
            Form::Full => set.extend([
                Capability::OffenceTimes,
                Capability::HomeOfficeCodes,
                Capability::OffenceFlags,
            ]),
            Form::OpenData => {
                set.insert(Capability::PoliceUkCrimeTypes);
            }
        }
        if extract.population_by_age_sex() {
            set.insert(Capability::ResidentsByAgeSex);
        }
        Available {
            form: extract.form,
            set,
        }
    }

    /// Whether the extract has `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.set.contains(&capability)
    }

    /// The one-row `available` table: `form`, then one boolean column per capability.
    pub fn batch(&self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let form = match self.form {
            Form::Full => "full",
            Form::OpenData => "open_data",
        };
        let mut columns: Vec<(&str, ArrayRef)> =
            vec![("form", Arc::new(StringArray::from(vec![form])))];
        for capability in ALL {
            columns.push((
                capability.name(),
                Arc::new(BooleanArray::from(vec![self.has(capability)])),
            ));
        }
        RecordBatch::try_from_iter(columns)
    }
}

/// A job the extract cannot support, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotPossible {
    /// The job (its output table).
    pub job: String,
    /// Its title.
    pub title: String,
    /// Why, in words: what is missing.
    pub reason: String,
    /// Whether the report lists it: not when it needs only what the other form has (the
    /// police.uk crime-type mix, on a force's records, which have their offence mix instead).
    pub listed: bool,
}

/// Splits `jobs` into those the extract supports and those it does not, in file order. A job
/// is not possible when a source its SQL reads (through views and other jobs) is missing and
/// its metadata does not say it copes without it, when a capability its metadata needs is
/// missing, or when a job it reads is not possible.
pub fn possible<'a>(
    jobs: &[&'a SqlFile],
    queries: &QuerySet,
    available: &Available,
) -> Result<(Vec<&'a SqlFile>, Vec<NotPossible>), JobError> {
    let sql_error = |job: &SqlFile| {
        let (name, file) = (job.name.clone(), job.relative_path.clone());
        move |source| JobError::Sql {
            job: name,
            file,
            source,
        }
    };
    let mut missing: Vec<(usize, Vec<String>)> = Vec::new();
    let mut unlisted: Vec<usize> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let mut needs: BTreeSet<Capability> = job.meta.needs.iter().copied().collect();
        for source in crate::engine::jobs::sources(&job.sql, queries).map_err(sql_error(job))? {
            if let Some(capability) = Capability::of_source(&source)
                && !job.meta.copes_without.contains(&capability)
            {
                needs.insert(capability);
            }
        }
        let lacking: Vec<Capability> = needs.into_iter().filter(|c| !available.has(*c)).collect();
        if !lacking.is_empty() {
            if lacking == [Capability::PoliceUkCrimeTypes] && available.form == Form::Full {
                unlisted.push(i);
            }
            missing.push((i, lacking.iter().map(|c| c.missing().to_owned()).collect()));
        }
    }
    // A job reading a job that is not possible is not possible either, to any depth. A name
    // that is an input table or a view is that, not a job (the `ambulance` job summarises the
    // `ambulance` input; see `jobs::run_all`).
    let names: Vec<String> = jobs.iter().map(|j| j.name.to_ascii_lowercase()).collect();
    let not_jobs: BTreeSet<String> = crate::sources::contract::TABLES
        .iter()
        .map(|t| t.name.to_owned())
        .chain(
            queries
                .all()
                .filter_map(|f| crate::engine::jobs::view_name(&f.sql)),
        )
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let mut references = Vec::new();
    for job in jobs {
        let mut refs = crate::engine::jobs::references(&job.sql).map_err(sql_error(job))?;
        refs.retain(|r| !not_jobs.contains(r));
        references.push(refs);
    }
    loop {
        let mut added = false;
        for (i, refs) in references.iter().enumerate() {
            if missing.iter().any(|(m, _)| *m == i) {
                continue;
            }
            let upstream = missing
                .iter()
                .find(|(m, _)| refs.contains(&names[*m]))
                .map(|(m, _)| jobs[*m].name.clone());
            if let Some(upstream) = upstream {
                missing.push((
                    i,
                    vec![format!("it reads {upstream}, which is not possible")],
                ));
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    let mut run = Vec::new();
    let mut not = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match missing.iter().find(|(m, _)| *m == i) {
            Some((_, reasons)) => not.push(NotPossible {
                job: job.name.clone(),
                title: job.title(),
                reason: reasons.join("; "),
                listed: !unlisted.contains(&i),
            }),
            None => run.push(*job),
        }
    }
    Ok((run, not))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::contract;

    fn extract(form: Form, tables: &[&'static contract::TableSpec]) -> Extract {
        Extract::of_tables(form, tables)
    }

    #[test]
    fn capabilities_follow_the_form_and_the_sources() {
        let open = Available::of(&extract(
            Form::OpenData,
            &[&contract::OPEN_OFFENCES, &contract::POPULATION],
        ));
        assert!(open.has(Capability::PoliceUkCrimeTypes));
        assert!(!open.has(Capability::OffenceTimes));
        assert!(!open.has(Capability::Persons));
        let full = Available::of(&extract(
            Form::Full,
            &[
                &contract::OFFENCES,
                &contract::PERSONS,
                &contract::POPULATION,
            ],
        ));
        assert!(full.has(Capability::Persons) && full.has(Capability::OffenceTimes));
        assert!(!full.has(Capability::AeAttendances) && !full.has(Capability::PoliceUkCrimeTypes));
        assert!(full.has(Capability::ResidentsByAgeSex));
        // Census totals: rates of all residents, but not by age or sex.
        let totals = Available::of(&extract(
            Form::Full,
            &[&contract::OFFENCES, &contract::POPULATION_ALL_AGES],
        ));
        assert!(totals.has(Capability::OffenceTimes));
        assert!(!totals.has(Capability::ResidentsByAgeSex));
        let batch = full.batch().unwrap();
        assert_eq!(batch.num_columns(), 1 + ALL.len());
        assert_eq!(batch.num_rows(), 1);
    }

    #[test]
    fn jobs_without_their_sources_or_needs_are_not_possible_and_so_are_their_readers() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, sql: &str, meta: &str| {
            std::fs::write(dir.path().join(format!("{name}.sql")), sql).unwrap();
            std::fs::write(dir.path().join(format!("{name}.toml")), meta).unwrap();
        };
        write(
            "counts",
            "SELECT COUNT(*) AS n FROM offences",
            "title = \"Counts\"\n",
        );
        // Named like the input it summarises: a job reading `ambulance` reads the input.
        write(
            "ambulance",
            "SELECT COUNT(*) AS n FROM ambulance",
            "title = \"Ambulance\"\n",
        );
        write(
            "victims",
            "SELECT COUNT(*) AS n FROM persons",
            "title = \"Victims\"\n",
        );
        write("summary", "SELECT n FROM hours", "title = \"Summary\"\n");
        write(
            "hours",
            "SELECT COUNT(*) AS n FROM offences",
            "title = \"Hours\"\nneeds = [\"offence_times\"]\n",
        );
        write(
            "headline",
            "SELECT (SELECT COUNT(*) FROM offences) + (SELECT COUNT(*) FROM persons) \
             + (SELECT COUNT(*) FROM ambulance) AS n",
            "title = \"Headline\"\ncopes_without = [\"persons\", \"ambulance\"]\n",
        );
        // A view that reads persons only in its open-data definition.
        std::fs::create_dir_all(dir.path().join("views/open_data")).unwrap();
        std::fs::write(
            dir.path().join("views/people.sql"),
            "CREATE VIEW people AS SELECT crime_id FROM offences",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("views/open_data/people.sql"),
            "CREATE VIEW people AS SELECT crime_id FROM persons",
        )
        .unwrap();
        write(
            "via_view",
            "SELECT COUNT(*) AS n FROM people",
            "title = \"Via a view\"\n",
        );
        let queries = QuerySet::load(dir.path()).unwrap();
        let jobs: Vec<&SqlFile> = queries.jobs.iter().collect();
        let open = Available::of(&extract(
            Form::OpenData,
            &[&contract::OPEN_OFFENCES, &contract::POPULATION],
        ));
        let (run, not) = possible(&jobs, &queries, &open).unwrap();
        let run: Vec<&str> = run.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(run, ["counts", "headline"]);
        let not: Vec<(&str, &str)> = not
            .iter()
            .map(|n| (n.job.as_str(), n.reason.as_str()))
            .collect();
        assert_eq!(
            not,
            [
                ("ambulance", Capability::Ambulance.missing()),
                ("hours", Capability::OffenceTimes.missing()),
                ("summary", "it reads hours, which is not possible"),
                ("via_view", Capability::Persons.missing()),
                ("victims", Capability::Persons.missing()),
            ]
        );
        let full = Available::of(&extract(
            Form::Full,
            &[
                &contract::OFFENCES,
                &contract::PERSONS,
                &contract::POPULATION,
            ],
        ));
        let (run, not) = possible(&jobs, &queries, &full).unwrap();
        assert_eq!(run.len(), 6, "all but ambulance");
        assert_eq!(not.len(), 1);
        assert_eq!(not[0].job, "ambulance");
    }
}
