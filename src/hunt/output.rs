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

/// Writes `batches` to `out` (standard output when `None`; Parquet needs a file). A
/// failure to write names where it was writing to, not the archive.
pub fn write_batches(batches: &[RecordBatch], format: OutputFormat, out: Option<&Path>) -> Result<(), HuntError> {
    let written = write_to(batches, format, out);
    let failed = |e: &dyn std::fmt::Display| match out {
        Some(path) => HuntError::Output(format!("cannot write --out {}: {e}", path.display())),
        None => HuntError::Output(format!("cannot write to standard output: {e}")),
    };
    match written {
        Err(HuntError::Io(e)) => Err(failed(&e)),
        Err(HuntError::Arrow(e @ arrow::error::ArrowError::IoError(..))) => Err(failed(&e)),
        other => other,
    }
}

fn write_to(batches: &[RecordBatch], format: OutputFormat, out: Option<&Path>) -> Result<(), HuntError> {
    if format == OutputFormat::Parquet {
        let Some(path) = out else { return Err(HuntError::Usage("--format parquet needs --out FILE".into())) };
        let Some(schema) = batches.first().map(|b| b.schema()) else {
            return Err(HuntError::Usage("the query returned nothing to write".into()));
        };
        let parquet_err =
            |e: parquet::errors::ParquetError| HuntError::Output(format!("cannot write --out {}: {e}", path.display()));
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
            // On a terminal, CSV is read there too.
            let shown: Vec<RecordBatch> = match out.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                true => batches.iter().map(printable).collect::<Result<_, _>>()?,
                false => batches.to_vec(),
            };
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut sink);
            for b in &shown {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut rows = Vec::new();
            let mut w = arrow::json::LineDelimitedWriter::new(&mut rows);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            sink.write_all(json_without_raw_controls(&String::from_utf8_lossy(&rows)).as_bytes())?;
        }
        OutputFormat::Parquet => unreachable!("written above"),
    }
    sink.flush()?;
    Ok(())
}

/// `batch` as the text a terminal shows, every column (lists and structs of names
/// included) formatted as the table prints it and each character that would act on the
/// terminal rather than show written as an escape (`\u{1b}`): a subject's name or a
/// query is whatever an officer typed, escape sequences and direction overrides
/// included.
fn printable(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::Array;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
        let shown: Vec<String> = (0..batch.num_rows()).map(|i| formatter.value(i).to_string()).collect();
        if !shown.iter().any(|s| s.chars().any(acts_on_a_terminal)) {
            // A column's name is SQL's alias, which a query may make anything.
            fields.push(match field.name().chars().any(acts_on_a_terminal) {
                true => Arc::new(field.as_ref().clone().with_name(escape_controls(field.name()))),
                false => field.clone(),
            });
            columns.push(column.clone());
            continue;
        }
        let escaped: arrow::array::StringArray =
            (0..batch.num_rows()).map(|i| (!column.is_null(i)).then(|| escape_controls(&shown[i]))).collect();
        fields.push(Arc::new(Field::new(escape_controls(field.name()), DataType::Utf8, true)));
        columns.push(Arc::new(escaped) as ArrayRef);
    }
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new_with_options(
        Arc::new(schema),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

use crate::event::raw::acts_on_a_terminal;

/// `s` with each character that [`acts_on_a_terminal`] as `\u{..}`.
pub fn escape_controls(s: &str) -> String {
    s.chars().map(|c| if acts_on_a_terminal(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

/// JSON text with each character that [`acts_on_a_terminal`] inside its strings written
/// as a `\u` escape (JSON escapes C0 controls, not C1 ones, direction overrides or
/// zero-width characters): the same values to any JSON reader, and nothing that acts
/// on a terminal it is printed on. The line breaks between rows stay.
fn json_without_raw_controls(json: &str) -> String {
    if !json.chars().any(|c| c != '\n' && acts_on_a_terminal(c)) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c != '\n' && acts_on_a_terminal(c) {
            true => c.encode_utf16(&mut [0; 2]).iter().for_each(|u| out.push_str(&format!("\\u{u:04x}"))),
            false => out.push(c),
        }
    }
    out
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
            Field::new("subject_name\u{1b}[2J", DataType::Utf8, true),
            Field::new("query", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, false),
            Field::new("names", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
        ]));
        // A list of names (`array_agg(subject_name)` in a hunt's SQL), one of them
        // turning the rest of its line around.
        let mut names = arrow::array::ListBuilder::new(StringBuilder::new());
        names.values().append_value("SMITH\u{202e}, Jo\u{061c}\u{2028}");
        names.values().append_value(hostile);
        names.append(true);
        names.append(false);
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::StringArray::from(vec![Some(hostile), None])),
                Arc::new(arrow::array::StringViewArray::from(vec![Some("plain"), Some(hostile)])),
                Arc::new(arrow::array::Int64Array::from(vec![1, 2])),
                Arc::new(names.finish()),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("table.txt");
        write_batches(&[batch.clone()], OutputFormat::Table, Some(&table)).unwrap();
        let text = std::fs::read_to_string(&table).unwrap();
        assert!(!text.chars().any(|c| acts_on_a_terminal(c) && c != '\n'), "{text:?}");
        assert!(text.contains("SMITH\\u{202e}, Jo"), "{text}");
        assert!(text.contains("KRAY\\u{1b}[2J\\u{1b}]0;owned\\u{7}, Ronald"), "{text}");
        assert!(text.contains("plain") && text.contains("2 rows"), "{text}");
        let json = dir.path().join("rows.jsonl");
        write_batches(&[batch], OutputFormat::Json, Some(&json)).unwrap();
        let text = std::fs::read_to_string(&json).unwrap();
        assert!(!text.chars().any(|c| acts_on_a_terminal(c) && c != '\n'), "{text:?}");
        assert!(text.contains(r"SMITH\u202e, Jo\u061c\u2028"), "{text}");
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["subject_name\u{1b}[2J"], hostile, "JSON keeps the names and values as they are");
        assert_eq!(first["names"][0], "SMITH\u{202e}, Jo\u{061c}\u{2028}");
        let tag = json_without_raw_controls("{\"a\":\"x\u{e0041}\u{85}\"}\n");
        assert_eq!(tag, "{\"a\":\"x\\udb40\\udc41\\u0085\"}\n");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&tag).unwrap()["a"], "x\u{e0041}\u{85}");
    }
}
