//! Behaviour: the stateful detectors of spec/rules.md, in event time, with bounded
//! memory. Watch lists catch the known subjects; misuse of unknown ones shows here.
//!
//! | rule | state | fires when |
//! |---|---|---|
//! | `behaviour.volume` | per user: unexplained accesses in the window, a baseline of them per active hour | the window's count is over the floor and far above the user's own baseline |
//! | `behaviour.out_of_hours` | per user: accesses by hour of day | an unexplained access outside the rostered shift (or, with no shift, in an hour the user rarely works) |
//! | `behaviour.fishing` | per user: unexplained searches and person accesses in a short window | many zero-result searches, or many distinct people |
//! | `behaviour.export_after_sensitive` | per user: the last access that raised a red or amber finding | a print or export soon after it |
//! | `behaviour.subject_spike` | per person: distinct users without explanation in the window, a baseline of distinct users per day | many more users than usual; proposes a high-profile entry |
//! | `purpose.missing` | per user and per unit: decayed unexplained and total accesses | the user's unexplained share is far above their unit's: one alert about the user |
//!
//! Only unexplained accesses ([`crate::explain`]) count towards volume, out of hours,
//! fishing and spikes: a CID officer's heavy day on their own incidents, custody staff
//! with their detainees, or a victim's case team, stay silent.
//!
//! State is per key and evicted when a key has been idle for `state.idle_after` (a
//! sweep every hour of event time), so memory follows the active users and subjects;
//! the README gives the measured cost per active user.

pub mod accesses;
pub mod cross;
pub mod recent;
pub mod targeting;

pub use cross::{CrossUser, Handoff};

use crate::alert::RuleId;
use crate::alert::Severity;
use crate::config::RulesConfig;
use crate::detect::{Explain, Finding, Findings};
use crate::enrich::Enriched;
use crate::event::{Action, SubjectType};
use crate::time::{Span, Timestamp, HOUR, MINUTE};
use crate::window::{Baseline, Decaying};
use accesses::{Access, Accesses, Spans};
use ahash::AHashMap;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Most entries a per-user or per-subject window keeps, whatever its span.
const WINDOW_CAP: usize = 512;

/// Most prints and exports a user's state keeps for accesses that arrive after them.
const PRINTS_KEPT: usize = 16;

/// The facts behind a behavioural finding, for its sentence.
#[derive(Debug, Clone)]
pub enum Facts {
    Volume {
        count: usize,
        window: Span,
        usual: f32,
        z: f32,
        /// No usual rate learned yet (new, or back after `state.idle_after` away):
        /// the count passed this floor instead.
        unlearned_floor: Option<u32>,
    },
    OutOfHours {
        local_minute: u16,
        shift: Option<crate::time::DailyRange>,
        share: Option<(f32, u32)>,
    },
    Fishing {
        zero_hits: usize,
        people: usize,
        window: Span,
    },
    ExportAfterSensitive {
        after: Span,
        rule: RuleId,
        severity: Severity,
        event_id: CompactString,
        /// The print or export that reached the engine before the access it followed
        /// (events out of order): the finding is raised on the access instead.
        printed_first: Option<(CompactString, Action)>,
        /// When the sensitive access's alert was raised, if later than the access
        /// (held for a watch-list entry added after it): this one is held as long.
        raised_at: Option<Timestamp>,
    },
    SubjectSpike {
        users: usize,
        window: Span,
        usual_per_day: f32,
        others: Vec<CompactString>,
        /// The vulnerable incident the person is a victim of.
        victim_of: Option<CompactString>,
    },
    PeerPurpose {
        share: f32,
        accesses: u32,
        peer_share: f32,
        unit: CompactString,
    },
    Targeting {
        verdict: targeting::Verdict,
        bands: Vec<u8>,
        window: Span,
        unit: CompactString,
    },
}

/// Counters for the summary and metrics.
#[derive(Debug, Default, Clone)]
pub struct BehaviourStats {
    pub users: usize,
    pub subjects: usize,
    pub evicted_users: u64,
    pub evicted_subjects: u64,
}

