//! Loading the watch lists from a directory: `custody.csv` or `custody.jsonl`, and so on
//! for each table. A missing table is empty; every fault is reported with its file,
//! line and column, all at once.

use super::error::{WatchlistError, WatchlistErrors};
use super::read::{read_row, split_list, unknown_column, Cells, JsonCells};
use super::rows::TableName;
use super::WatchLists;
use compact_str::CompactString;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// What was loaded from where.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Per table: the file it came from (`None`: no file, the table is empty) and its rows.
    pub tables: Vec<(TableName, Option<PathBuf>, usize)>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .tables
            .iter()
            .map(|(t, file, n)| match file {
                Some(_) => format!("{t} {n}"),
                None => format!("{t} (none)"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl LoadReport {
    /// The tables no file was found for: every rule reading one is silent.
    pub fn missing(&self) -> Vec<&'static str> {
        self.tables.iter().filter(|(_, file, _)| file.is_none()).map(|(t, _, _)| t.as_str()).collect()
    }
}

/// Loads every table found in `dir`. Fails with every fault found if any row is bad.
pub fn load_dir(dir: &Path) -> Result<(WatchLists, LoadReport), WatchlistErrors> {
    let mut lists = WatchLists::default();
    let mut report = LoadReport::default();
    let mut errors = Vec::new();
    if !dir.is_dir() {
        return Err(WatchlistErrors(vec![WatchlistError::file(dir, 0, "not a directory")]));
    }
    for table in TableName::ALL {
        // Whatever stands under a table's name, a link to nowhere included: read, or
        // refused (an empty table would silence every rule on it, with nothing said).
        let candidates: Vec<PathBuf> = ["csv", "jsonl"]
            .iter()
            .map(|ext| dir.join(format!("{}.{ext}", table.as_str())))
            .filter(|p| p.symlink_metadata().is_ok())
            .collect();
        match candidates.as_slice() {
            [] => report.tables.push((table, None, 0)),
            [file] if !file.is_file() => {
                let why = match std::fs::metadata(file) {
                    Err(e) => format!("cannot be read ({e}): a link to storage not mounted?"),
                    Ok(_) => "not a regular file (a directory, a FIFO or a device)".to_string(),
                };
                errors.push(WatchlistError::file(file, 0, why));
            }
            [file] => {
                let before = errors.len();
                let rows = load_file(table, file, &mut lists, &mut errors);
                if errors.len() == before {
                    report.tables.push((table, Some(file.clone()), rows));
                }
            }
            _ => errors.push(WatchlistError::file(
                dir,
                0,
                format!("both {0}.csv and {0}.jsonl exist; keep one", table.as_str()),
            )),
        }
    }
    errors.extend(misnamed(dir));
    if errors.is_empty() {
        Ok((lists, report))
    } else {
        Err(WatchlistErrors(errors))
    }
}

/// The table a file name is by its stem (`Custody.CSV.gz` is custody's; so are the
/// spellings a person gives a table's name, `operation.csv`, `highprofile.csv`,
/// `High-Profile.csv`: a probe's two such files left the high-profile and opsec rules
/// silent with nothing said), whether or not [`load_dir`] reads it under that name.
fn table_of(name: &str) -> Option<TableName> {
    const SUFFIXES: [&str; 6] = [".csv", ".jsonl", ".json", ".tsv", ".txt", ".gz"];
    let mut stem = name.to_ascii_lowercase();
    while let Some(shorter) = SUFFIXES.iter().find_map(|s| stem.strip_suffix(s)) {
        stem = shorter.to_string();
    }
    let letters = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>();
    let stem = letters(&stem);
    TableName::ALL.into_iter().find(|t| {
        let table = letters(t.as_str());
        stem == table || format!("{stem}s") == table || stem == format!("{table}s")
    })
}

/// Whether a file name in a watch-list directory is a table's (read as it, or refused
/// as misnamed by the next load).
pub fn is_table_name(name: &str) -> bool {
    table_of(name).is_some()
}

/// Files that are a table's by name but not read as it (`Custody.csv`, `custody.CSV`,
/// `custody.csv.gz`, `custody.json`): left unread, its table would be empty and every
/// rule on it silent, with nothing said. A backup (`custody.csv.bak`) is left alone.
fn misnamed(dir: &Path) -> Vec<WatchlistError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(table) = table_of(&name) else { continue };
        let stem = table.as_str();
        let exact = [format!("{}.csv", table.as_str()), format!("{}.jsonl", table.as_str())];
        if stem != name && !exact.contains(&name) {
            out.push(WatchlistError::file(
                &dir.join(&name),
                0,
                format!(
                    "not read: the {0} table is read from {0}.csv or {0}.jsonl (lower case, uncompressed); rename it, or move it out of the directory",
                    table.as_str()
                ),
            ));
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

fn load_file(table: TableName, file: &Path, lists: &mut WatchLists, errors: &mut Vec<WatchlistError>) -> usize {
    let err = |line: u64, column: Option<String>, message: String| WatchlistError {
        file: Some(file.to_path_buf()),
        line,
        column,
        message,
    };
    let text = match std::fs::read(file).and_then(utf16_as_utf8) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count();
                errors.push(err(line as u64, None, "not valid UTF-8".into()));
                return 0;
            }
        },
        Err(e) => {
            errors.push(err(0, None, format!("cannot read: {e}")));
            return 0;
        }
    };
    read_text(table, file, &text, lists, errors)
}

