//! Files as sources, and the event-time merge of several files.

use super::decode::{Decoded, Decoder, InputFormat};
use super::records::RecordReader;
use crate::config::InputConfig;
use crate::event::{AccessEvent, DecodeError};
use crate::sink::dead_letter::{DeadLetter, Origin};
use crate::time::Timestamp;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// An event or a record that could not become one.
#[derive(Debug)]
pub enum SourceItem {
    Event(Box<AccessEvent>),
    Dead(DeadLetter),
}

/// Counts the bytes read from a file, for the progress bar.
struct Counted<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One input file: records decoded into events, bad records into dead letters.
pub struct FileSource {
    name: String,
    records: RecordReader<Box<dyn BufRead + Send>>,
    decoder: Decoder,
    max_record: usize,
    /// The file could not be read on: it has ended.
    unreadable: bool,
    /// Why its very start could not be read (an empty or damaged gzip stream, a disk
    /// error): given out as its first item, an `unreadable` dead letter at line 1.
    unreadable_start: Option<io::Error>,
    /// Records may run over lines inside quotes.
    csv: bool,
    /// Dead letters to give out before the next record is read: the lines inside a
    /// quoted field that read as rows of their own.
    pending: std::collections::VecDeque<DeadLetter>,
}

impl FileSource {
    /// Opens `path` (gzip when it ends in `.gz`; UTF-16 when it starts with a UTF-16
    /// byte-order mark). `read_bytes` counts the bytes read from disk.
    pub fn open(path: &Path, format: InputFormat, input: &InputConfig, read_bytes: Arc<AtomicU64>) -> io::Result<Self> {
        let file = File::open(path)?;
        let counted = Counted { inner: file, counter: read_bytes };
        let reader: Box<dyn BufRead + Send> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(BufReader::new(counted))))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counted))
        };
        // A start that cannot be read is this file's fault, not the replay's: one dead
        // letter, as for damage further in (a probe's empty .gz stopped every file).
        let (reader, utf16, unreadable_start) = match super::utf16::as_utf8(reader) {
            Ok((reader, utf16)) => (reader, utf16, None),
            Err(e) => (Box::new(io::empty()) as Box<dyn BufRead + Send>, None, Some(e)),
        };
        if let Some(endian) = utf16 {
            tracing::info!(file = %path.display(), ?endian, "UTF-16 file: read as the UTF-8 it holds");
        }
        let keep = input.max_record_bytes.max(input.dead_letter_max_bytes);
        Ok(FileSource {
            name: path.display().to_string(),
            records: RecordReader::new(reader, keep, format.csv_delimiter()),
            csv: format.csv_delimiter().is_some(),
            pending: Default::default(),
            decoder: Decoder::new(format),
            max_record: input.max_record_bytes,
            unreadable: false,
            unreadable_start,
        })
    }

    /// The next event or dead letter, or `None` at the end of the file. A file that
    /// cannot be read on (a damaged gzip stream, a disk error) gives one dead letter
    /// saying where and why, then ends: what was read before counts, and the other
    /// files of a replay are read to their end.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        loop {
            if let Some(dead) = self.pending.pop_front() {
                return Ok(Some(SourceItem::Dead(dead)));
            }
            if self.unreadable {
                return Ok(None);
            }
            let next = match self.unreadable_start.take() {
                Some(e) => Err(e),
                None => self.records.next_record(),
            };
            let record = match next {
                Ok(Some(record)) => record,
                Ok(None) => return Ok(None),
                Err(e) => {
                    self.unreadable = true;
                    // The line reading stopped on (past any blank lines it had read).
                    let line = self.records.lines_read() + 1;
                    tracing::warn!(file = %self.name, line, error = %e, "input file unreadable past this line");
                    return Ok(Some(SourceItem::Dead(DeadLetter {
                        origin: Origin::File { path: self.name.clone(), line },
                        reason: DecodeError::Unreadable(e.to_string()),
                        raw: Vec::new(),
                        raw_len: 0,
                        raw_sha256: None,
                    })));
                }
            };
            let decoded = if record.len > self.max_record {
                Decoded::Rejected(DecodeError::TooLong { len: record.len, limit: self.max_record })
            } else if record.unclosed {
                Decoded::Rejected(DecodeError::BadCsv("a quoted field is not closed".into()))
            } else {
                self.decoder.decode(record.bytes)
            };
            // A CSV record over several lines that cannot be read: a quote left open
            // ran into the rows after it. Its first line is the dead letter, and the
            // rest is read again, row by row.
            // Only a quote that never closed, or one that closed in a later row so that
            // the record has another number of fields than the header (the rows it ran
            // into; fewer when a lone quote's line took the next row's first fields into
            // one: a hostile probe's valid row was lost in it): a field quoted as it
            // should be that holds a line break is one record of the right shape
            // whatever it holds, and its lines are never read as rows (free text would
            // otherwise write rows of its own).
            let misshapen = record.unclosed
                || matches!(decoded, Decoded::Rejected(DecodeError::FieldCount { got, header }) if got != header);
            let ran_over = self.csv && misshapen && !record.is_truncated() && record.bytes.contains(&b'\n');
            if let (Decoded::Rejected(why), true) = (&decoded, ran_over) {
                let (line, lines) = (record.line, 1 + record.bytes.iter().filter(|b| **b == b'\n').count());
                let reason = DecodeError::BadCsv(format!(
                    "a quoted field opened on this line is not closed on it; the {lines} lines it ran into could not be read as one record ({why}), so the lines after this one are read as records of their own"
                ));
                let raw = self.records.retake_after_first_line(line).unwrap_or_default();
                return Ok(Some(SourceItem::Dead(line_dead(&self.name, line, reason, raw))));
            }
            // A record of the right shape whose quoted field holds lines that are rows
            // of their own by the header: two stray quotes in one column, rows apart,
            // swallowed the rows between them (a probe: 40 high-profile look-ups, no
            // dead letter), or an officer wrote text to pass for rows. Which is not
            // known: the record is judged as it reads (the access it records is real
            // either way), and each such line is a dead letter of its own, named, not an
            // event (read as one, it would be another user's access on this one's
            // word, or hide this one's own: a review).
            // A record refused for another cause (a reference over its bound: text the
            // officer types) is one dead letter of its first line, and the others the
            // same: never read as rows (a second review: 40 rows went into one dead
            // letter named for the reference's length).
            let mut first_only = None;
            if matches!(decoded, Decoded::Event(_) | Decoded::Rejected(_))
                && self.csv
                && !record.is_truncated()
                && record.bytes.contains(&b'\n')
            {
                let opened = record.line;
                let mut lines = record.bytes.split(|b| *b == b'\n').skip(1);
                let rows = lines.any(|l| self.decoder.reads_as_event(l));
                // Every line after the first, the row the second quote is on too.
                let lines = (record.bytes.split(|b| *b == b'\n').enumerate().skip(1).filter(|_| rows))
                    .map(|(i, l)| (opened + i as u64, l.to_vec()));
                for (line, raw) in lines {
                    let reason = DecodeError::BadCsv(format!(
                        "this line is inside a field quoted on line {opened}, read as one record with it, whose lines read as rows of their own: a quote left open and closed rows later in the same column (genuine rows: replay them from a corrected export), or text written to pass for rows; it is not judged"
                    ));
                    let dead = line_dead(&self.name, line, reason, raw);
                    self.pending.push_back(dead);
                }
                if rows {
                    first_only = record.bytes.split(|b| *b == b'\n').next().map(<[u8]>::to_vec);
                }
            }
            if let (Decoded::Rejected(why), Some(raw)) = (&decoded, first_only) {
                let reason = DecodeError::BadCsv(format!(
                    "a quoted field opened on this line runs over lines that read as rows of their own (dead letters of their own, after this one); the record they make was refused: {why}"
                ));
                return Ok(Some(SourceItem::Dead(line_dead(&self.name, record.line, reason, raw))));
            }
            return Ok(Some(match decoded {
                Decoded::Event(e) => SourceItem::Event(e),
                Decoded::Header => continue,
                Decoded::Rejected(reason) => SourceItem::Dead(DeadLetter {
                    origin: Origin::File { path: self.name.clone(), line: record.line },
                    reason,
                    raw: record.bytes.to_vec(),
                    raw_len: record.len,
                    raw_sha256: record.sha256,
                }),
            }));
        }
    }
}

