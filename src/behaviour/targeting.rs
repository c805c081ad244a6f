//! `behaviour.targeting`: a user whose unexplained person look-ups fall on one sex and
//! one age band far more than the rest of their unit's do (abuse of position for a
//! sexual purpose: the inspectorate's national counter-corruption priority).
//!
//! Each look-up of a person whose sex and date of birth the event gives falls in a
//! cell: sex × age band on the day. Per unit, the cells are counted day by day over the
//! window: every look-up of the unit (its caseload: a sexual-offences unit sees mostly
//! women), and each user's unexplained ones (state bounded by the window and evicted
//! with the unit; 8 bytes a day-cell per user). A user with `n` unexplained look-ups,
//! `k` of them in the cell of this one, is compared with the rest of the unit (all the
//! unit's look-ups but those `n`: `R`, `R_c` in the cell): the unit's share
//! `p = (R_c + 1) / (R + cells)`
//! (one look-up added to every cell, so a cell the unit never sees is not impossible),
//! and the alert needs `k/n ≥ min_share`, `k/n ≥ ratio · p`, and the binomial tail
//! `P(X ≥ k | n, p)` below `p_value`: so many in the cell is unlikely for a user who
//! looks people up as the rest of the unit does.

use crate::event::{AccessEvent, Sex};
use crate::time::{Date, Span, Timestamp, DAY};
use ahash::AHashMap;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Kept per user: the latest look-ups counted, with their cell and person (the
/// evidence, and the people not to count twice).
const EVIDENCE: usize = 24;

/// One sex and age band.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell(pub u8);

impl Cell {
    /// The cell of a person look-up, when the event gives the subject's sex and date
    /// of birth and the age on the day is plausible (0 to 120).
    pub fn of(e: &AccessEvent, bands: &[u8]) -> Option<Cell> {
        let (sex, dob) = (e.subject_sex?, e.subject_dob?);
        let age = age_on(dob, e.ts.date())?;
        let band = bands.iter().take_while(|b| age >= **b as u32).count();
        Some(Cell(sex_index(sex) * (bands.len() as u8 + 1) + band as u8))
    }

    /// The sex and the age band (lowest age, highest age or `None` for "and over").
    pub fn describe(self, bands: &[u8]) -> (Sex, u32, Option<u32>) {
        let per_sex = bands.len() as u8 + 1;
        let sex = [Sex::F, Sex::M, Sex::X][(self.0 / per_sex).min(2) as usize];
        let band = (self.0 % per_sex) as usize;
        let low = if band == 0 { 0 } else { bands[band - 1] as u32 };
        let high = bands.get(band).map(|b| *b as u32 - 1);
        (sex, low, high)
    }

    /// How many cells there are for these bands.
    pub fn count(bands: &[u8]) -> usize {
        3 * (bands.len() + 1)
    }
}

fn sex_index(s: Sex) -> u8 {
    match s {
        Sex::F => 0,
        Sex::M => 1,
        Sex::X => 2,
    }
}

/// Whole years from `dob` to `on`; `None` before birth or past 120.
pub fn age_on(dob: Date, on: Date) -> Option<u32> {
    let ((y1, m1, d1), (y2, m2, d2)) = (dob.ymd(), on.ymd());
    let mut age = y2 - y1;
    if (m2, d2) < (m1, d1) {
        age -= 1;
    }
    (0..=120).contains(&age).then_some(age as u32)
}

/// What a targeting alert says.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub cell: Cell,
    /// Look-ups in the cell, and in all.
    pub k: u32,
    pub n: u32,
    /// The rest of the unit's look-ups in the cell, and in all.
    pub unit_k: u32,
    pub unit_n: u32,
    /// The binomial tail probability.
    pub p_value: f64,
    /// Event ids of the user's latest look-ups in the cell, newest first.
    pub evidence: Vec<CompactString>,
}

/// The thresholds (`[rules.behaviour.targeting]`).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub window: Span,
    pub min_lookups: u32,
    pub min_share: f64,
    pub ratio: f64,
    pub p_value: f64,
    pub unit_min_lookups: u32,
    pub cells: usize,
    /// A hash of the age bands: counts kept under other bands are dropped.
    pub bands: u64,
}