impl BehaviourStats {
    /// Adds another stream's counts.
    pub fn add(&mut self, other: &BehaviourStats) {
        self.users += other.users;
        self.subjects += other.subjects;
        self.evicted_users += other.evicted_users;
        self.evicted_subjects += other.evicted_subjects;
    }

    /// Adds a cross-user state's counts.
    pub fn add_cross(&mut self, cross: &CrossUser) {
        let c = cross.stats();
        self.subjects += c.subjects;
        self.evicted_subjects += c.evicted_subjects;
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UserState {
    last_seen: Timestamp,
    /// Unjustified accesses in the volume and fishing windows.
    accesses: Accesses,
    /// The current hour (index since the epoch) and its unjustified count.
    hour: i64,
    hour_count: u32,
    baseline: Baseline,
    /// Accesses by local hour of day, for users without a rostered shift.
    hours: [u32; 24],
    /// The times of the user's last three accesses, newest first: a user without a
    /// roster who has made them over at least 20 minutes of the last two hours is at
    /// work now.
    #[serde(default)]
    latest: [Timestamp; 3],
    /// The last access that raised a red or amber finding (boxed: most users have none).
    sensitive: Option<Box<(Timestamp, CompactString, RuleId, Severity)>>,
    /// When the sensitive access's finding is raised, if it is held (a high-profile
    /// entry added after the access): a print after it is raised then too.
    #[serde(default)]
    sensitive_held_until: Option<Timestamp>,
    /// What the sensitive access did: a print under the same id at the same instant
    /// is another access (`None` from a snapshot before it was kept).
    #[serde(default)]
    sensitive_action: Option<Action>,
    /// The prints and exports of the last export window (behind the newest), oldest
    /// first, for an access that raised a finding but reached the engine after them
    /// (boxed: most users print nothing).
    #[serde(default, deserialize_with = "one_or_more_prints")]
    printed: Option<Box<Vec<(Timestamp, CompactString, Action)>>>,
    /// Decayed counts of person/vehicle/address accesses, for the peer comparison.
    total: Decaying,
    unjustified: Decaying,
}

impl UserState {
    /// Whether the user made three accesses over at least 20 minutes of the two hours
    /// before `at` (three searches in a second before a look-up at 03:00 are not a
    /// shift: a review).
    fn at_work(&self, at: Timestamp) -> bool {
        let [newest, _, oldest] = self.latest;
        oldest.0 > 0 && newest <= at && at.0 - oldest.0 <= 2 * HOUR && newest.0 - oldest.0 >= 20 * MINUTE
    }

    /// Keeps `at` among the latest three access times.
    fn saw(&mut self, at: Timestamp) {
        if let Some(i) = self.latest.iter().position(|t| at > *t) {
            self.latest[i..].rotate_right(1);
            self.latest[i] = at;
        }
    }
}

/// A user's prints as a snapshot holds them: a list, or the one print an earlier
/// version kept.
fn one_or_more_prints<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<Vec<(Timestamp, CompactString, Action)>>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Many(Vec<(Timestamp, CompactString, Action)>),
        One((Timestamp, CompactString, Action)),
    }
    Ok(Option::<Stored>::deserialize(d)?.map(|p| {
        Box::new(match p {
            Stored::Many(all) => all,
            Stored::One(one) => vec![one],
        })
    }))
}

/// The state of every behavioural detector (serialisable: the live engine snapshots
/// it, see [`crate::live::snapshot`]).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Behaviour {
    users: AHashMap<CompactString, UserState>,
    last_sweep: Timestamp,
    #[serde(skip)]
    stats: BehaviourStats,
}

