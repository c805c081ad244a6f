//! Inputs not in time order (an export sorted by user, by system or by record):
//! `replay --sort` takes every event of the inputs first, sorts them by time in runs
//! spilled to disk, and hands them on merged, so that the behavioural detectors see
//! each user's accesses in the order they happened. Read as it comes, such an input
//! has most of its events far behind the stream's newest: late, judged by the
//! watch-list rules alone.
//!
//! Events with the same time keep the order they were read in. Dead letters are handed
//! on as they are met, ahead of the events.

use super::file::SourceItem;
use crate::event::AccessEvent;
use crate::time::Timestamp;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

/// Events sorted in memory at once, about 100 MB of them: more are spilled to disk in
/// sorted runs of this many.
pub const RUN_EVENTS: usize = 262_144;

/// The items of `source` with its events in time order.
pub struct TimeSorted<F> {
    /// The source, until it has given its last item.
    source: Option<F>,
    /// Events read and not yet spilled, with their place in the input.
    run: Vec<(Timestamp, u64, Box<AccessEvent>)>,
    run_events: usize,
    read: u64,
    /// Where the runs are spilled; made at the start, removed when dropped.
    dir: Option<tempfile::TempDir>,
    spilled: Vec<RunReader>,
    /// The smallest head of each spilled run (time, place in the input, run).
    heads: BinaryHeap<Reverse<(Timestamp, u64, usize)>>,
    /// Each run's head event, by run.
    head_events: Vec<Option<Box<AccessEvent>>>,
    /// With nothing spilled: the sorted events, last first.
    in_memory: Vec<Box<AccessEvent>>,
}

impl<F: FnMut() -> io::Result<Option<SourceItem>>> TimeSorted<F> {
    /// Sorts what `source` gives, [`RUN_EVENTS`] events to a run. The directory for
    /// the runs is made now, in the system's temporary directory (`TMPDIR`), so that
    /// one that cannot be written fails the replay before it reads or writes anything
    /// (a probe: it failed at the first spill, blaming the input, with the outputs
    /// half written).
    pub fn new(source: F) -> io::Result<Self> {
        Self::with_runs_of(source, RUN_EVENTS)
    }

    pub fn with_runs_of(source: F, run_events: usize) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("accesswatch-sort-").tempdir().map_err(|e| {
            io::Error::new(e.kind(), format!("--sort keeps its sorted runs here (TMPDIR names another): {e}"))
        })?;
        Ok(TimeSorted {
            source: Some(source),
            run: Vec::new(),
            run_events: run_events.max(1),
            read: 0,
            dir: Some(dir),
            spilled: Vec::new(),
            heads: BinaryHeap::new(),
            head_events: Vec::new(),
            in_memory: Vec::new(),
        })
    }

    /// The next dead letter while the input is being read, then the events in time
    /// order; `None` at the end.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        while let Some(source) = self.source.as_mut() {
            match source()? {
                Some(SourceItem::Dead(d)) => return Ok(Some(SourceItem::Dead(d))),
                Some(SourceItem::Event(e)) => {
                    self.run.push((e.ts, self.read, e));
                    self.read += 1;
                    if self.run.len() >= self.run_events {
                        self.spill()?;
                    }
                }
                None => {
                    self.source = None;
                    self.start_merge()?;
                }
            }
        }
        if self.spilled.is_empty() {
            return Ok(self.in_memory.pop().map(SourceItem::Event));
        }
        let Some(Reverse((_, _, run))) = self.heads.pop() else { return Ok(None) };
        let event = self.head_events[run].take();
        self.advance(run)?;
        Ok(event.map(SourceItem::Event))
    }

    /// Sorts the events read so far and writes them to a run of their own.
    fn spill(&mut self) -> io::Result<()> {
        self.run.sort_by_key(|(ts, place, _)| (*ts, *place));
        let dir = self.dir.as_ref().map(|d| d.path().to_path_buf()).unwrap_or_default();
        let path = dir.join(format!("run-{}", self.spilled.len()));
        let spill_err = |e: io::Error| io::Error::new(e.kind(), format!("--sort writing {}: {e}", path.display()));
        self.write_run(&path).map_err(spill_err)?;
        self.spilled.push(RunReader { file: BufReader::with_capacity(1 << 16, File::open(&path).map_err(spill_err)?) });
        Ok(())
    }

    fn write_run(&mut self, path: &std::path::Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
        let mut json = String::new();
        for (ts, place, event) in self.run.drain(..) {
            json.clear();
            event.write_json(&mut json);
            out.write_all(&ts.0.to_le_bytes())?;
            out.write_all(&place.to_le_bytes())?;
            out.write_all(&(json.len() as u64).to_le_bytes())?;
            out.write_all(json.as_bytes())?;
        }
        // Read back by this process alone: no need to reach the disk.
        out.flush()
    }

    /// The input has ended: sorts what is in memory, or spills it and starts merging
    /// the runs.
    fn start_merge(&mut self) -> io::Result<()> {
        if self.spilled.is_empty() {
            self.run.sort_by_key(|(ts, place, _)| (*ts, *place));
            self.in_memory = self.run.drain(..).rev().map(|(_, _, e)| e).collect();
            return Ok(());
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        self.head_events = vec![None; self.spilled.len()];
        for run in 0..self.spilled.len() {
            self.advance(run)?;
        }
        Ok(())
    }

    /// Reads run `run`'s next event into its head.
    fn advance(&mut self, run: usize) -> io::Result<()> {
        if let Some((ts, place, event)) = self.spilled[run].next()? {
            self.head_events[run] = Some(event);
            self.heads.push(Reverse((ts, place, run)));
        }
        Ok(())
    }
}