/// A watch-list file's text, read as [`load_dir`] reads it (UTF-16 decoded, a UTF-8
/// byte-order mark dropped).
pub fn file_text(path: &Path) -> std::io::Result<String> {
    let bytes = utf16_as_utf8(std::fs::read(path)?)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// A file's bytes as UTF-8: a file that starts with a UTF-16 byte-order mark (a Windows
/// export, as events may be) is decoded, and a UTF-8 byte-order mark dropped.
fn utf16_as_utf8(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok(rest.to_vec());
    }
    if !(bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF")) {
        return Ok(bytes);
    }
    let (mut text, _) = crate::source::utf16::as_utf8(Box::new(std::io::Cursor::new(bytes)))?;
    let mut out = Vec::new();
    text.read_to_end(&mut out)?;
    Ok(out)
}

/// Most faults reported of one file: past them (a renamed column of a million-row
/// list fails every row) the rest are counted, not listed.
const FAULTS_SHOWN: usize = 100;

/// Loads one table's rows from the text of a file (`file` names it in faults, and its
/// extension says CSV or JSON Lines) into `lists`; returns the rows loaded, or every
/// fault found.
pub fn load_text(table: TableName, file: &Path, text: &str, lists: &mut WatchLists) -> Result<usize, WatchlistErrors> {
    let mut errors = Vec::new();
    let rows = read_text(table, file, text, lists, &mut errors);
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(WatchlistErrors(errors))
    }
}

fn read_text(
    table: TableName,
    file: &Path,
    text: &str,
    lists: &mut WatchLists,
    errors: &mut Vec<WatchlistError>,
) -> usize {
    let before = errors.len();
    let rows = read_rows(table, file, text, lists, errors);
    let found = errors.len() - before;
    if found > FAULTS_SHOWN {
        errors.truncate(before + FAULTS_SHOWN);
        let more = format!("and {} more faults in this file", found - FAULTS_SHOWN);
        errors.push(WatchlistError { file: Some(file.to_path_buf()), line: 0, column: None, message: more });
    }
    rows
}

