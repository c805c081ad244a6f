//! Event-time windows: the few shapes of state the behavioural detectors and the
//! explanations (each user's recent explained accesses) keep, each bounded, each
//! checked against a plain reference model by the property tests below.

use crate::time::{Span, Timestamp};
use std::collections::VecDeque;

/// Entries of the last `span` of event time, oldest first, at most `cap` of them, each
/// with a small copyable `meta` and `N` strings (event and user ids). Entries arrive
/// roughly in order; one within the allowed lateness is put in its place, and anything
/// older than the window is never kept.
///
/// The strings are packed into one buffer, each as its length then its bytes, so an
/// entry costs its own 16 to 24 bytes and its ids' bytes, not a 24-byte string per id:
/// these windows are most of the behavioural state (README, "memory per active user").
#[derive(Debug, Clone)]
pub struct Window<M, const N: usize> {
    entries: VecDeque<Entry<M>>,
    /// The entries' strings; bytes of removed entries linger until [`Window::compact`].
    text: Vec<u8>,
    /// Bytes of `text` that live entries own.
    live: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry<M> {
    ts: Timestamp,
    meta: M,
    /// Where the entry's strings start in `text`.
    at: u32,
}

/// Appends `s` as its length (LEB128) and its bytes.
fn put(text: &mut Vec<u8>, s: &str) {
    let mut len = s.len();
    while len >= 0x80 {
        text.push(len as u8 | 0x80);
        len >>= 7;
    }
    text.push(len as u8);
    text.extend_from_slice(s.as_bytes());
}

/// The length `put` wrote at the start of `text`, and the bytes it took.
fn read_len(text: &[u8]) -> (usize, usize) {
    let (mut len, mut shift, mut n) = (0usize, 0, 0);
    while let Some(b) = text.get(n) {
        n += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (len, n)
}

/// Bytes of `text` an entry of `N` strings owns.
fn size<M, const N: usize>(text: &[u8], e: &Entry<M>) -> usize {
    let mut rest = &text[e.at as usize..];
    let start = rest.len();
    for _ in 0..N {
        let (len, n) = read_len(rest);
        rest = &rest[n + len..];
    }
    start - rest.len()
}

/// One entry as the detectors read it.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a, M> {
    pub ts: Timestamp,
    pub meta: M,
    /// The text from the entry's strings on.
    text: &'a [u8],
}

impl<'a, M> Item<'a, M> {
    /// The entry's `i`-th string.
    pub fn str(&self, i: usize) -> &'a str {
        let mut rest = self.text;
        for _ in 0..i {
            let (len, n) = read_len(rest);
            rest = &rest[n + len..];
        }
        let (len, n) = read_len(rest);
        // Written from `&str` by `put`, cut at the same boundaries: always UTF-8.
        std::str::from_utf8(&rest[n..n + len]).unwrap_or_default()
    }
}

impl<M, const N: usize> Default for Window<M, N> {
    fn default() -> Self {
        Window { entries: VecDeque::new(), text: Vec::new(), live: 0 }
    }
}

impl<M: Copy, const N: usize> Window<M, N> {
    /// Adds an entry at `ts`, then drops what has left the window `(now - span, now]`
    /// (now: the newest entry) and the oldest entries beyond `cap`.
    pub fn push(&mut self, ts: Timestamp, meta: M, strings: [&str; N], span: Span, cap: usize) {
        self.insert(ts, meta, strings);
        let newest = self.newest().unwrap_or(ts);
        while self.entries.front().is_some_and(|e| e.ts.0 <= newest.0 - span.0) || self.entries.len() > cap {
            self.pop_front();
        }
        self.compact_if_sparse();
    }

    /// Puts an entry in its place by time (after those of the same time); drops nothing.
    pub fn insert(&mut self, ts: Timestamp, meta: M, strings: [&str; N]) {
        // Grown by half, not doubled: most windows hold a few entries and stay there
        // (doubling while small made the state bench's process 10% larger).
        let needed: usize = strings.iter().map(|s| s.len() + 5).sum();
        if self.text.capacity() - self.text.len() < needed {
            self.text.reserve_exact(needed.max(self.text.len() / 2));
        }
        if self.entries.len() == self.entries.capacity() {
            self.entries.reserve_exact((self.entries.len() / 2).max(1));
        }
        let start = self.text.len();
        for s in strings {
            put(&mut self.text, s);
        }
        self.live += self.text.len() - start;
        let at = u32::try_from(start)
            .expect("a window's ids fit in 4 GiB: its entries are capped, an id is at most 128 characters");
        let entry = Entry { ts, meta, at };
        if self.entries.back().is_none_or(|e| e.ts <= ts) {
            self.entries.push_back(entry); // in order: most entries
        } else {
            let i = self.entries.partition_point(|e| e.ts <= ts);
            self.entries.insert(i, entry);
        }
    }

