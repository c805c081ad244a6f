//! The key index: beside each events file, a small hidden file (`.part-….parquet.keys`)
//! holding one Parquet-format split-block bloom filter per look-up column over the
//! whole file.
//!
//! A look-up of one subject over a year must otherwise open every file of the year to
//! read its footer and row-group bloom filters (about 2,200 files for a large force:
//! most of a second before any row is read). With the key index it reads 32 bytes per
//! file, the one filter block the value hashes to, and opens only the files that may
//! hold the value. A file without a key index (written by another tool, or a crash
//! between the two writes) is always opened: the index can only skip work, never
//! hide a row.
//!
//! Layout: `AWKEYS04`, a u32 count, then per column a u8 name length, the name, a u64
//! offset and a u32 block count; then the filters' bitsets (32-byte blocks). Integers
//! are little-endian. The hash and block layout are Parquet's (xxHash64, seed 0), so the
//! filter is the one a Parquet reader would use.
//!
//! Version 02 (2026-12-07) also files each record id that the rules would compare in
//! another form (logged in full-width forms or in mixed case) under its upper-cased
//! ASCII and under [`as_compared_key`]; indexes of version 01 read as before, lack
//! those keys, and are not [`complete`] (so `accesswatch archive index` writes them
//! again). Version 03 (the same evening) files so the ids whose characters show ASCII
//! ones in other ways too (Cyrillic or Greek look-alikes, mathematical, circled and
//! accented letters: [`crate::event::normalise::shown_ascii`]); a version-02 index
//! lacks those and is not complete either. Version 04 (2026-12-08) files PNC ids
//! written in their long form (`1985/0905299S`) under their short form as well
//! ([`crate::event::normalise::record_id`]); a version-03 index lacks those, and is
//! written again too.

use super::columns::ArchivedEvent;
use parquet::bloom_filter::Sbbf;
use std::borrow::Borrow;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"AWKEYS04";
/// The versions before: record ids filed as logged only (01), as the rules compared
/// them before look-alike letters were read as ASCII (02), or before long PNC ids
/// were read as short (03). Read, and written again by `accesswatch archive index`.
const OLDER: [&[u8; 8]; 3] = [b"AWKEYS01", b"AWKEYS02", b"AWKEYS03"];
const BLOCK: usize = 32;

/// The columns the key index covers: the hunt's look-ups, and `event_id` for an
/// alert's evidence.
pub const KEY_COLUMNS: [&str; 6] = ["subject_id", "subject_surname", "vrm_key", "postcode_key", "user_id", "event_id"];

/// The key index path of an events file.
pub fn path_for(file: &Path) -> PathBuf {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file.with_file_name(format!(".{name}.keys"))
}

/// The key a record id the rules compare in another form than logged (full-width
/// forms, `１１/１１１１１１Ａ`; mixed case, `Ab/12345x`) is filed under besides itself and
/// its upper-cased ASCII, given that: a hunt reads a file whatever the form of its ids
/// only when the file may hold one. (A control character, which no id holds, sets it
/// apart.)
pub fn as_compared_key(upper: &str) -> String {
    format!("\u{1}{upper}")
}

/// Each key column's value in a row, in [`KEY_COLUMNS`]' order.
fn values(row: &ArchivedEvent) -> [Option<&str>; 6] {
    [
        row.event.subject_id.as_deref(),
        row.surname.as_deref(),
        row.vrm_key.as_deref(),
        row.postcode_key.as_deref(),
        Some(row.event.user_id.as_str()),
        Some(row.event.event_id.as_str()),
    ]
}