/// One person look-up as the detector counts it.
pub struct Lookup<'a> {
    pub user: &'a CompactString,
    pub event_id: &'a str,
    /// The person (a hash of their identity keys): a user's second look-up of someone
    /// already counted counts once.
    pub person: u64,
    pub cell: Cell,
    pub explained: bool,
    pub ts: Timestamp,
}

/// One unit's counts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UnitCells {
    /// Day (since the epoch) and look-ups per cell, oldest first.
    days: VecDeque<(i32, Vec<u32>)>,
    users: AHashMap<CompactString, UserCells>,
    /// The age bands the cells were counted under ([`Thresholds::bands`]).
    #[serde(default)]
    bands: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UserCells {
    /// (day, cell, look-ups), oldest first.
    days: Vec<(i32, u8, u16)>,
    /// The latest look-ups counted: day, cell, person, event id; newest last.
    recent: VecDeque<(i32, u8, u64, CompactString)>,
}

impl UnitCells {
    /// Counts one look-up by `user` in `cell` and, when it is unexplained, judges the user.
    pub fn observe(&mut self, l: Lookup, t: &Thresholds) -> Option<Verdict> {
        let Lookup { user, event_id, person, cell, explained, ts } = l;
        if self.bands != t.bands {
            // Counted under other age bands (a configuration change): start again.
            *self = UnitCells { bands: t.bands, ..UnitCells::default() };
        }
        let day = ts.date().0;
        let newest = self.days.back().map_or(day, |(d, _)| (*d).max(day));
        let first = newest - window_days(t.window) + 1;
        if day < first {
            return None; // older than the window: nothing to count it against
        }
        while self.days.front().is_some_and(|(d, _)| *d < first) {
            self.days.pop_front();
        }
        // The search and the view of one person, or a second look at them, by a user
        // who had no purpose: one person, counted once for the unit and the user.
        if !explained {
            if let Some(u) = self.users.get_mut(user) {
                u.recent.retain(|(d, ..)| *d >= first);
                if u.recent.iter().any(|(_, _, p, _)| *p == person) {
                    return None;
                }
            }
        }
        match self.days.iter_mut().rev().find(|(d, _)| *d == day) {
            Some((_, counts)) => add(counts, cell, t.cells),
            None => {
                // A late look-up (days behind the newest) still counts on its own day.
                let at = self.days.iter().position(|(d, _)| *d > day).unwrap_or(self.days.len());
                let mut counts = vec![0; t.cells];
                add(&mut counts, cell, t.cells);
                self.days.insert(at, (day, counts));
            }
        }
        if explained {
            return None;
        }
        let u = self.users.entry(user.clone()).or_default();
        u.days.retain(|(d, _, _)| *d >= first);
        match u.days.iter_mut().rev().find(|(d, c, _)| *d == day && *c == cell.0) {
            Some((_, _, n)) => *n = n.saturating_add(1),
            None => u.days.push((day, cell.0, 1)),
        }
        u.recent.push_back((day, cell.0, person, event_id.into()));
        if u.recent.len() > EVIDENCE {
            u.recent.pop_front();
        }
        let (mut k, mut n) = (0u32, 0u32);
        for (_, c, m) in &u.days {
            n += *m as u32;
            if *c == cell.0 {
                k += *m as u32;
            }
        }
        let (mut unit_k, mut unit_n) = (0u32, 0u32);
        for (_, counts) in &self.days {
            unit_n += counts.iter().sum::<u32>();
            unit_k += counts.get(cell.0 as usize).copied().unwrap_or(0);
        }
        // The rest of the unit: without the user's own look-ups.
        let (unit_k, unit_n) = (unit_k.saturating_sub(k), unit_n.saturating_sub(n));
        let p_value = judge(k, n, unit_k, unit_n, t)?;
        let evidence = u.recent.iter().rev().filter(|(_, c, ..)| *c == cell.0).map(|(.., id)| id.clone()).collect();
        Some(Verdict { cell, k, n, unit_k, unit_n, p_value, evidence })
    }

    /// Forgets users with nothing left in the window.
    pub fn sweep(&mut self, now: Timestamp, window: Span) {
        let first = now.date().0 - window_days(window) + 1;
        self.users.retain(|_, u| u.days.iter().any(|(d, _, _)| *d >= first));
    }

    pub fn heap_bytes(&self) -> usize {
        self.days.iter().map(|(_, c)| 32 + c.capacity() * 4).sum::<usize>()
            + self.users.values().map(|u| 64 + u.days.capacity() * 8 + u.recent.len() * 32).sum::<usize>()
    }
}

