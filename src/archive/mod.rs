//! The evidence archive: every accepted event and every final alert, as Parquet files
//! that DataFusion, DuckDB, Spark or Trino can read (layout and schema:
//! docs/archive.md).
//!
//! ```text
//!  ROOT/events/date=2026-11-03/system=PNC/part-<first ts>-<writer>-<n>.parquet
//!  ROOT/alerts/date=2026-11-03/part-<first ts>-<writer>-<n>.parquet
//! ```
//!
//! - Events are partitioned by the date of their `ts` (UTC) and their system; inside a
//!   file they are sorted by the subject's normalised surname, then record id, then
//!   time, in row groups of `row_group_rows`, so a look-up of one subject reads a few
//!   row groups; `user_id`, `subject_id`, `subject_surname`, `vrm_key`, `postcode_key`
//!   and `event_id` carry bloom filters, so files without the value are skipped.
//! - A file is written to a hidden temporary name, synced, renamed and its directory
//!   synced: once [`EventWriter::flush`] returns, its events survive a crash. The live
//!   engine stores a Kafka offset only after the flush holding its event returned.
//! - At least once: an event processed again after a crash can be archived twice;
//!   readers here drop duplicates (`StoredEvent::copy_key`), and `archive compact` removes
//!   them from the files.
//!
//! [`columns`] converts between events or alerts and Arrow record batches.

pub mod columns;
mod damaged;
pub mod keys;
mod layout;
pub mod lookup;
mod retention;

pub use damaged::{is_foreign, open_regular, panic_text, unpanicked, Check};
use layout::{parquet_files, parquet_files_and_dirs, partitions};
pub use layout::{strays, Depth, ReplayMark};
pub use retention::{prune, written_archive, PruneReport};

use crate::alert::Alert;
use crate::config::ArchiveConfig;
use crate::event::AccessEvent;
use crate::time::{Date, Timestamp, DAY};
use arrow::array::RecordBatch;
use columns::{ArchivedEvent, Provenance, StoredEvent};
use compact_str::CompactString;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The directory of one date's events of one system. `system` is checked where an
/// event enters (1 to 32 of `A-Z a-z 0-9 _ -`); a name that is not such (which only a
/// bug could bring here) is written as `system=_invalid`, so no value of an event can
/// name a directory outside the archive.
pub fn events_dir(root: &Path, date: Date, system: &str) -> PathBuf {
    let safe = !system.is_empty()
        && system.len() <= crate::event::MAX_SYSTEM_CHARS
        && system.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let system = if safe { system } else { "_invalid" };
    root.join("events").join(format!("date={date}")).join(format!("system={system}"))
}

fn alerts_dir(root: &Path, date: Date) -> PathBuf {
    root.join("alerts").join(format!("date={date}"))
}

/// A unique name for this writer's files, so any number of engines can share an
/// archive: the host's name (a pod's, on Kubernetes), then 64 random bits (two
/// containers both run as process 1, and may start in the same instant).
fn writer_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host: String = host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    // RandomState is seeded from the operating system's random source.
    use std::hash::BuildHasher;
    let random =
        std::collections::hash_map::RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    match host.is_empty() {
        true => format!("{random:016x}"),
        false => format!("{host}-{random:016x}"),
    }
}

/// The writer's settings for a file of `rows` rows: zstd, page statistics, bloom
/// filters on `bloom` sized for the rows a row group of this file holds (the writer
/// folds a filter down to its target false-positive rate before writing it, so this
/// saves the memory and hashing of a filter sized for 32,768 rows while a small file
/// is written, not bytes on disk), and no dictionary for `unique` columns (one entry
/// per row is all cost).
fn properties(
    config: &ArchiveConfig,
    rows: usize,
    bloom: &[&str],
    unique: &[&str],
    sorting: Option<Vec<SortingColumn>>,
) -> WriterProperties {
    let level = ZstdLevel::try_new(config.zstd_level).unwrap_or_default();
    let group_rows = rows.clamp(1, config.row_group_rows.max(1)) as u64;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(config.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(sorting)
        .set_created_by(format!("accesswatch {}", env!("CARGO_PKG_VERSION")));
    if config.bloom_filters {
        for col in bloom {
            let path = parquet::schema::types::ColumnPath::from(*col);
            b = b
                .set_column_bloom_filter_enabled(path.clone(), true)
                .set_column_bloom_filter_fpp(path.clone(), 0.01)
                .set_column_bloom_filter_max_ndv(path, group_rows);
        }
    }
    for col in unique {
        b = b.set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(*col), false);
    }
    b.build()
}

