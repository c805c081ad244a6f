//! One shutdown signal for every thread and task, which can be waited for, not polled
//! (as mini-redis's `shutdown.rs`): threads block on it or select on its channel,
//! async tasks await it. Triggering it wakes every waiter at once.

use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Inner {
    triggered: AtomicBool,
    /// Dropped when triggered: every receiver then sees its channel disconnected.
    sender: Mutex<Option<Sender<()>>>,
    receiver: Receiver<()>,
    notify: tokio::sync::Notify,
}

/// The shutdown signal (SIGINT, SIGTERM, a fatal fault, or a test's stop).
#[derive(Clone)]
pub struct Shutdown(Arc<Inner>);

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shutdown({})", self.is_triggered())
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(0);
        Shutdown(Arc::new(Inner {
            triggered: AtomicBool::new(false),
            sender: Mutex::new(Some(sender)),
            receiver,
            notify: tokio::sync::Notify::new(),
        }))
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Starts the shutdown; every waiter wakes. Triggering twice is harmless.
    pub fn trigger(&self) {
        self.0.triggered.store(true, Ordering::SeqCst);
        self.0.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.0.notify.notify_waiters();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.triggered.load(Ordering::SeqCst)
    }

    /// A channel that disconnects when the shutdown is triggered, for `select!`.
    pub fn channel(&self) -> &Receiver<()> {
        &self.0.receiver
    }

    /// Blocks until the shutdown is triggered.
    pub fn wait(&self) {
        let _ = self.0.receiver.recv();
    }

    /// Blocks until the shutdown is triggered or `timeout` passes; true if triggered.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let _ = self.0.receiver.recv_timeout(timeout);
        self.is_triggered()
    }

    /// Completes when the shutdown is triggered.
    pub async fn triggered(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a trigger in between is not missed.
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_waiter_wakes_on_trigger() {
        let s = Shutdown::new();
        assert!(!s.wait_timeout(Duration::from_millis(10)));
        let thread = {
            let s = s.clone();
            std::thread::spawn(move || s.wait())
        };
        let task = {
            let s = s.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(s.triggered())
            })
        };
        let selected = {
            let s = s.clone();
            std::thread::spawn(move || {
                let (_keep, never) = crossbeam_channel::bounded::<()>(1);
                crossbeam_channel::select! { recv(s.channel()) -> _ => true, recv(never) -> _ => false }
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        s.trigger();
        thread.join().unwrap();
        task.join().unwrap();
        assert!(selected.join().unwrap());
        assert!(s.wait_timeout(Duration::from_secs(5)), "returns at once once triggered");
    }
}
