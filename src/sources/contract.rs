//! Input data contract v1: the one place that says which files an extract holds, which columns
//! each must have, of what kind, and which values are allowed. `docs/data-contract.md` is the
//! prose version of this module.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The kind of a column: the contract accepts any Arrow type of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Utf8, LargeUtf8 or Utf8View.
    String,
    /// Int8–Int64 or UInt8–UInt64.
    Integer,
    /// Timestamp of any unit with no time zone (UK local clock time).
    Timestamp,
    /// Date32 or Date64.
    Date,
    /// Boolean.
    Boolean,
    /// A number: any integer or floating-point type (coordinates of imported open data).
    Number,
}

impl Kind {
    /// Whether an Arrow type is of this kind.
    pub fn accepts(self, data_type: &DataType) -> bool {
        use DataType::*;
        match self {
            Kind::String => matches!(data_type, Utf8 | LargeUtf8 | Utf8View),
            Kind::Integer => matches!(
                data_type,
                Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
            ),
            Kind::Timestamp => matches!(data_type, Timestamp(_, None)),
            Kind::Date => matches!(data_type, Date32 | Date64),
            Kind::Boolean => matches!(data_type, Boolean),
            Kind::Number => {
                Kind::Integer.accepts(data_type) || matches!(data_type, Float32 | Float64)
            }
        }
    }

    /// The one Arrow type written for a column of this kind (by `sna generate`): Utf8, Int32,
    /// Timestamp in seconds with no time zone, Date32 or Boolean.
    pub fn written_type(self) -> DataType {
        match self {
            Kind::String => DataType::Utf8,
            Kind::Integer => DataType::Int32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Second, None),
            Kind::Date => DataType::Date32,
            Kind::Boolean => DataType::Boolean,
            Kind::Number => DataType::Float64,
        }
    }

    /// The kind's name as the contract document spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string (Utf8, LargeUtf8 or Utf8View)",
            Kind::Integer => "integer (Int8–Int64 or UInt8–UInt64)",
            Kind::Timestamp => "timestamp without time zone",
            Kind::Date => "date (Date32 or Date64)",
            Kind::Boolean => "boolean",
            Kind::Number => "number (an integer type, Float32 or Float64)",
        }
    }
}

/// One column of an input table.
#[derive(Debug)]
pub struct ColumnSpec {
    /// Exact column name.
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Whether nulls are an error.
    pub required: bool,
    /// The allowed values of a string column, when the contract fixes them.
    pub allowed: Option<&'static [&'static str]>,
}

/// One input table (one Parquet file of the extract).
#[derive(Debug)]
pub struct TableSpec {
    /// Table name in SQL, also the file stem.
    pub name: &'static str,
    /// Whether an extract may leave the file out.
    pub optional: bool,
    /// The columns, in contract order.
    pub columns: &'static [ColumnSpec],
    /// Columns that together must be unique.
    pub key: &'static [&'static str],
}

impl TableSpec {
    /// The file name in an extract directory.
    pub fn file_name(&self) -> String {
        format!("{}.parquet", self.name)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether this is the population of all ages ([`POPULATION_ALL_AGES`]: no `age`). Specs
    /// are told apart by content, not address: a `const` has no single address.
    pub fn is_all_ages_population(&self) -> bool {
        self.name == POPULATION.name && self.column("age").is_none()
    }

    /// The Arrow schema a file of this table is written with: every column in contract order,
    /// of its kind's written type, nullable unless required.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name, c.kind.written_type(), !c.required))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

const fn col(name: &'static str, kind: Kind, required: bool) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        required,
        allowed: None,
    }
}

const fn one_of(name: &'static str, allowed: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: Kind::String,
        required: true,
        allowed: Some(allowed),
    }
}

/// Location types that count as a public place.
pub const PUBLIC_PLACES: &[&str] = &[
    "street",
    "public_other",
    "licensed_premises",
    "retail",
    "transport",
    "education",
];