/// A run spilled to disk: (time, place, length, canonical JSON) records.
struct RunReader {
    file: BufReader<File>,
}

impl RunReader {
    fn next(&mut self) -> io::Result<Option<(Timestamp, u64, Box<AccessEvent>)>> {
        let mut head = [0u8; 24];
        match self.file.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let word = |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        let (ts, place, len) = (Timestamp(word(0) as i64), word(1), word(2));
        let mut json = vec![0u8; usize::try_from(len).map_err(|_| bad_run("a record longer than memory"))?];
        self.file.read_exact(&mut json)?;
        let event = crate::event::json::decode(&json).map_err(|e| bad_run(&e.to_string()))?;
        Ok(Some((ts, place, Box::new(event))))
    }
}

fn bad_run(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("a sorted run read back unlike it was written: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::dead_letter::{DeadLetter, Origin};

    fn event(n: usize, ts: i64, user: &str) -> Box<AccessEvent> {
        let line = format!(
            r#"{{"event_id":"e{n}","ts":"{}","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","subject_name":"O'NEILL, Siân \"Jo\"","result_count":3,"extra_field":{{"a":[1,2]}}}}"#,
            Timestamp(ts)
        );
        Box::new(crate::event::json::decode(line.as_bytes()).unwrap())
    }

    /// An export sorted by user, with a dead letter among its events: the dead letter
    /// comes first, then every event in time order, ties in the order read, each event
    /// whole; the same with runs of every size, spilled or not.
    #[test]
    fn events_come_out_in_time_order_through_the_runs_and_dead_letters_pass() {
        const T: i64 = 1_795_338_000_000;
        let mut items: Vec<SourceItem> = Vec::new();
        let mut expected: Vec<(i64, String)> = Vec::new();
        for (u, user) in ["U3", "U1", "U2"].iter().enumerate() {
            for i in 0..7 {
                let (n, ts) = (u * 10 + i, T + ((i * 3 + u) % 5) as i64 * 60_000);
                items.push(SourceItem::Event(event(n, ts, user)));
                expected.push((ts, format!("e{n}")));
                if n == 12 {
                    items.push(SourceItem::Dead(DeadLetter {
                        origin: Origin::File { path: "x.jsonl".into(), line: 14 },
                        reason: crate::event::DecodeError::Unreadable("bad".into()),
                        raw: b"bad".to_vec(),
                        raw_len: 3,
                        raw_sha256: None,
                    }));
                }
            }
        }
        // Stable by time: the order read breaks ties.
        expected.sort_by_key(|(ts, _)| *ts);
        for run in [1, 2, 5, 21, 1_000] {
            let mut given = items.iter().map(|i| match i {
                SourceItem::Event(e) => SourceItem::Event(e.clone()),
                SourceItem::Dead(d) => SourceItem::Dead(d.clone()),
            });
            let mut sorted = TimeSorted::with_runs_of(move || Ok(given.next()), run).unwrap();
            assert!(matches!(sorted.next_item().unwrap(), Some(SourceItem::Dead(_))), "runs of {run}");
            let mut got = Vec::new();
            while let Some(item) = sorted.next_item().unwrap() {
                let SourceItem::Event(e) = item else { panic!("a second dead letter") };
                assert_eq!(*e, *event(e.event_id[1..].parse().unwrap(), e.ts.0, &e.user_id), "whole");
                got.push((e.ts.0, e.event_id.to_string()));
            }
            assert_eq!(got, expected, "runs of {run}");
        }
    }
}
