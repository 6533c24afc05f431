//! Output tables as files: each result written batch by batch to `<name>.csv` and
//! `<name>.parquet` side by side, and SHA-256 of files for manifests. Used by the assessment
//! bundle and the partner pack.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::engine::queries::hex;

/// A file that could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct OutputError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong: an I/O, CSV, Parquet, Arrow or JSON error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl OutputError {
    /// A constructor of errors about `path` from their cause.
    pub fn at<E>(path: &Path) -> impl Fn(E) -> OutputError + '_
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        move |e| OutputError {
            path: path.to_path_buf(),
            source: e.into(),
        }
    }
}

/// The schema as written to Parquet, so that other tools read every column as what it is:
/// `Timestamp(Second)`, which Parquet has no logical type for (it would be a bare INT64 that
/// DuckDB, pandas and Power BI read as a number), becomes `Timestamp(Millisecond)`, and `Date64`
/// becomes `Date32` (DATE). Other types are written as they are.
pub fn parquet_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|f| needs_cast(f.data_type()).is_some())
    {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match needs_cast(f.data_type()) {
            Some(to) => f.as_ref().clone().with_data_type(to),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn needs_cast(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Timestamp(TimeUnit::Second, tz) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))
        }
        DataType::Date64 => Some(DataType::Date32),
        _ => None,
    }
}