fn window_days(window: Span) -> i32 {
    ((window.0 + DAY - 1) / DAY).max(1) as i32
}

fn add(counts: &mut Vec<u32>, cell: Cell, cells: usize) {
    counts.resize(cells.max(counts.len()), 0);
    if let Some(c) = counts.get_mut(cell.0 as usize) {
        *c += 1;
    }
}

/// The test: `Some(p-value)` when `k` of the user's `n` look-ups in one cell stand out
/// against the rest of the unit's `unit_k` of `unit_n`.
pub fn judge(k: u32, n: u32, unit_k: u32, unit_n: u32, t: &Thresholds) -> Option<f64> {
    if n < t.min_lookups || unit_n < t.unit_min_lookups {
        return None;
    }
    let p = (unit_k as f64 + 1.0) / (unit_n as f64 + t.cells as f64);
    let share = k as f64 / n as f64;
    if share < t.min_share || share < t.ratio * p {
        return None;
    }
    let tail = binomial_tail(n, k, p);
    (tail < t.p_value).then_some(tail)
}

/// `P(X ≥ k)` for `X ~ Binomial(n, p)`, summed from `k` upward in log space (exact to
/// rounding; stops once the terms no longer change the sum).
pub fn binomial_tail(n: u32, k: u32, p: f64) -> f64 {
    if k == 0 || p >= 1.0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    let (nf, kf) = (n as f64, k as f64);
    let ln_first = ln_choose(nf, kf) + kf * p.ln() + (nf - kf) * (-p).ln_1p();
    let odds = p / (1.0 - p);
    let (mut term, mut sum) = (1.0f64, 0.0f64);
    for i in k..=n {
        sum += term;
        term *= (nf - i as f64) / (i as f64 + 1.0) * odds;
        if term < sum * 1e-17 && (i as f64) > nf * p {
            break;
        }
    }
    (ln_first + sum.ln()).exp().min(1.0)
}

