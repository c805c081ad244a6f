//! Reading the archived events that carry one key (a record id, a surname key, a VRM,
//! a user): the hunts' path. The key indexes name the files that may hold the key;
//! only those are opened, and in each only the key's column is decoded in full: the
//! other columns are decoded for the rows that match.
//!
//! This is a straight read, not a query over the `events` table: a query engine lists
//! and stats every file of the archive before it can skip one (on a year's archive,
//! about 37,000 `statx` calls per query), which cost more than the reading itself.

use super::columns::{self, StoredEvent};
use super::layout::{strays, Depth};
use super::{keys, parquet_files_and_dirs, partitions};
use crate::time::{Date, Timestamp};
use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowFilter, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Every archived event whose `column` is `value`, with `ts` in `[from, to)`, in the
/// order the files give them (the caller sorts and removes the duplicates a retried
/// write leaves).
pub fn events_with(
    root: &Path,
    column: &str,
    value: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    unread: &Unread,
) -> io::Result<Vec<StoredEvent>> {
    events_with_any(root, &[(column, value)], from, to, unread)
}

/// The files a look-up could not read (a stray or damaged `.parquet` file), with why:
/// they are left out of its answer, which the caller must say, rather than one bad
/// file stopping every hunt.
#[derive(Debug, Default)]
pub struct Unread(std::sync::Mutex<Vec<(PathBuf, String)>>);

impl Unread {
    fn add(&self, file: &Path, why: &dyn std::fmt::Display) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((file.to_path_buf(), why.to_string()));
    }

    /// The files left out since the last call, each once.
    pub fn take(&self) -> Vec<(PathBuf, String)> {
        let mut all = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        all.sort();
        all.dedup_by(|a, b| a.0 == b.0);
        all
    }
}

/// Every archived event whose column is the value of one of `keys` (column, value),
/// in `[from, to)`: one walk of the archive and one opening of each key index for all
/// of them. An event matching two keys comes once per key. The dates are shared out
/// among a few threads: most of a look-up is the walk's system calls and the reading
/// of the files the indexes name, and both go as fast again on a second core.
pub fn events_with_any(
    root: &Path,
    keys: &[(&str, &str)],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    unread: &Unread,
) -> io::Result<Vec<StoredEvent>> {
    let first = from.map(|f| f.date());
    let last = to.map(|t| Timestamp(t.0 - 1).date());
    for (path, why) in strays(root, first, last, Depth::Dates)? {
        unread.add(&path, &why);
    }
    let dates: Vec<PathBuf> = partitions(&root.join("events"), "date")?
        .into_iter()
        .filter(|(date, _)| {
            Date::parse(date).is_ok_and(|d| first.is_none_or(|f| d >= f) && last.is_none_or(|l| d <= l))
        })
        .map(|(_, dir)| dir)
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4).min(dates.len().max(1));
    let found: Vec<io::Result<Vec<StoredEvent>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let dates = &dates;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for dir in dates.iter().skip(t).step_by(threads) {
                        for (system, sys_dir) in partitions(dir, "system")? {
                            let (files, beside) = parquet_files_and_dirs(&sys_dir)?;
                            for (path, why) in beside {
                                unread.add(&path, &why);
                            }
                            for file in files {
                                // A file that fails is left out whole.
                                let before = out.len();
                                let filed = keys::may_contain_each(&file, keys);
                                let compared = ids_as_compared(&filed);
                                let index: Vec<(&str, &str)> =
                                    compared.iter().map(|(key, _)| ("subject_id", key.as_str())).collect();
                                let held = match index.is_empty() {
                                    true => Vec::new(),
                                    false => keys::may_contain_each(&file, &index).keys,
                                };
                                let reads = (filed.keys.iter().map(|&(column, value)| (column, value, false))).chain(
                                    (compared.iter().filter(|(key, _)| held.iter().any(|(_, v)| v == key)))
                                        .map(|(_, upper)| ("subject_id", upper.as_str(), true)),
                                );
                                for (column, value, any_case) in reads {
                                    let read = || read_matching(&file, &system, column, value, any_case, &mut out);
                                    if let Err(e) = super::unpanicked(&file, read) {
                                        out.truncate(before);
                                        unread.add(&file, &e);
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other(format!("reading {} failed", root.display())))))
            .collect()
    });
    let mut out = Vec::new();
    for part in found {
        out.extend(part?);
    }
    out.retain(|e| from.is_none_or(|f| e.event.ts >= f) && to.is_none_or(|t| e.event.ts < t));
    Ok(out)
}

/// Whether `value` may lie in `[min, max]` as Parquet's statistics give them (bytes in
/// order; a bound cut short to a prefix still bounds the values it was cut from).
fn may_lie_between(value: &[u8], min: Option<&[u8]>, max: Option<&[u8]>) -> bool {
    let above_max = max.is_some_and(|max| value > max && !value.starts_with(max));
    let below_min = min.is_some_and(|min| value < min);
    !above_max && !below_min
}