fn read_rows(
    table: TableName,
    file: &Path,
    text: &str,
    lists: &mut WatchLists,
    errors: &mut Vec<WatchlistError>,
) -> usize {
    let err = |line: u64, column: Option<String>, message: String| WatchlistError {
        file: Some(file.to_path_buf()),
        line,
        column,
        message,
    };
    let mut rows = 0;
    // Each key's first line: a row given again with other values is a fault (which
    // of the two holds is not known); given again the same, it counts once.
    let mut seen: ahash::AHashMap<CompactString, u64> = ahash::AHashMap::new();
    let mut add = |line: u64, result: Result<super::Row, Vec<WatchlistError>>, errors: &mut Vec<_>| match result {
        Ok(row) => {
            // An incident is one row whatever separators its reference is written with.
            let key = match &row {
                super::Row::Incident(r) => lists.incident_key(&r.reference),
                _ => row.key(),
            };
            if let Some(&first) = seen.get(&key) {
                if lists.upsert(row.clone()).is_none_or(|earlier| earlier != row) {
                    // Associates' and operations' keys name a person after the `|`.
                    let shown = key.split('|').next().unwrap_or_default();
                    let message = format!(
                        "the row of `{shown}` is given again with other values (first on line {first}); keep one"
                    );
                    errors.push(err(line, None, message));
                }
            } else {
                seen.insert(key, line);
                lists.upsert(row);
                rows += 1;
            }
        }
        Err(cell_errors) => {
            errors.extend(cell_errors.into_iter().map(|c| err(line, c.column, c.message)));
        }
    };
    if file.extension().is_some_and(|e| e == "jsonl") {
        for (i, line) in text.lines().enumerate() {
            let n = i as u64 + 1;
            // A byte-order mark before a row is not part of it (files appended).
            let line = line.strip_prefix('\u{feff}').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            // A field given twice is refused, as in events: a row must not say two things.
            match serde_json::from_str::<crate::event::mapping::UniqueKeys>(line) {
                Ok(crate::event::mapping::UniqueKeys(obj)) => add(n, read_row(table, &JsonCells(&obj)), errors),
                Err(e) => errors.push(err(n, None, format!("bad JSON: {e}"))),
            }
        }
    } else {
        // A stray quote would read every row after it into one field, silently.
        if let Some(line) = crate::source::records::unclosed_quote(text.as_bytes(), b',') {
            let message = "a quoted field opens here and is never closed, so every row after it would be read into it: close the quote or remove it";
            errors.push(err(line, None, message.into()));
            return 0;
        }
        // Flexible, so that a blank row of any width is seen (and skipped); a row of
        // data with more or fewer cells than the header is refused below.
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().trim_start_matches('\u{feff}').to_string()).collect(),
            Err(e) => {
                errors.push(err(1, None, format!("bad CSV header: {e}")));
                return 0;
            }
        };
        for required in table.columns().iter().take(required_columns(table)) {
            if !header.iter().any(|h| h == required) {
                errors.push(err(1, Some(required.to_string()), "required column is missing from the header".into()));
            }
        }
        for (i, name) in header.iter().enumerate() {
            if let Some(problem) = unknown_column(table, name) {
                errors.push(err(1, Some(name.clone()), problem));
            }
            // Two columns of one name: which holds (a suspension, a team) is not known.
            if header[..i].contains(name) {
                errors.push(err(1, Some(name.clone()), "given twice in the header; keep one".into()));
            }
        }
        let index: ahash::AHashMap<&str, usize> = header.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                // A row of empty cells (a spreadsheet's `,,,,,` rows, a line of
                // spaces) holds nothing: skipped, as a blank line is (a hostile probe:
                // one stopped the replay, and the live engine's start).
                Ok(true) if record.iter().all(|cell| cell.trim().is_empty()) => {}
                Ok(true) => {
                    // Where the row starts: the reader's position before it, past the
                    // blank lines it skipped.
                    let (line, at) = record.position().map_or((0, 0), |p| (p.line(), p.byte() as usize));
                    let blank =
                        text.as_bytes().get(at..).unwrap_or_default().iter().take_while(|b| matches!(b, b'\n' | b'\r'));
                    let line = line + blank.filter(|b| **b == b'\n').count() as u64;
                    // A quoted field may hold a newline (a note), not pages of rows:
                    // from the row's first line to where the reader stands after it.
                    let lines = reader.position().line().saturating_sub(line);
                    if lines > crate::source::records::MAX_CSV_LINES {
                        let message = format!(
                            "this row runs over {lines} lines (a quote opened in it and closed far below?): the rows in between were read into it"
                        );
                        errors.push(err(line, None, message));
                    }
                    if record.len() != header.len() {
                        let message = format!("this row has {} cells, the header {}", record.len(), header.len());
                        errors.push(err(line, None, message));
                        continue;
                    }
                    let cells = CsvCells { index: &index, record: &record };
                    add(line, read_row(table, &cells), errors);
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    let stuck = errors.last().is_some_and(|last: &WatchlistError| last.line == line && line > 0);
                    errors.push(err(line, None, format!("bad CSV: {e}")));
                    if stuck {
                        break; // the reader is not moving past this fault
                    }
                }
            }
        }
    }
    rows
}