/// Every allowed `location_type`.
pub const LOCATION_TYPES: &[&str] = &[
    "street",
    "public_other",
    "licensed_premises",
    "retail",
    "transport",
    "education",
    "dwelling",
    "other_private",
    "unknown",
];

/// Allowed `sex` values for people: female, male, unknown or other.
pub const PERSON_SEXES: &[&str] = &["F", "M", "U"];

/// Allowed A&E `weapon` values.
pub const WEAPONS: &[&str] = &[
    "knife_sharp",
    "blunt",
    "firearm",
    "body_part",
    "other",
    "unknown",
];

/// `offences.parquet`: one row per police-recorded crime.
pub const OFFENCES: TableSpec = TableSpec {
    name: "offences",
    optional: false,
    columns: &[
        col("crime_id", Kind::String, true),
        col("offence_code", Kind::String, true),
        col("committed_at", Kind::Timestamp, true),
        col("recorded_date", Kind::Date, false),
        col("lsoa_code", Kind::String, false),
        one_of("location_type", LOCATION_TYPES),
        col("domestic", Kind::Boolean, true),
        col("knife", Kind::Boolean, true),
        col("nte", Kind::Boolean, true),
        col("easting", Kind::Integer, false),
        col("northing", Kind::Integer, false),
    ],
    key: &["crime_id"],
};

/// `persons.parquet` (optional): one row per person linked to a crime.
pub const PERSONS: TableSpec = TableSpec {
    name: "persons",
    optional: true,
    columns: &[
        col("crime_id", Kind::String, true),
        col("person_id", Kind::String, true),
        one_of("role", &["victim", "offender"]),
        col("age", Kind::Integer, false),
        one_of("sex", PERSON_SEXES),
        col("home_lsoa", Kind::String, false),
    ],
    key: &[],
};

/// `ae_attendances.parquet` (optional): one row per emergency department attendance with an
/// injury.
pub const AE_ATTENDANCES: TableSpec = TableSpec {
    name: "ae_attendances",
    optional: true,
    columns: &[
        col("attendance_id", Kind::String, true),
        col("patient_id", Kind::String, true),
        col("arrived_at", Kind::Timestamp, true),
        col("age", Kind::Integer, false),
        one_of("sex", PERSON_SEXES),
        col("home_lsoa", Kind::String, false),
        col("site", Kind::String, true),
        col("assault", Kind::Boolean, true),
        one_of("weapon", WEAPONS),
        col("admitted", Kind::Boolean, true),
    ],
    key: &["attendance_id"],
};

/// `ambulance.parquet` (optional): one row per ambulance incident.
pub const AMBULANCE: TableSpec = TableSpec {
    name: "ambulance",
    optional: true,
    columns: &[
        col("incident_id", Kind::String, true),
        col("called_at", Kind::Timestamp, true),
        col("age", Kind::Integer, false),
        one_of("sex", PERSON_SEXES),
        col("lsoa_code", Kind::String, false),
        col("assault", Kind::Boolean, true),
        col("conveyed", Kind::Boolean, true),
    ],
    key: &["incident_id"],
};

/// `istv.parquet` (optional): the Information Sharing to Tackle Violence (ISTV) return, one row
/// per assault attendance at an emergency department as the department sends it to its
/// community safety partnership (NHS ISB 1594, now carried in ECDS). Where the incident
/// happened and how, not who the patient is: there is no home LSOA. `sna import istv` writes it.
pub const ISTV: TableSpec = TableSpec {
    name: "istv",
    optional: true,
    columns: &[
        col("attendance_id", Kind::String, true),
        col("site", Kind::String, false),
        col("arrived_at", Kind::Timestamp, true),
        col("incident_at", Kind::Timestamp, false),
        col("incident_location", Kind::String, false),
        one_of("means", WEAPONS),
        col("means_original", Kind::String, false),
        col("age", Kind::Integer, false),
        one_of("sex", PERSON_SEXES),
        col("postcode_district", Kind::String, false),
        col("reported_to_police", Kind::Boolean, false),
    ],
    key: &["attendance_id"],
};

