//! Replay: history from files through the same engine the live feed uses.
//!
//! `accesswatch replay --watchlists DIR --alerts OUT.jsonl FILE...` merges the files in
//! event-time order, runs every event through [`Engine`], writes final alerts to
//! OUT.jsonl and unreadable records to a dead-letter file beside it, and returns a
//! summary. Alerts carry event-time `detected_at`, so replaying the same input twice
//! writes the same bytes.

use crate::alert::book::DetectClock;
use crate::alert::{Alert, AlertSink};
use crate::archive::columns::Provenance;
use crate::archive::{AlertWriter, ArchiveEvents, BackgroundWriter, FlushReport};
use crate::config::Config;
use crate::engine::{Engine, EngineStats};
use crate::event::explained::{Kind, Recorded};
use crate::event::{AccessEvent, DecodeError};
use crate::sink::{AlertCounts, AlertFile, DeadLetter, DeadLetterFile, Origin};
use crate::source::{InputFormat, MergedFiles, ReadAhead, SourceItem, TimeSorted};
use crate::time::Timestamp;
use crate::watchlist::WatchLists;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to replay and where the results go.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    pub inputs: Vec<PathBuf>,
    /// A configured source mapping for all inputs; `None` reads them by extension.
    pub source: Option<String>,
    pub alerts: PathBuf,
    /// Defaults to the alerts path with `.dead-letters.jsonl`.
    pub dead_letters: Option<PathBuf>,
    /// Show a progress bar (on a terminal, for inputs over 8 MiB).
    pub progress: bool,
    /// Only events in `[from, to)`.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Also write every event and final alert to this archive.
    pub archive: Option<PathBuf>,
    /// Read and decode the files on a thread of their own ([`ReadAhead`]); `None`:
    /// when this process may run on more than one CPU (`taskset -c 0` keeps it to one).
    pub read_ahead: Option<bool>,
    /// Take every event of the inputs first and replay them in time order
    /// ([`TimeSorted`]): for inputs not in time order.
    pub sort: bool,
}

/// Why a replay could not run. Bad records never cause this; they are dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no source mapping named {name:?} in the configuration (configured: {known})")]
    UnknownSource { name: String, known: String },
    #[error("{0}")]
    Format(String),
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    pub events: u64,
    pub dead_letters: u64,
    pub dead_letter_kinds: BTreeMap<&'static str, u64>,
    pub dead_letter_path: PathBuf,
    pub alerts: AlertCounts,
    pub alerts_path: PathBuf,
    pub elapsed: Duration,
    pub stats: EngineStats,
    /// What went into the archive, when one was written.
    pub archived: Option<(FlushReport, FlushReport)>,
    /// Events read outside `--from`/`--to`, not judged.
    pub outside_range: u64,
}

impl ReplaySummary {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The default dead-letter path beside an alerts file.
pub fn default_dead_letter_path(alerts: &Path) -> PathBuf {
    beside(alerts, "dead-letters.jsonl")
}

/// The summary of a replay in JSON, written beside its alerts (`alerts.summary.json`)
/// for `accesswatch evaluate` and scripts.
pub fn summary_path(alerts: &Path) -> PathBuf {
    beside(alerts, "summary.json")
}

fn beside(alerts: &Path, suffix: &str) -> PathBuf {
    let stem = alerts.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "alerts".into());
    alerts.with_file_name(format!("{stem}.{suffix}"))
}

/// What a replay's summary file holds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummaryFile {
    pub events: u64,
    /// Person, vehicle and address accesses by explanation kind.
    pub explained: BTreeMap<String, u64>,
    pub unexplained: u64,
    /// Alerts resolved by a late explanation (they stay in the alerts file).
    pub resolved: u64,
    pub dead_letters: u64,
    /// Records read that were not events of the replay, so that the input's records
    /// add up: `events + copies + dead_letters + outside_range` (late and clock-skewed
    /// events are among `events`, judged by the watch-list rules alone).
    #[serde(default)]
    pub outside_range: u64,
    #[serde(default)]
    pub copies: u64,
    #[serde(default)]
    pub late: u64,
    #[serde(default)]
    pub clock_skew: u64,
    /// Accesses by accounts on no staff row (while the staff list has rows).
    #[serde(default)]
    pub off_staff: u64,
}

