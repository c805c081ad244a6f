//! The live engine's archive writer, on a thread of its own.
//!
//! The engine hands over each batch's events with their Kafka position and holds
//! each offset in [`Acks`] until the archive file holding the event is durable: a
//! crash loses no archived event, it only archives some again (readers drop the
//! duplicates). Final alerts go to the archive with the next flush. A write that fails
//! (a full or read-only disk) is retried every second while the engine waits, its
//! offsets held: nothing is committed past the last durable file, nothing is lost, and
//! it all resumes when the disk does.

use super::acks::{Acks, At, Generation};
use super::error::LiveError;
use super::status::Status;
use crate::alert::Alert;
use crate::archive::columns::Provenance;
use crate::archive::{AlertWriter, EventWriter};
use crate::config::ArchiveConfig;
use crate::event::AccessEvent;
use crate::metrics::Metrics;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub enum ToArchive {
    /// A batch's events, read under the generation given (see [`super::acks`]).
    Events(Generation, Vec<(AccessEvent, Provenance)>),
    Alert(Box<Alert>),
    /// Write everything buffered now; answer once it is durable.
    Flush(Sender<Result<(), LiveError>>),
}

pub struct Archiver {
    tx: Sender<ToArchive>,
    thread: std::thread::JoinHandle<()>,
}

struct Writer {
    events: EventWriter,
    alerts: AlertWriter,
    /// Offsets of the buffered events, released once they are durable.
    held: Vec<At>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    /// Since when writes have been failing, if they are.
    failing: Option<std::time::Instant>,
}

/// How long to wait before writing again after a failed write.
const RETRY: Duration = Duration::from_secs(1);

impl Writer {
    fn flush(&mut self) -> Result<(), LiveError> {
        let report = self.events.flush().map_err(|e| LiveError::disk("writing the archive", e))?;
        self.metrics.archived_events.inc_by(report.rows as u64);
        self.metrics.archive_files.inc_by(report.files.len() as u64);
        if self.alerts.buffered() > 0 {
            let report = self.alerts.flush().map_err(|e| LiveError::disk("writing the archive", e))?;
            self.metrics.archive_files.inc_by(report.files.len() as u64);
        }
        // Only now is every held event durable.
        self.acks.ack_all(self.held.drain(..));
        self.metrics.archive_buffered.set(0);
        Ok(())
    }

    /// Flushes until the archive takes the writes: a disk that is full or read-only
    /// pauses the engine (its offsets stay held, nothing is committed past the last
    /// durable file, and the channel from the engine fills), it is reported once, and
    /// everything resumes when the disk does. Gives up only at shutdown.
    fn flush_until_durable(&mut self) -> Result<(), LiveError> {
        loop {
            match self.flush() {
                Ok(()) => {
                    if let Some(since) = self.failing.take() {
                        tracing::warn!(
                            secs = since.elapsed().as_secs(),
                            "the archive is writable again; the engine goes on"
                        );
                        self.metrics.paused.with_label_values(&["archive"]).set(0);
                    }
                    return Ok(());
                }
                Err(e) => {
                    if self.failing.is_none() {
                        tracing::error!(error = %e, "the archive cannot be written: the engine waits, committing nothing past the last durable file, and retries every second");
                        self.metrics.paused.with_label_values(&["archive"]).set(1);
                        self.failing = Some(std::time::Instant::now());
                    }
                    self.metrics.archive_write_failures.inc();
                    if self.status.shutdown().wait_timeout(RETRY) {
                        return Err(e);
                    }
                }
            }
        }
    }
}

fn run(rx: Receiver<ToArchive>, mut w: Writer, tick: Duration) {
    loop {
        let result = match rx.recv_timeout(tick) {
            Ok(ToArchive::Events(generation, batch)) => {
                for (event, from) in batch {
                    if let (Some(stream), Some(offset)) = (from.partition, from.offset) {
                        w.held.push(At { generation, stream, offset });
                    }
                    w.events.append(event, from);
                }
                w.metrics.archive_buffered.set(w.events.buffered() as i64);
                Ok(())
            }
            Ok(ToArchive::Alert(a)) => {
                w.alerts.append(*a);
                Ok(())
            }
            Ok(ToArchive::Flush(reply)) => {
                let r = w.flush_until_durable();
                let _ = reply.send(match &r {
                    Ok(()) => Ok(()),
                    Err(e) => Err(LiveError::disk("writing the archive", std::io::Error::other(e.to_string()))),
                });
                r
            }
            Err(RecvTimeoutError::Timeout) => Ok(()),
            Err(RecvTimeoutError::Disconnected) => {
                // The engine has drained: one last write, as long as it takes.
                if let Err(e) = w.flush() {
                    w.status.fail(e);
                }
                return;
            }
        };
        let result = result.and_then(|()| if w.events.due() { w.flush_until_durable() } else { Ok(()) });
        if let Err(e) = result {
            // Offsets stay held: nothing past this point is committed.
            w.status.fail(e);
            return;
        }
    }
}

impl Archiver {
    pub fn start(
        root: &Path,
        config: &ArchiveConfig,
        acks: Arc<Acks>,
        metrics: Arc<Metrics>,
        status: Arc<Status>,
    ) -> Result<Archiver, LiveError> {
        std::fs::create_dir_all(root)
            .map_err(|e| LiveError::disk(format!("creating the archive {}", root.display()), e))?;
        let (tx, rx) = crossbeam_channel::bounded(64);
        let writer = Writer {
            events: EventWriter::new(root, config),
            alerts: AlertWriter::new(root, config),
            held: Vec::new(),
            acks,
            metrics,
            status,
            failing: None,
        };
        let tick = Duration::from_millis((config.flush_interval.0 / 4).clamp(10, 1_000) as u64);
        let thread = std::thread::Builder::new()
            .name("archive".into())
            .spawn(move || run(rx, writer, tick))
            .map_err(|e| LiveError::Bug(format!("cannot start the archive thread: {e}")))?;
        Ok(Archiver { tx, thread })
    }

    pub fn sender(&self) -> Sender<ToArchive> {
        self.tx.clone()
    }

    /// Makes everything handed over so far durable.
    pub fn flush(&self) -> Result<(), LiveError> {
        let stopped = || LiveError::Bug("the archive writer has stopped".into());
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.tx.send(ToArchive::Flush(reply)).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Flushes and ends the writer thread.
    pub fn stop(self) -> Result<(), LiveError> {
        let r = self.flush();
        drop(self.tx);
        let _ = self.thread.join();
        r
    }
}
