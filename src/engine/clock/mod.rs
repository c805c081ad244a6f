//! Event time per stream, bounded by the clock that receives it.
//!
//! Each stream (a replay, or one Kafka partition) has a front: the newest event time
//! accepted. An event more than `state.allowed_lateness` behind the front is late: the
//! watch-list rules judge it, the behavioural detectors skip it (their windows move
//! forward only). An event too far *ahead* is a clock fault of its source, not the new
//! present; left alone, one event dated 2099 would make every later event late and
//! blind every detector. So the front never jumps on one record's word:
//!
//! - live, the clock that receives the event is the wall clock: an event more than
//!   `state.max_clock_skew` ahead of it is skewed;
//! - in a replay, the clock is the input's own front: an event more than the skew
//!   ahead of it starts a run of suspects, held back. The run is a genuine jump (a gap
//!   in the logs) when `state.clock_jump_events` events in a row agree, or the input
//!   ends; it was a clock fault when an event arrives back within the old front. Held
//!   events are then judged in their arrival order, so nothing is lost and a replay
//!   stays deterministic. A run from one system, while another system reported within
//!   the last [`ACTIVE_WINDOW`] x `clock_jump_events` events, is held on: an event of
//!   another system back within the old front makes it that source's clock fault,
//!   one that agrees with it a gap in the logs (logs that resume after a gap resume
//!   on every system that was reporting). Further ahead than a [`QUIET_SPELL`] it is
//!   a clock fault outright: a source whose clock jumped a year must not make the
//!   other systems' events late for the rest of the replay. A run from one user
//!   or one terminal, while others reported just before it, is held on (up to
//!   [`ONE_SOURCE_RUNS`] runs): it is a genuine jump when another source's events
//!   agree, and that terminal's clock fault when an event arrives back within the old
//!   front.
//! - the stream's first events have no front to be measured against: the first
//!   `state.clock_jump_events` are held, and the front starts at the first of them that
//!   is not far ahead of most of those after it. A source whose first records carry a
//!   wrong clock (a terminal that booted dated 2099) must not make the whole replay
//!   late.
//!
//! A skewed event is judged by the watch-list rules only, at the front's time (its own
//! claimed time is kept in its alerts), and counted per system.

use crate::event::AccessEvent;
use crate::time::{Span, Timestamp};

/// How an event takes part in the pipeline.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// On time: every rule and detector; it moves the front.
    OnTime,
    /// Behind the front by more than the allowed lateness: watch-list rules only.
    Late,
    /// Already in the behavioural state (covered by a snapshot): watch-list rules only.
    Covered,
    /// Ahead of the receiving clock by more than the skew: watch-list rules only,
    /// judged at `at` (the front) instead of its own time.
    Skewed { at: Timestamp },
}

impl Verdict {
    /// Whether the behavioural detectors see the event.
    pub fn stateful(self) -> bool {
        self == Verdict::OnTime
    }
}

/// The bounds a stream clock keeps to.
#[derive(Copy, Clone, Debug)]
pub struct Bounds {
    pub allowed_lateness: Span,
    pub max_skew: Span,
    pub jump_events: usize,
}

/// What receives the events: the wall clock (live) or the input itself (replay).
#[derive(Copy, Clone, Debug)]
pub enum Receiver {
    Wall(Timestamp),
    Input,
}

/// What became of an offered event.
pub enum Offered {
    /// Judged at once.
    Judged(Verdict),
    /// Held back as a suspect (replay).
    Held,
    /// These events, in arrival order, are judged now (held suspects, and the offered
    /// event last when it was not held).
    Released(Vec<(AccessEvent, Verdict)>),
}

/// One stream's event-time front and its held suspects.
#[derive(Debug, Default, Clone)]
pub struct StreamClock {
    newest: Option<Timestamp>,
    held: Vec<AccessEvent>,
    /// Events offered to the input clock, and the latest streak of them from one
    /// system: (system, arrivals in a row).
    arrivals: u64,
    streak: (compact_str::CompactString, u64),
    /// The latest streak of arrivals from one user: (user, arrivals in a row).
    user_streak: (compact_str::CompactString, u64),
    /// The latest streak of arrivals from one terminal ("" for events naming none).
    terminal_streak: (compact_str::CompactString, u64),
}

/// Another system is still reporting when it was seen within this many runs' length
/// of arrivals (`state.clock_jump_events` each).
pub const ACTIVE_WINDOW: u64 = 4;

/// How long every system of a stream may be quiet before logs resume on one of them
/// first: a run of one system's events further ahead of the front than this, while
/// another system reported just before it, is that system's clock fault. A run less
/// far ahead is held until the other systems' next event says whether it was a gap in
/// the logs or a clock out by hours.
pub const QUIET_SPELL: Span = Span(12 * crate::time::HOUR);

