//! The reference lookups a catalog registers beside the extract: LSOAs (bundled or the
//! extract's own), offence codes, the European Standard Population and `[localities]`.

use super::*;

/// The extract's own LSOA lookup, `reference/lsoa.csv`, with its text; `None` when it has none.
pub async fn own_lsoa_lookup(data_dir: &Path) -> Result<Option<(PathBuf, String)>, CatalogError> {
    own_reference(data_dir, "lsoa.csv").await
}

/// The extract's own reference file `reference/NAME` in `data_dir` (a directory or a place in an
/// object store), with its text; `None` when it has none.
pub async fn own_reference(
    data_dir: &Path,
    name: &str,
) -> Result<Option<(PathBuf, String)>, CatalogError> {
    let path = data_dir.join("reference").join(name);
    let unreadable = |source: Box<dyn std::error::Error + Send + Sync>| CatalogError::Reference {
        source_name: path.display().to_string(),
        source,
    };
    if crate::sources::remote::is_remote(data_dir) {
        let bytes = crate::sources::remote::read(&path)
            .await
            .map_err(contract::ContractError::from)?;
        return bytes
            .map(|b| String::from_utf8(b).map_err(|e| unreadable(e.into())))
            .transpose()
            .map(|text| text.map(|t| (path.clone(), t)));
    }
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    contract::ensure_regular_file(&path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.into()))?;
    Ok(Some((path, text)))
}

/// Registers the reference lookups `lsoa` (`own`, the extract's own `reference/lsoa.csv` from
/// [`own_lsoa_lookup`], when it has one), `offence_codes`, `police_uk_harm` (each police.uk
/// crime type's estimated harm) and `esp2013`.
pub fn register_reference(
    ctx: &SessionContext,
    own: Option<(PathBuf, String)>,
) -> Result<LookupSource, CatalogError> {
    let lsoa_source = if let Some((path, text)) = own {
        register_csv(
            ctx,
            "lsoa",
            &text,
            lsoa_schema(),
            &path.display().to_string(),
        )?;
        let rows = text.lines().count().saturating_sub(1) as u64;
        LookupSource::Extract { path, rows }
    } else {
        register_csv(
            ctx,
            "lsoa",
            reference::LSOA_CSV,
            lsoa_schema(),
            "data/reference/lsoa.csv",
        )?;
        LookupSource::Bundled
    };
    register_csv(
        ctx,
        "offence_codes",
        reference::OFFENCE_CODES_CSV,
        offence_codes_schema(),
        "data/reference/offence_codes.csv",
    )?;
    register_csv(
        ctx,
        "police_uk_harm",
        reference::POLICE_UK_HARM_CSV,
        police_uk_harm_schema(),
        "data/reference/police_uk_harm.csv",
    )?;
    register_csv(
        ctx,
        "esp2013",
        reference::ESP2013_CSV,
        esp2013_schema(),
        "data/reference/esp2013.csv",
    )?;
    Ok(lsoa_source)
}

/// Registers `localities(locality, lsoa_code)`: each LSOA of a configured locality, its
/// members (ward names, ward codes or LSOA codes) resolved against the `lsoa` lookup. Empty when
/// none are configured, so queries and jobs can always join it.
pub async fn register_localities(
    ctx: &SessionContext,
    localities: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<(), CatalogError> {
    let mut names: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    if !localities.is_empty() {
        let batches = ctx
            .sql("SELECT lsoa_code, ward_code, ward_name FROM lsoa ORDER BY lsoa_code")
            .await
            .map_err(CatalogError::datafusion("reading the LSOA lookup"))?
            .collect()
            .await
            .map_err(CatalogError::datafusion("reading the LSOA lookup"))?;
        let mut lookup: Vec<[String; 3]> = Vec::new();
        for batch in &batches {
            let text = |i: usize| {
                arrow::compute::cast(batch.column(i), &DataType::Utf8)
                    .map_err(|e| CatalogError::datafusion("reading the LSOA lookup")(e.into()))
            };
            let (lsoa, ward_code, ward_name) = (text(0)?, text(1)?, text(2)?);
            use arrow::array::AsArray;
            let (lsoa, ward_code, ward_name) = (
                lsoa.as_string::<i32>(),
                ward_code.as_string::<i32>(),
                ward_name.as_string::<i32>(),
            );
            for row in 0..batch.num_rows() {
                lookup.push([
                    lsoa.value(row).to_owned(),
                    ward_code.value(row).to_owned(),
                    ward_name.value(row).to_owned(),
                ]);
            }
        }
        let mut assigned: std::collections::BTreeMap<String, String> = Default::default();
        for (locality, members) in localities {
            for member in members {
                let matched: Vec<&String> = lookup
                    .iter()
                    .filter(|[lsoa, ward_code, ward_name]| {
                        lsoa == member || ward_code == member || ward_name == member
                    })
                    .map(|[lsoa, _, _]| lsoa)
                    .collect();
                if matched.is_empty() {
                    return Err(CatalogError::Localities(format!(
                        "\"{}\" in locality \"{}\" is not a ward name, ward code or LSOA code of the area's lookup",
                        crate::text::printable(member),
                        crate::text::printable(locality)
                    )));
                }
                for lsoa in matched {
                    if let Some(other) = assigned.insert(lsoa.clone(), locality.clone())
                        && other != *locality
                    {
                        return Err(CatalogError::Localities(format!(
                            "LSOA {lsoa} is in both \"{other}\" and \"{locality}\"; a neighbourhood belongs to one locality"
                        )));
                    }
                }
            }
        }
        for (lsoa, locality) in assigned {
            codes.push(lsoa);
            names.push(locality);
        }
    }
    let batch = RecordBatch::try_from_iter([
        ("locality", Arc::new(StringArray::from(names)) as ArrayRef),
        ("lsoa_code", Arc::new(StringArray::from(codes))),
    ])
    .map_err(|e| CatalogError::datafusion("building localities")(e.into()))?;
    register_batch(ctx, "localities", batch)
}

pub(super) fn register_batch(
    ctx: &SessionContext,
    name: &str,
    batch: RecordBatch,
) -> Result<(), CatalogError> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])
        .map_err(CatalogError::datafusion(format!("registering {name}")))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(CatalogError::datafusion(format!("registering {name}")))?;
    Ok(())
}