/// How many of `TableName::columns` (which lists required ones first) are required in
/// a CSV header.
fn required_columns(table: TableName) -> usize {
    match table {
        TableName::Custody | TableName::HighProfile | TableName::Associates | TableName::Operations => 2,
        TableName::Incidents => 2,
        TableName::Staff => 1,
    }
}

struct CsvCells<'a> {
    index: &'a ahash::AHashMap<&'a str, usize>,
    record: &'a csv::StringRecord,
}

impl Cells for CsvCells<'_> {
    fn text(&self, column: &str) -> Option<Cow<'_, str>> {
        let i = *self.index.get(column)?;
        self.record.get(i).filter(|v| !v.trim().is_empty()).map(Cow::Borrowed)
    }

    fn list(&self, column: &str) -> Vec<CompactString> {
        self.text(column).map(|t| split_list(&t)).unwrap_or_default()
    }

    fn column_names(&self) -> Option<Vec<String>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("custody.csv"),
            "custody_ref,arrested_at,subject_name,officers\nC1,2026-11-01T10:00:00Z,\"SMITH, John\",U1;U2\nC2,not-a-time,\"JONES, Ann\",U3\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("staff.jsonl"),
            "{\"user_id\":\"U1\"}\n{\"user_id\":\"U2\",\"status\":\"retired\"}\n",
        )
        .unwrap();
        let errs = load_dir(dir.path()).unwrap_err();
        let text: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("custody.csv:3: column `arrested_at`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("staff.jsonl:2: column `status`") && t.contains("retired")), "{text:?}");
    }

    /// Rows of empty cells (a spreadsheet's trailing `,,,,` rows, a line of spaces) are
    /// skipped as blank lines are; the line numbers of the rows after them hold.
    #[test]
    fn rows_of_empty_cells_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("staff.csv"),
            "user_id,unit,status\nU1,CID,active\n,,\n   \n , ,\nU2,CID,retired\n,,\n",
        )
        .unwrap();
        let errs = load_dir(dir.path()).unwrap_err();
        let text: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(text[0].contains("staff.csv:6: column `status`"), "{text:?}");
        std::fs::write(dir.path().join("staff.csv"), "user_id,unit\nU1,CID\n,,\n   \nU2,CID\n,\n").unwrap();
        let (lists, _) = load_dir(dir.path()).unwrap();
        assert_eq!(lists.staff.len(), 2);
    }

    /// A key given twice with other values (a suspension undone by a second staff
    /// row, a celebrity's entry replaced) is a fault naming both lines; given twice
    /// the same, it counts once. A JSON row's field given twice is a fault too.
    #[test]
    fn a_row_or_a_field_given_twice_with_other_values_is_a_fault() {
        let dir = tempfile::tempdir().unwrap();
        let staff = "user_id,status,unit\nU1,suspended,CID\nU2,active,CID\nU2,active,CID\nU1,active,CID\n";
        std::fs::write(dir.path().join("staff.csv"), staff).unwrap();
        std::fs::write(
            dir.path().join("high_profile.jsonl"),
            "{\"entry_id\":\"HP1\",\"subject_name\":\"STAR, Ann\",\"added_at\":\"2026-11-01T10:00:00Z\",\"subject_name\":\"NOBODY, A\"}\n",
        )
        .unwrap();
        let errs = load_dir(dir.path()).unwrap_err();
        let text: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("staff.csv:5") && t.contains("`U1`") && t.contains("line 2")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("high_profile.jsonl:1") && t.contains("`subject_name` is given twice")));
        // The same row twice is no fault, and counts once.
        std::fs::write(dir.path().join("staff.csv"), "user_id,status\nU1,active\nU1,active\n").unwrap();
        std::fs::remove_file(dir.path().join("high_profile.jsonl")).unwrap();
        let (lists, report) = load_dir(dir.path()).unwrap();
        assert_eq!(lists.staff.len(), 1);
        assert!(report.to_string().contains("staff 1"), "{report}");
        // An incident written twice with other separators is one incident.
        let incidents =
            "reference,opened_at,unit\nINC-1,2026-11-01T00:00:00Z,CID\nINC 1,2026-11-01T00:00:00Z,Response\n";
        std::fs::write(dir.path().join("incidents.csv"), incidents).unwrap();
        let text = load_dir(dir.path()).unwrap_err().to_string();
        assert!(text.contains("incidents.csv:3") && text.contains("line 2"), "{text}");
    }

    /// A table's file under a name it is not read by is a fault, not an empty table.
    #[test]
    fn a_tables_file_under_another_name_is_a_fault() {
        for name in ["Custody.csv", "custody.CSV", "custody.csv.gz", "custody.json", "CUSTODY"] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(name), "custody_ref,subject_id,arrested_at\n").unwrap();
            std::fs::write(dir.path().join("custody.csv.bak"), "old\n").unwrap();
            std::fs::write(dir.path().join("README.txt"), "notes\n").unwrap();
            let err = load_dir(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(name) && err.contains("custody.csv or custody.jsonl"), "{name}: {err}");
        }
        // The spellings a person gives a table's name (a probe: two such files left
        // the high-profile and opsec rules silent, the load OK).
        for (name, table) in [
            ("operation.csv", "operations"),
            ("highprofile.csv", "high_profile"),
            ("High-Profile.jsonl", "high_profile"),
            ("incident.csv", "incidents"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(name), "x\n").unwrap();
            let err = load_dir(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(name) && err.contains(&format!("{table}.csv or {table}.jsonl")), "{name}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("custody.csv.bak"), "old\n").unwrap();
        std::fs::write(dir.path().join("staff_2025.csv"), "old\n").unwrap();
        let (_, report) = load_dir(dir.path()).unwrap();
        assert_eq!(report.missing().len(), TableName::ALL.len(), "a backup is left alone; every table is missing");
    }

    /// What would silently empty a table or lose its rows is a fault naming the file
    /// (and line): a stray quote, a row running over pages, a column given twice, a
    /// table under its name that cannot be read.
    #[test]
    fn a_stray_quote_a_column_given_twice_or_a_table_that_cannot_be_read_is_a_fault() {
        let fault = |name: &str, text: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(name), text).unwrap();
            load_dir(dir.path()).unwrap_err().to_string()
        };
        // A quote never closed would read the rows after it into one field.
        let note = "entry_id,subject_name,added_at,note\nHP-1,STAR Ann,2026-11-01T00:00:00Z,\"MP; protective\nHP-2,BLOGGS Joe,2026-11-01T00:00:00Z,\n";
        let text = fault("high_profile.csv", note);
        assert!(text.contains("high_profile.csv:2") && text.contains("never closed"), "{text}");
        // One closed far below, with a hundred rows read into it.
        let mut far = String::from("user_id,status,unit\nU0,active,\"CID\n");
        for i in 1..100 {
            far.push_str(&format!("U{i},suspended,CID\n"));
        }
        far.push_str("U100,active,CID\"\nU101,active,CID\n");
        let text = fault("staff.csv", &far);
        assert!(text.contains("staff.csv:2") && text.contains("runs over"), "{text}");
        // Blank lines between rows are no long row.
        let dir = tempfile::tempdir().unwrap();
        let spaced = format!("user_id,status\nU1,active\n{}U2,active\n", "\n".repeat(100));
        std::fs::write(dir.path().join("staff.csv"), spaced).unwrap();
        if let Err(e) = load_dir(dir.path()) {
            panic!("{e}")
        }
        // A column given twice.
        let text = fault("staff.csv", "user_id,status,unit,status\nU1,suspended,CID,active\n");
        assert!(text.contains("column `status`") && text.contains("given twice"), "{text}");
        // A table under its name that cannot be read: a link to storage not mounted,
        // a directory.
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/no/such/share/staff.csv", dir.path().join("staff.csv")).unwrap();
        std::fs::create_dir(dir.path().join("custody.csv")).unwrap();
        let text = load_dir(dir.path()).unwrap_err().to_string();
        assert!(text.contains("custody.csv") && text.contains("not a regular file"), "{text}");
        #[cfg(unix)]
        assert!(text.contains("staff.csv") && text.contains("not mounted"), "{text}");
    }

    /// A million rows each failing (a renamed column) give a hundred faults and a
    /// count of the rest, not a million lines.
    #[test]
    fn the_faults_of_one_file_are_listed_up_to_a_hundred() {
        let mut text = String::from("user_id,status\n");
        for i in 0..1_000 {
            text.push_str(&format!("U{i},retired\n"));
        }
        let mut lists = WatchLists::default();
        let errs = load_text(TableName::Staff, Path::new("staff.csv"), &text, &mut lists).unwrap_err();
        assert_eq!(errs.0.len(), FAULTS_SHOWN + 1);
        assert!(errs.0.last().unwrap().message.contains("and 900 more faults"), "{}", errs.0.last().unwrap());
    }

    /// A staff list saved from Excel as "Unicode text", or by PowerShell's `>`, is the
    /// list it holds; so is a JSON Lines file with a UTF-8 byte-order mark.
    #[test]
    fn a_utf16_or_marked_utf8_file_is_read_as_its_text() {
        let csv = "user_id,surname,forenames,status\nU1,Ó Súilleabháin,Siân,suspended\nU2,Peel,Robert,active\n";
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(csv.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(csv.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        for bytes in [le, be, [&b"\xEF\xBB\xBF"[..], csv.as_bytes()].concat()] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("staff.csv"), bytes).unwrap();
            let (lists, _) = load_dir(dir.path()).unwrap();
            let u1 = lists.staff_member("U1").expect("U1 is read");
            assert_eq!(u1.status, crate::watchlist::AccountStatus::Suspended);
            assert_eq!(u1.name.as_ref().map(|n| n.surname.as_str()), Some("OSUILLEABHAIN"));
            assert!(lists.staff_member("U2").is_some());
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("staff.jsonl"), "\u{feff}{\"user_id\":\"U1\",\"status\":\"left\"}\n").unwrap();
        let (lists, _) = load_dir(dir.path()).unwrap();
        assert!(lists.staff_member("U1").is_some());
    }

    #[test]
    fn loads_both_formats_and_reports_missing_tables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("high_profile.jsonl"),
            "{\"entry_id\":\"HP1\",\"subject_name\":\"STAR, Ann\",\"added_at\":\"2026-11-01T10:00:00Z\",\"case_team\":[\"U7\"]}\n",
        )
        .unwrap();
        let (lists, report) = load_dir(dir.path()).unwrap();
        assert_eq!(lists.high_profile.len(), 1);
        assert!(report.to_string().contains("high_profile 1"));
        assert!(report.to_string().contains("custody (none)"));
    }
}