    /// The oldest entry.
    pub fn front(&self) -> Option<Item<'_, M>> {
        self.entries.front().map(|e| self.item(e))
    }

    /// The time of the newest entry.
    pub fn newest(&self) -> Option<Timestamp> {
        self.entries.back().map(|e| e.ts)
    }

    /// Drops the oldest entry (its bytes go at the next compaction: the text is never
    /// more than twice what the entries hold, plus 64 bytes).
    pub fn pop_front(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.live -= self.size(&e);
            self.compact_if_sparse();
        }
    }

    /// Keeps the entries `keep` admits (given each entry and its place from the newest).
    pub fn retain(&mut self, mut keep: impl FnMut(Item<'_, M>, usize) -> bool) {
        let (text, live) = (&self.text, &mut self.live);
        let mut from_newest = self.entries.len();
        self.entries.retain(|e| {
            from_newest -= 1;
            let kept = keep(Item { ts: e.ts, meta: e.meta, text: &text[e.at as usize..] }, from_newest);
            if !kept {
                *live -= size::<M, N>(text, e);
            }
            kept
        });
        self.compact_if_sparse();
    }

    /// Drops entries that have left the window ending at `now`.
    pub fn expire(&mut self, now: Timestamp, span: Span) {
        while self.entries.front().is_some_and(|e| e.ts.0 <= now.0 - span.0) {
            self.pop_front();
        }
        self.compact_if_sparse();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of packed strings, and of those the entries still own (for tests).
    #[cfg(test)]
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    #[cfg(test)]
    pub fn live_len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Item<'_, M>> + '_ {
        self.entries.iter().map(|e| self.item(e))
    }

    /// Each entry's time and meta, oldest first, with its place ([`Window::get`]
    /// gives its strings): a scan that reads no strings.
    pub fn metas(&self) -> impl DoubleEndedIterator<Item = (usize, Timestamp, &M)> + '_ {
        self.entries.iter().enumerate().map(|(i, e)| (i, e.ts, &e.meta))
    }

    /// The entry at `i` (0 the oldest).
    pub fn get(&self, i: usize) -> Option<Item<'_, M>> {
        self.entries.get(i).map(|e| self.item(e))
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry<M>>() + self.text.capacity()
    }

    /// Gives back what the window holds beyond its entries (an idle key's, at a sweep).
    pub fn shrink(&mut self) {
        self.compact();
        self.entries.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    fn item(&self, e: &Entry<M>) -> Item<'_, M> {
        Item { ts: e.ts, meta: e.meta, text: &self.text[e.at as usize..] }
    }

    /// Bytes of `text` an entry owns.
    fn size(&self, e: &Entry<M>) -> usize {
        size::<M, N>(&self.text, e)
    }

    fn compact_if_sparse(&mut self) {
        if self.text.len() > 2 * self.live + 64 {
            self.compact();
        }
    }

    /// Rewrites `text` with the live entries' strings only; a buffer four times what
    /// they need (left by a burst) is cut to half again what they need.
    fn compact(&mut self) {
        // In place when the entries' strings lie in the entries' order (they came in
        // order, as most do): each moves towards the start, onto bytes already moved.
        if self.entries.iter().zip(self.entries.iter().skip(1)).all(|(a, b)| a.at < b.at) {
            let mut to = 0;
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                let size = self.size(&e);
                self.text.copy_within(e.at as usize..e.at as usize + size, to);
                self.entries[i].at = to as u32;
                to += size;
            }
            self.text.truncate(to);
        } else {
            let mut text = Vec::with_capacity(self.live + self.live / 2);
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                let size = self.size(&e);
                let at = text.len() as u32;
                text.extend_from_slice(&self.text[e.at as usize..e.at as usize + size]);
                self.entries[i].at = at;
            }
            self.text = text;
        }
        let len = self.text.len();
        if self.text.capacity() > 4 * len + 64 {
            self.text.shrink_to(len + len / 2);
        }
    }
}

/// A window is written as its entries, each `[ts, meta, [strings]]`, oldest first.
impl<M: Copy + serde::Serialize, const N: usize> serde::Serialize for Window<M, N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|it| (it.ts, it.meta, (0..N).map(|i| it.str(i)).collect::<Vec<_>>())))
    }
}