/// The key index of `rows`, as bytes. The rows are read once, each filling the six
/// filters: a pass per column read the group's rows (about 500 bytes each) six times.
pub fn build<R: Borrow<ArchivedEvent>>(rows: &[R]) -> Vec<u8> {
    // A record id may be filed three times (below); folding shrinks an underfull filter.
    let values_of = |column: &str| rows.len().max(1) as u64 * if column == "subject_id" { 3 } else { 1 };
    let mut blooms = KEY_COLUMNS.map(|c| Sbbf::new_with_ndv_fpp(values_of(c), 0.01).expect("valid bloom filter size"));
    for r in rows {
        let row = r.borrow();
        for (v, f) in values(row).into_iter().zip(&mut blooms) {
            if let Some(v) = v {
                f.insert(v);
            }
        }
        // A record id the rules compare in another form than logged (full-width forms,
        // mixed case) is also filed under its ASCII upper-cased, which a hunt asks every
        // file for, and under `as_compared_key`, which a hunt asks only of a file the
        // first may be in (`lookup::events_with_any`).
        if let Some(id) = &row.event.subject_id {
            let shown = crate::event::normalise::record_id(id.clone());
            let mixed = shown.bytes().any(|b| b.is_ascii_lowercase()) && shown.bytes().any(|b| b.is_ascii_uppercase());
            if shown != *id || mixed {
                let upper = shown.to_ascii_uppercase();
                blooms[0].insert(upper.as_str());
                blooms[0].insert(as_compared_key(&upper).as_str());
            }
        }
    }
    let mut filters = Vec::with_capacity(KEY_COLUMNS.len());
    for (column, mut f) in KEY_COLUMNS.into_iter().zip(blooms) {
        f.fold_to_target_fpp(0.01);
        let mut bits = Vec::with_capacity(f.num_blocks() * BLOCK);
        f.write_bitset(&mut bits).expect("writing to a Vec");
        filters.push((column, bits));
    }
    let header_len: usize = 8 + 4 + filters.iter().map(|(c, _)| 1 + c.len() + 8 + 4).sum::<usize>();
    let mut out = Vec::with_capacity(header_len + filters.iter().map(|(_, b)| b.len()).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(filters.len() as u32).to_le_bytes());
    let mut offset = header_len as u64;
    for (column, bits) in &filters {
        out.push(column.len() as u8);
        out.extend_from_slice(column.as_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&((bits.len() / BLOCK) as u32).to_le_bytes());
        offset += bits.len() as u64;
    }
    for (_, bits) in &filters {
        out.extend_from_slice(bits);
    }
    out
}

/// Writes the key index of an events file durably.
pub fn write<R: Borrow<ArchivedEvent>>(file: &Path, rows: &[R]) -> io::Result<()> {
    crate::sink::durable::write_file(&path_for(file), &build(rows))
}

/// Whether the events file `file` may hold `value` in `column`: false only when its key
/// index says it certainly does not.
pub fn may_contain(file: &Path, column: &str, value: &str) -> bool {
    may_contain_any(file, column, &[value])
}

/// Whether the events file `file` may hold any of `values` in `column` (one opening of
/// the index for all of them).
pub fn may_contain_any(file: &Path, column: &str, values: &[&str]) -> bool {
    probe(file, column, values).unwrap_or(true)
}

/// Whether the events file has a key index of this version covering every column of
/// [`KEY_COLUMNS`] (an index written by an earlier version may lack one, or the record
/// ids as the rules compare them).
pub fn complete(file: &Path) -> bool {
    let Ok(mut f) = super::open_regular(&path_for(file)) else { return false };
    directory(&mut f)
        .is_ok_and(|(d, version)| version == 4 && KEY_COLUMNS.iter().all(|c| d.iter().any(|(name, _, _)| name == c)))
}

/// Per column of an index: its name, the bitset's offset and block count.
type Directory = Vec<(String, u64, u64)>;

/// The index's directory, and its version (1 to 4).
fn directory(f: &mut File) -> io::Result<(Directory, u8)> {
    let mut header = [0u8; 256];
    let n = f.read(&mut header)?;
    let header = &header[..n];
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a key index");
    if header.len() < 12 || (&header[..8] != MAGIC && !OLDER.iter().any(|m| &header[..8] == *m)) {
        return Err(bad());
    }
    let count = u32::from_le_bytes(header[8..12].try_into().map_err(|_| bad())?) as usize;
    let mut at = 12;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = *header.get(at).ok_or_else(bad)? as usize;
        let name = header.get(at + 1..at + 1 + len).ok_or_else(bad)?;
        let fields = header.get(at + 1 + len..at + 1 + len + 12).ok_or_else(bad)?;
        at += 1 + len + 12;
        let offset = u64::from_le_bytes(fields[..8].try_into().map_err(|_| bad())?);
        let blocks = u32::from_le_bytes(fields[8..].try_into().map_err(|_| bad())?) as u64;
        if blocks == 0 {
            return Err(bad());
        }
        out.push((String::from_utf8_lossy(name).into_owned(), offset, blocks));
    }
    Ok((out, header[7] - b'0'))
}

