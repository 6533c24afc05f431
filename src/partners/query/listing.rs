//! What `sna tables` and the shell's `\d` list: every table and view with its columns and rows.

use super::*;

/// One table or view of a session, for `sna tables` and `\d`.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Name.
    pub name: String,
    /// `BASE TABLE` or `VIEW`.
    pub kind: String,
    /// `(column, type, nullable)`.
    pub columns: Vec<(String, String, bool)>,
    /// The source this extract does not hold that the table stands in for (empty) or the
    /// view reads, if any: what it counts is not measured.
    pub stand_in_for: Option<String>,
}

/// Every table and view of the session (not the information schema), sorted by kind and name.
pub async fn list_tables(session: &QuerySession) -> Result<Vec<TableInfo>, QueryError> {
    let sql = "SELECT t.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable \
               FROM information_schema.tables t \
               JOIN information_schema.columns c ON c.table_name = t.table_name AND c.table_schema = t.table_schema \
               WHERE t.table_schema = 'public' \
               ORDER BY t.table_type, t.table_name, c.ordinal_position";
    let batches = session
        .ctx
        .sql(sql)
        .await
        .map_err(|e| session.explain(e))?
        .collect()
        .await
        .map_err(|e| session.explain(e))?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for batch in &batches {
        let text = |i: usize| {
            arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8)
                .expect("information schema columns cast to text")
        };
        let (names, kinds, columns, types, nullable) =
            (text(0), text(1), text(2), text(3), text(4));
        use arrow::array::AsArray;
        let (names, kinds, columns, types, nullable) = (
            names.as_string::<i32>(),
            kinds.as_string::<i32>(),
            columns.as_string::<i32>(),
            types.as_string::<i32>(),
            nullable.as_string::<i32>(),
        );
        for row in 0..batch.num_rows() {
            let name = names.value(row);
            if tables.last().is_none_or(|t| t.name != name) {
                tables.push(TableInfo {
                    name: name.to_owned(),
                    kind: kinds.value(row).to_owned(),
                    columns: Vec::new(),
                    stand_in_for: session
                        .stand_ins
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, source)| source.clone()),
                });
            }
            tables.last_mut().expect("just pushed").columns.push((
                columns.value(row).to_owned(),
                types.value(row).to_owned(),
                nullable.value(row) == "YES",
            ));
        }
    }
    Ok(tables)
}

/// Rows of a table or view.
pub async fn row_count(session: &QuerySession, name: &str) -> Result<u64, QueryError> {
    session.guarded(count_rows(session, name)).await
}

pub(super) async fn count_rows(session: &QuerySession, name: &str) -> Result<u64, QueryError> {
    let df = session
        .ctx
        .sql(&format!("SELECT COUNT(*) FROM \"{name}\""))
        .await
        .map_err(|e| session.explain(e))?;
    let batches = df.collect().await.map_err(|e| session.explain(e))?;
    let count = batches
        .first()
        .map(|b| {
            use arrow::array::AsArray;
            b.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Writes a table's description as `sna tables` and the shell's `\d NAME` show it: its name
/// and kind (with its rows when counted), then each column with its type (`not null` where it
/// cannot be null). Names come from the data's files: nothing in them may act on the terminal.
pub fn describe(
    out: &mut dyn std::io::Write,
    table: &TableInfo,
    rows: Option<u64>,
) -> std::io::Result<()> {
    let name = crate::text::printable(&table.name);
    let kind = table.kind.to_lowercase();
    let rows = rows
        .map(|rows| format!(", {rows} rows"))
        .unwrap_or_default();
    let note = match &table.stand_in_for {
        Some(source) if *source == table.name => {
            "; not in this extract: an empty stand-in, so it measures nothing".to_owned()
        }
        Some(source) => {
            format!("; reads {source}, which this extract does not hold: it measures nothing")
        }
        None => String::new(),
    };
    writeln!(out, "{name} ({kind}{rows}{note})")?;
    for (column, data_type, nullable) in &table.columns {
        let null = if *nullable { "" } else { " not null" };
        let column = crate::text::printable(column);
        writeln!(out, "  {column:<28} {data_type}{null}")?;
    }
    Ok(())
}
