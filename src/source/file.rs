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
}

impl FileSource {
    /// Opens `path` (gzip when it ends in `.gz`). `read_bytes` counts the bytes read
    /// from disk.
    pub fn open(path: &Path, format: InputFormat, input: &InputConfig, read_bytes: Arc<AtomicU64>) -> io::Result<Self> {
        let file = File::open(path)?;
        let counted = Counted { inner: file, counter: read_bytes };
        let reader: Box<dyn BufRead + Send> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(BufReader::new(counted))))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counted))
        };
        let keep = input.max_record_bytes.max(input.dead_letter_max_bytes);
        Ok(FileSource {
            name: path.display().to_string(),
            records: RecordReader::new(reader, keep, format.is_csv()),
            decoder: Decoder::new(format),
            max_record: input.max_record_bytes,
        })
    }

    /// The next event or dead letter, or `None` at the end of the file.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        loop {
            let Some(record) = self.records.next_record()? else { return Ok(None) };
            let decoded = if record.len > self.max_record {
                Decoded::Rejected(DecodeError::TooLong { len: record.len, limit: self.max_record })
            } else {
                self.decoder.decode(record.bytes)
            };
            return Ok(Some(match decoded {
                Decoded::Event(e) => SourceItem::Event(e),
                Decoded::Header => continue,
                Decoded::Rejected(reason) => SourceItem::Dead(DeadLetter {
                    origin: Origin::File { path: self.name.clone(), line: record.line },
                    reason,
                    raw: record.bytes.to_vec(),
                    raw_len: record.len,
                }),
            }));
        }
    }
}

/// Several files read as one stream in event-time order: each file is assumed to be
/// in (roughly) time order, and the merge always takes the earliest head. Ties go to
/// the file given first, so the order is deterministic.
pub struct MergedFiles {
    sources: Vec<FileSource>,
    heads: Vec<Option<Box<AccessEvent>>>,
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    dead: VecDeque<DeadLetter>,
    started: bool,
}

impl MergedFiles {
    pub fn new(sources: Vec<FileSource>) -> MergedFiles {
        let n = sources.len();
        MergedFiles {
            sources,
            heads: (0..n).map(|_| None).collect(),
            heap: BinaryHeap::new(),
            dead: VecDeque::new(),
            started: false,
        }
    }

    /// Opens every path with its format.
    pub fn open(
        inputs: &[(PathBuf, InputFormat)],
        input: &InputConfig,
        read_bytes: Arc<AtomicU64>,
    ) -> Result<MergedFiles, (PathBuf, io::Error)> {
        let mut sources = Vec::with_capacity(inputs.len());
        for (path, format) in inputs {
            sources.push(
                FileSource::open(path, format.clone(), input, read_bytes.clone()).map_err(|e| (path.clone(), e))?,
            );
        }
        Ok(MergedFiles::new(sources))
    }

    fn fill(&mut self, i: usize) -> io::Result<()> {
        while let Some(item) = self.sources[i].next_item()? {
            match item {
                SourceItem::Dead(d) => self.dead.push_back(d),
                SourceItem::Event(e) => {
                    self.heap.push(Reverse((e.ts, i)));
                    self.heads[i] = Some(e);
                    break;
                }
            }
        }
        Ok(())
    }

    /// The next item: dead letters as they are met, events in time order.
    pub fn next_item(&mut self) -> io::Result<Option<SourceItem>> {
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.fill(i)?;
            }
        }
        if let Some(d) = self.dead.pop_front() {
            return Ok(Some(SourceItem::Dead(d)));
        }
        let Some(Reverse((_, i))) = self.heap.pop() else { return Ok(None) };
        let event = self.heads[i].take();
        self.fill(i)?;
        Ok(event.map(SourceItem::Event))
    }
}