/// `population.parquet`: residents by mid-year, LSOA, sex and single year of age.
pub const POPULATION: TableSpec = TableSpec {
    name: "population",
    optional: false,
    columns: &[
        col("year", Kind::Integer, true),
        col("lsoa_code", Kind::String, true),
        one_of("sex", &["F", "M"]),
        col("age", Kind::Integer, true),
        col("population", Kind::Integer, true),
    ],
    key: &["year", "lsoa_code", "sex", "age"],
};

/// `population.parquet` in the all-ages form: residents by year and LSOA only, for areas whose
/// population comes as totals (the Census 2021 usual residents that `sna import police-uk`
/// writes for the bundled area when it is given no ONS estimates). Told apart from
/// [`POPULATION`] by having neither `sex` nor `age`. Rates of all residents work; measures by
/// age or sex are not possible ([`Extract::population_by_age_sex`]).
pub const POPULATION_ALL_AGES: TableSpec = TableSpec {
    name: "population",
    optional: false,
    columns: &[
        col("year", Kind::Integer, true),
        col("lsoa_code", Kind::String, true),
        col("population", Kind::Integer, true),
    ],
    key: &["year", "lsoa_code"],
};

/// `offences.parquet` in the open-data form: one row per crime as police.uk publishes it
/// (`sna import police-uk` writes it), with the month, not the time, and a police.uk crime type,
/// not a Home Office code. Other columns the import writes (`source_lsoa_code`, `location`,
/// `last_outcome`, ...) are kept and readable but not required.
pub const OPEN_OFFENCES: TableSpec = TableSpec {
    name: "offences",
    optional: false,
    columns: &[
        col("crime_id", Kind::String, true),
        col("month", Kind::Date, true),
        col("police_uk_crime_type", Kind::String, true),
        col("lsoa_code", Kind::String, false),
        col("easting", Kind::Number, false),
        col("northing", Kind::Number, false),
    ],
    key: &["crime_id"],
};

/// Every table of the contract's full form, in the order they are checked.
pub const TABLES: [&TableSpec; 6] = [
    &OFFENCES,
    &PERSONS,
    &AE_ATTENDANCES,
    &AMBULANCE,
    &ISTV,
    &POPULATION,
];

/// Every table of the open-data form: police.uk offences, with optional health sources and
/// the population; no persons (police.uk publishes none).
pub const OPEN_TABLES: [&TableSpec; 5] = [
    &OPEN_OFFENCES,
    &AE_ATTENDANCES,
    &AMBULANCE,
    &ISTV,
    &POPULATION,
];

/// The names of the optional sources of the full form (`persons`, `ae_attendances`,
/// `ambulance`, `istv`), in contract order.
pub fn optional_sources() -> impl Iterator<Item = &'static str> {
    TABLES.iter().filter(|t| t.optional).map(|t| t.name)
}

/// The two forms of an extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Force records: each offence's time, Home Office code and flags, with its people.
    Full,
    /// police.uk open data: each crime's month, police.uk crime type and place; no people.
    OpenData,
}

impl Form {
    /// The tables of this form, in the order they are checked.
    pub fn tables(self) -> &'static [&'static TableSpec] {
        match self {
            Form::Full => &TABLES,
            Form::OpenData => &OPEN_TABLES,
        }
    }

    /// Where the police data of this form come from, for captions.
    pub fn police_source(self) -> &'static str {
        match self {
            Form::Full => "police recorded crime extract",
            Form::OpenData => {
                "police.uk street-level crime (open data, Open Government Licence v3.0)"
            }
        }
    }

    /// The form's short name in text: `full` or `open-data` ("Not possible with these data
    /// (open-data extract)").
    pub fn label(self) -> &'static str {
        match self {
            Form::Full => "full",
            Form::OpenData => "open-data",
        }
    }

    /// The form's name in words.
    pub fn describe(self) -> &'static str {
        match self {
            Form::Full => "full (force records: offence times, Home Office codes, people)",
            Form::OpenData => "open data (police.uk: months, police.uk crime types, no people)",
        }
    }
}