/// The row groups of a file, and the rows inside them, that may hold `value` in the
/// column `leaf`: a row group whose statistics or bloom filter rule the value out is
/// skipped, and inside the others only the pages whose page index bounds take the
/// value in are read (files are sorted by surname, so a surname sits in a page or two).
fn plan(
    builder: &ParquetRecordBatchReaderBuilder<File>,
    leaf: usize,
    value: &str,
) -> parquet::errors::Result<(Vec<usize>, RowSelection)> {
    let meta = builder.metadata();
    let bytes = value.as_bytes();
    let (mut groups, mut selectors) = (Vec::new(), Vec::new());
    for (rg, group) in meta.row_groups().iter().enumerate() {
        let chunk = group.column(leaf);
        if let Some(stats) = chunk.statistics() {
            if !may_lie_between(bytes, stats.min_bytes_opt(), stats.max_bytes_opt()) {
                continue;
            }
        }
        if let Some(filter) = builder.get_row_group_column_bloom_filter(rg, leaf)? {
            if !filter.check(&value) {
                continue;
            }
        }
        groups.push(rg);
        let rows = group.num_rows().max(0) as usize;
        let pages = meta.column_index().zip(meta.offset_index()).and_then(|(ci, oi)| {
            let index = match ci.get(rg)?.get(leaf)? {
                ColumnIndexMetaData::BYTE_ARRAY(index) => index,
                _ => return None,
            };
            Some((index, oi.get(rg)?.get(leaf)?.page_locations()))
        });
        let Some((index, locations)) = pages.filter(|(i, l)| i.num_pages() as usize == l.len()) else {
            selectors.push(RowSelector::select(rows));
            continue;
        };
        // Page bounds from the offset index, clamped so that a damaged index can never
        // select more or fewer rows than the row group holds.
        let mut group_selectors = Vec::with_capacity(locations.len());
        let mut covered = 0usize;
        for (page, location) in locations.iter().enumerate() {
            let start = (location.first_row_index.max(0) as usize).clamp(covered, rows);
            let end =
                locations.get(page + 1).map_or(rows, |next| (next.first_row_index.max(0) as usize).clamp(start, rows));
            let keep =
                !index.is_null_page(page) && may_lie_between(bytes, index.min_value(page), index.max_value(page));
            if start > covered {
                group_selectors.push(RowSelector::select(start - covered));
            }
            group_selectors.push(if keep { RowSelector::select(end - start) } else { RowSelector::skip(end - start) });
            covered = end;
        }
        if covered < rows {
            group_selectors.push(RowSelector::select(rows - covered));
        }
        if group_selectors.iter().all(|s| s.skip) {
            // No page of this row group can hold the value: not read at all.
            groups.pop();
            continue;
        }
        selectors.extend(group_selectors);
    }
    Ok((groups, RowSelection::from(selectors)))
}

/// The rows of one events file whose `column` is `value`.
/// For a file whose index files record ids as the rules compare them and may hold one
/// of the ids asked for: each such id's `keys::as_compared_key`, with the id
/// upper-cased. A file whose index holds that key holds the id in another form than
/// any asked (full-width, mixed case), and is read whole for it; a file elsewhere, or
/// one without such an index, is not.
fn ids_as_compared(filed: &keys::Filed) -> Vec<(String, String)> {
    if !filed.ids_as_compared {
        return Vec::new();
    }
    let mut upper: Vec<String> = filed
        .keys
        .iter()
        .filter(|(column, _)| *column == "subject_id")
        .map(|(_, id)| id.to_ascii_uppercase())
        .collect();
    upper.sort();
    upper.dedup();
    upper.into_iter().map(|u| (keys::as_compared_key(&u), u)).collect()
}