impl<'de, M: Copy + serde::Deserialize<'de>, const N: usize> serde::Deserialize<'de> for Window<M, N> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries: Vec<(Timestamp, M, Vec<String>)> = serde::Deserialize::deserialize(deserializer)?;
        let mut w = Window::default();
        for (ts, meta, strings) in entries {
            let strings: [&str; N] = std::array::from_fn(|i| strings.get(i).map_or("", String::as_str));
            w.insert(ts, meta, strings);
        }
        Ok(w)
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
                // Two strings of each entry follow from its value, one of them long
                // enough (up to 299 bytes) for a two-byte length.
                let (id, note) = (format!("e{v}"), "é".repeat((v % 150) as usize));
                w.push(Timestamp(ts), v, [&id, &note], Span(span), cap);
                all.push((ts, v));
                // The reference applies the cap at each step as well.
                let kept = reference(&all, span, cap);
                all = kept.clone();
                let got: Vec<(i64, u32)> = w.iter().map(|it| (it.ts.0, it.meta)).collect();
                prop_assert_eq!(got, kept);
                for it in w.iter() {
                    prop_assert_eq!(it.str(0), format!("e{}", it.meta));
                    prop_assert_eq!(it.str(1), "é".repeat((it.meta % 150) as usize));
                }
                // The packed text stays within twice what the entries hold.
                prop_assert!(w.text.len() <= 2 * w.live + 64);
            }
            // A snapshot brings back the same entries and strings.
            let back: Window<u32, 2> = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
            let strings = |w: &Window<u32, 2>| -> Vec<(i64, u32, String, String)> {
                w.iter().map(|it| (it.ts.0, it.meta, it.str(0).to_string(), it.str(1).to_string())).collect()
            };
            prop_assert_eq!(strings(&back), strings(&w));
        }

        /// Removing entries anywhere keeps the others' strings, through compactions.
        #[test]
        fn retain_keeps_the_other_entries_strings(
            values in proptest::collection::vec(any::<u32>(), 1..300),
            every in 2usize..5,
        ) {
            let mut w: Window<u32, 1> = Window::default();
            for (i, v) in values.iter().enumerate() {
                w.insert(Timestamp(i as i64), *v, [&format!("id-{v}")]);
            }
            w.retain(|it, from_newest| from_newest % every == 0 || it.meta % 3 == 0);
            let n = values.len();
            let expected: Vec<u32> =
                values.iter().enumerate().filter(|(i, v)| (n - 1 - i) % every == 0 || *v % 3 == 0).map(|(_, v)| *v).collect();
            prop_assert_eq!(w.iter().map(|it| it.meta).collect::<Vec<_>>(), expected.clone());
            for it in w.iter() {
                prop_assert_eq!(it.str(0), format!("id-{}", it.meta));
            }
            w.shrink();
            prop_assert_eq!(w.text.len(), w.live);
            prop_assert_eq!(w.iter().map(|it| it.str(0).to_string()).collect::<Vec<_>>(),
                expected.iter().map(|v| format!("id-{v}")).collect::<Vec<_>>());
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

    /// A burst's buffer is given back once the window holds a quarter of it, not kept
    /// until the key is forgotten.
    #[test]
    fn a_burst_gives_its_buffer_back_as_the_window_empties() {
        let mut w: Window<u32, 1> = Window::default();
        for i in 0..2_000 {
            w.push(Timestamp(i), i as u32, [&format!("burst-{i:014}")], Span(1_000_000), 10_000);
        }
        let peak = w.text.capacity();
        assert!(peak >= 2_000 * 20, "{peak}");
        for i in 0..2_000 {
            w.push(Timestamp(10_000_000 + i), i as u32, ["q"], Span(1_000_000), 4);
        }
        assert_eq!(w.len(), 4);
        assert!(w.text.capacity() <= 4 * w.text.len() + 64, "{} for {} bytes", w.text.capacity(), w.text.len());
    }

    #[test]
    fn decaying_halves_every_half_life() {
        let mut d = Decaying::default();
        d.add(100.0, Timestamp(0), Span::days(7));
        assert!((d.at(Timestamp(Span::days(7).0), Span::days(7)) - 50.0).abs() < 1e-9);
        d.add(10.0, Timestamp(Span::days(14).0), Span::days(7));
        assert!((d.value - 35.0).abs() < 1e-9);
    }

    proptest! {
        /// A decayed count comes back from JSON (a state snapshot, a repartition
        /// record's handoff) with the same bits it was written with, so an engine that
        /// restores a partition compares the same numbers a replay does. serde_json's
        /// default float parser misreads about one in twelve such values by a unit in
        /// the last place (12.092792692975713, for one).
        #[test]
        fn a_decaying_count_reads_back_from_json_exactly(value in 0.0f64..1e6, at in 0i64..4_102_444_800_000) {
            let d = Decaying { value, at: Timestamp(at) };
            let back: Decaying = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
            prop_assert_eq!(back.value.to_bits(), d.value.to_bits());
            prop_assert_eq!(back.at, d.at);
        }
    }
}