/// Writes a batch to `dir/name` durably: temporary file, sync, rename, sync the directory.
fn write_file(dir: &Path, name: &str, batch: &RecordBatch, props: WriterProperties) -> io::Result<u64> {
    // A column with no value in this file gets neither compression nor a dictionary.
    let mut props = props.into_builder();
    for path in columns::empty(batch) {
        props = props
            .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
            .set_column_dictionary_enabled(path, false);
    }
    let props = props.build();
    crate::sink::durable::write_with(&dir.join(name), |file| {
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(io::Error::other)?;
        writer.write(batch).map_err(io::Error::other)?;
        writer.close().map_err(io::Error::other)?;
        Ok(())
    })
}

/// What a flush wrote.
#[derive(Debug, Default, Clone)]
pub struct FlushReport {
    pub rows: usize,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

impl FlushReport {
    fn add(&mut self, other: FlushReport) {
        self.rows += other.rows;
        self.bytes += other.bytes;
        self.files.extend(other.files);
    }
}

/// Buffers accepted events and writes them as sorted Parquet files per date and system.
pub struct EventWriter {
    root: PathBuf,
    config: ArchiveConfig,
    id: String,
    files: u64,
    groups: BTreeMap<(Date, CompactString), Vec<ArchivedEvent>>,
    buffered: usize,
    next_seq: i64,
    since: Option<Instant>,
}

impl EventWriter {
    pub fn new(root: &Path, config: &ArchiveConfig) -> EventWriter {
        EventWriter {
            root: root.to_path_buf(),
            config: config.clone(),
            id: writer_id(),
            files: 0,
            groups: BTreeMap::new(),
            buffered: 0,
            next_seq: 0,
            since: None,
        }
    }

    /// Events buffered and not yet durable.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    pub fn append(&mut self, event: AccessEvent, from: Provenance) {
        let key = (event.ts.date(), event.system.clone());
        let row = ArchivedEvent::new(event, self.next_seq, from);
        self.next_seq += 1;
        self.groups.entry(key).or_default().push(row);
        self.buffered += 1;
        self.since.get_or_insert_with(Instant::now);
    }

    /// Whether the live engine should flush now: enough rows, or the oldest has waited
    /// `flush_interval`.
    pub fn due(&self) -> bool {
        self.buffered >= self.config.flush_rows
            || self.since.is_some_and(|t| t.elapsed().as_millis() as i64 >= self.config.flush_interval.0)
    }

    /// Writes every buffered event; when this returns `Ok` they are durable.
    pub fn flush(&mut self) -> io::Result<FlushReport> {
        let groups = std::mem::take(&mut self.groups);
        self.flush_groups(groups)
    }

    /// For an input in time order (replay, import): once `flush_rows` are buffered,
    /// writes the dates before the newest, so each date's files are few and large.
    pub fn flush_settled(&mut self) -> io::Result<FlushReport> {
        if self.buffered < self.config.flush_rows {
            return Ok(FlushReport::default());
        }
        let Some(newest) = self.groups.keys().map(|(d, _)| *d).max() else { return Ok(FlushReport::default()) };
        let keep = self.groups.split_off(&(newest, CompactString::default()));
        let settled = std::mem::replace(&mut self.groups, keep);
        if settled.is_empty() {
            // One date holds everything: write it rather than grow without bound.
            return self.flush();
        }
        self.flush_groups(settled)
    }

    /// Writes the groups; on a failure the group that failed and those after it stay
    /// buffered for the next flush, so a disk that refuses a write loses nothing.
    fn flush_groups(&mut self, groups: BTreeMap<(Date, CompactString), Vec<ArchivedEvent>>) -> io::Result<FlushReport> {
        let mut report = FlushReport::default();
        let mut groups = groups.into_iter();
        while let Some(((date, system), mut rows)) = groups.next() {
            match self.write_group(date, &system, &mut rows) {
                Ok(written) => {
                    self.buffered -= rows.len();
                    report.add(written);
                }
                Err(e) => {
                    self.groups.entry((date, system)).or_default().append(&mut rows);
                    for (key, mut rows) in groups {
                        self.groups.entry(key).or_default().append(&mut rows);
                    }
                    return Err(e);
                }
            }
        }
        if self.buffered == 0 {
            self.since = None;
        }
        Ok(report)
    }