/// What an events file's key index says of a set of keys.
#[derive(Debug, PartialEq)]
pub struct Filed<'k> {
    /// The (column, value) pairs the file may hold: those its index does not rule out
    /// (all of them when it has no usable index).
    pub keys: Vec<(&'k str, &'k str)>,
    /// Whether the index files record ids as the rules compare them too (version 02
    /// on, though 02 not those it took for ASCII later: look-alike and decomposed
    /// letters).
    pub ids_as_compared: bool,
}

/// What the key index of `file` says of `keys`, with one opening of the index for all.
pub fn may_contain_each<'k>(file: &Path, keys: &[(&'k str, &'k str)]) -> Filed<'k> {
    let index = super::open_regular(&path_for(file)).and_then(|mut f| directory(&mut f).map(|d| (f, d)));
    let Ok((f, (directory, version))) = index else { return Filed { keys: keys.to_vec(), ids_as_compared: false } };
    let mut held = vec![true; keys.len()];
    let mut columns: Vec<&str> = keys.iter().map(|(column, _)| *column).collect();
    columns.sort_unstable();
    columns.dedup();
    for column in columns {
        let asked: Vec<usize> = (0..keys.len()).filter(|&i| keys[i].0 == column).collect();
        let values: Vec<&str> = asked.iter().map(|&i| keys[i].1).collect();
        // A column the index cannot answer for keeps every value.
        if let Ok(answers) = check_each(&f, &directory, column, &values) {
            for (i, may) in asked.into_iter().zip(answers) {
                held[i] = may;
            }
        }
    }
    let keys = keys.iter().zip(held).filter(|(_, may)| *may).map(|(key, _)| *key).collect();
    Filed { keys, ids_as_compared: version >= 2 }
}

/// The bytes of a filter worth reading whole rather than one more 32-byte read: a hunt
/// by name and date of birth asks the surname filter for twenty readings and more, and
/// the bench's year took 57,154 reads of 32 bytes, one system call each.
const WHOLE_READ_PER_VALUE: u64 = 16 * 1024;

/// For each of `values`, whether the index (opened as `f`, with its `directory`) may
/// hold it in `column`: from the column's whole filter, read in one call, when it is
/// small beside the number of values; else a block read for each.
fn check_each(f: &File, directory: &[(String, u64, u64)], column: &str, values: &[&str]) -> io::Result<Vec<bool>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "the key index does not cover the column");
    let &(_, offset, blocks) = directory.iter().find(|(name, _, _)| name == column).ok_or_else(bad)?;
    let bytes = blocks * BLOCK as u64;
    if values.len() > 1 && bytes <= values.len() as u64 * WHOLE_READ_PER_VALUE {
        let mut bits = vec![0u8; bytes as usize];
        f.read_exact_at(&mut bits, offset)?;
        let filter = Sbbf::new(&bits);
        return Ok(values.iter().map(|v| filter.check(*v)).collect());
    }
    values.iter().map(|v| check(f, directory, column, &[v])).collect()
}

fn probe(file: &Path, column: &str, values: &[&str]) -> io::Result<bool> {
    let mut f = super::open_regular(&path_for(file))?;
    let (directory, _) = directory(&mut f)?;
    check(&f, &directory, column, values)
}