impl Behaviour {
    /// Whether `at` falls in the user's usual hours as learned from their accesses
    /// (as `behaviour.out_of_hours` judges a user without a roster, from a quarter of
    /// its `learn_min_events`: whether they work at that hour at all shows sooner than
    /// which hours are unusual); `None` before enough of them are learned.
    /// At work now (three accesses over at least 20 minutes of the two hours before) is
    /// usual whatever the hour:
    /// a rota moves its officers' hours faster than they are learned (an evaluator's
    /// response officers were "outside their working hours" mid-shift).
    pub fn usual_hour(&self, user_id: &str, at: Timestamp, rules: &RulesConfig) -> Option<bool> {
        let b = &rules.behaviour;
        let user = self.users.get(user_id)?;
        if user.at_work(at) {
            return Some(true);
        }
        let total: u32 = user.hours.iter().sum();
        let hour = (b.timezone.minute_of_day(at) / 60) as usize % 24;
        let learned = total >= (b.learn_min_events / 4).max(20);
        learned.then(|| user.hours[hour] as f32 >= b.usual_share * total as f32)
    }

    /// The per-user counts; [`BehaviourStats::add_cross`] adds the cross-user ones.
    pub fn stats(&self) -> BehaviourStats {
        BehaviourStats { users: self.users.len(), ..self.stats.clone() }
    }

    /// Approximate heap bytes of the state (for the memory figure in the README).
    pub fn heap_bytes(&self) -> usize {
        let users: usize = self
            .users
            .values()
            .map(|u| {
                let printed = u.printed.as_ref().map_or(0, |p| 24 + p.capacity() * 40);
                let sensitive = u.sensitive.as_ref().map_or(0, |_| 48) + printed;
                std::mem::size_of::<(CompactString, UserState)>() + u.accesses.heap_bytes() + sensitive
            })
            .sum();
        users
    }

    /// Runs the per-user detectors over one event whose watch-list findings are in
    /// `out`, appends their findings and learns from the event; returns what the
    /// cross-user detectors need of it ([`Handoff`]).
    pub fn observe<'a>(&mut self, ctx: &Enriched<'a>, rules: &RulesConfig, out: &mut Findings<'a>) -> Handoff {
        let b = &rules.behaviour;
        let e = ctx.event;
        let now = e.ts;
        // Eviction need not be punctual: sweep every eighth of the idle time.
        if now.0 - self.last_sweep.0 >= (b.idle_after.0 / 8).max(HOUR) {
            self.sweep(now, b);
        }
        let explained = ctx.explanation.is_explained();
        let user = self.users.entry(e.user_id.clone()).or_default();
        user.last_seen = user.last_seen.max(now);
        let counted = rules.purpose_subject_types.contains(&e.subject_type);

        // The user's side of the peer comparison: their own decayed counts.
        let mut handoff = Handoff { explained, counted, user_total: 0.0, user_unexplained: 0.0 };
        if counted {
            user.total.add(1.0, now, b.peer_half_life);
            if !explained {
                user.unjustified.add(1.0, now, b.peer_half_life);
            }
            handoff.user_total = user.total.at(now, b.peer_half_life);
            handoff.user_unexplained = user.unjustified.at(now, b.peer_half_life);
        }

