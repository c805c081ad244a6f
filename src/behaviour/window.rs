//! Event-time windows: the few shapes of state the behavioural detectors keep, each
//! bounded, each checked against a plain reference model by the property tests below.

use crate::time::{Span, Timestamp};
use std::collections::VecDeque;

/// Entries of the last `span` of event time, oldest first, at most `cap` of them.
/// Entries arrive roughly in order; one within the allowed lateness is put in its
/// place, and anything older than the window is never kept.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Window<T> {
    entries: VecDeque<(Timestamp, T)>,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Window { entries: VecDeque::new() }
    }
}

impl<T> Window<T> {
    /// Adds an entry at `ts`, then drops what has left the window `(now - span, now]`
    /// (now: the newest entry) and the oldest entries beyond `cap`.
    pub fn push(&mut self, ts: Timestamp, value: T, span: Span, cap: usize) {
        let at = self.entries.partition_point(|(t, _)| *t <= ts);
        self.entries.insert(at, (ts, value));
        let newest = self.entries.back().map_or(ts, |(t, _)| *t);
        while self.entries.front().is_some_and(|(t, _)| t.0 <= newest.0 - span.0) {
            self.entries.pop_front();
        }
        while self.entries.len() > cap {
            self.entries.pop_front();
        }
    }

    /// Drops entries that have left the window ending at `now`.
    pub fn expire(&mut self, now: Timestamp, span: Span) {
        while self.entries.front().is_some_and(|(t, _)| t.0 <= now.0 - span.0) {
            self.entries.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &(Timestamp, T)> {
        self.entries.iter()
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(Timestamp, T)>()
    }
}

/// A trailing baseline: exponentially weighted mean and variance of a series of
/// observations (counts per active hour, distinct users per day).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub mean: f32,
    pub var: f32,
    pub samples: u32,
}

impl Baseline {
    /// Adds one observation with weight `alpha` (0..1; 2/(N+1) for an N-sample span).
    pub fn observe(&mut self, x: f32, alpha: f32) {
        if self.samples == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            self.mean += alpha * d;
            self.var = (1.0 - alpha) * (self.var + alpha * d * d);
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// How far `x` lies above the mean, in standard deviations; the deviation is at
    /// least the square root of the mean (counts vary at least that much) and 1.
    pub fn z(&self, x: f32) -> f32 {
        let sd = self.var.sqrt().max(self.mean.sqrt()).max(1.0);
        (x - self.mean) / sd
    }
}

/// A quantity that halves every `half_life` of event time: risk scores and the
/// access rates of the peer comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decaying {
    pub value: f64,
    pub at: Timestamp,
}

impl Decaying {
    pub fn at(&self, now: Timestamp, half_life: Span) -> f64 {
        if self.value == 0.0 || now <= self.at {
            return self.value;
        }
        self.value * (-((now.0 - self.at.0) as f64) / half_life.0.max(1) as f64 * std::f64::consts::LN_2).exp()
    }

    pub fn add(&mut self, x: f64, now: Timestamp, half_life: Span) {
        self.value = self.at(now, half_life) + x;
        self.at = self.at.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference model: keep every entry, filter by the window on demand.
    fn reference(entries: &[(i64, u32)], span: i64, cap: usize) -> Vec<(i64, u32)> {
        let newest = entries.iter().map(|(t, _)| *t).max().unwrap_or(0);
        let mut inside: Vec<(i64, u32)> = entries.iter().copied().filter(|(t, _)| *t > newest - span).collect();
        inside.sort_by_key(|(t, _)| *t); // stable: equal times keep arrival order
        let skip = inside.len().saturating_sub(cap);
        inside.split_off(skip)
    }

    proptest! {
        /// The window holds exactly what a full history filtered to the window holds,
        /// for in-order and slightly late arrivals alike, whatever the cap.
        #[test]
        fn window_matches_the_reference_model(
            steps in proptest::collection::vec((0i64..5_000, 0i64..1_500, any::<u32>()), 1..200),
            span in 1i64..20_000,
            cap in 1usize..300,
        ) {
            let mut w = Window::default();
            let mut all = Vec::new();
            let mut clock = 0i64;
            for (advance, lateness, v) in steps {
                clock += advance;
                let ts = (clock - lateness).max(0);
                // Only entries that would still be inside the window are offered, as the
                // detectors do (later ones are counted late and skip stateful rules).
                let newest = all.iter().map(|(t, _)| *t).max().unwrap_or(ts);
                if ts <= newest - span {
                    continue;
                }
                w.push(Timestamp(ts), v, Span(span), cap);
                all.push((ts, v));
                // The reference applies the cap at each step as well.
                let kept = reference(&all, span, cap);
                all = kept.clone();
                let got: Vec<(i64, u32)> = w.iter().map(|(t, v)| (t.0, *v)).collect();
                prop_assert_eq!(got, kept);
            }
        }

        /// The mean follows the plain recursive definition.
        #[test]
        fn baseline_mean_is_the_ewma(xs in proptest::collection::vec(0u16..500, 1..100), n in 1u32..50) {
            let alpha = 2.0 / (n as f32 + 1.0);
            let mut b = Baseline::default();
            let mut mean = xs[0] as f64;
            for (i, x) in xs.iter().enumerate() {
                b.observe(*x as f32, alpha);
                if i > 0 {
                    mean += alpha as f64 * (*x as f64 - mean);
                }
            }
            prop_assert!((b.mean as f64 - mean).abs() < 1e-2 * mean.max(1.0));
            prop_assert!(b.var >= 0.0);
        }
    }

    #[test]
    fn decaying_halves_every_half_life() {
        let mut d = Decaying::default();
        d.add(100.0, Timestamp(0), Span::days(7));
        assert!((d.at(Timestamp(Span::days(7).0), Span::days(7)) - 50.0).abs() < 1e-9);
        d.add(10.0, Timestamp(Span::days(14).0), Span::days(7));
        assert!((d.value - 35.0).abs() < 1e-9);
    }
}