    fn write_group(&mut self, date: Date, system: &str, rows: &mut [ArchivedEvent]) -> io::Result<FlushReport> {
        let order = lookup_order(rows);
        let first = rows.iter().map(|r| r.event.ts.0).min().unwrap_or_default();
        let batch = columns::events_batch(order.iter().map(|&i| &rows[i as usize]));
        self.files += 1;
        let name = format!("part-{first}-{}-{}.parquet", self.id, self.files);
        let dir = events_dir(&self.root, date, system);
        // The key index first: a file is never visible without it, unless a crash came
        // in between (then the file is simply always read).
        fs::create_dir_all(&dir)?;
        keys::write(&dir.join(&name), rows)?;
        let bytes = write_file(&dir, &name, &batch, event_properties(&self.config, rows.len())).inspect_err(|_| {
            let _ = fs::remove_file(keys::path_for(&dir.join(&name)));
        })?;
        Ok(FlushReport { rows: rows.len(), files: vec![dir.join(name)], bytes })
    }
}

fn event_properties(config: &ArchiveConfig, rows: usize) -> WriterProperties {
    let schema = columns::EVENT_SCHEMA.clone();
    let idx = |name: &str| schema.index_of(name).expect("column in EVENT_SCHEMA") as i32;
    let sorting = ["subject_surname", "subject_id", "ts"]
        .map(|c| SortingColumn { column_idx: idx(c), descending: false, nulls_first: true })
        .to_vec();
    properties(config, rows, &columns::EVENT_BLOOM_COLUMNS, &columns::EVENT_UNIQUE_COLUMNS, Some(sorting))
}

/// The order inside a file: subject surname, record id, time, input order; as the
/// rows' positions (the rows are large, and sorting positions moves none of them).
/// The surname's first seven bytes, as a number, settle most comparisons.
fn lookup_order(rows: &[ArchivedEvent]) -> Vec<u32> {
    let prefix = |r: &ArchivedEvent| match &r.surname {
        None => 0u64,
        Some(s) => {
            let mut head = [0u8; 8];
            let n = s.len().min(7);
            head[1..1 + n].copy_from_slice(&s.as_bytes()[..n]);
            (1 << 63) | u64::from_be_bytes(head)
        }
    };
    let mut order: Vec<(u64, u32)> = rows.iter().enumerate().map(|(i, r)| (prefix(r), i as u32)).collect();
    order.sort_unstable_by(|(pa, a), (pb, b)| {
        let (a, b) = (&rows[*a as usize], &rows[*b as usize]);
        pa.cmp(pb).then_with(|| {
            (&a.surname, &a.event.subject_id, a.event.ts, a.seq).cmp(&(
                &b.surname,
                &b.event.subject_id,
                b.event.ts,
                b.seq,
            ))
        })
    });
    order.into_iter().map(|(_, i)| i).collect()
}

/// Writes final alerts, one file per date of the triggering event per flush.
pub struct AlertWriter {
    root: PathBuf,
    config: ArchiveConfig,
    id: String,
    files: u64,
    pending: Vec<Alert>,
}

impl AlertWriter {
    pub fn new(root: &Path, config: &ArchiveConfig) -> AlertWriter {
        AlertWriter { root: root.to_path_buf(), config: config.clone(), id: writer_id(), files: 0, pending: Vec::new() }
    }

    pub fn append(&mut self, alert: Alert) {
        self.pending.push(alert);
    }

    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Writes the pending alerts; on a failure the unwritten ones stay pending.
    pub fn flush(&mut self) -> io::Result<FlushReport> {
        let mut by_date: BTreeMap<Date, Vec<Alert>> = BTreeMap::new();
        for a in self.pending.drain(..) {
            by_date.entry(a.event_ts.date()).or_default().push(a);
        }
        let mut report = FlushReport::default();
        let mut dates = by_date.into_iter();
        while let Some((date, mut alerts)) = dates.next() {
            alerts.sort_by(|a, b| (a.event_ts, &a.alert_id).cmp(&(b.event_ts, &b.alert_id)));
            let batch = columns::alerts_batch(&alerts);
            self.files += 1;
            let name = format!("part-{}-{}-{}.parquet", alerts[0].event_ts.0, self.id, self.files);
            let dir = alerts_dir(&self.root, date);
            let props = properties(&self.config, alerts.len(), &["alert_id", "user_id"], &["alert_id"], None);
            match write_file(&dir, &name, &batch, props) {
                Ok(bytes) => report.add(FlushReport { rows: alerts.len(), files: vec![dir.join(name)], bytes }),
                Err(e) => {
                    self.pending.append(&mut alerts);
                    self.pending.extend(dates.flat_map(|(_, a)| a));
                    return Err(e);
                }
            }
        }
        Ok(report)
    }
}