        // Export after a sensitive access: judged on the accesses before this one.
        if rules.enabled(RuleId::BehaviourExportAfterSensitive) && matches!(e.action, Action::Print | Action::Export) {
            if let Some((at, event_id, rule, severity)) = user.sensitive.as_deref() {
                let after = Span(now.0 - at.0);
                // Not the access itself (a print that raised its own finding, given
                // again): the same id at the same instant. A print under the id of the
                // look-up before it, as systems that log one transaction id for a
                // search, its view and its print do, is another access (an
                // evaluator's print two minutes after a custody look-up escaped).
                let itself =
                    after.0 == 0 && *event_id == e.event_id && user.sensitive_action.is_none_or(|a| a == e.action);
                if after.0 >= 0 && after <= b.export_window && !itself {
                    let mut f = finding(
                        RuleId::BehaviourExportAfterSensitive,
                        rules,
                        vec![event_id.clone()],
                        Facts::ExportAfterSensitive {
                            after,
                            rule: *rule,
                            severity: *severity,
                            event_id: event_id.clone(),
                            printed_first: None,
                            raised_at: user.sensitive_held_until,
                        },
                    );
                    f.release_at = user.sensitive_held_until.filter(|r| *r > now);
                    out.push(f);
                }
            }
        }
        if matches!(e.action, Action::Print | Action::Export) && rules.enabled(RuleId::BehaviourExportAfterSensitive) {
            let printed = user.printed.get_or_insert_with(Default::default);
            let at = printed.partition_point(|p| p.0 <= now);
            printed.insert(at, (now, e.event_id.clone(), e.action));
            // An access later than the allowed lateness is not judged in order, so a print
            // further back than that and the window from the user's newest event can follow
            // none still to come.
            let horizon = user.last_seen.0 - b.allowed_lateness.0 - b.export_window.0;
            let old = printed.partition_point(|p| p.0 .0 < horizon);
            printed.drain(..old);
            if printed.len() > PRINTS_KEPT {
                printed.drain(..printed.len() - PRINTS_KEPT);
            }
        }

        // Out of hours: an unexplained access outside the shift or the usual hours; or
        // one only the user's own stop code explains, outside them: an evaluator's
        // insider typed STOP on 24 searches at 02:00 off shift, and no rule saw them
        // (nor, without a roster, at an hour the user never works). Not a routine,
        // which the force declares (a bureau's overtime is its routine's business).
        let local_minute = b.timezone.minute_of_day(now);
        let shift = ctx.user.and_then(|s| s.shift);
        let declared_only = ctx.explanation.effective_kind() == Some(crate::explain::Kind::Encounter);
        if (!explained || declared_only) && counted && rules.enabled(RuleId::BehaviourOutOfHours) {
            let outside = match shift {
                Some(range) => !range.contains_minute(local_minute, (b.out_of_hours_grace.0 / MINUTE) as u16),
                None => {
                    let total: u32 = user.hours.iter().sum();
                    let hour = (local_minute / 60) as usize;
                    total >= b.learn_min_events
                        && (user.hours[hour] as f32) < b.usual_share * total as f32
                        && !user.at_work(now)
                }
            };
            if outside {
                let share = shift.is_none().then(|| {
                    let total: u32 = user.hours.iter().sum();
                    (user.hours[(local_minute / 60) as usize] as f32 / total.max(1) as f32, total)
                });
                out.push(finding(
                    RuleId::BehaviourOutOfHours,
                    rules,
                    Vec::new(),
                    Facts::OutOfHours { local_minute, shift, share },
                ));
            }
        }
        user.hours[(local_minute / 60) as usize % 24] += 1;
        user.saw(now);