impl SummaryFile {
    pub fn of(stats: &EngineStats, dead_letters: u64, outside_range: u64) -> SummaryFile {
        let explained =
            Kind::ALL.iter().map(|k| (k.as_str().to_string(), stats.explained[*k as usize])).filter(|(_, n)| *n > 0);
        SummaryFile {
            events: stats.events,
            explained: explained.collect(),
            unexplained: stats.unexplained,
            resolved: stats.resolved_all(),
            dead_letters,
            outside_range,
            copies: stats.copies(),
            late: stats.late_events,
            clock_skew: stats.skewed_events(),
            off_staff: stats.off_staff(),
        }
    }

    /// The share of person, vehicle and address accesses explained.
    pub fn explained_share(&self) -> f64 {
        let explained: u64 = self.explained.values().sum();
        explained as f64 / (explained + self.unexplained).max(1) as f64
    }
}

/// Where a replay reads: files merged by event time (read on this thread or ahead on
/// another), or an archive day by day (read on a thread of its own).
enum Input {
    Files(MergedFiles),
    Sorted(Box<TimeSorted<Box<dyn FnMut() -> std::io::Result<Option<SourceItem>> + Send>>>),
    Ahead(ReadAhead),
    Archive(ArchiveEvents, std::vec::IntoIter<crate::archive::columns::StoredEvent>, Vec<DeadLetter>),
}

impl Input {
    fn next_item(&mut self) -> std::io::Result<Option<SourceItem>> {
        match self {
            Input::Files(m) => m.next_item(),
            Input::Sorted(s) => s.next_item(),
            Input::Ahead(a) => a.next_item(),
            Input::Archive(days, today, damaged) => loop {
                if let Some(d) = damaged.pop() {
                    return Ok(Some(SourceItem::Dead(d)));
                }
                if let Some(s) = today.next() {
                    return Ok(Some(SourceItem::Event(Box::new(s.event))));
                }
                match days.next_day() {
                    None => return Ok(None),
                    Some(day) => {
                        let day = day?;
                        *today = day.events.into_iter();
                        // A damaged file of the day is a dead letter naming it, first:
                        // its events are not replayed, and the summary says so.
                        damaged.extend(day.damaged.into_iter().rev().map(|(file, why)| DeadLetter {
                            origin: Origin::File { path: file.display().to_string(), line: 0 },
                            reason: DecodeError::Unreadable(why),
                            raw: Vec::new(),
                            raw_len: 0,
                            raw_sha256: None,
                        }));
                    }
                }
            },
        }
    }
}

/// An archive directory (it holds `events/`) rather than a file of events.
pub fn is_archive(path: &Path) -> bool {
    path.join("events").is_dir()
}

/// Hands final alerts to the alert file and keeps them for the archive; hands each
/// judged event, with its explanation, to the archive.
struct Tee<'a> {
    file: &'a mut AlertFile,
    keep: Option<&'a mut Vec<Alert>>,
    archive: Option<&'a mut BackgroundWriter>,
}

impl AlertSink for Tee<'_> {
    fn closed(&mut self, alert: Alert) {
        if let Some(keep) = self.keep.as_deref_mut() {
            keep.push(alert.clone());
        }
        self.file.closed(alert);
    }

    fn judged(&mut self, event: &AccessEvent, explained: Option<&Recorded>) {
        if let Some(a) = self.archive.as_deref_mut() {
            a.push(event.clone(), Provenance { explained: explained.cloned(), ..Provenance::default() });
        }
    }
}