/// Archives events on a thread of its own, for an input in time order (replay): the
/// engine hands over batches and goes on; [`BackgroundWriter::finish`] waits until
/// everything is durable.
pub struct BackgroundWriter {
    tx: Option<crossbeam_channel::Sender<Vec<(AccessEvent, Provenance)>>>,
    thread: std::thread::JoinHandle<io::Result<FlushReport>>,
    batch: Vec<(AccessEvent, Provenance)>,
}

impl BackgroundWriter {
    const BATCH: usize = 4_096;

    pub fn start(root: &Path, config: &ArchiveConfig) -> io::Result<BackgroundWriter> {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<(AccessEvent, Provenance)>>(16);
        let mut writer = EventWriter::new(root, config);
        let thread = std::thread::Builder::new().name("archive-write".into()).spawn(move || {
            let mut report = FlushReport::default();
            for batch in rx {
                for (e, from) in batch {
                    writer.append(e, from);
                }
                report.add(writer.flush_settled()?);
            }
            report.add(writer.flush()?);
            Ok(report)
        })?;
        Ok(BackgroundWriter { tx: Some(tx), thread, batch: Vec::with_capacity(Self::BATCH) })
    }

    pub fn push(&mut self, event: AccessEvent, from: Provenance) {
        self.batch.push((event, from));
        if self.batch.len() >= Self::BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
            if let Some(tx) = &self.tx {
                // A closed channel means the writer failed: finish() reports why.
                if tx.send(full).is_err() {
                    self.tx = None;
                }
            }
        }
    }

    /// Writes what is left and returns what was written, or the first failure.
    pub fn finish(mut self) -> io::Result<FlushReport> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
        self.thread.join().map_err(|_| io::Error::other("the archive writer panicked"))?
    }
}

/// The event dates present in the archive, oldest first.
pub fn event_dates(root: &Path) -> io::Result<Vec<Date>> {
    Ok(partitions(&root.join("events"), "date")?.into_iter().filter_map(|(d, _)| Date::parse(&d).ok()).collect())
}

/// The (date, system) partitions in the date range `[from, to]` holding a file that
/// may contain one of `values` in `column`, by the files' key indexes ([`keys`]), and
/// how many partitions the range has.
pub fn partitions_with(
    root: &Path,
    column: &str,
    values: &[&str],
    from: Option<Date>,
    to: Option<Date>,
) -> io::Result<(Vec<(Date, String)>, usize)> {
    let mut out = Vec::new();
    let mut considered = 0;
    for (date, dir) in partitions(&root.join("events"), "date")? {
        let Ok(d) = Date::parse(&date) else { continue };
        if from.is_some_and(|f| d < f) || to.is_some_and(|t| d > t) {
            continue;
        }
        for (system, sys_dir) in partitions(&dir, "system")? {
            considered += 1;
            if parquet_files(&sys_dir)?.iter().any(|f| keys::may_contain_any(f, column, values)) {
                out.push((d, system));
            }
        }
    }
    Ok((out, considered))
}

fn read_file(path: &Path) -> io::Result<Vec<RecordBatch>> {
    let file = open_regular(path)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
}

/// Every archived event of one date, without duplicates, in the order the engine
/// saw them: time, then input order. A file that cannot be read stops the read.
pub fn read_date(root: &Path, date: Date) -> io::Result<Vec<StoredEvent>> {
    let mut damaged = Vec::new();
    let events = read_date_leaving_out(root, date, &mut damaged)?;
    match damaged.into_iter().next() {
        Some((_, why)) => Err(io::Error::other(why)),
        None => Ok(events),
    }
}