        // An unexplained access: the hourly baseline learns it, then volume and fishing.
        if !explained {
            let hour = now.0.div_euclid(HOUR);
            if hour != user.hour {
                if user.hour_count > 0 {
                    user.baseline.observe(user.hour_count as f32, 2.0 / (b.baseline_hours as f32 + 1.0));
                }
                user.hour = hour;
                user.hour_count = 0;
            }
            user.hour_count += 1;
            // Fishing counts searches and person accesses, and the people among them.
            let fishing = e.action == Action::Search || !ctx.person.is_empty();
            let found_nothing = e.action == Action::Search && e.result_count == Some(0);
            let person = (e.subject_type == SubjectType::Person && !ctx.person.is_empty())
                .then(|| ctx.with_users_person_key(person_hash));
            let spans = Spans { volume: b.volume_window, fishing: b.fishing_window, cap: WINDOW_CAP };
            user.accesses.push(now, &e.event_id, Access::new(fishing, found_nothing, person), spans);

            // Volume: unexplained accesses in the window against the hourly baseline.
            let count = user.accesses.volume(spans).count();
            if rules.enabled(RuleId::BehaviourVolume) && count as u32 >= b.volume_min_events {
                let mature = user.baseline.samples >= b.min_baseline_hours;
                let z = user.baseline.z(count as f32);
                let fires = if mature { z >= b.volume_z } else { count as u32 >= 2 * b.volume_min_events };
                if fires {
                    let evidence = user.accesses.volume(spans).skip(1).take(99).map(|it| it.str(0).into()).collect();
                    out.push(finding(
                        RuleId::BehaviourVolume,
                        rules,
                        evidence,
                        Facts::Volume {
                            count,
                            window: b.volume_window,
                            usual: user.baseline.mean,
                            z,
                            unlearned_floor: (!mature).then_some(2 * b.volume_min_events),
                        },
                    ));
                }
            }

            // Fishing: zero-result searches and distinct people in a short window.
            if fishing && rules.enabled(RuleId::BehaviourFishing) {
                let zero_hits = user.accesses.fishing(spans).filter(|it| it.meta.found_nothing()).count();
                let mut people: Vec<u64> =
                    user.accesses.fishing(spans).map(|it| it.meta.person()).filter(|p| *p != 0).collect();
                people.sort_unstable();
                people.dedup();
                if zero_hits as u32 >= b.fishing_zero_results || people.len() as u32 >= b.fishing_distinct_people {
                    let evidence = user.accesses.fishing(spans).skip(1).take(99).map(|it| it.str(0).into()).collect();
                    out.push(finding(
                        RuleId::BehaviourFishing,
                        rules,
                        evidence,
                        Facts::Fishing { zero_hits, people: people.len(), window: b.fishing_window },
                    ));
                }
            }
        }

        // Remember a sensitive access for export_after_sensitive: one a red or amber
        // finding is about (not a finding about the user's pattern, such as volume or
        // the peer comparison). A finding held until a watch-list entry added later
        // holds the print's finding as long: a print at 22:36 was said to follow a
        // high-profile alert whose entry was added at 09:00 the next day, raised at
        // 22:36, not retrospective.
        if let Some(f) = out
            .iter()
            .filter(|f| {
                f.severity >= Severity::Amber
                    && f.subject_key != crate::alert::BEHAVIOUR_SUBJECT
                    && f.rule != RuleId::BehaviourSubjectSpike
                    // Nor one the force's allow list covers (the duty inspector's PACE
                    // review, then the printed record: a red, not allowed, at each).
                    && crate::detect::allow::exemption(&rules.settings(f.rule).allow, ctx).is_none()
            })
            .max_by_key(|f| (f.severity, f.release_at.is_none()))
        {
            let (rule, severity) = (f.rule, f.severity);
            let held_until = f.release_at.filter(|r| *r > e.ts);
            // The newest in event time: an access arriving late does not hide a later
            // one from the prints that follow it.
            if user.sensitive.as_ref().is_none_or(|s| s.0 <= now) {
                user.sensitive = Some(Box::new((now, e.event_id.clone(), rule, severity)));
                user.sensitive_held_until = held_until;
                user.sensitive_action = Some(e.action);
            }
            // A print or export after this access that reached the engine before it
            // (logs merged out of order): the same finding, raised now, on this access,
            // with the first such print.
            let first_after = user.printed.as_deref().and_then(|p| {
                p.iter().find(|(at, id, action)| {
                    let itself = *at == now && *id == e.event_id && *action == e.action;
                    at.0 >= now.0 && Span(at.0 - now.0) <= b.export_window && !itself
                })
            });
            if let Some((at, printed, action)) = first_after {
                let after = Span(at.0 - now.0);
                if rules.enabled(RuleId::BehaviourExportAfterSensitive) {
                    let mut f = finding(
                        RuleId::BehaviourExportAfterSensitive,
                        rules,
                        vec![printed.clone()],
                        Facts::ExportAfterSensitive {
                            after,
                            rule,
                            severity,
                            event_id: e.event_id.clone(),
                            printed_first: Some((printed.clone(), *action)),
                            raised_at: held_until,
                        },
                    );
                    f.release_at = held_until;
                    out.push(f);
                }
            }
        }