/// An extract that breaks the contract so that it cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The extract directory itself is missing.
    #[error("data directory {0} does not exist")]
    MissingDirectory(PathBuf),
    /// An open-data extract holds a persons file, which cannot be linked to police.uk crimes.
    #[error(
        "{0}: an extract in the open-data form (police.uk offences, by month) cannot have persons: police.uk crime identifiers are not the force's, and people need each offence's time. Remove persons.parquet, or give the force's offences in the full form (docs/data-contract.md)"
    )]
    PersonsWithOpenData(PathBuf),
    /// A required file is absent.
    #[error(
        "{path}: required file is missing (every extract needs offences and population; persons, ae_attendances, ambulance and istv are optional)"
    )]
    MissingFile {
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// The file does not start with the Parquet magic bytes.
    #[error("{path}: not a Parquet file (it does not start with the PAR1 magic bytes)")]
    NotParquet {
        /// The file.
        path: PathBuf,
    },
    /// The file starts like Parquet but its footer cannot be read.
    #[error("{path}: truncated or corrupt Parquet file: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The Parquet reader's error.
        source: parquet::errors::ParquetError,
    },
    /// A contract column is absent.
    #[error("{path}: column `{column}` is missing (found: {found})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: &'static str,
        /// The columns the file has.
        found: String,
    },
    /// A contract column has a type of another kind.
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The kind the contract asks for.
        expected: &'static str,
        /// The Arrow type found.
        found: String,
    },
    /// An extract in an object store that could not be read.
    #[error(transparent)]
    Remote(#[from] super::remote::RemoteError),
    /// The path is not a regular file (a directory, a named pipe, a socket or a device).
    #[error("{path}: is {what}, not a file; an extract's inputs must be regular files")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, with its article.
        what: &'static str,
    },
    /// An I/O error reading the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// An extract's form and the contract files found in it.
#[derive(Debug, Clone)]
pub struct Extract {
    /// Which form its offences are in.
    pub form: Form,
    /// The files found, in contract order.
    pub files: Vec<ExtractFile>,
}

impl Extract {
    /// An extract in `form` holding `tables` (for tests of what follows from the sources).
    #[cfg(test)]
    pub fn of_tables(form: Form, tables: &[&'static TableSpec]) -> Extract {
        Extract {
            form,
            files: tables
                .iter()
                .map(|spec| ExtractFile {
                    spec,
                    path: spec.file_name().into(),
                    rows: 1,
                    bytes: 1,
                })
                .collect(),
        }
    }

    /// Whether the extract holds the table `name`.
    pub fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f.spec.name == name)
    }

    /// Whether its population is by single year of age and sex ([`POPULATION`]), not all ages
    /// ([`POPULATION_ALL_AGES`]).
    pub fn population_by_age_sex(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.spec.name == POPULATION.name && !f.spec.is_all_ages_population())
    }
}