/// Replays the inputs through a fresh engine over `lists`.
pub fn replay(config: Arc<Config>, lists: WatchLists, opts: &ReplayOptions) -> Result<ReplaySummary, ReplayError> {
    let mapping = match &opts.source {
        None => None,
        Some(name) => Some(config.sources.get(name).cloned().ok_or_else(|| ReplayError::UnknownSource {
            name: name.clone(),
            known: if config.sources.is_empty() {
                "none".into()
            } else {
                config.sources.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })?),
    };
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReplayError::Io { path, source }
    };
    let archives = opts.inputs.iter().filter(|p| is_archive(p)).count();
    let total_bytes: u64 = opts.inputs.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let read_bytes = Arc::new(AtomicU64::new(0));
    let mut input = if archives > 0 {
        if opts.inputs.len() > 1 {
            return Err(ReplayError::Format("replay one archive at a time, without other inputs".into()));
        }
        let root = &opts.inputs[0];
        let days = ArchiveEvents::open(root, opts.from, opts.to).map_err(io_err(root))?;
        Input::Archive(days, Vec::new().into_iter(), Vec::new())
    } else {
        let mut inputs = Vec::with_capacity(opts.inputs.len());
        for path in &opts.inputs {
            let format =
                InputFormat::for_path(path, mapping.clone(), config.sources.values()).map_err(ReplayError::Format)?;
            inputs.push((path.clone(), format));
        }
        let files = MergedFiles::open(&inputs, &config.input, config.state.max_clock_skew, read_bytes.clone())
            .map_err(|(path, source)| ReplayError::Io { path, source })?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ahead = opts.read_ahead.unwrap_or(cpus > 1);
        match (opts.sort, ahead) {
            (false, false) => Input::Files(files),
            (false, true) => {
                let mut files = files;
                Input::Ahead(ReadAhead::start(move || files.next_item()).map_err(io_err(&opts.inputs[0]))?)
            }
            (true, _) => {
                let mut files = files;
                let read: Box<dyn FnMut() -> std::io::Result<Option<SourceItem>> + Send> =
                    Box::new(move || files.next_item());
                let mut sorted =
                    TimeSorted::new(read).map_err(|source| ReplayError::Io { path: std::env::temp_dir(), source })?;
                match ahead {
                    // The reading and sorting on the other thread.
                    true => {
                        Input::Ahead(ReadAhead::start(move || sorted.next_item()).map_err(io_err(&opts.inputs[0]))?)
                    }
                    false => Input::Sorted(Box::new(sorted)),
                }
            }
        }
    };

    let dead_path = opts.dead_letters.clone().unwrap_or_else(|| default_dead_letter_path(&opts.alerts));
    let mut alerts = AlertFile::create(&opts.alerts).map_err(io_err(&opts.alerts))?;
    let mut dead =
        DeadLetterFile::create(&dead_path, config.input.dead_letter_max_bytes).map_err(io_err(&dead_path))?;
    let mut archive = match &opts.archive {
        Some(root) => {
            let mark = crate::archive::ReplayMark::set(root, &opts.inputs).map_err(io_err(root))?;
            Some((BackgroundWriter::start(root, &config.archive).map_err(io_err(root))?, mark))
        }
        None => None,
    };
    let mut final_alerts = Vec::new();

    let bar = (opts.progress && total_bytes > 8 << 20).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let started = Instant::now();
    let mut engine = Engine::new(config.clone(), lists, DetectClock::EventTime);
    let in_range = |ts: Timestamp| opts.from.is_none_or(|f| ts >= f) && opts.to.is_none_or(|t| ts < t);
    let (mut n, mut outside_range) = (0u64, 0u64);
    {
        let keep = archive.is_some().then_some(&mut final_alerts);
        let mut sink = Tee { file: &mut alerts, keep, archive: archive.as_mut().map(|(w, _)| w) };
        loop {
            let item = input.next_item().map_err(|source| ReplayError::Io { path: opts.inputs[0].clone(), source })?;
            match item {
                None => break,
                Some(SourceItem::Event(e)) if in_range(e.ts) => engine.process(&e, &mut sink),
                Some(SourceItem::Event(_)) => outside_range += 1,
                Some(SourceItem::Dead(d)) => dead.write(&d).map_err(io_err(&dead_path))?,
            }
            n += 1;
            if n % 65_536 == 0 {
                if let Some(bar) = &bar {
                    bar.set_position(read_bytes.load(Ordering::Relaxed));
                    bar.set_message(format!("{} events, {} alerts", engine.stats().events, sink.file.counts().total()));
                }
            }
        }
        engine.finish(&mut sink);
    }
    alerts.finish().map_err(io_err(&opts.alerts))?;
    dead.flush().map_err(io_err(&dead_path))?;
    let summary_file = summary_path(&opts.alerts);
    let json =
        serde_json::to_vec_pretty(&SummaryFile::of(engine.stats(), dead.total(), outside_range)).unwrap_or_default();
    crate::sink::durable::write_file(&summary_file, &json).map_err(io_err(&summary_file))?;
    let archived = match (archive, &opts.archive) {
        (Some((writer, mark)), Some(root)) => {
            let events = writer.finish().map_err(io_err(root))?;
            let mut alert_writer = AlertWriter::new(root, &config.archive);
            for a in final_alerts {
                alert_writer.append(a);
            }
            let alerts = alert_writer.flush().map_err(io_err(root))?;
            mark.done().map_err(io_err(root))?;
            Some((events, alerts))
        }
        _ => None,
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(ReplaySummary {
        outside_range,
        events: engine.stats().events,
        dead_letters: dead.total(),
        dead_letter_kinds: dead.counts().clone(),
        dead_letter_path: dead_path,
        alerts: alerts.counts().clone(),
        alerts_path: opts.alerts.clone(),
        elapsed: started.elapsed(),
        stats: engine.stats().clone(),
        archived,
    })
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::alert::Severity;
        writeln!(
            f,
            "events      {} in {:.2}s ({:.0} events/s)",
            self.events,
            self.elapsed.as_secs_f64(),
            self.events_per_second()
        )?;
        let kinds: Vec<String> = self.dead_letter_kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(f, "dead letters {}", self.dead_letters)?;
        if !kinds.is_empty() {
            write!(f, " ({}) -> {}", kinds.join(", "), self.dead_letter_path.display())?;
        }
        writeln!(f)?;
        if self.outside_range > 0 {
            writeln!(f, "outside     {} events outside --from/--to, not judged", self.outside_range)?;
        }
        let by_system = |m: &BTreeMap<compact_str::CompactString, u64>| {
            m.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
        };
        if !self.stats.skewed_by_system.is_empty() {
            writeln!(
                f,
                "clock skew  {} events dated too far ahead of the input (a source's clock fault; watch-list rules only): {}",
                self.stats.skewed_events(),
                by_system(&self.stats.skewed_by_system)
            )?;
        }
        if self.stats.copies() > 0 {
            writeln!(
                f,
                "copies      {} events given again (the same system, event id, user, time and what was done to whom), judged once: {}",
                self.stats.copies(),
                by_system(&self.stats.copies_by_system)
            )?;
        }
        if self.stats.off_staff() > 0 {
            let mut accounts: Vec<(&compact_str::CompactString, &u64)> =
                self.stats.off_staff_by_account.iter().collect();
            accounts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let most: Vec<String> = accounts.iter().take(5).map(|(a, n)| format!("{a} {n}")).collect();
            writeln!(
                f,
                "off staff   {} accesses by accounts on no staff row ({}{}): the rules know no unit, case team or suspension for them; a source logging accounts in another form than the staff list (a domain before them) needs a source mapping",
                self.stats.off_staff(),
                most.join(", "),
                if accounts.len() > 5 { ", ..." } else { "" }
            )?;
        }
        if self.stats.late_events > 0 {
            writeln!(
                f,
                "late        {} events behind the stream by more than the allowed lateness (watch-list rules only): {}",
                self.stats.late_events,
                by_system(&self.stats.late_by_system)
            )?;
            if self.stats.late_events * 100 > self.events {
                writeln!(
                    f,
                    "hint        {:.0}% of the events came out of time order (an export sorted by user or by system?): the behavioural detectors skipped them; replay with --sort to take them in time order",
                    self.stats.late_events as f64 * 100.0 / self.events.max(1) as f64
                )?;
            }
        }
        writeln!(
            f,
            "alerts      {} (red {}, amber {}, green {}) -> {}",
            self.alerts.total(),
            self.alerts.by_severity(Severity::Red),
            self.alerts.by_severity(Severity::Amber),
            self.alerts.by_severity(Severity::Green),
            self.alerts_path.display()
        )?;
        let mut rules: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
        for ((rule, sev), n) in &self.alerts.0 {
            let col = match sev {
                Severity::Red => 0,
                Severity::Amber => 1,
                Severity::Green => 2,
            };
            rules.entry(rule.as_str()).or_default()[col] += n;
        }
        if !rules.is_empty() {
            writeln!(f, "  {:<34} {:>7} {:>7} {:>7}", "rule", "red", "amber", "green")?;
            for (rule, [r, a, g]) in rules {
                writeln!(f, "  {rule:<34} {r:>7} {a:>7} {g:>7}")?;
            }
        }
        if let Some((events, alerts)) = &self.archived {
            writeln!(
                f,
                "archived    {} events and {} alerts in {} files ({:.1} MB)",
                events.rows,
                alerts.rows,
                events.files.len() + alerts.files.len(),
                (events.bytes + alerts.bytes) as f64 / 1e6
            )?;
        }
        writeln!(f, "explained   {}", self.stats.explained_summary())?;
        if self.stats.resolved_all() > 0 {
            writeln!(f, "resolved    {} alerts by an explanation that arrived late", self.stats.resolved_all())?;
        }
        let allowed: u64 = self.stats.allowed.iter().sum();
        if allowed > 0 {
            writeln!(f, "allow lists exempted {allowed} findings")?;
        }
        Ok(())
    }
}