/// `batch` with its columns cast to `schema` (from [`parquet_schema`]).
pub fn to_parquet_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    if batch.schema_ref() == schema {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// One table being written as CSV (with a header) and Parquet (zstd).
pub struct TableFiles {
    csv_path: PathBuf,
    parquet_path: PathBuf,
    schema: SchemaRef,
    parquet_schema: SchemaRef,
    csv: arrow::csv::Writer<BufWriter<File>>,
    parquet: ArrowWriter<File>,
    rows: u64,
}

impl TableFiles {
    /// Creates `dir/<name>.csv` and `dir/<name>.parquet` for rows of `schema`.
    pub fn create(dir: &Path, name: &str, schema: SchemaRef) -> Result<TableFiles, OutputError> {
        let csv_path = dir.join(format!("{name}.csv"));
        let parquet_path = dir.join(format!("{name}.parquet"));
        let csv_file = File::create(&csv_path).map_err(OutputError::at(&csv_path))?;
        let csv = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(BufWriter::new(csv_file));
        let parquet_file = File::create(&parquet_path).map_err(OutputError::at(&parquet_path))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let parquet_schema = parquet_schema(&schema);
        let parquet =
            ArrowWriter::try_new(parquet_file, Arc::clone(&parquet_schema), Some(properties))
                .map_err(OutputError::at(&parquet_path))?;
        Ok(TableFiles {
            csv_path,
            parquet_path,
            schema,
            parquet_schema,
            csv,
            parquet,
            rows: 0,
        })
    }

    /// Appends a batch to both files.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        self.csv
            .write(batch)
            .map_err(OutputError::at(&self.csv_path))?;
        let standard = to_parquet_batch(batch, &self.parquet_schema)
            .map_err(OutputError::at(&self.parquet_path))?;
        self.parquet
            .write(&standard)
            .map_err(OutputError::at(&self.parquet_path))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes both files (a CSV with no rows still gets its header); returns the rows written
    /// and the two paths.
    pub fn finish(mut self) -> Result<(u64, PathBuf, PathBuf), OutputError> {
        if self.rows == 0 {
            self.csv
                .write(&RecordBatch::new_empty(Arc::clone(&self.schema)))
                .map_err(OutputError::at(&self.csv_path))?;
        }
        drop(self.csv);
        self.parquet
            .close()
            .map_err(OutputError::at(&self.parquet_path))?;
        Ok((self.rows, self.csv_path, self.parquet_path))
    }
}

/// One table being written as Parquet alone (zstd, standard logical types), batch by batch:
/// the files of an extract.
pub struct ParquetFile {
    path: PathBuf,
    parquet_schema: SchemaRef,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetFile {
    /// Creates `path` for rows of `schema`.
    pub fn create(path: &Path, schema: SchemaRef) -> Result<ParquetFile, OutputError> {
        let file = File::create(path).map_err(OutputError::at(path))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by(crate::readable::tool())
            .build();
        let parquet_schema = parquet_schema(&schema);
        let writer = ArrowWriter::try_new(file, Arc::clone(&parquet_schema), Some(properties))
            .map_err(OutputError::at(path))?;
        Ok(ParquetFile {
            path: path.to_path_buf(),
            parquet_schema,
            writer,
            rows: 0,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        let standard =
            to_parquet_batch(batch, &self.parquet_schema).map_err(OutputError::at(&self.path))?;
        self.writer
            .write(&standard)
            .map_err(OutputError::at(&self.path))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the file; returns the rows written.
    pub fn finish(self) -> Result<u64, OutputError> {
        self.writer.close().map_err(OutputError::at(&self.path))?;
        Ok(self.rows)
    }
}

/// A result file that may not be written (`--output` of `sna query` or `sna funding`): it is a
/// directory, is or lies inside something the command reads, or would take several results.
/// A usage error: nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("refused: --output {path} {reason}. Nothing was written: choose another file")]
pub struct OutputRefused {
    /// The output path.
    pub path: PathBuf,
    /// Why it may not be written.
    pub reason: String,
}

/// Refuses `path` as a result file when it is a directory or it is, or lies inside, one of the
/// files and directories in `reads`. Checked both where the path is and where it leads, so a
/// link inside the extract and a link to an input kept elsewhere are refused alike.
pub fn check_result_path(path: &Path, reads: &[PathBuf]) -> Result<(), OutputRefused> {
    let refused = |reason: String| {
        Err(OutputRefused {
            path: path.to_path_buf(),
            reason,
        })
    };
    if path.is_dir() {
        return refused("is a directory".to_owned());
    }
    if crate::sources::remote::is_remote(path) {
        return refused("is in an object store: results are written to a file".to_owned());
    }
    let places = [
        crate::staging::location(path),
        crate::staging::resolve(path),
    ];
    for read in reads
        .iter()
        .filter(|r| !crate::sources::remote::is_remote(r))
    {
        let read_resolved = crate::staging::resolve(read);
        for place in &places {
            if *place == read_resolved {
                return refused("is a file this command reads".to_owned());
            }
            if place.starts_with(&read_resolved) {
                return refused(format!(
                    "is inside {}, which this command reads",
                    read.display()
                ));
            }
        }
    }
    Ok(())
}

/// A result file being written for a user (`sna query --output`, `sna funding --output`).
///
/// A regular file (or a path that does not exist yet) is written in one step: into a hidden
/// temporary file beside the real target (`.<name>.<random>.partial`, so a symbolic link stays a
/// link and points at the new contents), renamed over it only when complete, with the old
/// file's permissions or, for a new file, those the umask gives. The temporary file is locked
/// while written; one left by a writer that died is removed by the next write of the same file.
/// A named pipe or device (`/dev/stdout`) is written to directly, as a shell redirection would.
pub enum ResultFile {
    /// Written in place: a pipe or device.
    Direct(File),
    /// Staged beside `target`.
    Staged {
        /// The temporary file.
        temp: tempfile::NamedTempFile,
        /// The file it replaces.
        target: PathBuf,
        /// Permission bits to give it.
        mode: Option<u32>,
    },
}

impl ResultFile {
    /// Prepares to write `path`.
    pub fn create(path: &Path) -> std::io::Result<ResultFile> {
        let target = crate::staging::resolve(path);
        if let Ok(meta) = std::fs::metadata(&target) {
            if meta.is_dir() {
                return Err(std::io::Error::other("is a directory"));
            }
            if !meta.is_file() {
                return Ok(ResultFile::Direct(
                    File::options().write(true).open(&target)?,
                ));
            }
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(std::io::Error::other(format!(
                "the directory {} does not exist",
                parent.display()
            )));
        }
        let name = target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        remove_dead_partials(&parent, &name);
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&parent)?;
        temp.as_file().lock()?;
        let mode = std::fs::metadata(&target)
            .ok()
            .map(|m| permission_bits(&m))
            .or_else(default_mode);
        Ok(ResultFile::Staged { temp, target, mode })
    }

    /// The file to write into.
    pub fn file(&mut self) -> &mut File {
        match self {
            ResultFile::Direct(file) => file,
            ResultFile::Staged { temp, .. } => temp.as_file_mut(),
        }
    }

    /// Puts the complete result in place (a staged file replaces its target in one rename).
    pub fn commit(self) -> std::io::Result<()> {
        match self {
            ResultFile::Direct(mut file) => {
                use std::io::Write as _;
                file.flush()
            }
            ResultFile::Staged { temp, target, mode } => {
                temp.as_file().sync_all()?;
                set_mode(temp.as_file(), mode)?;
                temp.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}

#[cfg(unix)]
fn permission_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(_: &std::fs::Metadata) -> u32 {
    0o644
}

/// 0666 less the process's umask: what `>` in a shell would create.
#[cfg(unix)]
fn default_mode() -> Option<u32> {
    use rustix::fs::Mode;
    // umask can only be read by setting it; it is put back at once.
    let mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    Some(0o666 & !mask.as_raw_mode())
}

#[cfg(not(unix))]
fn default_mode() -> Option<u32> {
    None
}

#[cfg(unix)]
fn set_mode(file: &File, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(mode) => file.set_permissions(std::fs::Permissions::from_mode(mode)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

/// Removes `.<name>.*.partial` files beside a result whose writer has died (its lock is free).
fn remove_dead_partials(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !(file_name.starts_with(&prefix) && file_name.ends_with(".partial")) {
            continue;
        }
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if let Ok(file) = File::options().write(true).open(&path)
            && file.try_lock().is_ok()
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Writes `bytes` to `path` as a [`ResultFile`]: in one step, a failure leaving any previous
/// file as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    use std::io::Write as _;
    let error = OutputError::at(path);
    let mut file = ResultFile::create(path).map_err(&error)?;
    file.file().write_all(bytes).map_err(&error)?;
    file.commit().map_err(&error)
}

/// Writes `text` to `path`.
pub fn write_text(path: &Path, text: &str) -> Result<(), OutputError> {
    std::fs::write(path, text).map_err(OutputError::at(path))
}

/// Writes `value` to `path` as pretty-printed JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), OutputError> {
    let json = serde_json::to_string_pretty(value).map_err(OutputError::at(path))?;
    write_text(path, &json)
}

/// Creates a directory and its parents.
pub fn create_dir(path: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(path).map_err(OutputError::at(path))
}

/// SHA-256 (hex) and size in bytes of a file, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<(String, u64), OutputError> {
    sha256_of(path).map_err(OutputError::at(path))
}

/// [`sha256_file`], failing with the bare I/O error.
pub fn sha256_of(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok((hex(&hasher.finalize()), bytes));
        }
        bytes += n as u64;
        hasher.update(&buffer[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};

    #[test]
    fn timestamps_in_seconds_are_written_as_parquet_timestamps() {
        use arrow::array::{Date64Array, TimestampSecondArray};
        use parquet::basic::{LogicalType, TimeUnit as ParquetUnit};
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = std::env::temp_dir().join(format!("vrn-output-ts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let batch = RecordBatch::try_from_iter([
            (
                "at",
                Arc::new(TimestampSecondArray::from(vec![1_600_000_000])) as ArrayRef,
            ),
            (
                "day",
                Arc::new(Date64Array::from(vec![86_400_000])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut files = TableFiles::create(&dir, "t", batch.schema()).unwrap();
        files.write(&batch).unwrap();
        let (_, csv, parquet) = files.finish().unwrap();
        let reader = SerializedFileReader::new(File::open(&parquet).unwrap()).unwrap();
        let columns = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .to_vec();
        assert_eq!(
            columns[0].logical_type_ref(),
            Some(&LogicalType::timestamp(false, ParquetUnit::MILLIS))
        );
        assert_eq!(columns[1].logical_type_ref(), Some(&LogicalType::Date));
        // The CSV keeps the values as they were.
        assert_eq!(
            std::fs::read_to_string(csv).unwrap(),
            "at,day\n2020-09-13T12:26:40,1970-01-02T00:00:00\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_both_formats_and_hashes() {
        let dir = std::env::temp_dir().join(format!("vrn-output-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let batch =
            RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
                .unwrap();
        let mut files = TableFiles::create(&dir, "t", batch.schema()).unwrap();
        files.write(&batch).unwrap();
        let (rows, csv, parquet) = files.finish().unwrap();
        assert_eq!(rows, 2);
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "n\n1\n2\n");
        assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");
        let (hash, bytes) = sha256_file(&csv).unwrap();
        assert_eq!(bytes, 6);
        assert_eq!(hash.len(), 64);
        let empty = TableFiles::create(&dir, "e", batch.schema()).unwrap();
        let (_, csv, _) = empty.finish().unwrap();
        assert_eq!(std::fs::read_to_string(csv).unwrap(), "n\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
