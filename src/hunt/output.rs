//! Query results as a table on the terminal, CSV, JSON Lines or Parquet.

use super::{Access, HuntError};
use crate::archive::columns::StoredEvent;
use arrow::array::{ArrayRef, Date32Builder, RecordBatch, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Writes `batches` to `out` (standard output when `None`; Parquet needs a file).
pub fn write_batches(batches: &[RecordBatch], format: OutputFormat, out: Option<&Path>) -> Result<(), HuntError> {
    if format == OutputFormat::Parquet {
        let Some(path) = out else { return Err(HuntError::Usage("--format parquet needs --out FILE".into())) };
        let Some(schema) = batches.first().map(|b| b.schema()) else {
            return Err(HuntError::Usage("the query returned nothing to write".into()));
        };
        let parquet_err = |e: parquet::errors::ParquetError| HuntError::Usage(format!("{}: {e}", path.display()));
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path)?, schema, None).map_err(parquet_err)?;
        for b in batches {
            w.write(b).map_err(parquet_err)?;
        }
        w.close().map_err(parquet_err)?;
        return Ok(());
    }
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        OutputFormat::Table => {
            let printable: Vec<RecordBatch> = batches.iter().map(printable).collect::<Result<_, _>>()?;
            writeln!(sink, "{}", arrow::util::pretty::pretty_format_batches(&printable)?)?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(sink, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut sink);
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Parquet => unreachable!("written above"),
    }
    sink.flush()?;
    Ok(())
}

/// `batch` with every control character of its text columns written as an escape
/// (`\u{1b}`): the table is printed on the analyst's terminal, and a subject's name or
/// a query is whatever an officer typed, escape sequences included.
fn printable(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::{Array, AsArray};
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let values: Option<Vec<Option<&str>>> = match field.data_type() {
            DataType::Utf8 => Some(column.as_string::<i32>().iter().collect()),
            DataType::LargeUtf8 => Some(column.as_string::<i64>().iter().collect()),
            DataType::Utf8View => Some(column.as_string_view().iter().collect()),
            _ => None,
        };
        match values.filter(|v| v.iter().flatten().any(|s| s.chars().any(char::is_control))) {
            None => {
                fields.push(field.clone());
                columns.push(column.clone());
            }
            Some(values) => {
                let escaped: arrow::array::StringArray = values.into_iter().map(|v| v.map(escape_controls)).collect();
                fields.push(Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8)));
                columns.push(Arc::new(escaped) as ArrayRef);
                debug_assert_eq!(columns.last().map(|c| c.len()), Some(batch.num_rows()));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), columns)
}

/// `s` with each control character as `\u{..}`.
fn escape_controls(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

fn ts_field(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false)
}

/// Accesses as rows: the columns an analyst reads, in time order; `how` adds the
/// match strength (who-accessed).
pub fn access_batch<'a>(rows: impl Iterator<Item = (&'a StoredEvent, Option<&'a Access>)>) -> RecordBatch {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        ts_field("ts"),
        s("system"),
        s("user_id"),
        s("action"),
        s("subject_type"),
        s("subject_id"),
        s("subject_name"),
        Field::new("subject_dob", DataType::Date32, true),
        s("subject_vrm"),
        s("subject_postcode"),
        s("reason_code"),
        s("reference"),
        s("event_id"),
        s("match"),
        s("explained_by"),
        s("explanation"),
        s("flagged_as_of"),
        Field::new("received_at", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
    ]));
    let mut ts = TimestampMillisecondBuilder::new().with_timezone("UTC");
    let mut received = TimestampMillisecondBuilder::new().with_timezone("UTC");
    let mut cols: Vec<StringBuilder> = (0..15).map(|_| StringBuilder::new()).collect();
    let mut dob = Date32Builder::new();
    for (stored, access) in rows {
        let e = &stored.event;
        ts.append_value(e.ts.0);
        let text = [
            Some(e.system.as_str()),
            Some(e.user_id.as_str()),
            Some(e.action.as_str()),
            Some(e.subject_type.as_str()),
            e.subject_id.as_deref(),
            e.subject_name.as_deref(),
            e.subject_vrm.as_deref(),
            e.subject_postcode.as_deref(),
            e.reason_code.as_deref(),
            e.reference.as_deref(),
            Some(e.event_id.as_str()),
            access.map(|a| a.how.as_str()),
        ];
        for (b, v) in cols.iter_mut().zip(text) {
            b.append_option(v);
        }
        let explained = stored.from.explained.as_ref();
        cols[12].append_option(explained.map(|x| x.kind.as_str()));
        cols[13].append_option(explained.map(|x| x.describe()));
        cols[14].append_option(access.and_then(|a| a.flagged.as_ref()).map(|f| f.join(";")));
        received.append_option(stored.from.received_at.map(|t| t.0));
        dob.append_option(e.subject_dob.map(|d| d.0));
    }
    let mut cols = cols.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut columns: Vec<ArrayRef> = vec![Arc::new(ts.finish())];
    columns.extend(cols.by_ref().take(6));
    columns.push(Arc::new(dob.finish()));
    columns.extend(cols);
    columns.push(Arc::new(received.finish()));
    RecordBatch::try_new(schema, columns).expect("columns match the access schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name or query holding a terminal's escape sequence is printed as text, never
    /// sent to the terminal; the other formats keep the value as it was.
    #[test]
    fn a_table_on_the_terminal_shows_control_characters_as_escapes() {
        let hostile = "KRAY\u{1b}[2J\u{1b}]0;owned\u{7}, Ronald";
        let schema = Arc::new(Schema::new(vec![
            Field::new("subject_name", DataType::Utf8, true),
            Field::new("query", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::StringArray::from(vec![Some(hostile), None])),
                Arc::new(arrow::array::StringViewArray::from(vec![Some("plain"), Some(hostile)])),
                Arc::new(arrow::array::Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("table.txt");
        write_batches(&[batch.clone()], OutputFormat::Table, Some(&table)).unwrap();
        let text = std::fs::read_to_string(&table).unwrap();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("KRAY\\u{1b}[2J\\u{1b}]0;owned\\u{7}, Ronald"), "{text}");
        assert!(text.contains("plain") && text.contains("2 rows"), "{text}");
        let json = dir.path().join("rows.jsonl");
        write_batches(&[batch], OutputFormat::Json, Some(&json)).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&json).unwrap().lines().next().unwrap()).unwrap();
        assert_eq!(first["subject_name"], hostile);
    }
}