pub(super) fn register_csv(
    ctx: &SessionContext,
    name: &str,
    text: &str,
    schema: SchemaRef,
    source_name: &str,
) -> Result<(), CatalogError> {
    let reference_error = |e: arrow::error::ArrowError| CatalogError::Reference {
        source_name: source_name.to_owned(),
        source: e.into(),
    };
    let header = text.lines().next().unwrap_or_default();
    let found: Vec<&str> = header.split(',').map(str::trim).collect();
    for field in schema.fields() {
        if !found.contains(&field.name().as_str()) {
            return Err(CatalogError::ReferenceColumn {
                source_name: source_name.to_owned(),
                column: field.name().to_owned(),
                header: header.to_owned(),
            });
        }
    }
    let projection: Vec<usize> = schema
        .fields()
        .iter()
        .map(|f| {
            found
                .iter()
                .position(|c| c == f.name())
                .expect("checked above")
        })
        .collect();
    let file_schema = Arc::new(Schema::new(
        found
            .iter()
            .map(|c| {
                schema
                    .field_with_name(c)
                    .cloned()
                    .unwrap_or_else(|_| Field::new(*c, DataType::Utf8, true))
            })
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::csv::ReaderBuilder::new(file_schema)
        .with_header(true)
        .with_projection(projection)
        .build(Cursor::new(text.as_bytes()))
        .map_err(reference_error)?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(reference_error)?;
    let table = MemTable::try_new(schema, vec![batches]).map_err(CatalogError::datafusion(
        format!("registering {source_name}"),
    ))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(CatalogError::datafusion(format!(
            "registering {source_name}"
        )))?;
    Ok(())
}

pub(super) fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Columns of the LSOA lookup (`data/reference/lsoa.csv`).
pub fn lsoa_schema() -> SchemaRef {
    let mut fields: Vec<Field> = [
        "lsoa_code",
        "lsoa_name",
        "msoa_code",
        "msoa_name",
        "ward_code",
        "ward_name",
        "lad_code",
        "lad_name",
        "csp_code",
        "csp_name",
    ]
    .into_iter()
    .map(utf8)
    .collect();
    fields.extend([
        Field::new("latitude", DataType::Float64, true),
        Field::new("longitude", DataType::Float64, true),
        Field::new("easting", DataType::Float64, true),
        Field::new("northing", DataType::Float64, true),
        Field::new("imd2019_decile", DataType::Int64, true),
    ]);
    Arc::new(Schema::new(fields))
}

pub(super) fn offence_codes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("offence_code"),
        utf8("offence_name"),
        utf8("ho_group"),
        utf8("offence_category"),
        Field::new("harm_days", DataType::Int64, true),
        utf8("harm_source"),
        utf8("police_uk_crime_type"),
    ]))
}

pub(super) fn police_uk_harm_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("police_uk_crime_type"),
        Field::new("harm_days", DataType::Float64, true),
        Field::new("codes", DataType::Int64, true),
        utf8("derivation"),
    ]))
}

pub(super) fn esp2013_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("age_band"),
        Field::new("band_start", DataType::Int64, true),
        Field::new("weight", DataType::Float64, true),
    ]))
}