/// Several files read as one stream in event-time order: each file is assumed to be
/// in (roughly) time order, and the merge always takes the earliest head. Ties go to
/// the file given first, so the order is deterministic.
///
/// Records dated far ahead of their file (a source's clock fault) must not hold the
/// whole file back until every other file is done: each file is read [`LOOKAHEAD`]
/// events ahead, and a head more than `max_skew` after the middle time of the events
/// behind it (and after the next or the last of them) takes the place of the earliest
/// of them in the merge. The engine then judges it where it
/// stands (skewed). With one event read ahead, two such records in a row (or two
/// records of a source writing summer time as UTC) held their file back an hour, and
/// every event behind them was late.
pub struct MergedFiles {
    sources: Vec<FileSource>,
    heads: Vec<Option<Box<AccessEvent>>>,
    /// The events after each head, read ahead (up to [`LOOKAHEAD`]).
    nexts: Vec<VecDeque<Box<AccessEvent>>>,
    /// Files read to their end.
    ended: Vec<bool>,
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// Dead letters, given out as soon as they are read, at most [`DEAD_AHEAD`] at a
    /// time: a long run of bad records between two events is never held in memory.
    dead: VecDeque<DeadLetter>,
    /// Files to move on by one event (again, when a run of dead letters interrupted the
    /// read-ahead).
    to_fill: VecDeque<usize>,
    started: bool,
    max_skew: crate::time::Span,
}