fn ln_choose(n: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine coefficients: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The exact tail by brute force: every term from its own binomial coefficient.
    fn brute_tail(n: u32, k: u32, p: f64) -> f64 {
        let choose = |n: u32, i: u32| (0..i).fold(1.0f64, |acc, j| acc * (n - j) as f64 / (j + 1) as f64);
        (k..=n).map(|i| choose(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32)).sum::<f64>().min(1.0)
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            window: Span(30 * DAY),
            min_lookups: 20,
            min_share: 0.5,
            ratio: 2.5,
            p_value: 1e-6,
            unit_min_lookups: 50,
            cells: 15,
            bands: 1,
        }
    }

    fn lookup<'a>(
        user: &'a CompactString,
        id: &'a str,
        person: u64,
        cell: u8,
        explained: bool,
        ts: Timestamp,
    ) -> Lookup<'a> {
        Lookup { user, event_id: id, person, cell: Cell(cell), explained, ts }
    }

    #[test]
    fn one_person_looked_up_many_times_counts_once() {
        let t = Thresholds { min_lookups: 5, unit_min_lookups: 10, ..thresholds() };
        let mut unit = UnitCells::default();
        let (u1, u2) = (CompactString::from("U1"), CompactString::from("U2"));
        let day = Timestamp(1_700_000_000_000);
        for i in 0..40u64 {
            // The rest of the unit: forty people in all cells.
            assert!(unit.observe(lookup(&u2, "x", 1000 + i, (i % 15) as u8, false, day), &t).is_none());
        }
        // U1 views one young woman twenty times: one look-up, no alert.
        for i in 0..20 {
            assert!(unit.observe(lookup(&u1, &format!("e{i}"), 7, 1, false, day), &t).is_none());
        }
        // Six different young women: an alert, counting six.
        let mut last = None;
        for i in 0..6u64 {
            last = unit.observe(lookup(&u1, &format!("w{i}"), 100 + i, 1, false, day), &t);
        }
        let v = last.expect("an alert");
        assert_eq!((v.k, v.n), (7, 7));
        // Other bands: the counts start again.
        let other = Thresholds { bands: 2, ..t };
        assert!(unit.observe(lookup(&u1, "z", 999, 1, false, day), &other).is_none());
        assert_eq!(unit.users.len(), 1);
    }

    #[test]
    fn ages_and_cells() {
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(age_on(d("2000-03-01"), d("2026-02-28")), Some(25));
        assert_eq!(age_on(d("2000-03-01"), d("2026-03-01")), Some(26));
        assert_eq!(age_on(d("2030-01-01"), d("2026-03-01")), None);
        let bands = [18, 31, 46, 61];
        assert_eq!(Cell(1).describe(&bands), (Sex::F, 18, Some(30)));
        assert_eq!(Cell(5 + 4).describe(&bands), (Sex::M, 61, None));
        assert_eq!(Cell(10).describe(&bands), (Sex::X, 0, Some(17)));
    }

    #[test]
    fn the_example_of_the_issue_stands_out_and_a_unit_that_sees_mostly_women_does_not() {
        let t = thresholds();
        // 38 of 41 young women, against a unit whose share is 21%.
        let p = judge(38, 41, 210, 1000, &t).expect("an alert");
        assert!(p < 1e-15, "{p}");
        // A sexual-offences unit: 70% of its look-ups are young women too.
        assert_eq!(judge(38, 41, 700, 1000, &t), None);
        // Too few look-ups to judge, or too small a unit.
        assert_eq!(judge(19, 19, 0, 1000, &t), None);
        assert_eq!(judge(38, 41, 0, 49, &t), None);
    }

    proptest! {
        #[test]
        fn the_tail_matches_brute_force(n in 1u32..120, k in 0u32..130, p in 0.001f64..0.999) {
            let k = k.min(n + 1);
            let (fast, exact) = (binomial_tail(n, k, p), brute_tail(n, k, p));
            let close = (fast - exact).abs() <= 1e-9 * exact.max(1e-300) || (fast - exact).abs() < 1e-250;
            prop_assert!(close, "n={n} k={k} p={p}: {fast} vs {exact}");
        }

        /// The detector fed look-ups day by day against a model that keeps every
        /// look-up and counts from scratch: the same verdict, the same numbers.
        #[test]
        fn the_detector_matches_a_model_that_keeps_everything(
            lookups in proptest::collection::vec((0u8..4, 0u8..15, 0i64..60, proptest::bool::weighted(0.3)), 1..400),
        ) {
            let t = Thresholds { min_lookups: 8, unit_min_lookups: 10, p_value: 1e-3, ..thresholds() };
            let mut unit = UnitCells::default();
            let mut seen: Vec<(i32, u8, u8, bool)> = Vec::new();
            let mut lookups = lookups;
            lookups.sort_by_key(|l| l.2);
            for (i, (user, cell, day, explained)) in lookups.into_iter().enumerate() {
                // Users 0 and 1 favour cell 3 half the time, to make verdicts happen.
                let cell = if user < 2 && i % 2 == 0 { 3 } else { cell };
                let ts = Timestamp(1_700_000_000_000 + day * DAY + i as i64);
                let name = CompactString::from(format!("U{user}"));
                let id = format!("e{i}");
                let got = unit.observe(lookup(&name, &id, i as u64, cell, explained, ts), &t);
                let today = ts.date().0;
                seen.push((today, user, cell, explained));
                let first = today - 30 + 1;
                let live: Vec<&(i32, u8, u8, bool)> = seen.iter().filter(|l| l.0 >= first).collect();
                let mine = |l: &&&(i32, u8, u8, bool)| l.1 == user && !l.3;
                let n = live.iter().filter(mine).count() as u32;
                let k = live.iter().filter(mine).filter(|l| l.2 == cell).count() as u32;
                let unit_n = live.iter().filter(|l| !mine(l)).count() as u32;
                let unit_k = live.iter().filter(|l| !mine(l) && l.2 == cell).count() as u32;
                let p = (unit_k as f64 + 1.0) / (unit_n as f64 + 15.0);
                let share = k as f64 / n.max(1) as f64;
                let expect = !explained && n >= 8 && unit_n >= 10 && share >= 0.5 && share >= 2.5 * p
                    && brute_tail(n, k, p) < 1e-3;
                prop_assert_eq!(got.is_some(), expect, "n={} k={} unit {}/{}", n, k, unit_k, unit_n);
                if let Some(v) = got {
                    prop_assert_eq!((v.k, v.n, v.unit_k, v.unit_n), (k, n, unit_k, unit_n));
                    let newest = format!("e{}", i);
                    prop_assert!(v.evidence.len() <= EVIDENCE && v.evidence[0] == newest);
                }
            }
        }
    }
}
