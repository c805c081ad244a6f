//! Reading the archived events that carry one key (a record id, a surname key, a VRM,
//! a user): the hunts' path. The key indexes name the files that may hold the key;
//! only those are opened, and in each only the key's column is decoded in full: the
//! other columns are decoded for the rows that match.
//!
//! This is a straight read, not a query over the `events` table: a query engine lists
//! and stats every file of the archive before it can skip one (on a year's archive,
//! about 37,000 `statx` calls per query), which cost more than the reading itself.

use super::columns::{self, StoredEvent};
use super::{keys, parquet_files, partitions};
use crate::time::{Date, Timestamp};
use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ParquetRecordBatchReaderBuilder, RowFilter};
use parquet::arrow::ProjectionMask;
use std::fs::File;
use std::io;
use std::path::Path;

/// Every archived event whose `column` is `value`, with `ts` in `[from, to)`, in the
/// order the files give them (the caller sorts and removes the duplicates a retried
/// write leaves).
pub fn events_with(
    root: &Path,
    column: &str,
    value: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> io::Result<Vec<StoredEvent>> {
    events_with_any(root, &[(column, value)], from, to)
}

/// Every archived event whose column is the value of one of `keys` (column, value),
/// in `[from, to)`: one walk of the archive and one opening of each key index for all
/// of them. An event matching two keys comes once per key.
pub fn events_with_any(
    root: &Path,
    keys: &[(&str, &str)],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> io::Result<Vec<StoredEvent>> {
    let first = from.map(|f| f.date());
    let last = to.map(|t| Timestamp(t.0 - 1).date());
    let mut out = Vec::new();
    for (date, dir) in partitions(&root.join("events"), "date")? {
        let Ok(d) = Date::parse(&date) else { continue };
        if first.is_some_and(|f| d < f) || last.is_some_and(|l| d > l) {
            continue;
        }
        for (system, sys_dir) in partitions(&dir, "system")? {
            for file in parquet_files(&sys_dir)? {
                for (column, value) in keys::may_contain_each(&file, keys) {
                    read_matching(&file, &system, column, value, &mut out)?;
                }
            }
        }
    }
    out.retain(|e| from.is_none_or(|f| e.event.ts >= f) && to.is_none_or(|t| e.event.ts < t));
    Ok(out)
}

/// The rows of one events file whose `column` is `value`.
fn read_matching(file: &Path, system: &str, column: &str, value: &str, out: &mut Vec<StoredEvent>) -> io::Result<()> {
    let fail = |e: &dyn std::fmt::Display| io::Error::other(format!("{}: {e}", file.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(file)?).map_err(|e| fail(&e))?;
    let schema = builder.parquet_schema();
    let Some(leaf) = (0..schema.num_columns()).find(|&i| schema.column(i).name() == column) else {
        // A file written before the column existed holds no row with it.
        return Ok(());
    };
    let mask = ProjectionMask::leaves(schema, [leaf]);
    let wanted = value.to_string();
    let matches = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
        let text = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        Ok(text.iter().map(|v| Some(v == Some(wanted.as_str()))).collect::<BooleanArray>())
    });
    let reader = builder
        .with_row_filter(RowFilter::new(vec![Box::new(matches)]))
        .with_batch_size(8192)
        .build()
        .map_err(|e| fail(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| fail(&e))?;
        out.extend(columns::events_from_batch(&batch, Some(system)).map_err(|e| fail(&e))?);
    }
    Ok(())
}