/// Reads the rows of `file` whose `column` holds `value`: exactly, through the row
/// groups and pages the statistics admit; or `any_case` (a record id logged in another
/// form, rare), the whole column compared as the rules compare ids.
fn read_matching(
    file: &Path,
    system: &str,
    column: &str,
    value: &str,
    any_case: bool,
    out: &mut Vec<StoredEvent>,
) -> io::Result<()> {
    let fail = |e: &dyn std::fmt::Display| io::Error::other(format!("{}: {e}", file.display()));
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(super::open_regular(file)?, options)
        .map_err(|e| fail(&e))?;
    let schema = builder.parquet_schema();
    // Every file the archive ever wrote has the event's own id.
    if !(0..schema.num_columns()).any(|i| schema.column(i).name() == "event_id") {
        return Err(fail(&"no `event_id` column, which every archive file has: not a file of this archive"));
    }
    let Some(leaf) = (0..schema.num_columns()).find(|&i| schema.column(i).name() == column) else {
        // A file written before a key column existed holds no row with it.
        return Ok(());
    };
    let (groups, selection) = if any_case {
        let all = builder.metadata().row_groups();
        let rows = all.iter().map(|g| g.num_rows() as usize).sum();
        ((0..all.len()).collect(), RowSelection::from(vec![RowSelector::select(rows)]))
    } else {
        plan(&builder, leaf, value).map_err(|e| fail(&e))?
    };
    if groups.is_empty() {
        return Ok(());
    }
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [leaf]);
    let wanted = value.to_string();
    let matches = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
        let text = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let hit = |v: &str| match any_case {
            false => v == wanted,
            true => crate::event::normalise::record_id(v.into()).eq_ignore_ascii_case(&wanted),
        };
        Ok(text.iter().map(|v| Some(v.is_some_and(hit))).collect::<BooleanArray>())
    });
    let reader = builder
        .with_row_groups(groups)
        .with_row_selection(selection)
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ArrayRef;
    use arrow::datatypes::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// A one-column file of `values` (in this order) with pages of `page_rows` rows,
    /// row groups of `group_rows`, page statistics and a bloom filter.
    fn file(values: &[String], page_rows: usize, group_rows: usize) -> tempfile::NamedTempFile {
        let schema = Arc::new(Schema::new(vec![Field::new("subject_surname", DataType::Utf8, true)]));
        let column: ArrayRef = Arc::new(StringArray::from_iter_values(values));
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_data_page_row_count_limit(page_rows)
            .set_write_batch_size(page_rows)
            .set_max_row_group_row_count(Some(group_rows))
            .set_bloom_filter_enabled(true)
            .build();
        let out = tempfile::NamedTempFile::new().unwrap();
        let mut w = ArrowWriter::try_new(out.reopen().unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }

    /// The rows `plan` keeps, as positions in the file.
    fn kept(path: &Path, value: &str) -> Vec<usize> {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let builder =
            ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).unwrap(), options).unwrap();
        let starts: Vec<usize> = builder
            .metadata()
            .row_groups()
            .iter()
            .scan(0usize, |at, g| {
                let start = *at;
                *at += g.num_rows() as usize;
                Some(start)
            })
            .collect();
        let (groups, selection) = plan(&builder, 0, value).unwrap();
        // The selection runs over the kept row groups' rows one after another (the
        // reader merges a run that crosses from one group into the next): map each of
        // its positions back to a row of the file.
        let positions: Vec<usize> = groups
            .iter()
            .flat_map(|&g| starts[g]..starts[g] + builder.metadata().row_group(g).num_rows() as usize)
            .collect();
        let mut rows = Vec::new();
        let mut at = 0usize;
        for s in selection.iter() {
            if !s.skip {
                rows.extend(positions[at..at + s.row_count].iter().copied());
            }
            at += s.row_count;
        }
        assert_eq!(at, positions.len(), "the selection covers the kept row groups exactly");
        rows
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the page and row group sizes, every row holding the value is kept,
        /// and in a sorted file the pages and row groups without it are skipped.
        #[test]
        fn every_row_with_the_key_is_kept_and_sorted_files_skip_the_rest(
            mut values in proptest::collection::vec("[A-E]{1,3}", 1..400),
            sorted in any::<bool>(),
            page_rows in 1usize..40,
            group_rows in 1usize..200,
            pick in any::<proptest::sample::Index>(),
        ) {
            if sorted {
                values.sort();
            }
            let value = values[pick.index(values.len())].clone();
            let f = file(&values, page_rows, group_rows);
            let rows = kept(f.path(), &value);
            for (i, v) in values.iter().enumerate() {
                if *v == value {
                    prop_assert!(rows.contains(&i), "row {} holds {} but was skipped", i, value);
                }
            }
            // A page whose largest value is a prefix of the value is kept too (a bound
            // may have been cut short), so the tight check is for values with no prefix
            // in the file.
            let prefixed = values.iter().any(|v| *v != value && value.starts_with(v.as_str()));
            if sorted && !prefixed {
                // Sorted: the kept rows are the value's own run plus at most the rest of
                // the pages at its two ends.
                let run = values.iter().filter(|v| **v == value).count();
                prop_assert!(rows.len() <= run + 2 * page_rows, "{} kept for a run of {}", rows.len(), run);
            }
            // A value after every value in the file: every row group is ruled out.
            prop_assert!(kept(f.path(), "ZZZ").is_empty());
        }
    }

    #[test]
    fn bounds_cut_short_still_bound() {
        assert!(may_lie_between(b"SMITH", Some(b"SMI"), Some(b"SMJ")));
        assert!(may_lie_between(b"SMITHSON", Some(b"SMITH"), Some(b"SMITH")), "a max cut to a prefix");
        assert!(!may_lie_between(b"SMJ", Some(b"SMA"), Some(b"SMI")));
        assert!(!may_lie_between(b"ABC", Some(b"B"), None));
        assert!(may_lie_between(b"ANY", None, None));
    }
}
