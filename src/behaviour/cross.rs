//! The detectors that count across users: the subject spike (many users, one person)
//! and the peer comparison (one user against the rest of their unit).
//!
//! Their state is per person and per unit, not per user, so a live engine split over
//! several instances by user would give each only its own users' share. The live
//! engine therefore repartitions: the user stage passes each access on ([`Handoff`])
//! through the `kafka.subjects_topic` keyed by person (spikes) and by unit (the peer
//! comparison), and the instance that owns that key runs the detector (see
//! `src/live/repartition.rs`). A replay, or a single instance without the topic, runs
//! them in line with the user stage, on the same code.

use super::recent::RecentIds;
use super::targeting::{Cell, Lookup, Thresholds, UnitCells};
use super::{finding, stable_hash, Facts, WINDOW_CAP};
use crate::alert::{Alert, RuleId};
use crate::config::{BehaviourSettings, RulesConfig};
use crate::detect::Findings;
use crate::enrich::{Enriched, Justification};
use crate::event::SubjectType;
use crate::time::{Span, Timestamp, HOUR};
use crate::window::{Baseline, Decaying, Window};
use ahash::AHashMap;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// What the user stage knows of an access that the cross-user detectors need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// A policing purpose is on record (see `crate::explain`).
    pub explained: bool,
    /// A person, vehicle or address access (the peer comparison counts those).
    pub counted: bool,
    /// The user's decayed counts of such accesses after this one.
    pub user_total: f64,
    pub user_unexplained: f64,
}

impl Handoff {
    /// The key of the access's spike record: the person ([`Enriched::person_key`]: a
    /// crowd that searched by name and one that opened the record are one crowd), when
    /// the access is an unexplained look-up of one. A known incident the user is not on still counts:
    /// officers curious about an arrested celebrity quote the arrest's own incident,
    /// whose number is on the record they open. But not a missing-person incident
    /// (its kind says "missing" or "MISPER"), vulnerable, in its window, that lists
    /// this person: a force-wide search for a missing girl, all
    /// quoting her case (an evaluator's force: a red "details may be being passed
    /// round" alert at every one). Only a missing person's: a crowd viewing a rape
    /// victim's record can quote the number printed on it (a review). Each such access
    /// is still `victim.contact`'s to judge, which never lets it be.
    pub fn spike_key(&self, ctx: &Enriched) -> Option<CompactString> {
        let person = ctx.event.subject_type == SubjectType::Person && !ctx.person.is_empty();
        // Her name alone will do, as the shift searches (`bennett/john`), unless the
        // person is surely someone else (a victim of another incident matched surely:
        // an evaluator's shift searching by name made spikes).
        let sure = ctx.victims.iter().any(|l| !l.strength.is_weak());
        let her_search = matches!(&ctx.justification, Justification::NotLinked(i)
            if i.is_missing_person()
                && ctx.victims.iter().any(|l| l.in_window && (!sure || !l.strength.is_weak()) && l.incident.reference == i.reference));
        // Routed by surname and initial, not the date of birth: a name-only look-up and
        // the dated ones of the same name reach one instance, whose state is still kept
        // per person ([`CrossUser::observe_subject`]).
        (!self.explained && person && !her_search).then(|| ctx.with_users_person_key(|k| CompactString::from(k)))
    }