        handoff
    }

    /// Keeps the sweep clock from standing beyond `limit` (restored from a snapshot
    /// taken after an event from the future): a sweep clock ahead of time never sweeps.
    pub fn clamp_clock(&mut self, limit: Timestamp) {
        if self.last_sweep > limit {
            self.last_sweep = Timestamp::default();
        }
    }

    /// Forgets users idle for longer than `idle_after`, and from the others' windows
    /// the accesses no later access can count: those older than `now` (an access on
    /// time) by a window and the allowed lateness. A user who went quiet keeps a few
    /// hundred bytes until evicted, not their busiest hour's accesses.
    fn sweep(&mut self, now: Timestamp, b: &crate::config::BehaviourSettings) {
        self.last_sweep = now;
        let before = self.users.len();
        self.users.retain(|_, u| now.0 - u.last_seen.0 < b.idle_after.0);
        self.stats.evicted_users += (before - self.users.len()) as u64;
        // Safe while the stream's front only moves forward and the lateness and windows
        // stay as they are: a snapshot whose front is clamped back (written by a clock
        // ahead of time), or a reload that widens them, can let a later access reach
        // an access forgotten here; volume and fishing then count fewer, not more.
        let before = Timestamp(now.0 - b.allowed_lateness.0 - b.volume_window.0.max(b.fishing_window.0));
        for u in self.users.values_mut() {
            u.accesses.forget_up_to(before);
        }
    }
}

/// " when its watch-list entry was added, on 2026-11-18 09:00 UTC" for a sensitive
/// access whose alert was held until then.
fn raised_later(at: Option<Timestamp>) -> String {
    at.map(|t| format!(" when its watch-list entry was added, on {}", t.human())).unwrap_or_default()
}

pub(crate) fn finding<'a>(
    rule: RuleId,
    rules: &RulesConfig,
    evidence: Vec<CompactString>,
    facts: Facts,
) -> Finding<'a> {
    let severity = rules.settings(rule).severity;
    Finding {
        rule,
        severity,
        score: crate::detect::score(severity, None),
        // Per user: one alert per rule per user per suppression window.
        subject_key: CompactString::const_new(crate::alert::BEHAVIOUR_SUBJECT),
        watchlist: None,
        release_at: None,
        evidence,
        explanation: Box::new(facts),
    }
}

fn person_hash(key: &str) -> u64 {
    stable_hash(1, key)
}

pub(crate) use crate::hash::stable as stable_hash;

impl Explain for Facts {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }

    fn other_users(&self) -> &[CompactString] {
        match self {
            Facts::SubjectSpike { others, .. } => others,
            _ => &[],
        }
    }

    fn follows_an_operation(&self) -> bool {
        matches!(self, Facts::ExportAfterSensitive { rule: RuleId::OpsecOutsider, .. })
    }
}

/// How a sentence names another access of the alert: by its event id, or, when its
/// system logged it under the id of the access the sentence is about (one transaction
/// id for a look-up and its print), as that.
fn event_named(event_id: &str, ctx: &Enriched) -> String {
    if event_id == ctx.event.event_id {
        format!("logged under the same event id, {event_id}")
    } else {
        format!("event {event_id}")
    }
}