/// A run of one user's or one terminal's events is held up to this many runs'
/// length (`state.clock_jump_events` each) before it is taken as a gap in the logs.
pub const ONE_SOURCE_RUNS: u64 = 16;

impl StreamClock {
    /// A clock whose front is already `newest` (restored from a snapshot).
    pub fn at(newest: Timestamp) -> StreamClock {
        StreamClock { newest: Some(newest), ..StreamClock::default() }
    }

    /// The front: the newest event time accepted.
    pub fn newest(&self) -> Option<Timestamp> {
        self.newest
    }

    /// An event the snapshot already covers: only sets a front the stream lacks.
    pub fn covered(&mut self, ts: Timestamp) -> Verdict {
        self.newest.get_or_insert(ts);
        Verdict::Covered
    }

    /// Judges an event against the front and the receiving clock.
    pub fn offer(&mut self, event: &AccessEvent, receiver: Receiver, b: Bounds) -> Offered {
        let ts = event.ts;
        match receiver {
            Receiver::Wall(now) => {
                if ts > now + b.max_skew {
                    let at = self.newest.map_or(now, |n| n.min(now));
                    Offered::Judged(Verdict::Skewed { at })
                } else {
                    Offered::Judged(self.judge(ts, b))
                }
            }
            Receiver::Input => {
                self.arrived(&event.system, &event.user_id, event.terminal.as_deref().unwrap_or_default());
                self.offer_input(event, b)
            }
        }
    }

    /// [`StreamClock::offer`] in a replay, the arrival noted.
    fn offer_input(&mut self, event: &AccessEvent, b: Bounds) -> Offered {
        let ts = event.ts;
        let Some(front) = self.newest else {
            // No front yet: the first events are held until there are enough of them
            // to tell the stream's time from a spike ahead of it.
            self.held.push(event.clone());
            if self.held.len() < b.jump_events.max(2) {
                return Offered::Held;
            }
            return Offered::Released(self.start(b));
        };
        let ahead = ts > front + b.max_skew;
        match (self.held.is_empty(), ahead) {
            (true, false) => Offered::Judged(self.judge(ts, b)),
            (_, true) => {
                self.held.push(event.clone());
                // A run is not judged on the word of its newest event when that one
                // jumps again, far ahead of the rest: the next event says whether it
                // was a spike (a probe: a record dated 2099 arriving as the 64th after
                // a quiet spell was taken with the run, and every later event was late).
                let full = self.held.len() >= b.jump_events.max(1) && !self.ends_in_a_jump(front, b);
                if full && self.goes_on_from(front, b) {
                    // Time going on in a sparse log, not a jump: accepted.
                    Offered::Released(self.accept_run(b))
                } else if !full || self.one_source_of_several(b) {
                    Offered::Held
                } else if self.one_system_of_several(b) {
                    if self.held[0].ts.0 - front.0 <= QUIET_SPELL.0 {
                        // Logs resuming on one system after a quiet spell, or that
                        // system's clock an hour out: held until another system's
                        // event tells which (or the streak outgrows the window).
                        return Offered::Held;
                    }
                    // One source's clock jumped far while the others report on.
                    let held = std::mem::take(&mut self.held);
                    Offered::Released(held.into_iter().map(|e| (e, Verdict::Skewed { at: front })).collect())
                } else {
                    Offered::Released(self.accept_run(b))
                }
            }
            (false, false) => {
                // Back within the old front: the run ahead was a clock fault.
                let mut out: Vec<(AccessEvent, Verdict)> =
                    std::mem::take(&mut self.held).into_iter().map(|e| (e, Verdict::Skewed { at: front })).collect();
                let v = self.judge(ts, b);
                out.push((event.clone(), v));
                Offered::Released(out)
            }
        }
    }

    /// Notes an arrival from `system` by `user` at `terminal`.
    fn arrived(&mut self, system: &str, user: &str, terminal: &str) {
        self.arrivals += 1;
        let streaks =
            [(&mut self.streak, system), (&mut self.user_streak, user), (&mut self.terminal_streak, terminal)];
        for (streak, of) in streaks {
            if streak.0 == of {
                streak.1 += 1;
            } else {
                *streak = (of.into(), 1);
            }
        }
    }