/// Whether the index (opened as `f`, with its `directory`) may hold any of `values`
/// in `column`.
fn check(f: &File, directory: &[(String, u64, u64)], column: &str, values: &[&str]) -> io::Result<bool> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "the key index does not cover the column");
    let &(_, offset, blocks) = directory.iter().find(|(name, _, _)| name == column).ok_or_else(bad)?;
    for value in values {
        // Parquet's block choice: the upper 32 bits of the hash scaled to the block count.
        let hash = twox_hash::XxHash64::oneshot(0, value.as_bytes());
        let block = ((hash >> 32).saturating_mul(blocks)) >> 32;
        let mut bytes = [0u8; BLOCK];
        f.read_exact_at(&mut bytes, offset + block * BLOCK as u64)?;
        // A one-block filter checks the value against that block alone.
        if Sbbf::new(&bytes).check(value) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::columns::Provenance;
    use crate::event::json;

    #[test]
    fn the_index_finds_every_value_written_and_rejects_almost_all_others() {
        let rows: Vec<ArchivedEvent> = (0..20_000)
            .map(|i| {
                let line = format!(
                    r#"{{"event_id":"e{i}","ts":"2026-11-01T10:00:00Z","system":"PNC","user_id":"U{}","action":"view","subject_type":"person","subject_id":"ID{i}","subject_name":"SURNAME{}, Al","subject_vrm":"AB{} XYZ"}}"#,
                    i % 500,
                    i % 3_000,
                    i % 700
                );
                ArchivedEvent::new(json::decode(line.as_bytes()).unwrap(), i, Provenance::default())
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("part-1.parquet");
        write(&file, &rows).unwrap();
        assert!(path_for(&file).exists() && complete(&file));
        for i in (0..20_000).step_by(97) {
            assert!(may_contain(&file, "subject_id", &format!("ID{i}")));
            assert!(may_contain(&file, "subject_surname", &format!("SURNAME{}", i % 3_000)));
            assert!(may_contain(&file, "vrm_key", &format!("AB{}XYZ", i % 700)));
            assert!(may_contain(&file, "user_id", &format!("U{}", i % 500)));
            assert!(may_contain(&file, "event_id", &format!("e{i}")));
        }
        let false_positives = (0..10_000).filter(|i| may_contain(&file, "subject_id", &format!("OTHER{i}"))).count();
        assert!(false_positives < 300, "{false_positives} false positives in 10,000");
        let false_positives = (0..10_000).filter(|i| may_contain(&file, "event_id", &format!("x{i}"))).count();
        assert!(false_positives < 300, "event_id: {false_positives} false positives in 10,000");
        assert!(may_contain_any(&file, "event_id", &["x1", "x2", "e19999"]));
        // Several columns at one opening: only the pairs the index cannot rule out.
        let keys = [("subject_id", "ID7"), ("postcode_key", "SW1A1AA"), ("user_id", "U7"), ("no_such_column", "x")];
        assert_eq!(
            may_contain_each(&file, &keys),
            Filed { keys: vec![keys[0], keys[2], keys[3]], ids_as_compared: true }
        );
        // Many values of one column are answered from its whole filter, as one by one.
        let many: Vec<String> =
            (0..60).map(|i| if i % 2 == 0 { format!("ID{i}") } else { format!("OTHER{i}") }).collect();
        let asked: Vec<(&str, &str)> = many.iter().map(|v| ("subject_id", v.as_str())).collect();
        let one_by_one: Vec<(&str, &str)> = asked.iter().copied().filter(|(c, v)| may_contain(&file, c, v)).collect();
        assert_eq!(may_contain_each(&file, &asked).keys, one_by_one);
        assert!(one_by_one.len() >= 30 && one_by_one.len() < 33, "{}", one_by_one.len());
        let unindexed = Filed { keys: keys.to_vec(), ids_as_compared: false };
        assert_eq!(may_contain_each(&dir.path().join("part-2.parquet"), &keys), unindexed, "no index: all");
        assert!(!may_contain_any(&file, "postcode_key", &["SW1A1AA", "M11AA"]));
        // No postcodes were written: every probe says no.
        assert!(!may_contain(&file, "postcode_key", "SW1A1AA"));
        // No index, an unknown column, a damaged index: the file must be read.
        assert!(may_contain(&dir.path().join("part-2.parquet"), "subject_id", "ID1"));
        assert!(may_contain(&file, "no_such_column", "x"));
        std::fs::write(path_for(&file), b"garbage").unwrap();
        assert!(may_contain(&file, "subject_id", "OTHER1"));
        assert!(!complete(&file));
    }
}