/// The contract files found in an extract directory, with their row counts.
#[derive(Debug, Clone)]
pub struct ExtractFile {
    /// The table spec it satisfies.
    pub spec: &'static TableSpec,
    /// Path of the Parquet file.
    pub path: PathBuf,
    /// Rows, from the Parquet footer.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// Checks every contract file in `dir`: present (unless optional), Parquet, readable footer,
/// every column present and of the right kind. The form is the offences file's: open data
/// when it has `month` and `police_uk_crime_type` and no `offence_code`. Returns the form and
/// the files found.
pub fn check_extract(dir: &Path) -> Result<Extract, ContractError> {
    if !dir.is_dir() {
        return Err(ContractError::MissingDirectory(dir.to_path_buf()));
    }
    let form = form_of(dir)?;
    if form == Form::OpenData && dir.join(PERSONS.file_name()).exists() {
        return Err(ContractError::PersonsWithOpenData(
            dir.join(PERSONS.file_name()),
        ));
    }
    let mut files = Vec::new();
    for &spec in form.tables() {
        let path = dir.join(spec.file_name());
        let footer = if path.exists() {
            ensure_regular_file(&path)?;
            Some(read_footer(&path)?)
        } else {
            None
        };
        files.extend(checked_file(spec, path, footer)?);
    }
    Ok(Extract { form, files })
}

/// The extract's file of table `spec` at `path`, from its footer (schema, rows, bytes), its
/// columns checked; `None` when an optional table has no file.
fn checked_file(
    spec: &'static TableSpec,
    path: PathBuf,
    footer: Option<(Schema, u64, u64)>,
) -> Result<Option<ExtractFile>, ContractError> {
    let Some((schema, rows, bytes)) = footer else {
        return if spec.optional {
            Ok(None)
        } else {
            Err(ContractError::MissingFile { path })
        };
    };
    let spec = population_form(spec, &schema);
    check_schema(&path, spec, &schema)?;
    Ok(Some(ExtractFile {
        spec,
        path,
        rows,
        bytes,
    }))
}

/// Checks the extract in `dir`: a directory ([`check_extract`]) or a place in an object store
/// ([`super::remote`]), whose objects are checked in the same way from their footers.
pub async fn check_extract_anywhere(dir: &Path) -> Result<Extract, ContractError> {
    if !super::remote::is_remote(dir) {
        return check_extract(dir);
    }
    let footer = async |path: &Path| {
        use super::remote::FooterError;
        super::remote::footer(path).await.map_err(|e| match e {
            FooterError::Remote(e) => ContractError::Remote(e),
            FooterError::NotParquet => ContractError::NotParquet {
                path: path.to_path_buf(),
            },
            FooterError::Parquet(source) => ContractError::Corrupt {
                path: path.to_path_buf(),
                source,
            },
        })
    };
    let form = match footer(&dir.join(OFFENCES.file_name())).await? {
        Some((schema, _, _)) => form_of_schema(&schema),
        None => Form::Full,
    };
    let persons = dir.join(PERSONS.file_name());
    if form == Form::OpenData && footer(&persons).await?.is_some() {
        return Err(ContractError::PersonsWithOpenData(persons));
    }
    let mut files = Vec::new();
    for &spec in form.tables() {
        let path = dir.join(spec.file_name());
        let footer = footer(&path).await?;
        files.extend(checked_file(spec, path, footer)?);
    }
    Ok(Extract { form, files })
}

/// The form of the extract in `dir`, from its offences file's columns (full when the file is
/// missing or unreadable: the full form's checks then name the problem).
fn form_of(dir: &Path) -> Result<Form, ContractError> {
    let path = dir.join(OFFENCES.file_name());
    if !path.is_file() {
        return Ok(Form::Full);
    }
    let (schema, _, _) = read_footer(&path)?;
    Ok(form_of_schema(&schema))
}

/// The form an offences file with `schema` is in.
fn form_of_schema(schema: &Schema) -> Form {
    let has = |name: &str| schema.field_with_name(name).is_ok();
    if has("month") && has("police_uk_crime_type") && !has("offence_code") {
        Form::OpenData
    } else {
        Form::Full
    }
}

/// The population's form, from its columns: all ages when it has neither `sex` nor `age`, else
/// by age and sex (whose check then names a missing column). Other tables are as given.
fn population_form(spec: &'static TableSpec, schema: &Schema) -> &'static TableSpec {
    let has = |name: &str| schema.field_with_name(name).is_ok();
    if spec.name == POPULATION.name && !has("sex") && !has("age") {
        &POPULATION_ALL_AGES
    } else {
        spec
    }
}

/// Refuses a path that is not a regular file (symbolic links are followed), so that a
/// directory is named as one and a named pipe is never opened (reading it would wait forever).
pub fn ensure_regular_file(path: &Path) -> Result<(), ContractError> {
    let meta = std::fs::metadata(path).map_err(|source| ContractError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        file_type_name(&meta.file_type())
    };
    Err(ContractError::NotAFile {
        path: path.to_path_buf(),
        what,
    })
}

#[cfg(unix)]
fn file_type_name(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn file_type_name(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

/// Reads a Parquet file's footer: its Arrow schema, row count and size.
fn read_footer(path: &Path) -> Result<(Schema, u64, u64), ContractError> {
    let io = |source| ContractError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 4];
    let starts_with_magic = bytes >= 4 && file.read_exact(&mut magic).is_ok() && &magic == b"PAR1";
    if !starts_with_magic {
        return Err(ContractError::NotParquet {
            path: path.to_path_buf(),
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| {
        ContractError::Corrupt {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    Ok((builder.schema().as_ref().clone(), rows, bytes))
}

fn check_schema(path: &Path, spec: &TableSpec, schema: &Schema) -> Result<(), ContractError> {
    for column in spec.columns {
        let field =
            schema
                .field_with_name(column.name)
                .map_err(|_| ContractError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.name,
                    found: schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        if !column.kind.accepts(field.data_type()) {
            return Err(ContractError::WrongKind {
                path: path.to_path_buf(),
                column: column.name,
                expected: column.kind.name(),
                found: field.data_type().to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_accept_any_type_of_the_kind() {
        assert!(Kind::String.accepts(&DataType::Utf8View));
        assert!(Kind::Integer.accepts(&DataType::Int8));
        assert!(Kind::Timestamp.accepts(&DataType::Timestamp(TimeUnit::Millisecond, None)));
        assert!(
            !Kind::Timestamp.accepts(&DataType::Timestamp(TimeUnit::Second, Some("UTC".into())))
        );
        assert!(!Kind::Integer.accepts(&DataType::Float64));
        assert!(Kind::Date.accepts(&DataType::Date64));
    }

    #[test]
    fn the_form_is_read_from_the_offences_columns() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(form_of(dir.path()).unwrap(), Form::Full, "no offences file");
        for (spec, form) in [(&OFFENCES, Form::Full), (&OPEN_OFFENCES, Form::OpenData)] {
            let file = std::fs::File::create(dir.path().join("offences.parquet")).unwrap();
            let writer =
                parquet::arrow::ArrowWriter::try_new(file, spec.arrow_schema(), None).unwrap();
            writer.close().unwrap();
            assert_eq!(form_of(dir.path()).unwrap(), form, "{form:?}");
        }
        std::fs::write(dir.path().join("persons.parquet"), "").unwrap();
        let err = check_extract(dir.path()).unwrap_err();
        assert!(
            matches!(err, ContractError::PersonsWithOpenData(_)),
            "{err}"
        );
    }

    #[test]
    fn every_key_column_is_a_required_contract_column() {
        for spec in TABLES.into_iter().chain(OPEN_TABLES) {
            for key in spec.key {
                let column = spec.column(key).expect("key column in spec");
                assert!(column.required, "{}.{key}", spec.name);
            }
        }
    }

    #[test]
    fn every_written_schema_passes_the_contract_checks() {
        for spec in TABLES.into_iter().chain(OPEN_TABLES) {
            let schema = spec.arrow_schema();
            assert_eq!(schema.fields().len(), spec.columns.len(), "{}", spec.name);
            for (field, column) in schema.fields().iter().zip(spec.columns) {
                assert_eq!(field.name(), column.name, "{}", spec.name);
                assert!(
                    column.kind.accepts(field.data_type()),
                    "{}.{}",
                    spec.name,
                    column.name
                );
                assert_eq!(
                    field.is_nullable(),
                    !column.required,
                    "{}.{}",
                    spec.name,
                    column.name
                );
            }
            let path = Path::new(spec.name);
            check_schema(path, spec, &schema).expect("written schema meets the contract");
        }
    }
}
