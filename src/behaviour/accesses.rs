//! A user's unexplained accesses, as `behaviour.volume` and `behaviour.fishing` count
//! them, each kept once.
//!
//! Volume counts every unexplained access in its window; fishing counts the searches
//! and person accesses among them in its own window (30 minutes against volume's hour
//! by default). Both read the same accesses, so they share one window: an access stays
//! while either detector would still count it, and each reads exactly what a window of
//! its own, with its own cap, would hold. The property test below checks that against
//! two separate windows, late arrivals included.

use crate::time::{Span, Timestamp};
use crate::window::{Item, Window};
use serde::{Deserialize, Serialize};

/// One access: bit 0, fishing counts it; bit 1, a search that found nothing; the
/// other bits, a hash of the person looked up (0: no person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access(u64);

impl Access {
    pub fn new(fishing: bool, found_nothing: bool, person: Option<u64>) -> Access {
        let person = person.map_or(0, |h| (h | 4) & !3);
        Access(person | fishing as u64 | (found_nothing as u64) << 1)
    }

    pub fn fishing(self) -> bool {
        self.0 & 1 != 0
    }

    pub fn found_nothing(self) -> bool {
        self.0 & 2 != 0
    }

    /// The person's hash, or 0 for none.
    pub fn person(self) -> u64 {
        self.0 & !3
    }
}

/// The two detectors' windows and the most entries either counts.
#[derive(Debug, Clone, Copy)]
pub struct Spans {
    pub volume: Span,
    pub fishing: Span,
    pub cap: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct Accesses {
    /// Oldest first; each entry's string is its event id (the alerts' evidence).
    window: Window<Access, 1>,
    /// The newest fishing access: fishing's window ends there.
    fishing_newest: Option<Timestamp>,
    /// Fishing accesses in `window` (counted again when a snapshot is read).
    #[serde(skip_serializing)]
    fishing: usize,
}

/// What a snapshot holds of [`Accesses`]: the count follows from the window.
#[derive(Deserialize)]
struct Stored {
    window: Window<Access, 1>,
    fishing_newest: Option<Timestamp>,
}

impl From<Stored> for Accesses {
    fn from(s: Stored) -> Accesses {
        let fishing = s.window.iter().filter(|it| it.meta.fishing()).count();
        Accesses { window: s.window, fishing_newest: s.fishing_newest, fishing }
    }
}

impl Accesses {
    /// Adds an unexplained access, then forgets what neither detector counts any more.
    pub fn push(&mut self, ts: Timestamp, event_id: &str, access: Access, s: Spans) {
        self.window.insert(ts, access, [event_id]);
        if access.fishing() {
            self.fishing_newest = Some(self.fishing_newest.map_or(ts, |f| f.max(ts)));
            self.fishing += 1;
        }
        // The oldest entry is the furthest from the newest, for both detectors.
        let ends = self.ends();
        while let Some(front) = self.window.front() {
            let fishing_place = self.fishing.saturating_sub(1);
            if !forgotten(front, self.window.len() - 1, fishing_place, ends, s) {
                break;
            }
            self.fishing -= front.meta.fishing() as usize;
            self.window.pop_front();
        }
        // An old fishing access can hold up many newer accesses that volume no longer
        // counts (a bulk account's thousands in the hour): drop those from the middle.
        if self.window.len() > 3 * s.cap {
            let (total, mut older, mut kept) = (self.fishing, 0, 0);
            self.window.retain(|it, place| {
                let fishing_place = total.saturating_sub(older + 1);
                older += it.meta.fishing() as usize;
                let keep = !forgotten(it, place, fishing_place, ends, s);
                kept += (keep && it.meta.fishing()) as usize;
                keep
            });
            self.fishing = kept;
        }
    }

    /// Where the two windows end: the newest access, and the newest fishing access.
    fn ends(&self) -> (Timestamp, Option<Timestamp>) {
        (self.window.newest().unwrap_or_default(), self.fishing_newest)
    }

    /// The accesses volume counts, newest first.
    pub fn volume(&self, s: Spans) -> impl Iterator<Item = Item<'_, Access>> + '_ {
        let newest = self.window.newest().unwrap_or_default();
        self.window.iter().rev().take_while(move |it| it.ts.0 > newest.0 - s.volume.0).take(s.cap)
    }

    /// The accesses fishing counts, newest first.
    pub fn fishing(&self, s: Spans) -> impl Iterator<Item = Item<'_, Access>> + '_ {
        let newest = self.fishing_newest.unwrap_or_default();
        self.window
            .iter()
            .rev()
            .filter(|it| it.meta.fishing())
            .take_while(move |it| it.ts.0 > newest.0 - s.fishing.0)
            .take(s.cap)
    }

    /// Forgets the accesses at or before `time` (no later access can count them) and
    /// gives back the room the window no longer needs.
    pub fn forget_up_to(&mut self, time: Timestamp) {
        while let Some(front) = self.window.front().filter(|f| f.ts <= time) {
            self.fishing -= front.meta.fishing() as usize;
            self.window.pop_front();
        }
        self.window.shrink();
    }

