//! Reading ahead: a replay's files read and decoded on a thread of their own, their
//! events and dead letters handed to the engine's thread in batches, in the order the
//! merge gives them. The engine's thread then only judges, so on two cores a replay
//! runs at about the engine's pace instead of the sum of both. The items, and so the
//! alerts, are the same as when one thread does both.

use super::file::SourceItem;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::io;
use std::thread::JoinHandle;

/// Items handed over at once: enough that the channel costs little per event, few
/// enough that the engine starts at once.
const BATCH: usize = 512;
/// A batch is also handed over once its items hold about this many bytes (a file of
/// long lines must not fill memory while the engine is behind).
const BATCH_BYTES: usize = 4 << 20;
/// Batches waiting for the engine: the reader is at most this far ahead.
const WAITING: usize = 8;

enum Handed {
    Items(Vec<SourceItem>),
    Failed(io::Error),
    End,
}

/// The items of a source, read on a thread of their own.
pub struct ReadAhead {
    rx: Receiver<Handed>,
    batch: std::vec::IntoIter<SourceItem>,
    ended: bool,
    reader: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading `next` (a source's `next_item`) on a new thread.
    pub fn start<F>(next: F) -> io::Result<ReadAhead>
    where
        F: FnMut() -> io::Result<Option<SourceItem>> + Send + 'static,
    {
        let (tx, rx) = bounded(WAITING);
        let reader = std::thread::Builder::new().name("read-ahead".into()).spawn(move || read(next, tx))?;
        Ok(ReadAhead { rx, batch: Vec::new().into_iter(), ended: false, reader: Some(reader) })
    }

    /// The next item, as the source gave it; `None` at its end. A read error is given
    /// where the source gave it, and the reading thread's panic as an error.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        loop {
            if let Some(item) = self.batch.next() {
                return Ok(Some(item));
            }
            if self.ended {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Handed::Items(items)) => self.batch = items.into_iter(),
                Ok(Handed::End) => self.ended = true,
                Ok(Handed::Failed(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => {
                    self.ended = true;
                    let why = match self.reader.take().map(JoinHandle::join) {
                        Some(Err(panic)) => panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into()),
                        _ => "no reason given".into(),
                    };
                    return Err(io::Error::other(format!("the thread reading the input stopped: {why}")));
                }
            }
        }
    }
}

/// The reading thread: batches until the source ends or fails, or the engine's side
/// is dropped (a replay stopped by an error of its own).
fn read(mut next: impl FnMut() -> io::Result<Option<SourceItem>>, tx: Sender<Handed>) {
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut bytes = 0;
        let last = loop {
            match next() {
                Ok(Some(item)) => {
                    bytes += match &item {
                        SourceItem::Dead(d) => d.raw.len(),
                        // The fields that may be long; the rest are bounded and small.
                        SourceItem::Event(e) => {
                            512 + e.query.as_ref().map_or(0, |q| q.len()) + e.extra.as_ref().map_or(0, |x| x.len())
                        }
                    };
                    batch.push(item);
                    if batch.len() == BATCH || bytes >= BATCH_BYTES {
                        break None;
                    }
                }
                Ok(None) => break Some(Handed::End),
                Err(e) => break Some(Handed::Failed(e)),
            }
        };
        if !batch.is_empty() && tx.send(Handed::Items(batch)).is_err() {
            return;
        }
        if let Some(last) = last {
            let _ = tx.send(last);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::event::DecodeError;
    use crate::sink::dead_letter::{DeadLetter, Origin};
    use crate::source::{InputFormat, MergedFiles};
    use std::io::Write;

    fn ids(mut next: impl FnMut() -> io::Result<Option<SourceItem>>) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        while let Some(item) = next()? {
            out.push(match item {
                SourceItem::Event(e) => e.event_id.to_string(),
                SourceItem::Dead(d) => format!("dead: {}", String::from_utf8_lossy(&d.raw)),
            });
        }
        Ok(out)
    }

    /// Two files merged by time, with bad lines among them, over several batches: the
    /// same items in the same order through the reading thread as read in place.
    #[test]
    fn the_items_come_in_the_order_the_merge_gives_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults();
        let mut inputs = Vec::new();
        for (f, offset) in [("a.jsonl", 0), ("b.jsonl", 1)] {
            let path = dir.path().join(f);
            let mut out = std::fs::File::create(&path).unwrap();
            for i in 0..1_500 {
                if i % 97 == 0 {
                    writeln!(out, "not json {f} {i}").unwrap();
                }
                let s = 2 * i + offset;
                writeln!(out, r#"{{"event_id":"{f}-{i}","ts":"2026-11-01T{:02}:{:02}:{:02}Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person","subject_id":"P{i}"}}"#, s / 3600, s / 60 % 60, s % 60).unwrap();
            }
            inputs.push((path, InputFormat::JsonLines));
        }
        let open =
            || MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, Default::default()).unwrap();
        let mut merged = open();
        let direct = ids(|| merged.next_item()).unwrap();
        let mut merged = open();
        let mut ahead = ReadAhead::start(move || merged.next_item()).unwrap();
        let through = ids(|| ahead.next_item()).unwrap();
        assert_eq!(direct.len(), 3_000 + 2 * 16);
        assert_eq!(direct.iter().filter(|i| i.starts_with("dead")).count(), 32);
        assert_eq!(through, direct);
    }

    /// A read error arrives after the items before it; a panic of the reading thread
    /// is an error, not an early end that would pass for the input's end.
    #[test]
    fn an_error_or_a_panic_of_the_reader_is_an_error_not_an_end() {
        let mut n = 0;
        let mut ahead = ReadAhead::start(move || {
            n += 1;
            match n {
                1..=1_000 => Ok(Some(SourceItem::Dead(dead(n)))),
                _ => Err(io::Error::other("disk gone")),
            }
        })
        .unwrap();
        let (got, err) = until_error(&mut ahead);
        assert_eq!((got, err.to_string()), (1_000, "disk gone".to_string()));

        let mut n = 0;
        let mut ahead = ReadAhead::start(move || {
            n += 1;
            if n > 700 {
                panic!("decoder bug");
            }
            Ok(Some(SourceItem::Dead(dead(n))))
        })
        .unwrap();
        let (got, err) = until_error(&mut ahead);
        // The batch being filled when the reader panicked is lost with it: the replay
        // fails, so nothing read after the last full batch is taken for the whole.
        assert!(got <= 700 && got % BATCH == 0, "{got}");
        assert_eq!(err.to_string(), "the thread reading the input stopped: decoder bug");
        assert!(ahead.next_item().unwrap().is_none(), "the error is given once, then the end");
    }

    /// The items read before the first error, and the error.
    fn until_error(ahead: &mut ReadAhead) -> (usize, io::Error) {
        let mut got = 0;
        loop {
            match ahead.next_item() {
                Ok(Some(_)) => got += 1,
                Ok(None) => panic!("an end after {got} items"),
                Err(e) => return (got, e),
            }
        }
    }

    fn dead(n: usize) -> DeadLetter {
        DeadLetter {
            origin: Origin::File { path: "x".into(), line: n as u64 },
            reason: DecodeError::Unreadable("test".into()),
            raw: vec![b'x'; 10],
            raw_len: 10,
            raw_sha256: None,
        }
    }
}