    /// Whether the held run is all one user's, or all one terminal's (a shared
    /// terminal in a custody suite), while others reported just before it, and that
    /// streak is shorter than [`ONE_SOURCE_RUNS`] runs: held on (not taken as the new
    /// present) until another source's event agrees with it, one comes back within
    /// the old front (the run was that terminal's clock: skewed), or the streak grows
    /// past the bound. A hostile probe: 70 events of one user dated a year ahead in a
    /// one-system log made every later event late, and the behavioural detectors
    /// blind, for the rest of the replay.
    fn one_source_of_several(&self, b: Bounds) -> bool {
        let Some(first) = self.held.first() else { return false };
        let window = ONE_SOURCE_RUNS * b.jump_events.max(1) as u64;
        let one = |of: fn(&AccessEvent) -> &str, streak: &(compact_str::CompactString, u64)| {
            let source = of(first);
            !source.is_empty()
                && self.held.iter().all(|e| of(e) == source)
                && streak.0 == source
                && self.arrivals > streak.1
                && streak.1 < window
        };
        // `clock_jump_events = 1` believes any one event.
        b.jump_events > 1
            && (one(|e| e.user_id.as_str(), &self.user_streak)
                || one(|e| e.terminal.as_deref().unwrap_or_default(), &self.terminal_streak))
    }

    /// Whether the held run goes on from `front` rather than jumping from it: its first
    /// event is no further ahead of the front than the run itself spans. One officer's
    /// night extract, a view every six minutes, is such a run of events each "ahead"
    /// of the last by more than the skew; taken for one system's clock fault (another
    /// system had reported once before it), 64 of its 70 events were skewed and the
    /// detectors blind to them (an evaluator's replay). A clock a year ahead, or an
    /// hour ahead for a run of minutes, jumps.
    /// The run's span leaves out its spikes (a record dated 2099 among them spans no
    /// 73 years).
    fn goes_on_from(&self, front: Timestamp, b: Bounds) -> bool {
        let spiked = spikes(&self.held, b.max_skew);
        let last = self.held.iter().zip(&spiked).filter(|(_, &spike)| !spike).map(|(e, _)| e.ts).max();
        let (Some(first), Some(last)) = (self.held.first(), last) else { return false };
        first.ts.0 - front.0 <= last.0 - first.ts.0
    }

    /// Whether the run ends in a group of events, fewer than a jump needs, ahead of
    /// everything held before them by more than the skew, than that part spans, and
    /// than it is ahead of the front: a jump from the run, which only the events after
    /// it can confirm or show for a clock fault (a review: two records dated 2099 at the
    /// end of a run, where one was caught). Logs resuming an hour after a run a year
    /// ahead do not jump from it further than it jumped, and a jump of less than a
    /// [`QUIET_SPELL`] is a gap in the logs as any other (a second review: a night's
    /// second gap held, then a straggler made the held run a clock fault).
    fn ends_in_a_jump(&self, front: Timestamp, b: Bounds) -> bool {
        let n = self.held.len();
        if n < 2 {
            return false;
        }
        // The earliest time from each place to the end.
        let mut from = vec![Timestamp(i64::MAX); n];
        for i in (0..n).rev() {
            from[i] = self.held[i].ts.min(from.get(i + 1).copied().unwrap_or(Timestamp(i64::MAX)));
        }
        let first = self.held[0].ts;
        let mut newest = first;
        (1..n).any(|k| {
            newest = newest.max(self.held[k - 1].ts);
            let gap = from[k].0 - newest.0;
            let far = gap > QUIET_SPELL.0 && gap > newest.0 - first.0 && gap > first.0 - front.0;
            n - k < b.jump_events && from[k] > newest + b.max_skew && far
        })
    }

    /// Whether the held run is all one system's while another system is still
    /// reporting: one came just before this system's latest streak of arrivals (which
    /// ends with the run), and the streak is short. Further ahead of the front than a
    /// [`QUIET_SPELL`], the run is that system's clock fault. Within one it is held
    /// on: logs that resume on one system first after every system fell quiet are a
    /// gap (a hostile probe: one RMS record before an hour's quiet made PNC's next 64
    /// events a clock fault, the detectors blind to them), which the other system's
    /// next event confirms by agreeing with the run, or the streak by outgrowing the
    /// window; a clock an hour out (a source logging summer time as UTC) is shown by
    /// the other system's next event coming back within the old front (a review: taken
    /// for a gap, it had made every other system's events late).
    fn one_system_of_several(&self, b: Bounds) -> bool {
        let Some(first) = self.held.first() else { return false };
        if self.held.iter().any(|e| e.system != first.system) {
            return false;
        }
        let (system, streak) = (&self.streak.0, self.streak.1);
        let window = ACTIVE_WINDOW * b.jump_events.max(1) as u64;
        // The other system's latest arrival is the one before the streak.
        *system == first.system && self.arrivals > streak && streak < window
    }