    pub fn heap_bytes(&self) -> usize {
        self.window.heap_bytes()
    }
}

/// Whether neither detector counts an entry `place` entries from the newest and, when
/// it is a fishing access, `fishing_place` from the newest fishing access.
fn forgotten(
    it: Item<'_, Access>,
    place: usize,
    fishing_place: usize,
    ends: (Timestamp, Option<Timestamp>),
    s: Spans,
) -> bool {
    let (newest, fishing_newest) = ends;
    let volume = place < s.cap && it.ts.0 > newest.0 - s.volume.0;
    let fishing =
        it.meta.fishing() && fishing_place < s.cap && fishing_newest.is_some_and(|f| it.ts.0 > f.0 - s.fishing.0);
    !volume && !fishing
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: the two separate windows the detectors once kept, volume's of
    /// every access and fishing's of its own.
    #[derive(Default)]
    struct Separate {
        volume: Window<(), 1>,
        fishing: Window<Access, 1>,
    }

    fn snapshot<'a>(it: impl Iterator<Item = Item<'a, Access>>) -> Vec<(i64, String, bool)> {
        it.map(|i| (i.ts.0, i.str(0).to_string(), i.meta.found_nothing())).collect()
    }

    proptest! {
        /// Each detector reads from the shared window exactly the accesses, newest
        /// first, that its own window would hold, whatever the spans and the cap, for
        /// in-order and late arrivals alike; and the shared window stays bounded.
        #[test]
        fn each_detector_reads_what_its_own_window_would_hold(
            steps in proptest::collection::vec((0i64..400, 0i64..300, any::<bool>(), any::<bool>()), 1..400),
            volume in 1i64..3_000,
            fishing in 1i64..3_000,
            cap in 1usize..12,
        ) {
            let s = Spans { volume: Span(volume), fishing: Span(fishing), cap };
            let (mut shared, mut separate) = (Accesses::default(), Separate::default());
            // The same accesses, with a sweep's forgetting now and then: accesses arrive
            // at most 299 behind the newest, so what is older than that and a window
            // can never be counted again.
            let mut swept = Accesses::default();
            let mut clock = 0i64;
            for (i, (advance, lateness, fishes, nothing)) in steps.into_iter().enumerate() {
                clock += advance;
                let ts = Timestamp(clock - lateness);
                let id = format!("e{i}");
                let access = Access::new(fishes, nothing, Some(crate::behaviour::stable_hash(0, &format!("P{}", i % 5))));
                shared.push(ts, &id, access, s);
                swept.push(ts, &id, access, s);
                if i % 7 == 6 {
                    swept.forget_up_to(Timestamp(clock - 300 - volume.max(fishing)));
                }
                separate.volume.push(ts, (), [&id], s.volume, cap);
                if fishes {
                    separate.fishing.push(ts, access, [&id], s.fishing, cap);
                }
                let volume: Vec<(i64, String)> = separate.volume.iter().rev().map(|i| (i.ts.0, i.str(0).to_string())).collect();
                let got: Vec<(i64, String)> = shared.volume(s).map(|i| (i.ts.0, i.str(0).to_string())).collect();
                prop_assert_eq!(got, volume, "volume after access {}", i);
                prop_assert_eq!(snapshot(shared.fishing(s)), snapshot(separate.fishing.iter().rev()), "fishing after access {}", i);
                prop_assert_eq!(snapshot(swept.volume(s)), snapshot(shared.volume(s)), "volume after a sweep, access {}", i);
                // Fishing is read after a fishing access only (before one, its window
                // ends at an older one, whose accesses a sweep may have forgotten).
                if fishes {
                    prop_assert_eq!(snapshot(swept.fishing(s)), snapshot(shared.fishing(s)), "fishing after a sweep, access {}", i);
                }
                prop_assert!(shared.window.len() <= 3 * cap + 1 + separate.volume.len() + separate.fishing.len());
                prop_assert_eq!(shared.fishing, shared.window.iter().filter(|i| i.meta.fishing()).count());
                prop_assert!(shared.window.text_len() <= 2 * shared.window.live_len() + 64, "ids kept after their accesses went");
            }
        }
    }

    #[test]
    fn a_busy_user_keeps_the_ids_of_the_last_hour_only() {
        let s = Spans { volume: Span(3_600_000), fishing: Span(1_800_000), cap: 512 };
        let mut a = Accesses::default();
        for i in 0..20_000i64 {
            let id = format!("PNC-2026-12-04-{i:012}");
            a.push(Timestamp(i * 60_000), &id, Access::new(i % 2 == 0, false, Some(i as u64)), s);
        }
        assert_eq!(a.volume(s).count(), 60);
        assert!(a.window.text_len() <= 2 * a.window.live_len() + 64, "{} bytes of ids", a.window.text_len());
        assert!(a.heap_bytes() < 8 * 1024, "{} bytes", a.heap_bytes());
        // A snapshot counts the fishing accesses again.
        let back: Accesses = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.fishing, a.fishing);
        assert_eq!(snapshot(back.fishing(s)), snapshot(a.fishing(s)));
    }

    #[test]
    fn a_bulk_account_does_not_grow_the_window_behind_an_old_fishing_access() {
        let s = Spans { volume: Span(1_000), fishing: Span(1_000_000), cap: 8 };
        let mut a = Accesses::default();
        a.push(Timestamp(0), "first", Access::new(true, true, None), s);
        for i in 1..10_000 {
            a.push(Timestamp(i), &format!("e{i}"), Access::new(false, false, None), s);
        }
        assert!(a.window.len() <= 3 * s.cap + 1, "{} entries", a.window.len());
        // Nor do the ids of the accesses it no longer holds stay behind.
        assert!(a.window.text_len() <= 2 * a.window.live_len() + 64, "{} bytes of ids", a.window.text_len());
        assert_eq!(a.volume(s).count(), 8);
        assert_eq!(a.fishing(s).map(|i| i.str(0).to_string()).collect::<Vec<_>>(), ["first"]);
    }
}