/// The most dead letters read before they are given out.
const DEAD_AHEAD: usize = 1_024;

/// Events read ahead of each file's head: a run of fewer than half as many records
/// dated ahead is taken for a clock fault where it stands.
const LOOKAHEAD: usize = 16;

/// What reading a file on gave.
enum Ahead {
    Event(Box<AccessEvent>),
    End,
    /// [`DEAD_AHEAD`] dead letters wait to be given out first.
    Full,
}

impl MergedFiles {
    pub fn new(sources: Vec<FileSource>, max_skew: crate::time::Span) -> MergedFiles {
        let n = sources.len();
        MergedFiles {
            sources,
            heads: (0..n).map(|_| None).collect(),
            nexts: (0..n).map(|_| VecDeque::new()).collect(),
            ended: vec![false; n],
            heap: BinaryHeap::new(),
            dead: VecDeque::new(),
            to_fill: VecDeque::new(),
            started: false,
            max_skew,
        }
    }

    /// Opens every path with its format.
    pub fn open(
        inputs: &[(PathBuf, InputFormat)],
        input: &InputConfig,
        max_skew: crate::time::Span,
        read_bytes: Arc<AtomicU64>,
    ) -> Result<MergedFiles, (PathBuf, io::Error)> {
        let mut sources = Vec::with_capacity(inputs.len());
        for (path, format) in inputs {
            sources.push(
                FileSource::open(path, format.clone(), input, read_bytes.clone()).map_err(|e| (path.clone(), e))?,
            );
        }
        Ok(MergedFiles::new(sources, max_skew))
    }

    /// The next event of file `i`; dead letters met on the way are queued to go out.
    fn read_event(&mut self, i: usize) -> io::Result<Ahead> {
        while self.dead.len() < DEAD_AHEAD {
            match self.sources[i].next_item()? {
                None => return Ok(Ahead::End),
                Some(SourceItem::Dead(d)) => self.dead.push_back(d),
                Some(SourceItem::Event(e)) => return Ok(Ahead::Event(e)),
            }
        }
        Ok(Ahead::Full)
    }

    /// Moves file `i` on by one event and queues its new head.
    fn fill(&mut self, i: usize) -> io::Result<()> {
        while !self.ended[i] && self.nexts[i].len() <= LOOKAHEAD {
            match self.read_event(i)? {
                Ahead::Event(e) => self.nexts[i].push_back(e),
                Ahead::End => self.ended[i] = true,
                Ahead::Full => {
                    self.to_fill.push_front(i);
                    return Ok(());
                }
            }
        }
        let Some(head) = self.nexts[i].pop_front() else { return Ok(()) };
        // A head far ahead of most of the events behind it is a spike: it goes just
        // before the earliest of them, so the file's own events keep their order. Most
        // heads are not ahead of the next event nor of the last read: no more asked.
        let ahead = |e: Option<&Box<AccessEvent>>| e.is_some_and(|e| head.ts > e.ts + self.max_skew);
        let key = match ahead(self.nexts[i].front()) || ahead(self.nexts[i].back()) {
            false => head.ts,
            true => {
                let mut behind: smallvec::SmallVec<[Timestamp; LOOKAHEAD]> =
                    self.nexts[i].iter().map(|e| e.ts).collect();
                let n = behind.len();
                let middle = *behind.select_nth_unstable(n / 2).1;
                match head.ts > middle + self.max_skew {
                    true => behind.iter().copied().min().unwrap_or(middle),
                    false => head.ts,
                }
            }
        };
        self.heap.push(Reverse((key, i)));
        self.heads[i] = Some(head);
        Ok(())
    }