/// As [`read_date`], but a file that cannot be read (damaged, truncated, not Parquet)
/// is left out whole and added to `damaged` with why, and the rest of the date is read.
pub fn read_date_leaving_out(
    root: &Path,
    date: Date,
    damaged: &mut Vec<(PathBuf, String)>,
) -> io::Result<Vec<StoredEvent>> {
    let mut events = Vec::new();
    for (system, dir) in partitions(&root.join("events").join(format!("date={date}")), "system")? {
        for file in parquet_files(&dir)? {
            let rows = unpanicked(&file, || read_file(&file)).and_then(|batches| {
                let mut rows = Vec::new();
                for batch in &batches {
                    rows.extend(
                        columns::events_from_batch(batch, Some(&system))
                            .map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?,
                    );
                }
                Ok(rows)
            });
            match rows {
                Ok(rows) => events.extend(rows),
                Err(e) => damaged.push((file, e.to_string())),
            }
        }
    }
    events.sort_by_key(|e| (e.event.ts, e.seq));
    let mut seen = HashSet::with_capacity(events.len());
    events.retain(|e| seen.insert(e.copy_key()));
    Ok(events)
}

/// The archive's files (events and alerts) that cannot be read as far as `check`
/// goes, each with why: what a query that stopped on a damaged file names for the
/// analyst.
pub fn damaged_files(root: &Path, check: Check) -> io::Result<Vec<(PathBuf, String)>> {
    let mut dirs = Vec::new();
    for (_, day) in partitions(&root.join("events"), "date")? {
        dirs.extend(partitions(&day, "system")?.into_iter().map(|(_, dir)| dir));
    }
    let alert_dirs: Vec<PathBuf> = partitions(&root.join("alerts"), "date")?.into_iter().map(|(_, dir)| dir).collect();
    let files = |dirs: &[PathBuf]| dirs.iter().map(|d| parquet_files(d)).collect::<io::Result<Vec<_>>>();
    let events = files(&dirs)?.into_iter().flatten();
    let mut out = damaged::unreadable(events, check, &columns::EVENT_SCHEMA, &columns::EVENT_COLUMNS_ALWAYS);
    let alerts = files(&alert_dirs)?.into_iter().flatten();
    out.extend(damaged::unreadable(alerts, check, &columns::ALERT_SCHEMA, &columns::ALERT_COLUMNS_ALWAYS));
    Ok(out)
}

/// One date of the archive as a replay reads it: its events, and the files of it that
/// could not be read (left out, each with why).
pub struct ArchiveDay {
    pub events: Vec<StoredEvent>,
    pub damaged: Vec<(PathBuf, String)>,
}

/// Reads the archive's events in `[from, to)` date by date, in event-time order, on a
/// thread of its own so that decoding overlaps the engine's work.
pub struct ArchiveEvents {
    days: crossbeam_channel::Receiver<io::Result<ArchiveDay>>,
}

impl ArchiveEvents {
    pub fn open(root: &Path, from: Option<Timestamp>, to: Option<Timestamp>) -> io::Result<ArchiveEvents> {
        if !root.join("events").is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not an accesswatch archive (no events/ directory)", root.display()),
            ));
        }
        let dates: Vec<Date> = event_dates(root)?
            .into_iter()
            .filter(|d| {
                from.is_none_or(|f| (d.0 as i64 + 1) * DAY > f.0) && to.is_none_or(|t| (d.0 as i64) * DAY < t.0)
            })
            .collect();
        // What lies where no reader looks is named, as a damaged file is, with the first day.
        let (first, last) = (from.map(|f| f.date()), to.map(|t| Timestamp(t.0 - 1).date()));
        let mut misplaced = strays(root, first, last, Depth::Systems)?;
        let (tx, rx) = crossbeam_channel::bounded(2);
        let root = root.to_path_buf();
        std::thread::Builder::new().name("archive-read".into()).spawn(move || {
            if dates.is_empty() && !misplaced.is_empty() {
                let _ = tx.send(Ok(ArchiveDay { events: Vec::new(), damaged: std::mem::take(&mut misplaced) }));
            }
            for date in dates {
                let mut damaged = std::mem::take(&mut misplaced);
                let day = read_date_leaving_out(&root, date, &mut damaged).map(|mut events| {
                    events.retain(|e| from.is_none_or(|f| e.event.ts >= f) && to.is_none_or(|t| e.event.ts < t));
                    ArchiveDay { events, damaged }
                });
                let failed = day.is_err();
                if tx.send(day).is_err() || failed {
                    return;
                }
            }
        })?;
        Ok(ArchiveEvents { days: rx })
    }

    /// The next date's events; `None` at the end.
    pub fn next_day(&mut self) -> Option<io::Result<ArchiveDay>> {
        self.days.recv().ok()
    }
}

