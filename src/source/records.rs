//! Splitting a byte stream into records with a size limit.

use memchr::{memchr, memchr2};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead};

/// One record: its first line number, the bytes kept, and its full length.
pub struct Record<'a> {
    /// 1-based line the record starts on.
    pub line: u64,
    /// The record without its line ending; at most the keep limit long.
    pub bytes: &'a [u8],
    /// The record's full length in bytes, which may exceed `bytes.len()`.
    pub len: usize,
    /// SHA-256 of the whole record when it is longer than `bytes` (a dead letter keeps
    /// only its head, and names the whole by this).
    pub sha256: Option<[u8; 32]>,
    /// A CSV record whose quoted field is still open where it ends (at the end of the
    /// stream, or at [`MAX_CSV_LINES`]): not a whole record, though a lenient CSV
    /// reader takes it as one.
    pub unclosed: bool,
}

impl Record<'_> {
    pub fn is_truncated(&self) -> bool {
        self.len > self.bytes.len()
    }
}

/// A buffered stream with bytes given back to read again before the rest.
struct Rewind<R> {
    again: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: io::Read> io::Read for Rewind<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at < self.again.len() {
            let n = out.len().min(self.again.len() - self.at);
            out[..n].copy_from_slice(&self.again[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(out)
    }
}

impl<R: BufRead> BufRead for Rewind<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.again.len() {
            return Ok(&self.again[self.at..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if self.at < self.again.len() {
            self.at += n;
        } else {
            self.inner.consume(n);
        }
    }
}

/// Reads records from a buffered stream. Blank lines are skipped.
pub struct RecordReader<R> {
    inner: Rewind<R>,
    buf: Vec<u8>,
    lines: u64,
    keep: usize,
    /// For CSV, the field delimiter: a newline inside a quoted field continues the record.
    csv: Option<u8>,
    /// The start of the stream has been looked at for a byte-order mark.
    started: bool,
    /// The last line ended with a carriage return at the end of a buffer: a line feed
    /// first in the next is the rest of that CRLF.
    after_cr: bool,
    /// CSV's line end: `\n` (and `\r\n`), or `\r` in a stream whose first buffer holds
    /// carriage returns and no line feed (old Mac exports). A quoted CSV field may hold
    /// a carriage return; no JSON or CEF record holds a raw one, so there every line
    /// ends by its own ending.
    end: u8,
}

/// A quoted CSV field runs over at most this many lines; past that the record ends
/// (and is a dead letter), so one stray quote cannot swallow the rest of a file.
pub const MAX_CSV_LINES: u64 = 64;

/// Where a CSV record's bytes stand, as `csv_core` reads them: a double quote opens a
/// quoted field only at the start of a field; inside one, `""` is a quote and `"`
/// closes it; anywhere else it is an ordinary character.
#[derive(Copy, Clone, PartialEq)]
enum Csv {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the close, or the first of `""`.
    QuoteInQuoted,
}

impl Csv {
    fn step(self, b: u8, delimiter: u8) -> Csv {
        match (self, b) {
            (Csv::FieldStart, b'"') => Csv::Quoted,
            (Csv::FieldStart | Csv::Unquoted, d) if d == delimiter => Csv::FieldStart,
            (Csv::FieldStart | Csv::Unquoted, _) => Csv::Unquoted,
            (Csv::Quoted, b'"') => Csv::QuoteInQuoted,
            (Csv::Quoted, _) => Csv::Quoted,
            (Csv::QuoteInQuoted, b'"') => Csv::Quoted,
            (Csv::QuoteInQuoted, d) if d == delimiter => Csv::FieldStart,
            (Csv::QuoteInQuoted, _) => Csv::Unquoted,
        }
    }
}

/// The line on which a quoted field opens that the text never closes (a stray quote:
/// everything after it would be read into one field), as `csv_core` reads quotes: one
/// opens a field only at its start, and inside one `""` is a quote. From quote to
/// quote, so a large watch list costs a search, not a step a byte.
pub fn unclosed_quote(text: &[u8], delimiter: u8) -> Option<u64> {
    let (mut at, mut open) = (0, None);
    while let Some(found) = memchr(b'"', &text[at..]) {
        let quote = at + found;
        at = quote + 1;
        match open {
            None if quote == 0 || matches!(text[quote - 1], b'\n' | b'\r') || text[quote - 1] == delimiter => {
                open = Some(quote)
            }
            None => {}
            Some(_) if text.get(quote + 1) == Some(&b'"') => at += 1,
            Some(_) => open = None,
        }
    }
    open.map(|quote| 1 + memchr::memchr_iter(b'\n', &text[..quote]).count() as u64)
}

impl<R: BufRead> RecordReader<R> {
    /// `keep` bounds the bytes held of any one record; longer records are counted but
    /// not held. With a CSV delimiter, a newline inside a quoted field continues the
    /// record, for at most [`MAX_CSV_LINES`] lines.
    pub fn new(inner: R, keep: usize, csv: Option<u8>) -> Self {
        let inner = Rewind { again: Vec::new(), at: 0, inner };
        RecordReader {
            inner,
            buf: Vec::with_capacity(1024),
            lines: 0,
            keep,
            csv,
            started: false,
            after_cr: false,
            end: b'\n',
        }
    }

    /// Gives back all of the last record but its first line, to be read again as
    /// records of their own: for a CSV record whose quoted field ran over lines and
    /// that could not be read, so that one stray quote costs its own line, not the rows
    /// it ran into. Returns the first line; `None` when the record was one line.
    /// `line` is the record's first line; the record must have been held whole.
    pub fn retake_after_first_line(&mut self, line: u64) -> Option<Vec<u8>> {
        let nl = memchr(b'\n', &self.buf)?;
        let mut again = self.buf[nl + 1..].to_vec();
        if self.end != b'\n' {
            // The lines were joined with line feeds; this stream ends them otherwise.
            again.iter_mut().filter(|b| **b == b'\n').for_each(|b| *b = self.end);
        }
        again.push(self.end);
        again.extend_from_slice(&self.inner.again[self.inner.at..]);
        self.inner.again = again;
        self.inner.at = 0;
        self.lines = line;
        let mut first = self.buf[..nl].to_vec();
        if first.last() == Some(&b'\r') {
            first.pop();
        }
        Some(first)
    }

    /// How many lines have been read whole.
    pub fn lines_read(&self) -> u64 {
        self.lines
    }

    /// The next non-blank record, or `None` at the end of the stream.
    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        loop {
            self.buf.clear();
            let line = self.lines + 1;
            let mut len = 0usize;
            let mut csv = Csv::FieldStart;
            let mut saw_any = false;
            // Started once the record outgrows `keep`, with what was kept.
            let mut hasher: Option<Sha256> = None;
            loop {
                let avail = self.inner.fill_buf()?;
                if avail.is_empty() {
                    break;
                }
                if std::mem::take(&mut self.after_cr) && avail[0] == b'\n' {
                    self.inner.consume(1);
                    continue;
                }
                if self.csv.is_some() && !self.started && !saw_any {
                    // A carriage return before the buffer's last byte (so not the first
                    // half of a CRLF cut by the buffer) and no line feed: CR ends lines.
                    let cr_only = memchr(b'\n', avail).is_none() && memchr(b'\r', &avail[..avail.len() - 1]).is_some();
                    if cr_only {
                        self.end = b'\r';
                    }
                }
                saw_any = true;
                // Outside CSV a line ends at a line feed, a CRLF, or a carriage return
                // alone (old Mac exports): each line by its own ending, so two exports
                // concatenated read right (a probe: ten LF lines, then a thousand CR-only
                // lines, were ten events and one dead letter).
                let found = match self.csv {
                    Some(_) => memchr(self.end, avail),
                    None => memchr2(b'\n', b'\r', avail),
                };
                let (chunk_len, ending) = match found {
                    Some(i) if self.csv.is_some() => (i, 1),
                    Some(i) if avail[i] == b'\r' => match avail.get(i + 1) {
                        Some(b'\n') => (i, 2),
                        Some(_) => (i, 1),
                        None => {
                            self.after_cr = true;
                            (i, 1)
                        }
                    },
                    Some(i) => (i, 1),
                    None => (avail.len(), 0),
                };
                let newline = ending > 0;
                let chunk = &avail[..chunk_len];
                if let Some(d) = self.csv {
                    // Only bytes around quotes change the state's meaning; scan all but
                    // a record's leading byte-order mark, which is not part of it (so a
                    // quote after it opens the field).
                    let scan = match len {
                        0 => chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk),
                        _ => chunk,
                    };
                    csv = scan.iter().fold(csv, |state, &b| state.step(b, d));
                }
                let room = self.keep.saturating_sub(self.buf.len());
                if hasher.is_none() && chunk_len > room {
                    hasher = Some(Sha256::new_with_prefix(&self.buf));
                }
                if let Some(h) = &mut hasher {
                    h.update(chunk);
                }
                self.buf.extend_from_slice(&chunk[..chunk_len.min(room)]);
                len += chunk_len;
                self.inner.consume(chunk_len + ending);
                if newline {
                    self.lines += 1;
                    let quote_open = csv == Csv::Quoted && self.lines + 1 - line < MAX_CSV_LINES;
                    if quote_open {
                        if self.buf.len() < self.keep {
                            self.buf.push(b'\n');
                        } else if hasher.is_none() {
                            hasher = Some(Sha256::new_with_prefix(&self.buf));
                        }
                        if let Some(h) = &mut hasher {
                            h.update(b"\n");
                        }
                        len += 1;
                        continue;
                    }
                    break;
                }
            }
            if !saw_any {
                return Ok(None);
            }
            // The byte-order mark some editors and exports put at the start of a UTF-8
            // file is not part of a record: not of the first, nor of the first of a file
            // appended to another (`cat a.jsonl b.jsonl`). A record held whole; a longer
            // one is a dead letter, whose hash is of the bytes as they are in the file.
            self.started = true;
            if hasher.is_none() && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
                len -= 3;
            }
            if len == self.buf.len() && self.buf.last() == Some(&b'\r') {
                self.buf.pop();
                len -= 1;
            }
            if len == self.buf.len() && self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let sha256 = hasher.map(|h| h.finalize().into());
            let unclosed = csv == Csv::Quoted;
            return Ok(Some(Record { line, bytes: &self.buf, len, sha256, unclosed }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `unclosed_quote` against a byte-by-byte walk of `csv_core`'s states.
    fn unclosed_by_states(text: &[u8]) -> Option<u64> {
        let (mut state, mut line, mut opened) = (Csv::FieldStart, 1u64, 1u64);
        for &b in text {
            let in_quotes = state == Csv::Quoted;
            if b == b'\n' {
                line += 1;
            }
            if matches!(b, b'\n' | b'\r') && !in_quotes {
                state = Csv::FieldStart;
                continue;
            }
            let next = state.step(b, b',');
            if next == Csv::Quoted && state == Csv::FieldStart {
                opened = line;
            }
            state = next;
        }
        (state == Csv::Quoted).then_some(opened)
    }

    proptest! {
        #[test]
        fn an_unclosed_quote_is_found_as_the_csv_reader_reads_quotes(
            text in prop::collection::vec(prop::sample::select(vec![b'"', b',', b'\n', b'\r', b'a']), 0..64)
        ) {
            prop_assert_eq!(unclosed_quote(&text, b','), unclosed_by_states(&text));
        }
    }

    fn all(input: &[u8], keep: usize, csv: Option<u8>) -> Vec<(u64, String, usize)> {
        let mut r = RecordReader::new(std::io::BufReader::with_capacity(8, input), keep, csv);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push((rec.line, String::from_utf8_lossy(rec.bytes).into_owned(), rec.len));
        }
        out
    }

    #[test]
    fn carriage_returns_alone_end_lines_in_a_stream_that_has_no_line_feed() {
        let input: &[u8] = b"{\"a\":1}\r{\"b\":2}\r\r{\"c\":3}";
        let mut r = RecordReader::new(std::io::BufReader::with_capacity(64, input), 100, None);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push((rec.line, String::from_utf8_lossy(rec.bytes).into_owned()));
        }
        assert_eq!(got, vec![(1, "{\"a\":1}".into()), (2, "{\"b\":2}".into()), (4, "{\"c\":3}".into())]);
        // A CRLF cut by the first buffer is not taken for a CR-only stream.
        assert_eq!(all(b"abcdefg\r\nb\n", 100, None), vec![(1, "abcdefg".into(), 7), (2, "b".into(), 1)]);
        // With line feeds, a carriage return before one is part of a CRLF ending.
        let got = all(b"a\r\nb\n", 100, None);
        assert_eq!(got, vec![(1, "a".into(), 1), (2, "b".into(), 1)]);
        // Each line by its own ending (two exports concatenated: a probe's ten LF lines
        // and a thousand CR lines were ten events and one dead letter), a CRLF cut by
        // a buffer of any size included.
        let mixed = b"a\nbb\rccc\r\ndd\re\r\n\r\nf";
        let expected: Vec<(u64, String, usize)> = [(1, "a"), (2, "bb"), (3, "ccc"), (4, "dd"), (5, "e"), (7, "f")]
            .map(|(n, t)| (n, t.into(), t.len()))
            .to_vec();
        for capacity in 1..mixed.len() + 1 {
            let mut r = RecordReader::new(std::io::BufReader::with_capacity(capacity, &mixed[..]), 100, None);
            let mut got = Vec::new();
            while let Some(rec) = r.next_record().unwrap() {
                got.push((rec.line, String::from_utf8_lossy(rec.bytes).into_owned(), rec.len));
            }
            assert_eq!(got, expected, "buffer of {capacity}");
        }
        // In CSV a carriage return alone is an ending only in a stream of them: a quoted
        // field may hold one (a review: the field's CR became a line break).
        let got = all(b"a,b\n\"x\ry\",1\nc,d\n", 100, Some(b','));
        assert_eq!(got, vec![(1, "a,b".into(), 3), (2, "\"x\ry\",1".into(), 7), (3, "c,d".into(), 3)]);
    }

    #[test]
    fn a_byte_order_mark_at_the_start_of_a_record_is_not_part_of_it() {
        // The file's own start, and the start of a file appended to it.
        let got = all(b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBFx\ny\xEF\xBB\xBF\n", 100, None);
        // A mark inside a record is the record's (and refused or dropped there).
        assert_eq!(got, vec![(1, "{\"a\":1}".into(), 7), (2, "x".into(), 1), (3, "y\u{feff}".into(), 4)]);
        // A quote after the mark opens a CSV field, which may hold a line break.
        let got = all(b"a,b\n\xEF\xBB\xBF\"x\ny\",1\n", 100, Some(b','));
        assert_eq!(got, vec![(1, "a,b".into(), 3), (2, "\"x\ny\",1".into(), 7)]);
    }

    #[test]
    fn lines_blank_lines_and_crlf() {
        let got = all(b"a\r\n\n  \nbb\nccc", 100, None);
        assert_eq!(got, vec![(1, "a".into(), 1), (4, "bb".into(), 2), (5, "ccc".into(), 3)]);
    }

    #[test]
    fn long_records_are_cut_but_measured() {
        let long = format!("{}\nnext\n", "x".repeat(1000));
        let got = all(long.as_bytes(), 10, None);
        assert_eq!(got[0], (1, "x".repeat(10), 1000));
        assert_eq!(got[1], (2, "next".into(), 4));
    }

    #[test]
    fn a_cut_record_carries_the_hash_of_the_whole() {
        let long = "y".repeat(1000);
        let input = format!("{long}\nz\n");
        let mut r = RecordReader::new(std::io::BufReader::with_capacity(8, input.as_bytes()), 10, None);
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.sha256, Some(Sha256::digest(long.as_bytes()).into()));
        assert_eq!(r.next_record().unwrap().unwrap().sha256, None);
    }

    #[test]
    fn csv_quotes_span_lines() {
        let got = all(b"a,\"two\nlines\",b\nc\n", 100, Some(b','));
        assert_eq!(got, vec![(1, "a,\"two\nlines\",b".into(), 15), (3, "c".into(), 1)]);
        let got = all(b"a,\"say \"\"hi\"\"\nthere\",b\nc\n", 100, Some(b','));
        assert_eq!(got.len(), 2, "an escaped quote does not close the field: {got:?}");
    }

    /// A record over several lines given back after its first: the lines after it
    /// are read again as records of their own, with their own line numbers, in a
    /// stream whose lines end in LF, CRLF or CR alone.
    #[test]
    fn the_lines_after_a_records_first_can_be_read_again_one_by_one() {
        for end in ["\n", "\r\n", "\r"] {
            let input = ["h1,h2", "a,\"open", "b,1", "c,\"two", "lines\"", "d,2", ""].join(end);
            let mut r = RecordReader::new(std::io::BufReader::with_capacity(8, input.as_bytes()), 100, Some(b','));
            let mut got = Vec::new();
            while let Some(rec) = r.next_record().unwrap() {
                let (line, text) = (rec.line, String::from_utf8_lossy(rec.bytes).replace('\r', ""));
                if line == 2 && text.contains('\n') {
                    let first = r.retake_after_first_line(line).unwrap();
                    got.push((line, format!("first: {}", String::from_utf8_lossy(&first))));
                } else {
                    got.push((line, text));
                }
            }
            let expected = [(1, "h1,h2"), (2, "first: a,\"open"), (3, "b,1"), (4, "c,\"two\nlines\""), (6, "d,2")];
            let expected: Vec<(u64, String)> = expected.iter().map(|(l, t)| (*l, t.to_string())).collect();
            assert_eq!(got, expected, "{end:?}");
        }
    }

    #[test]
    fn a_stray_quote_inside_a_field_is_a_character_not_an_opening() {
        // SMITH 5" tall: csv_core reads the quote as a literal; so must the splitter.
        let got = all(b"a,SMITH 5\" tall,b\nc,d,e\nf,g,h\n", 100, Some(b','));
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3], "{got:?}");
        let got = all(b"a;x\"y;b\nc;d;e\n", 100, Some(b';'));
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn an_unclosed_quote_ends_its_record_after_a_bounded_number_of_lines() {
        let mut input = b"a,\"never closed\n".to_vec();
        for i in 0..200 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let got = all(&input, 1 << 20, Some(b','));
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1.lines().count() as u64, MAX_CSV_LINES, "the open field stops at the bound");
        assert!(got.len() > 100, "the rest of the file is read: {}", got.len());
    }
}