    /// Gives the stream its front from its first events, held: the time of the first
    /// one (in arrival order) that is not far ahead of most of the events that came
    /// after it, nor after the wall clock (unless every such one is). A source's clock fault on its first records is far ahead of them; the
    /// stream's own first event is not, even when a few events after it are out of
    /// order. The spikes before it are skewed; it and the events after it are offered
    /// again in arrival order, as any event is.
    fn start(&mut self, b: Bounds) -> Vec<(AccessEvent, Verdict)> {
        let held = std::mem::take(&mut self.held);
        // The last event held has none after it, so one is always found. A replay is
        // received now: a time after the wall clock is no stream's present while one
        // that is not stands beside it (a probe's forty records dated 2076 among the
        // first 64 made every later event of the replay late).
        let spiked = spikes(&held, b.max_skew);
        let possible = Timestamp::now() + b.max_skew;
        let candidates = || held.iter().zip(&spiked).position(|(e, &spike)| !spike && e.ts <= possible);
        let Some(first) = candidates().or_else(|| spiked.iter().position(|&spike| !spike)) else { return Vec::new() };
        let front = held[first].ts;
        self.newest = Some(front);
        let mut out = Vec::with_capacity(held.len());
        let mut held = held.into_iter();
        // The spikes before it are skewed outright (offered again, a run of them could
        // pass for a jump when `clock_jump_events` is as small as they are many).
        out.extend(held.by_ref().take(first).map(|e| (e, Verdict::Skewed { at: front })));
        for e in held {
            match self.offer_input(&e, b) {
                Offered::Judged(v) => out.push((e, v)),
                Offered::Held => {}
                Offered::Released(more) => out.extend(more),
            }
        }
        out
    }

    /// A held run is a genuine jump: its events are judged in order from the old front,
    /// except one far ahead of an event that arrived after it (a spike that came just
    /// before a gap in the logs): that one is skewed, so it cannot carry the front.
    fn accept_run(&mut self, b: Bounds) -> Vec<(AccessEvent, Verdict)> {
        let held = std::mem::take(&mut self.held);
        // The earliest time among the events that arrived after each one.
        let mut later_min = vec![Timestamp(i64::MAX); held.len()];
        for i in (0..held.len().saturating_sub(1)).rev() {
            later_min[i] = later_min[i + 1].min(held[i + 1].ts);
        }
        held.into_iter()
            .zip(later_min)
            .map(|(e, later)| {
                let v = if later.0 != i64::MAX && e.ts > later + b.max_skew {
                    Verdict::Skewed { at: self.newest.map_or(later, |n| n.max(later)) }
                } else {
                    self.judge(e.ts, b)
                };
                (e, v)
            })
            .collect()
    }

    /// On time or late, against the front; an event on time moves it.
    fn judge(&mut self, ts: Timestamp, b: Bounds) -> Verdict {
        match self.newest {
            Some(n) if ts.0 < n.0.saturating_sub(b.allowed_lateness.0) => Verdict::Late,
            _ => {
                self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
                Verdict::OnTime
            }
        }
    }

    /// The input has ended: a held run (or a lone first event) is accepted.
    pub fn finish(&mut self, b: Bounds) -> Vec<(AccessEvent, Verdict)> {
        let mut out = if self.newest.is_none() { self.start(b) } else { Vec::new() };
        out.extend(self.accept_run(b));
        out
    }

    /// Keeps a restored front from being beyond `limit` (a snapshot written before the
    /// skew bound, or by a clock that was wrong).
    pub fn clamp(&mut self, limit: Timestamp) {
        if let Some(n) = &mut self.newest {
            *n = (*n).min(limit);
        }
    }
}

/// Which of `held` (in arrival order) are spikes: later than most of the events that
/// arrived after them by more than `max_skew`. The later events' times are counted in
/// a Fenwick tree over their sorted order, so a long hold (`clock_jump_events` allows
/// 100,000) costs n log n, not n².
fn spikes(held: &[AccessEvent], max_skew: Span) -> Vec<bool> {
    let n = held.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| held[i].ts);
    let sorted: Vec<Timestamp> = order.iter().map(|&i| held[i].ts).collect();
    let mut place = vec![0; n];
    for (p, &i) in order.iter().enumerate() {
        place[i] = p;
    }
    // tree[k] counts the later events among sorted places (k - (k & -k), k].
    let mut tree = vec![0usize; n + 1];
    let mut out = vec![false; n];
    for i in (0..n).rev() {
        let below = sorted.partition_point(|&t| held[i].ts > t + max_skew);
        let (mut behind, mut k) = (0, below);
        while k > 0 {
            behind += tree[k];
            k &= k - 1;
        }
        out[i] = 2 * behind > n - 1 - i;
        let mut k = place[i] + 1;
        while k <= n {
            tree[k] += 1;
            k += k & k.wrapping_neg();
        }
    }
    out
}

#[cfg(test)]
mod tests;