    /// The next item: dead letters as they are met, events in time order.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        if !self.started {
            self.started = true;
            self.to_fill.extend(0..self.sources.len());
        }
        loop {
            if let Some(d) = self.dead.pop_front() {
                return Ok(Some(SourceItem::Dead(d)));
            }
            if let Some(i) = self.to_fill.pop_front() {
                self.fill(i)?;
                continue;
            }
            let Some(Reverse((_, i))) = self.heap.pop() else { return Ok(None) };
            let event = self.heads[i].take();
            self.to_fill.push_back(i);
            return Ok(event.map(SourceItem::Event));
        }
    }
}

/// A dead letter of one line of the file `name`, held whole.
fn line_dead(name: &str, line: u64, reason: DecodeError, raw: Vec<u8>) -> DeadLetter {
    DeadLetter {
        origin: Origin::File { path: name.to_string(), line },
        reason,
        raw_len: raw.len(),
        raw,
        raw_sha256: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item of `merged`: the events' ids, and the dead letters.
    fn drain(merged: &mut MergedFiles) -> (Vec<String>, Vec<DeadLetter>) {
        let (mut events, mut dead) = (Vec::new(), Vec::new());
        while let Some(item) = merged.next_item().unwrap() {
            match item {
                SourceItem::Event(e) => events.push(e.event_id.to_string()),
                SourceItem::Dead(d) => dead.push(d),
            }
        }
        (events, dead)
    }

    #[test]
    fn a_damaged_file_ends_with_a_dead_letter_and_the_other_files_are_read() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let event = |id: &str, ts: &str| {
            format!(
                r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"U1","action":"view","subject_type":"person"}}"#
            ) + "\n"
        };
        let good = dir.path().join("good.jsonl");
        std::fs::write(&good, event("g1", "2026-11-22T10:00:00Z") + &event("g2", "2026-11-22T12:00:00Z")).unwrap();
        // A gzip stream cut short: its first lines decompress, then the stream fails.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2_000 {
            gz.write_all(event(&format!("b{i}"), "2026-11-22T11:00:00Z").as_bytes()).unwrap();
        }
        let bytes = gz.finish().unwrap();
        let damaged = dir.path().join("damaged.jsonl.gz");
        std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
        let inputs = [(good.clone(), InputFormat::JsonLines), (damaged.clone(), InputFormat::JsonLines)];
        let config = crate::config::Config::defaults();
        let mut merged =
            MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, Default::default()).unwrap();
        let (events, dead) = drain(&mut merged);
        assert!(
            events.contains(&"g1".to_string()) && events.contains(&"g2".to_string()),
            "the good file is read to its end: {events:?} {dead:?}"
        );
        assert!(events.iter().filter(|id| id.starts_with('b')).count() > 0, "what was read of the damaged file counts");
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0].reason.kind(), "unreadable");
        let Origin::File { path, line } = &dead[0].origin else { panic!() };
        assert_eq!(path, &damaged.display().to_string());
        assert_eq!(*line as usize, events.iter().filter(|id| id.starts_with('b')).count() + 1);
        // Damaged before its first line (an empty file left by a crashed export, a
        // header overwritten): the same one dead letter, at line 1, and the good file is
        // read (a probe: the whole replay stopped, nothing written).
        let mut cut_header = bytes.clone();
        cut_header[12..32].fill(0xAA);
        for (name, bytes) in [("empty.jsonl.gz", Vec::new()), ("header.jsonl.gz", cut_header)] {
            let broken = dir.path().join(name);
            std::fs::write(&broken, bytes).unwrap();
            let inputs = [(broken.clone(), InputFormat::JsonLines), (good.clone(), InputFormat::JsonLines)];
            let mut merged =
                MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, Default::default()).unwrap();
            let (events, dead) = drain(&mut merged);
            assert_eq!(events, ["g1", "g2"], "{name}");
            assert_eq!(dead.len(), 1, "{name}: {dead:?}");
            assert_eq!(dead[0].reason.kind(), "unreadable");
            assert!(matches!(&dead[0].origin, Origin::File { line: 1, .. }), "{:?}", dead[0].origin);
        }
    }

    /// Two stray quotes in one column, rows apart: the record from the first to the
    /// second has the header's number of fields, and the rows between them were read
    /// into one field, neither judged nor dead letters (a probe: 40 high-profile
    /// look-ups lost). The record is judged, and each row between is a dead letter of
    /// its own, not an event (a review: text written to pass for rows must not be
    /// another user's access, nor hide the writer's); a quoted field of free text
    /// over lines that are no rows stays one record; a mid-file header spelt
    /// `EVENT ID` is a header.
    #[test]
    fn rows_between_two_stray_quotes_are_read_as_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let mut text = String::from("event_id,ts,system,user_id,action,subject_type,subject_id,query\n");
        text.push_str("A1,2026-11-06T16:00:00Z,PNC,U1,search,person,,\"smith\n");
        for i in 0..40 {
            text.push_str(&format!("M{i},2026-11-06T16:00:{i:02}Z,PNC,U{i},view,person,85/905299S,\n"));
        }
        text.push_str("B1,2026-11-06T16:01:00Z,PNC,U1,search,person,,\"jones\n");
        text.push_str("F1,2026-11-06T16:02:00Z,PNC,U1,search,person,,\"free text\nover, two lines\"\n");
        text.push_str("EVENT ID,Subject Type,ts,system,user_id,action\nH1,person,2026-11-06T16:03:00Z,PNC,U1,view\n");
        std::fs::write(&path, text).unwrap();
        let config = crate::config::Config::defaults();
        let inputs = [(path, InputFormat::Csv)];
        let mut merged =
            MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, Default::default()).unwrap();
        let (events, dead) = drain(&mut merged);
        assert_eq!(events, ["A1", "F1", "H1"], "{dead:?}");
        let lines: Vec<u64> = dead
            .iter()
            .filter_map(|d| match d.origin {
                Origin::File { line, .. } => Some(line),
                _ => None,
            })
            .collect();
        assert_eq!(lines, (3..=43).collect::<Vec<u64>>(), "{dead:?}");
        assert!(dead[0].reason.to_string().contains("inside a field quoted on line 2"), "{}", dead[0].reason);
        assert!(dead.iter().all(|d| d.raw.starts_with(b"M") || d.raw.starts_with(b"B1,")), "{dead:?}");

        // In a column whose value refuses them (a reference over its bound): the first
        // line a dead letter of its own, and every other line (a second review: one
        // dead letter named for the reference's length held the 40 rows).
        let path = dir.path().join("b.csv");
        let mut text = String::from("event_id,ts,system,user_id,action,subject_type,subject_id,reference\n");
        text.push_str("A1,2026-11-06T16:00:00Z,PNC,U1,search,person,,\"INC 1\n");
        for i in 0..40 {
            text.push_str(&format!("M{i},2026-11-06T16:00:{i:02}Z,PNC,U{i},view,person,85/905299S,\n"));
        }
        text.push_str(
            "B1,2026-11-06T16:01:00Z,PNC,U1,search,person,,\"INC 2\nC1,2026-11-06T16:02:00Z,PNC,U1,view,person,,\n",
        );
        std::fs::write(&path, text).unwrap();
        let inputs = [(path, InputFormat::Csv)];
        let mut merged =
            MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, Default::default()).unwrap();
        let (events, dead) = drain(&mut merged);
        assert_eq!(events, ["C1"], "{dead:?}");
        assert_eq!(dead.len(), 42, "every line of the record: {dead:?}");
        assert!(dead[0].raw.starts_with(b"A1,") && !dead[0].raw.contains(&b'\n'), "{dead:?}");
        assert!(dead[0].reason.to_string().contains("refused"), "{}", dead[0].reason);
    }

    #[test]
    fn a_long_run_of_bad_records_is_given_out_as_it_is_read_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut text = String::new();
        let event = |id: &str, ts: &str| {
            format!(
                r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"U1","action":"view","subject_type":"person"}}"#
            )
        };
        text += &event("e1", "2026-11-22T10:00:00Z");
        text.push('\n');
        for i in 0..5_000 {
            text += &format!("garbage {i}\n");
        }
        text += &event("e2", "2026-11-22T10:01:00Z");
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let config = crate::config::Config::defaults();
        let mut merged = MergedFiles::open(
            &[(path, InputFormat::JsonLines)],
            &config.input,
            config.state.max_clock_skew,
            Arc::new(AtomicU64::new(0)),
        )
        .unwrap();
        let (mut events, mut dead, mut most_held) = (Vec::new(), 0, 0);
        while let Some(item) = merged.next_item().unwrap() {
            most_held = most_held.max(merged.dead.len());
            match item {
                SourceItem::Event(e) => events.push(e.event_id.to_string()),
                SourceItem::Dead(_) => dead += 1,
            }
        }
        assert_eq!(events, ["e1", "e2"]);
        assert_eq!(dead, 5_000);
        assert!(most_held <= DEAD_AHEAD, "{most_held} dead letters held at once");
    }
}