    /// The key of the access's peer record: the user's unit, when the access counts.
    pub fn unit_key(&self, ctx: &Enriched) -> Option<CompactString> {
        let unit = ctx.user.and_then(|s| s.unit.clone()).filter(|u| !u.is_empty());
        unit.filter(|_| self.counted)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SubjectState {
    last_seen: Timestamp,
    /// Unexplained accesses; the strings of each: user, event id.
    recent: Window<(), 2>,
    /// Distinct users on the current day: 32-bit hashes of their ids, four of them
    /// inline (two users whose hashes agree count once: odds of about 1 in 10^9 for a
    /// person looked up by three users in a day, 1 in 130,000 at the cap of 256).
    day: i32,
    day_users: SmallVec<[u32; 4]>,
    per_day: Baseline,
    /// No second spike alert for this subject before then.
    quiet_until: Timestamp,
    /// The vulnerable incident the latest dated look-up found her a victim in: a spike
    /// that a look-up by her name alone completes is about a victim as the crowd's was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    victim_of: Option<CompactString>,
}

impl SubjectState {
    /// The (user, event id) of the accesses in the window before `e` by other users.
    fn others_in_window(&self, e: &crate::event::AccessEvent, window: Span) -> Vec<(CompactString, CompactString)> {
        (self.recent.iter())
            .filter(|it| it.ts <= e.ts && e.ts - it.ts <= window && it.str(0) != e.user_id)
            .map(|it| (it.str(0).into(), it.str(1).into()))
            .collect()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UnitRates {
    last_seen: Timestamp,
    total: Decaying,
    unjustified: Decaying,
    /// The latest accesses counted (hashes of their system and event id): an access
    /// given twice (a source sending it again, its record delivered again) counts once.
    #[serde(default)]
    recent: RecentIds,
    /// behaviour.targeting's counts by sex and age band.
    #[serde(default)]
    cells: UnitCells,
}

fn id_hash(event_id: &str) -> u64 {
    stable_hash(5, event_id)
}

/// An access's identity: its event id is unique within its system (`events.md`).
pub fn access_hash(system: &str, event_id: &str) -> u64 {
    crate::hash::stable_parts(5, b'a', &[system.as_bytes(), event_id.as_bytes()])
}

/// A user id's hash, for the count of distinct users a day.
fn user_hash(user_id: &str) -> u32 {
    stable_hash(9, user_id) as u32
}

/// The key of a person's spike state: two 64-bit hashes of their subject key, so two
/// people share state only if both hashes of their keys agree, and the key costs 16
/// bytes where the string (`person:SURNAME|FORENAMES|1980-01-01`) would take 24 and a
/// heap allocation.
/// The key a look-up of the same person by full name alone, without a date of birth
/// or record id, is counted by ([`Enriched::person_key`] of such a look-up), for a
/// dated one: `None` for an access that is itself undated.
fn undated_key(ctx: &Enriched) -> Option<CompactString> {
    let name = ctx.person.name.as_ref().filter(|_| ctx.person.dob.is_some())?;
    let key = crate::alert::event_subject_key(SubjectType::Person, None, Some(name), None, None, None, "");
    Some(key)
}

/// A subject spike's finding about the person `ctx` looked up.
fn spike_finding<'a>(
    ctx: &Enriched<'a>,
    rules: &RulesConfig,
    users: usize,
    usual_per_day: f32,
    others: Vec<CompactString>,
    evidence: Vec<CompactString>,
    victim_of: Option<CompactString>,
) -> crate::detect::Finding<'a> {
    let b = &rules.behaviour;
    let victim = victim_of.is_some();
    let mut f = finding(
        RuleId::BehaviourSubjectSpike,
        rules,
        evidence,
        Facts::SubjectSpike { users, window: b.spike_window, usual_per_day, others, victim_of },
    );
    if victim {
        f.severity = b.spike_victim_severity;
        f.score = crate::detect::score(f.severity, None);
    }
    // One alert per subject: suppression follows the subject.
    f.subject_key = ctx.subject_key();
    f
}

fn subject_hash(key: &str) -> u128 {
    let (low, high) = (stable_hash(13, key), stable_hash(17, key));
    (high as u128) << 64 | low as u128
}

/// Counters for the summary and metrics.
#[derive(Debug, Default, Clone)]
pub struct CrossStats {
    pub subjects: usize,
    pub units: usize,
    pub evicted_subjects: u64,
    /// Names filed with the dated crowds a look-up by the name alone may complete.
    pub dated_names: usize,
}

/// The cross-user detectors' state (serialisable: snapshotted with the rest).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CrossUser {
    /// By [`subject_hash`] of the person's key.
    /// Boxed: the map keeps room for up to twice its entries, and a box is 8 bytes.
    subjects: AHashMap<u128, Box<SubjectState>>,
    units: AHashMap<CompactString, UnitRates>,
    /// No second peer-comparison alert about a user before then.
    peer_quiet: AHashMap<CompactString, Timestamp>,
    /// No second targeting alert about a user before then.
    #[serde(default)]
    targeting_quiet: AHashMap<CompactString, Timestamp>,
    last_sweep: Timestamp,
    #[serde(skip)]
    evicted_subjects: u64,
    /// The targeting age bands last seen and their hash (hashed once, not per access).
    #[serde(skip)]
    bands_hash: Option<(Vec<u8>, u64)>,
    /// The dated crowds of a full name (their [`subject_hash`]es, the latest four), by
    /// the hash of the name alone: a look-up by the name alone finds the crowds it may
    /// complete. Learned again from the dated look-ups after a restart.
    #[serde(skip)]
    dated_of: AHashMap<u128, SmallVec<[u128; 2]>>,
}

impl CrossUser {
    pub fn stats(&self) -> CrossStats {
        CrossStats {
            subjects: self.subjects.len(),
            units: self.units.len(),
            evicted_subjects: self.evicted_subjects,
            dated_names: self.dated_of.len(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        let subjects: usize = self
            .subjects
            .values()
            .map(|s| {
                std::mem::size_of::<(u128, Box<SubjectState>)>()
                    + std::mem::size_of::<SubjectState>()
                    + s.recent.heap_bytes()
                    + if s.day_users.spilled() { s.day_users.capacity() * 4 } else { 0 }
            })
            .sum();
        subjects
            + self
                .units
                .values()
                .map(|u| std::mem::size_of::<UnitRates>() + 24 + u.recent.heap_bytes() + u.cells.heap_bytes())
                .sum::<usize>()
            + (self.peer_quiet.len() + self.targeting_quiet.len()) * (std::mem::size_of::<Timestamp>() + 24)
            + self.dated_of.len() * std::mem::size_of::<(u128, SmallVec<[u128; 2]>)>()
    }

    /// The subject spike over one unexplained person access (routed by
    /// [`Handoff::spike_key`]), counted per person ([`Enriched::person_key`]). A crowd
    /// that gave the person's date of birth counts, once it is half the spike, the
    /// users who looked up the same full name without one in the window (an
    /// evaluator's eleven users, seven with her date of birth and four without, were
    /// two crowds under eight).
    pub fn observe_subject<'a>(
        &mut self,
        _routed_by: CompactString,
        ctx: &Enriched<'a>,
        rules: &RulesConfig,
        out: &mut Findings<'a>,
    ) {
        let b = &rules.behaviour;
        let e = ctx.event;
        let now = e.ts;
        self.maybe_sweep(now, b);
        let key = ctx.person_key();
        let hash = subject_hash(&key);
        let undated_hash = undated_key(ctx).map(|k| subject_hash(&k));
        let undated: Vec<(CompactString, CompactString)> = match undated_hash {
            Some(name) => self.subjects.get(&name).map_or_else(Vec::new, |u| u.others_in_window(e, b.spike_window)),
            // A look-up by the full name alone after a dated crowd's (a review: the
            // union was made only when the dated look-ups came last).
            None if ctx.person.dob.is_none() && ctx.person.name.is_some() => {
                if let Some(f) = self.complete_dated_crowd(ctx, hash, rules) {
                    out.push(f);
                }
                Vec::new()
            }
            None => Vec::new(),
        };
        let s = self.subjects.entry(hash).or_default();
        // An access given twice (a source sending it again, its record delivered
        // again) counts once. The window keeps no system: an access of another system
        // with the same event id, by the same user about the same person inside the
        // window, is taken for a copy.
        if s.recent.iter().any(|it| it.str(1) == e.event_id && it.str(0) == e.user_id) {
            return;
        }
        s.last_seen = s.last_seen.max(now);
        let day = now.date().0;
        if day != s.day {
            if s.day != 0 {
                s.per_day.observe(s.day_users.len() as f32, 0.2);
                // Days with no access at all pull the baseline down too.
                for _ in 1..(day - s.day).min(30) {
                    s.per_day.observe(0.0, 0.2);
                }
            }
            s.day = day;
            s.day_users.clear();
        }
        let user = user_hash(&e.user_id);
        if !s.day_users.contains(&user) && s.day_users.len() < 256 {
            s.day_users.push(user);
        }
        s.recent.push(now, (), [&e.user_id, &e.event_id], b.spike_window, WINDOW_CAP);
        if let Some(name) = undated_hash {
            s.victim_of = ctx.victim_of().map(|i| i.reference.clone());
            // A dated crowd a look-up by the name alone may complete: one at least half
            // the spike (`complete_dated_crowd`). Only those are filed under the name,
            // not every person looked up with a date of birth (500,000 people in the
            // state bench: about 350 bytes an active user).
            if rules.enabled(RuleId::BehaviourSubjectSpike) {
                let in_window = |it: &crate::window::Item<'_, ()>| it.ts <= now && now - it.ts <= b.spike_window;
                let mut users: SmallVec<[&str; 8]> = s.recent.iter().filter(in_window).map(|it| it.str(0)).collect();
                users.sort_unstable();
                users.dedup();
                if 2 * (users.len() as u32) >= b.spike_min_users {
                    let crowds = self.dated_of.entry(name).or_default();
                    if !crowds.contains(&hash) {
                        if crowds.len() == 4 {
                            crowds.remove(0);
                        }
                        crowds.push(hash);
                    }
                }
            }
        }
        if !rules.enabled(RuleId::BehaviourSubjectSpike) || now < s.quiet_until {
            return;
        }
        let mut users: Vec<&str> = s.recent.iter().map(|it| it.str(0)).collect();
        users.sort_unstable();
        users.dedup();
        let with_undated = !undated.is_empty() && 2 * users.len() as u32 >= b.spike_min_users;
        if with_undated {
            users.extend(undated.iter().map(|(u, _)| u.as_str()));
            users.sort_unstable();
            users.dedup();
        }
        let usual = s.per_day.mean;
        let n = users.len();
        if (n as u32) < b.spike_min_users || (n as f32) < b.spike_multiple * usual {
            return;
        }
        let others = users.into_iter().filter(|u| *u != e.user_id).map(CompactString::from).collect();
        let mut evidence: Vec<CompactString> =
            s.recent.iter().rev().map(|it| it.str(1)).filter(|id| *id != e.event_id).map(Into::into).collect();
        if with_undated {
            evidence.extend(undated.into_iter().rev().map(|(_, id)| id));
        }
        s.quiet_until = now + rules.settings(RuleId::BehaviourSubjectSpike).suppression;
        let victim_of = ctx.victim_of().map(|i| i.reference.clone());
        out.push(spike_finding(ctx, rules, n, usual, others, evidence, victim_of));
    }

    /// The spike of a dated crowd of this full name that a look-up by the name alone
    /// (`undated`, its own state's hash) completes: the crowd at least half the spike,
    /// with the users who looked the name up alone in the window, this one included.
    fn complete_dated_crowd<'a>(
        &mut self,
        ctx: &Enriched<'a>,
        undated: u128,
        rules: &RulesConfig,
    ) -> Option<crate::detect::Finding<'a>> {
        let b = &rules.behaviour;
        let (e, now) = (ctx.event, ctx.event.ts);
        if !rules.enabled(RuleId::BehaviourSubjectSpike) {
            return None;
        }
        let crowds = self.dated_of.get(&undated)?.clone();
        let alone = match self.subjects.get(&undated) {
            // A copy of an access already counted counts once.
            Some(u) if u.recent.iter().any(|it| it.str(1) == e.event_id && it.str(0) == e.user_id) => return None,
            Some(u) => u.others_in_window(e, b.spike_window),
            None => Vec::new(),
        };
        for crowd in crowds {
            let Some(s) = self.subjects.get_mut(&crowd) else { continue };
            if now < s.quiet_until {
                continue;
            }
            let in_window = |it: &crate::window::Item<'_, ()>| it.ts <= now && now - it.ts <= b.spike_window;
            let mut users: Vec<&str> = s.recent.iter().filter(in_window).map(|it| it.str(0)).collect();
            users.sort_unstable();
            users.dedup();
            if 2 * (users.len() as u32) < b.spike_min_users {
                continue;
            }
            users.extend(alone.iter().map(|(u, _)| u.as_str()));
            users.push(&e.user_id);
            users.sort_unstable();
            users.dedup();
            let (n, usual) = (users.len(), s.per_day.mean);
            if (n as u32) < b.spike_min_users || (n as f32) < b.spike_multiple * usual {
                continue;
            }
            let others = users.into_iter().filter(|u| *u != e.user_id).map(CompactString::from).collect();
            let mut evidence: Vec<CompactString> =
                s.recent.iter().filter(in_window).rev().map(|it| it.str(1).into()).collect();
            evidence.extend(alone.into_iter().rev().map(|(_, id)| id));
            let quiet_until = now + rules.settings(RuleId::BehaviourSubjectSpike).suppression;
            s.quiet_until = quiet_until;
            let victim_of = s.victim_of.clone();
            // The name-only crowd is the same spike: quiet too (a review).
            self.subjects.entry(undated).or_default().quiet_until = quiet_until;
            return Some(spike_finding(ctx, rules, n, usual, others, evidence, victim_of));
        }
        None
    }