/// Every archived alert (deduplicated by id) whose triggering event falls on the
/// dates of `[from, to]`; all of them without bounds.
pub fn read_alerts(root: &Path, from: Option<Date>, to: Option<Date>) -> io::Result<Vec<Alert>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (date, dir) in partitions(&root.join("alerts"), "date")? {
        let Ok(d) = Date::parse(&date) else { continue };
        if from.is_some_and(|f| d < f) || to.is_some_and(|t| d > t) {
            continue;
        }
        for file in parquet_files(&dir)? {
            for batch in read_file(&file)? {
                let alerts = columns::alerts_from_batch(&batch)
                    .map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?;
                out.extend(alerts.into_iter().filter(|a| seen.insert(a.alert_id.clone())));
            }
        }
    }
    Ok(out)
}

/// Writes the key index of every events file that has none or one without every
/// look-up column (an archive from an earlier version, or a crash between the two
/// writes); returns how many were written.
pub fn index(root: &Path) -> io::Result<usize> {
    let mut written = 0;
    for (_, dir) in partitions(&root.join("events"), "date")? {
        for (system, sys_dir) in partitions(&dir, "system")? {
            for file in parquet_files(&sys_dir)? {
                if keys::complete(&file) {
                    continue;
                }
                let mut rows = Vec::new();
                for batch in read_file(&file)? {
                    let stored = columns::events_as_stored(&batch, Some(&system))
                        .map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?;
                    rows.extend(stored.into_iter().map(|s| ArchivedEvent::new(s.event, s.seq, s.from)));
                }
                keys::write(&file, &rows)?;
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Rewrites every date and system with more than one events file (a live engine
/// writes one per flush) as one sorted file without duplicates. The new file is
/// durable before the old ones are deleted; a crash in between leaves duplicates,
/// which readers drop and the next compaction removes.
pub fn compact(root: &Path, config: &ArchiveConfig, before: Date) -> io::Result<FlushReport> {
    let mut report = FlushReport::default();
    let mut writer = EventWriter::new(root, config);
    for (date, dir) in partitions(&root.join("events"), "date")? {
        let Ok(d) = Date::parse(&date) else { continue };
        if d >= before {
            continue;
        }
        for (system, sys_dir) in partitions(&dir, "system")? {
            let files = parquet_files(&sys_dir)?;
            if files.len() < 2 {
                continue;
            }
            let mut rows = Vec::new();
            let mut seen = HashSet::new();
            for file in &files {
                for batch in read_file(file)? {
                    let stored = columns::events_as_stored(&batch, Some(&system))
                        .map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?;
                    for s in stored {
                        if seen.insert(s.copy_key()) {
                            rows.push(ArchivedEvent::new(s.event, s.seq, s.from));
                        }
                    }
                }
            }
            report.add(writer.write_group(d, &system, &mut rows)?);
            for file in files {
                fs::remove_file(&file)?;
                let _ = fs::remove_file(keys::path_for(&file));
            }
        }
    }
    report.add(compact_alerts(root, config, before)?);
    Ok(report)
}

/// The alerts of each date before `before` in one file, each alert once (the last
/// version of it read): a second replay into the same archive wrote every alert
/// again, and a query counting them counted each twice (the archive probe).
fn compact_alerts(root: &Path, config: &ArchiveConfig, before: Date) -> io::Result<FlushReport> {
    let mut report = FlushReport::default();
    for (date, dir) in partitions(&root.join("alerts"), "date")? {
        let Ok(d) = Date::parse(&date) else { continue };
        let files = parquet_files(&dir)?;
        if d >= before || files.len() < 2 {
            continue;
        }
        let mut latest: BTreeMap<CompactString, Alert> = BTreeMap::new();
        for file in &files {
            for batch in read_file(file)? {
                let alerts = columns::alerts_from_batch(&batch)
                    .map_err(|e| io::Error::other(format!("{}: {e}", file.display())))?;
                for a in alerts {
                    latest.insert(a.alert_id.clone(), a);
                }
            }
        }
        let mut writer = AlertWriter::new(root, config);
        latest.into_values().for_each(|a| writer.append(a));
        report.add(writer.flush()?);
        for file in files {
            fs::remove_file(&file)?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