/// The sentence of a behavioural finding.
fn sentence(f: &Facts, ctx: &Enriched) -> String {
    let who = ctx.who();
    let what = ctx.what();
    match f {
        Facts::Volume { count, window, usual, z, unlearned_floor: None } => format!(
            "{who} made {count} accesses with no purpose on record in {}, against a usual {usual:.1} an hour when working ({z:.1} standard deviations above); the latest: {what}.",
            window.human()
        ),
        // An evaluator's operator back from three weeks' leave read "a usual 0.0 an
        // hour ... 60.0 standard deviations above": no rate was known, not a rate of 0.
        Facts::Volume { count, window, unlearned_floor: Some(floor), .. } => format!(
            "{who} made {count} accesses with no purpose on record in {}, with no usual rate learned for them yet (a new user, or one back after two weeks or more away), when {floor} or more raise an alert; the latest: {what}.",
            window.human()
        ),
        Facts::OutOfHours { local_minute, shift, share } => {
            let at = format!("{:02}:{:02}", local_minute / 60, local_minute % 60);
            let when = match (shift, share) {
                (Some(s), _) => format!("outside their rostered shift {s}"),
                (None, Some((share, total))) => format!(
                    "an hour in which they made {:.1}% of their {total} recent accesses",
                    share * 100.0
                ),
                (None, None) => "outside their usual hours".to_string(),
            };
            format!("{who} {what} at {at} local time, {when}, and {}.", ctx.why_not())
        }
        Facts::Fishing { zero_hits, people, window } => {
            let found = match zero_hits {
                // People searched for or viewed: a search that found nothing showed no record.
                0 => format!("searched for or viewed {people} different people"),
                _ => format!(
                    "made {zero_hits} searches that found nothing, and searched for or viewed {people} different people"
                ),
            };
            format!("{who} {found} in {} with no purpose on record; the latest: {what}.", window.human())
        }
        Facts::ExportAfterSensitive { after, rule, severity, event_id, printed_first: None, raised_at } => format!(
            "{who} {what} {} after an access ({}) that raised {} {} {rule} alert{}.",
            after.human(),
            event_named(event_id, ctx),
            if *severity == Severity::Amber { "an" } else { "a" },
            severity.as_str(),
            raised_later(*raised_at),
        ),
        Facts::ExportAfterSensitive { after, rule, severity, printed_first: Some((printed, action)), raised_at, .. } => {
            format!(
                "{who} {} ({}) {} after they {what}, which raised {} {} {rule} alert{} (the {} reached the engine first).",
                action.verb(),
                event_named(printed, ctx),
                after.human(),
                if *severity == Severity::Amber { "an" } else { "a" },
                severity.as_str(),
                raised_later(*raised_at),
                action.as_str(),
            )
        }
        Facts::SubjectSpike { users, window, usual_per_day, others, victim_of } => {
            let named: Vec<&str> = others.iter().take(5).map(|u| u.as_str()).collect();
            let more = others.len().saturating_sub(named.len());
            let why = match victim_of {
                Some(i) => format!("the person is a victim in vulnerable incident {i}; their details may be being passed round"),
                None => "possibly an emerging high-profile case; consider adding the person to the high-profile list".into(),
            };
            format!(
                "{users} different users looked up {} within {}, none with a purpose on record that links them to it (usually {usual_per_day:.1} a day), the latest {who} on {} (also {}{}): {why}.",
                ctx.event.subject_description(),
                window.human(),
                ctx.event.system,
                named.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            )
        }
        Facts::Targeting { verdict: v, bands, window, unit } => {
            let (sex, low, high) = v.cell.describe(bands);
            let ages = match high {
                Some(h) => format!("aged {low}-{h}"),
                None => format!("aged {low} and over"),
            };
            format!(
                "{who}: {} of {} unexplained person look-ups in {} were of {} {ages}; the unit's share is {:.0}% ({} of the other {} person look-ups by {unit}), and so many at that share by chance has a probability of {:.1e}. The latest: {what}.",
                v.k,
                v.n,
                window.human(),
                sex.plural(),
                100.0 * v.unit_k as f64 / v.unit_n.max(1) as f64,
                v.unit_k,
                v.unit_n,
                v.p_value
            )
        }
        Facts::PeerPurpose { share, accesses, peer_share, unit } => format!(
            "{who} {what} and {}, so no policing purpose is on record; {:.0}% of their {accesses} recent person, vehicle and address accesses had none (no reference that justifies them, no custody record, case or operation team, encounter or routine), against {:.0}% for the rest of {unit}.",
            ctx.why_not(),
            share * 100.0,
            peer_share * 100.0
        ),
    }
}

#[cfg(test)]
mod tests;