    /// The peer comparison over one counted access of a member of `unit` (from
    /// [`Handoff::unit_key`]): the unit learns it first, so the user's own access
    /// counts; then, on an unexplained access, one alert about the user (not one per
    /// access) at most once per peer half-life, its score growing with how far the
    /// user stands out.
    pub fn observe_unit<'a>(
        &mut self,
        unit: CompactString,
        h: &Handoff,
        ctx: &Enriched<'a>,
        rules: &RulesConfig,
        out: &mut Findings<'a>,
    ) {
        let b = &rules.behaviour;
        let e = ctx.event;
        let now = e.ts;
        self.maybe_sweep(now, b);
        let rates = self.units.entry(unit.clone()).or_default();
        if !rates.recent.first(access_hash(&e.system, &e.event_id)) {
            return;
        }
        rates.last_seen = rates.last_seen.max(now);
        rates.total.add(1.0, now, b.peer_half_life);
        if !h.explained {
            rates.unjustified.add(1.0, now, b.peer_half_life);
        }
        // Targeting: the unit's person look-ups, and the user's unexplained ones, by
        // sex and age band.
        let person = e.subject_type == SubjectType::Person;
        if person && rules.enabled(RuleId::BehaviourTargeting) {
            if let Some(cell) = Cell::of(e, &b.targeting_age_bands) {
                let bands = match &self.bands_hash {
                    Some((seen, hash)) if *seen == b.targeting_age_bands => *hash,
                    _ => {
                        let hash = id_hash(&format!("{:?}", b.targeting_age_bands));
                        self.bands_hash = Some((b.targeting_age_bands.clone(), hash));
                        hash
                    }
                };
                let t = thresholds(b, bands);
                let person = ctx.with_person_key(id_hash);
                let lookup =
                    Lookup { user: &e.user_id, event_id: &e.event_id, person, cell, explained: h.explained, ts: now };
                let verdict = rates.cells.observe(lookup, &t);
                let quiet = self.targeting_quiet.get(&e.user_id).is_some_and(|q| now < *q);
                if let Some(mut v) = verdict.filter(|_| !quiet) {
                    let until = now + rules.settings(RuleId::BehaviourTargeting).suppression;
                    self.targeting_quiet.insert(e.user_id.clone(), until);
                    let evidence: Vec<CompactString> =
                        v.evidence.iter().filter(|id| **id != e.event_id).take(99).cloned().collect();
                    v.evidence.clear();
                    let facts = Facts::Targeting {
                        verdict: v,
                        bands: b.targeting_age_bands.clone(),
                        window: b.targeting_window,
                        unit: unit.clone(),
                    };
                    out.push(finding(RuleId::BehaviourTargeting, rules, evidence, facts));
                }
            }
        }
        let quiet = self.peer_quiet.get(&e.user_id).is_some_and(|t| now < *t);
        if h.explained || quiet || !b.peer_comparison || !rules.enabled(RuleId::PurposeMissing) {
            return;
        }
        let Some(facts) = peer_excess(h, rates, &unit, now, rules) else { return };
        self.peer_quiet.insert(e.user_id.clone(), now + b.peer_half_life);
        let excess = match &facts {
            Facts::PeerPurpose { share, peer_share, .. } => share - peer_share,
            _ => 0.0,
        };
        let mut f = finding(RuleId::PurposeMissing, rules, Vec::new(), facts);
        f.score = (f.score as f32 + 20.0 * excess).round().clamp(1.0, 100.0) as u8;
        out.push(f);
    }

    /// Takes back what an alert raised before a restart or a handover says: no second
    /// spike about its subject, or peer alert about its user, inside its window.
    pub fn seed(&mut self, alert: &Alert, rules: &RulesConfig) {
        let since = alert.event_ts.min(alert.detected_at);
        match alert.rule {
            RuleId::BehaviourSubjectSpike => {
                let until = since + rules.settings(RuleId::BehaviourSubjectSpike).suppression;
                // The spike's record is the person's ([`Enriched::person_key`]), not the
                // alert's subject key: a quiet period put there was never read.
                let s = &alert.subject;
                let name = s.subject_name.as_deref().and_then(crate::event::normalise::PersonName::parse);
                let key = match crate::enrich::named_person_key(s.subject_type, name.as_ref(), s.subject_dob) {
                    Some(key) => CompactString::from(std::str::from_utf8(&key).unwrap_or_default()),
                    None => alert.suppression_subject(),
                };
                let s = self.subjects.entry(subject_hash(&key)).or_default();
                s.quiet_until = s.quiet_until.max(until);
                s.last_seen = s.last_seen.max(since);
            }
            RuleId::PurposeMissing => {
                let until = since + rules.behaviour.peer_half_life;
                let q = self.peer_quiet.entry(alert.user_id.clone()).or_default();
                *q = (*q).max(until);
            }
            RuleId::BehaviourTargeting => {
                let until = since + rules.settings(RuleId::BehaviourTargeting).suppression;
                let q = self.targeting_quiet.entry(alert.user_id.clone()).or_default();
                *q = (*q).max(until);
            }
            _ => {}
        }
    }

    fn maybe_sweep(&mut self, now: Timestamp, b: &BehaviourSettings) {
        let idle_after = b.idle_after;
        // Eviction need not be punctual: sweep every eighth of the idle time.
        if now - self.last_sweep < Span((idle_after.0 / 8).max(HOUR)) {
            return;
        }
        for u in self.units.values_mut() {
            u.cells.sweep(now, b.targeting_window);
        }
        self.targeting_quiet.retain(|_, t| *t > now);
        self.last_sweep = now;
        let before = self.subjects.len();
        self.subjects.retain(|_, s| now - s.last_seen < idle_after);
        let subjects = &self.subjects;
        self.dated_of.retain(|_, crowds| {
            crowds.retain(|h| subjects.contains_key(h));
            !crowds.is_empty()
        });
        self.units.retain(|_, u| now - u.last_seen < idle_after);
        self.peer_quiet.retain(|_, t| *t > now);
        self.evicted_subjects += (before - self.subjects.len()) as u64;
    }

    /// See `Behaviour::clamp_clock`.
    pub fn clamp_clock(&mut self, limit: Timestamp) {
        if self.last_sweep > limit {
            self.last_sweep = Timestamp::default();
        }
    }
}

fn thresholds(b: &BehaviourSettings, bands: u64) -> Thresholds {
    Thresholds {
        window: b.targeting_window,
        min_lookups: b.targeting_min_lookups,
        min_share: b.targeting_min_share as f64,
        ratio: b.targeting_ratio as f64,
        p_value: b.targeting_p_value as f64,
        unit_min_lookups: b.targeting_unit_min_lookups,
        cells: Cell::count(&b.targeting_age_bands),
        bands,
    }
}

/// The peer comparison of `purpose.missing`: the user's unexplained share against the
/// rest of their unit's.
fn peer_excess(
    h: &Handoff,
    unit: &UnitRates,
    unit_name: &CompactString,
    now: Timestamp,
    rules: &RulesConfig,
) -> Option<Facts> {
    let b = &rules.behaviour;
    let hl = b.peer_half_life;
    let (total, unj) = (h.user_total, h.user_unexplained);
    if total < b.peer_min_accesses as f64 || unit_name.is_empty() {
        return None;
    }
    let (peer_total, peer_unj) = (unit.total.at(now, hl) - total, unit.unjustified.at(now, hl) - unj);
    if peer_total < b.peer_min_accesses as f64 {
        return None;
    }
    let share = unj / total;
    let peer_share = (peer_unj / peer_total).max(0.0);
    (share >= b.peer_ratio as f64 * peer_share && share - peer_share >= b.peer_min_difference as f64).then(|| {
        Facts::PeerPurpose {
            share: share as f32,
            accesses: total.round() as u32,
            peer_share: peer_share as f32,
            unit: unit_name.clone(),
        }
    })
}
