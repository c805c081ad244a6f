//! Explain: whether an access had a policing purpose on record, and which one.
//!
//! Most accesses are ordinary work, and most of that work is on record somewhere: an
//! incident the user is attached to, a custody record of their suite, the case team of
//! a high-profile arrest, an operation's team. Explaining every access from that record
//! (the approach of explanation-based auditing of health records) leaves the
//! unexplained few for the rules and detectors, instead of raising an alert for every
//! access without a reference.
//!
//! | kind | explained by | class |
//! |---|---|---|
//! | `reference` | its reference justifies it (spec/rules.md "justified") | documented |
//! | `custody` | the person's custody record names the user, or the user works at its suite and is on shift | documented |
//! | `case_team` | the user is on the case team of the person's high-profile entry | documented |
//! | `operation` | the user is on the team of a live operation the subject belongs to | documented |
//! | `victim` | the subject is a victim the incidents list names, and the user is attached to that incident (its officers or unit), in its window | documented |
//! | `earlier` | the same user accessed the same subject with an explanation within `explanation.continuation` | as the earlier one |
//! | `encounter` | a search with a result giving a configured encounter code (a stop, an ANPR hit) | declared |
//! | `routine` | one of the force's `[[explanation.routines]]` | declared |
//!
//! A documented explanation silences the rules that ask for justification (custody,
//! associate, colleague, neighbour); a declared one is the user's own word, so it only
//! keeps the access out of the behavioural counts and explains a look-up of someone
//! released from custody. A watch-list row explains an access only when it was
//! recorded no later than `explanation.late_grace` after it (bitemporal: valid time on
//! the row, record time beside it).
//!
//! The stateless part ([`explain`]) runs in [`crate::enrich`]; the `earlier` kind needs
//! memory of each user's recent explained accesses, kept by the engine in
//! [`Continuations`] (snapshotted with the behavioural state).

mod staff;
mod subject;
mod victim;

use crate::config::explain::reason_code_key;
use crate::config::{ExplanationConfig, Routine};
pub use crate::event::explained::{documented, Kind, Recorded};
use crate::event::{AccessEvent, Action, SubjectType};
use crate::hash::stable_parts;
use crate::time::{Span, Timestamp, HOUR};
use crate::watchlist::{
    CustodyRecord, HighProfileEntry, Incident, Matches, OperationSubject, PersonIdentity, RowId, StaffMember,
    WatchLists,
};
use crate::window::Window;
use ahash::AHashMap;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
#[cfg(test)]
use staff::custody_unit_of;
pub use victim::{victim_links, VictimLink};

/// The explanation of one access.
#[derive(Clone, Debug, PartialEq)]
pub enum Explanation<'a> {
    /// Its reference justifies it.
    Reference(&'a Incident),
    /// The person's custody record names the user (`by_suite` false) or the user works
    /// at its suite, on shift (`force_wide`: in a custody unit of no one suite, which
    /// explains the custody but not the person: the high-profile and opsec rules still
    /// ask). `custody_work`: the suite's staff at the custody record itself (on any
    /// system, from the arrest until `custody_staff_after` past release), or looking at
    /// the detainee while held on a custody work system (`custody_work_systems`), not
    /// printing or exporting; anything else they do about the person (an intelligence
    /// search, a PND export, a look the day after release) explains the custody only,
    /// and the high-profile and opsec rules ask. Always true when the record names the
    /// user.
    Custody {
        record: &'a CustodyRecord,
        by_suite: bool,
        force_wide: bool,
        custody_work: bool,
    },
    /// The user is on the case team of the person's high-profile entry.
    CaseTeam(&'a HighProfileEntry),
    /// The user is on the team of a live operation the subject belongs to.
    Operation(&'a OperationSubject),
    /// The subject is a victim of an incident the user is attached to, in its window.
    Victim(&'a Incident),
    /// An earlier explained access by the same user to the same subject.
    Earlier {
        event_id: CompactString,
        ts: Timestamp,
        of: Kind,
        detail: CompactString,
    },
    /// A search with a result under a documented encounter code (as given).
    Encounter(CompactString),
    /// A routine of the force's configuration, by name.
    Routine(CompactString),
    Unexplained,
}

impl Explanation<'_> {
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Explanation::Reference(_) => Kind::Reference,
            Explanation::Custody { .. } => Kind::Custody,
            Explanation::CaseTeam(_) => Kind::CaseTeam,
            Explanation::Operation(_) => Kind::Operation,
            Explanation::Victim(_) => Kind::Victim,
            Explanation::Earlier { .. } => Kind::Earlier,
            Explanation::Encounter(_) => Kind::Encounter,
            Explanation::Routine(_) => Kind::Routine,
            Explanation::Unexplained => return None,
        })
    }

    pub fn is_explained(&self) -> bool {
        !matches!(self, Explanation::Unexplained)
    }

    /// Documented: on record by someone other than the user (a reference that
    /// justifies, a custody record, a case team, an operation's team, or an earlier
    /// access explained by one of those).
    pub fn is_documented(&self) -> bool {
        self.effective_kind().is_some_and(documented)
    }

    /// Whether it is about this very subject (a custody record, case team or operation
    /// team that names the person, vehicle or address), not only about the user's work:
    /// such an explanation answers the watch-list rules that a reference does not
    /// (high-profile, opsec).
    pub fn is_about_subject(&self) -> bool {
        !matches!(
            self,
            Explanation::Custody { force_wide: true, .. } | Explanation::Custody { custody_work: false, .. }
        ) && matches!(self.effective_kind(), Some(Kind::Custody | Kind::CaseTeam | Kind::Operation))
    }

    /// The kind, with `earlier` replaced by the kind of what it continues.
    pub fn effective_kind(&self) -> Option<Kind> {
        match self {
            Explanation::Earlier { of, .. } => Some(*of),
            other => other.kind(),
        }
    }

    /// The explanation as it is kept with the event.
    pub fn recorded(&self) -> Option<Recorded> {
        let (kind, of, detail) = match self {
            Explanation::Reference(i) => (Kind::Reference, None, i.reference.clone()),
            Explanation::Custody { record, .. } => (Kind::Custody, None, record.custody_ref.clone()),
            Explanation::CaseTeam(e) => (Kind::CaseTeam, None, e.entry_id.clone()),
            Explanation::Operation(o) => (Kind::Operation, None, o.operation.clone()),
            Explanation::Victim(i) => (Kind::Victim, None, i.reference.clone()),
            Explanation::Earlier { event_id, of, .. } => (Kind::Earlier, Some(*of), event_id.clone()),
            Explanation::Encounter(code) => (Kind::Encounter, None, code.clone()),
            Explanation::Routine(name) => (Kind::Routine, None, name.clone()),
            Explanation::Unexplained => return None,
        };
        Some(Recorded { kind, of, detail })
    }

    /// The explanation in words, to end a sentence: "explained by custody record
    /// CUS-1, which names them".
    pub fn phrase(&self) -> String {
        match self {
            Explanation::Reference(i) => {
                format!("explained by reference {}, an incident they are linked to", i.reference)
            }
            Explanation::Custody { record, by_suite: false, .. } => {
                format!("explained by custody record {}, which names them", record.custody_ref)
            }
            Explanation::Custody { record, by_suite: true, force_wide: true, .. } => format!(
                "explained by custody record {}: they work in the force's custody ({}) and were on shift",
                record.custody_ref,
                record.suite.as_deref().unwrap_or("-")
            ),
            Explanation::Custody { record, by_suite: true, force_wide: false, .. } => format!(
                "explained by custody record {}: they work at its suite ({}) and were on shift",
                record.custody_ref,
                record.suite.as_deref().unwrap_or("-")
            ),
            Explanation::CaseTeam(e) => {
                format!("explained by high-profile entry {}, whose case team names them", e.entry_id)
            }
            Explanation::Operation(o) => format!("explained by operation {}, whose team names them", o.operation),
            Explanation::Victim(i) => {
                format!(
                    "explained by incident {}, which lists the person as a victim and which they are attached to",
                    i.reference
                )
            }
            Explanation::Earlier { event_id, ts, of, detail } => format!(
                "explained by their earlier access {event_id} at {} ({} {detail})",
                ts.human(),
                of.as_str().replace('_', " ")
            ),
            Explanation::Encounter(code) => {
                format!("declared as an encounter (reason code {code}) and the search found a record")
            }
            Explanation::Routine(name) => format!("explained by the force's routine \"{name}\""),
            Explanation::Unexplained => "unexplained".into(),
        }
    }
}

/// What the watch lists matched for one subject, found once per event and shared by
/// the explanation step and the rules.
#[derive(Debug, Default)]
pub struct SubjectMatches {
    pub custody: Matches,
    pub high_profile: Matches,
    pub operations: Matches,
    /// Victim rows (`WatchLists::victims`) of a person subject.
    pub victims: Matches,
    /// Operation rows whose operation's name the access's reference holds as a word
    /// (live or not: [`SubjectMatches::named_in`]). Found once an access: the
    /// need-to-know mark and the opsec rule both read it.
    pub named_operations: SmallVec<[RowId; 2]>,
}

impl SubjectMatches {
    pub fn find(lists: &WatchLists, person: &PersonIdentity, vrm: Option<&str>, address: Option<&str>) -> Self {
        let mut m = SubjectMatches::default();
        let keys = person.keys();
        if !person.is_empty() {
            lists.custody_matches(person, &keys, &mut m.custody);
            lists.high_profile_matches(person, &keys, &mut m.high_profile);
            lists.victim_matches(person, &keys, &mut m.victims);
        }
        if !lists.operations.is_empty() {
            lists.operation_matches(person, &keys, vrm, address, &mut m.operations);
        }
        m
    }

    /// With the operation rows `reference` names ([`WatchLists::operation_rows_named_in`]).
    pub fn named_in(mut self, lists: &WatchLists, reference: Option<&str>) -> Self {
        if let Some(r) = reference.filter(|r| !r.trim().is_empty() && !lists.operations.is_empty()) {
            self.named_operations = lists.operation_rows_named_in(r).collect();
        }
        self
    }
}

/// Whether an access touched a live covert operation: its subject is a subject of an
/// operation live at the time (whoever the user is, the team included), or its
/// reference names one. Everything raised on such an access is the operation's
/// business: need-to-know on the dashboard follows this, not the opsec rule. The
/// reference is hidden whoever typed it (it names the operation); an officer not on
/// the operation's team who names it raises `opsec.outsider` (`crate::detect::opsec`),
/// so that hiding their look-ups from uncleared reviewers this way puts them in front
/// of the cleared ones.
pub fn touches_operation(lists: &WatchLists, ts: Timestamp, matches: &SubjectMatches) -> bool {
    let subjects = matches.operations.iter().map(|&(id, _)| id);
    subjects
        .chain(matches.named_operations.iter().copied())
        .any(|id| lists.operations.get(id).is_some_and(|o| o.is_live_at(ts)))
}

/// Whether an earlier access's explanation (`Explanation::Earlier`) still holds for an
/// access at `now`: not if the person has been arrested in between (a custody record
/// of them, matched surely, began after it), which the earlier purpose knew nothing
/// of. An arrest after `now` (a replay's lists hold the future) or of a namesake
/// matched by name alone changes nothing.
pub fn continues(earlier: &Explanation, now: Timestamp, matches: &SubjectMatches, lists: &WatchLists) -> bool {
    let Explanation::Earlier { ts, .. } = earlier else { return true };
    !matches
        .custody
        .iter()
        .filter(|(_, strength)| !strength.is_weak())
        .any(|&(id, _)| lists.custody.get(id).is_some_and(|r| r.arrested_at > *ts && r.arrested_at <= now))
}

/// The parts of one access the explanation step reads.
pub struct Access<'e, 'a> {
    pub event: &'e AccessEvent,
    pub user: Option<&'a StaffMember>,
    pub matches: &'e SubjectMatches,
    /// The incident its reference names and links the user to, in its window.
    pub justified_by: Option<&'a Incident>,
    /// The vulnerable incidents that list the person as a victim ([`victim_links`]).
    pub victims: &'e [VictimLink<'a>],
}

/// Whether a row recorded at `recorded_at` counts for an access at `ts`.
pub fn known_in_time(recorded_at: Option<Timestamp>, ts: Timestamp, config: &ExplanationConfig) -> bool {
    recorded_at.is_none_or(|r| r <= ts + config.late_grace)
}

/// The stateless explanation of one access, strongest first (see the module table).
pub fn explain<'a>(a: &Access<'_, 'a>, lists: &'a WatchLists, config: &ExplanationConfig) -> Explanation<'a> {
    // A part in the subject's own record (named on the custody record, the case team,
    // the operation's team) answers what a reference does not: the high-profile, opsec
    // and victim rules ask for it. So it comes first, and an officer who gives her own
    // incident number when she looks at her own detainee is not judged as one who only
    // had an incident (an evaluator: the justified view was red, the same view without
    // the reference silent).
    let subject = subject::subject_explanation(a, lists, config);
    match (subject, a.justified_by) {
        (Some(x), _) if x.is_about_subject() => return x,
        (_, Some(incident)) => return Explanation::Reference(incident),
        (Some(x), None) => return x,
        (None, None) => {}
    }
    // A victim's own investigators: named on, or of the unit owning, a vulnerable
    // incident that lists the person (matched surely, not by name alone), in its window.
    if let Some(link) = a.victims.iter().find(|l| l.attached && l.in_window && !l.strength.is_weak()) {
        return Explanation::Victim(link.incident);
    }
    let e = a.event;
    if let Some(r) = config.routines.iter().find(|r| routine_covers(r, a.user, e)) {
        return Explanation::Routine(r.name.clone());
    }
    if let Some(code) = e.reason_code.as_deref() {
        let found_something = e.result_count != Some(0);
        if e.action == Action::Search && found_something && config.encounter_codes.contains(&reason_code_key(code)) {
            return Explanation::Encounter(code.into());
        }
    }
    Explanation::Unexplained
}

/// Whether the user is attached to the incident: named among its officers, or a
/// member of its owning unit (spec/rules.md "justified").
pub fn attached(incident: &Incident, user: Option<&StaffMember>, user_id: &str) -> bool {
    let same_unit = match (user.and_then(|u| u.unit.as_deref()), incident.unit.as_deref()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    same_unit || incident.officers.contains(user_id)
}

/// Whether `ts` falls in the incident's window: from its opening minus
/// `before_open` to its closing plus `after_close`.
pub fn in_window(incident: &Incident, ts: Timestamp, config: &ExplanationConfig) -> bool {
    let opens = incident.opened_at - config.before_open;
    let closes = incident.closed_at.map(|c| c + config.after_close);
    ts >= opens && closes.is_none_or(|c| ts <= c)
}

fn routine_covers(r: &Routine, user: Option<&StaffMember>, e: &AccessEvent) -> bool {
    let unit = user.and_then(|u| u.unit.as_deref()).unwrap_or_default();
    let role = user.and_then(|u| u.role.as_deref()).unwrap_or_default();
    let any =
        |list: &[CompactString], value: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(value));
    any(&r.users, &e.user_id)
        && any(&r.units, unit)
        && any(&r.roles, role)
        && (r.systems.is_empty() || r.systems.iter().any(|s| s.eq_ignore_ascii_case(&e.system)))
        && (r.actions.is_empty() || r.actions.contains(&e.action))
        && (r.subject_types.is_empty() || r.subject_types.contains(&e.subject_type))
        && (r.reason_codes.is_empty()
            || e.reason_code.as_deref().is_some_and(|c| r.reason_codes.contains(&reason_code_key(c))))
}

/// The identity keys of an access's subject that an earlier access must share to
/// explain it: the record id, the surname with the first initial and date of birth,
/// the VRM, an address's postcode. A search for `ADAMS/J` born 1960-03-10 under the
/// user's own incident explains the view of the record it found (`ADAMS, John`, born
/// that day): by the full name the two differed, and the view was a red custody alert
/// (an evaluator's force: the usual PNC search, then the record). A name without
/// date of birth names no one surely enough.
pub fn subject_keys(
    e: &AccessEvent,
    person: &PersonIdentity,
    vrm: Option<&str>,
    address: Option<&str>,
) -> SmallVec<[u64; 4]> {
    const SEED: u64 = 0x7_11_13_17;
    let mut keys = SmallVec::new();
    if let Some(id) = &e.subject_id {
        keys.push(stable_parts(SEED, 0, &[e.subject_type.as_str().as_bytes(), id.as_bytes()]) | ID_KEY);
    }
    if let (Some(n), Some(dob)) = (&person.name, person.dob) {
        if let Some(initial) = n.forenames.chars().next() {
            let mut buf = [0u8; 4];
            let initial = initial.encode_utf8(&mut buf).as_bytes();
            keys.push(other_key(stable_parts(SEED, 4, &[n.surname.as_bytes(), initial, &dob.0.to_le_bytes()])));
        }
    }
    if e.subject_type != SubjectType::Address || address.is_none() {
        if let Some(v) = vrm {
            keys.push(other_key(stable_parts(SEED, 2, &[v.as_bytes()])));
        }
    }
    if let Some(p) = address {
        keys.push(other_key(stable_parts(SEED, 3, &[p.as_bytes()])));
    }
    keys
}

/// The low bits of a subject key: never 0; both set for a record id's key, so that
/// two accesses of different record ids are never one subject by another key (twins
/// of one name, initial and date of birth: a review saw an officer's view of one,
/// under his incident, explain his look-up of the other, in custody).
const ID_KEY: u64 = 3;

fn other_key(hash: u64) -> u64 {
    (hash | 1) & !2
}

/// Whether an earlier access's keys (`said`, 0 unused) name the subject of `keys`:
/// they share a key, and not two different record ids.
fn same_subject(said: &[u64], keys: &[u64]) -> bool {
    let id = |k: &&u64| **k & ID_KEY == ID_KEY;
    let other_ids = match keys.iter().find(id) {
        Some(mine) => said.iter().filter(id).any(|k| k != mine) && !said.contains(mine),
        None => false,
    };
    !other_ids && said.iter().any(|k| *k != 0 && keys.contains(k))
}

/// Most explained accesses remembered per user; the oldest go first.
const REMEMBERED_PER_USER: usize = 64;

/// What is kept of an explained access besides its time, event id and detail.
#[derive(Clone, Copy, Debug)]
struct Said {
    /// Subject key hashes (never 0); 0 fills the unused places.
    keys: [u64; 4],
    kind: Kind,
}

/// One user's explained accesses, in time order (events arrive nearly so): per entry
/// its keys and kind, and its event id and detail packed in the window's buffer
/// (56 bytes and the ids' own, where a struct of two strings took 96 and doubled).
#[derive(Debug, Default)]
struct Seen(Window<Said, 2>);

/// An explained access as a snapshot holds it (the layout before the window packed
/// them, so that snapshots of either read alike).
#[derive(Serialize, Deserialize)]
struct Remembered<S> {
    keys: [u64; 4],
    ts: Timestamp,
    event_id: S,
    kind: Kind,
    detail: S,
}

impl Serialize for Seen {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|it| Remembered {
            keys: it.meta.keys,
            ts: it.ts,
            event_id: it.str(0),
            kind: it.meta.kind,
            detail: it.str(1),
        }))
    }
}

impl<'de> Deserialize<'de> for Seen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let all: Vec<Remembered<CompactString>> = Deserialize::deserialize(deserializer)?;
        let mut seen = Seen::default();
        for r in all.iter().skip(all.len().saturating_sub(REMEMBERED_PER_USER)) {
            seen.0.insert(r.ts, Said { keys: r.keys, kind: r.kind }, [&r.event_id, &r.detail]);
        }
        Ok(seen)
    }
}

/// A user's access to a victim that `victim.contact` judged. Written as an object; a
/// snapshot of the version before holds `[key, ts, event_id]`, read with no purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VictimSeen {
    /// The victim's row, hashed ([`VictimLink::key`]).
    pub key: u64,
    pub ts: Timestamp,
    pub event_id: CompactString,
    /// Whether a purpose was on record for it (for other work: it was judged).
    #[serde(default)]
    pub purpose: bool,
}

/// Each user's recent explained accesses, for the `earlier` kind: bounded per user and
/// forgotten after `explanation.continuation`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Continuations {
    users: AHashMap<CompactString, Seen>,
    last_sweep: Timestamp,
    /// Per user, their latest `victim.contact` accesses, so that a second one is seen
    /// as a repeat.
    #[serde(default)]
    victims: AHashMap<CompactString, std::collections::VecDeque<VictimSeen>>,
    /// `repeat_within`, in milliseconds, for the sweep.
    #[serde(default)]
    victim_window_ms: i64,
}

/// Most `victim.contact` accesses remembered per user.
const VICTIMS_PER_USER: usize = 64;

/// How long after an access to a victim a second one counts as a repeat (not the view
/// that follows the search).
pub const REPEAT_AFTER: Span = Span(HOUR);

impl Continuations {
    /// The earlier explained access of `user` to a subject with one of `keys`, within
    /// `window` before `ts`: the documented one if any, else the latest.
    pub fn find<'a>(&self, user: &str, keys: &[u64], ts: Timestamp, window: Span) -> Option<Explanation<'a>> {
        if keys.is_empty() {
            return None;
        }
        let seen = self.users.get(user)?;
        let candidates = seen
            .0
            .metas()
            .rev()
            .filter(|(_, at, said)| *at <= ts && ts - *at <= window && same_subject(&said.keys, keys));
        let (i, _, _) = candidates.max_by_key(|(_, at, said)| (documented(said.kind), *at))?;
        let best = seen.0.get(i)?;
        Some(Explanation::Earlier {
            event_id: best.str(0).into(),
            ts: best.ts,
            of: best.meta.kind,
            detail: best.str(1).into(),
        })
    }

    /// Remembers an explained access for `window` after it and, for an access up to
    /// `lateness` behind the newest, that much longer. An `earlier` one passes on what
    /// it continues, at that access's own time: its keys join the documented access's
    /// (a view by record id continues a search by name), but the window is not renewed,
    /// so a look-up every few hours does not stay explained for ever by one reference.
    pub fn remember(
        &mut self,
        user: &str,
        keys: SmallVec<[u64; 4]>,
        e: &AccessEvent,
        explanation: &Explanation,
        window: Span,
        lateness: Span,
    ) {
        if keys.is_empty() {
            return;
        }
        let (kind, detail, at, event_id) = match explanation {
            // Custody staff are explained by being on shift at the suite: each later
            // access is asked again (an on-shift view carried a print at 03:30, off
            // shift, past every rule a probe's evaluator labelled it for).
            Explanation::Unexplained | Explanation::Custody { by_suite: true, .. } => return,
            Explanation::Earlier { of, detail, ts, event_id } => (*of, detail.clone(), *ts, event_id.as_ref()),
            other => match other.recorded() {
                Some(r) => (r.kind, r.detail, e.ts, e.event_id.as_str()),
                None => return,
            },
        };
        if e.ts - self.last_sweep >= window.max(Span(HOUR)) {
            self.sweep(e.ts, window, lateness);
        }
        let seen = match self.users.get_mut(user) {
            Some(seen) => seen,
            None => self.users.entry(user.into()).or_default(),
        };
        // A redelivered event (after a restart) is already here, at its own time; a
        // continuation that names the subject by no new key adds nothing.
        let known =
            |r: &crate::window::Item<'_, Said>| r.str(0) == event_id && keys.iter().all(|k| r.meta.keys.contains(k));
        if seen.0.iter().rev().take_while(|r| r.ts >= at).any(|r| r.ts == at && known(&r)) {
            return;
        }
        if seen.0.len() >= REMEMBERED_PER_USER {
            seen.0.pop_front();
        }
        let mut fixed = [0u64; 4];
        for (slot, k) in fixed.iter_mut().zip(keys) {
            *slot = k;
        }
        seen.0.insert(at, Said { keys: fixed, kind }, [event_id, &detail]);
    }

    /// The user's earlier `victim.contact` access to the victim with this key, at least
    /// [`REPEAT_AFTER`] and at most `within` before `ts` (the earliest such).
    pub fn victim_before(&self, user: &str, keys: &[u64], ts: Timestamp, within: Span) -> Option<VictimSeen> {
        let seen = self.victims.get(user)?;
        let mut earlier =
            seen.iter().filter(|v| keys.contains(&v.key) && ts - v.ts >= REPEAT_AFTER && ts - v.ts <= within);
        // The earliest without a purpose on record, else the earliest.
        let first = earlier.next()?;
        Some(if first.purpose { earlier.find(|v| !v.purpose).unwrap_or(first) } else { first }.clone())
    }

    /// Remembers a `victim.contact` access, for `within` (and `lateness`, as
    /// [`Continuations::remember`]).
    pub fn remember_victim(
        &mut self,
        user: &str,
        key: u64,
        e: &AccessEvent,
        purpose: bool,
        within: Span,
        lateness: Span,
    ) {
        self.victim_window_ms = within.0;
        let seen = self.victims.entry(user.into()).or_default();
        if seen.iter().any(|v| v.key == key && v.event_id == e.event_id) {
            return;
        }
        seen.retain(|v| e.ts - v.ts <= Span(within.0 + lateness.0));
        if seen.len() >= VICTIMS_PER_USER {
            seen.pop_front();
        }
        seen.push_back(VictimSeen { key, ts: e.ts, event_id: e.event_id.clone(), purpose });
    }

    /// Forgets what no access on time can still be explained by: an access up to
    /// `lateness` behind `now` looks back a whole window from its own time.
    fn sweep(&mut self, now: Timestamp, window: Span, lateness: Span) {
        let victim_window = Span(self.victim_window_ms + lateness.0);
        let window = Span(window.0 + lateness.0);
        self.victims.retain(|_, seen| {
            seen.retain(|v| now - v.ts <= victim_window);
            !seen.is_empty()
        });
        self.last_sweep = now;
        self.users.retain(|_, seen| {
            seen.0.retain(|r, _| now - r.ts <= window);
            !seen.0.is_empty()
        });
    }

    /// Users with remembered accesses.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Keeps the sweep clock from standing in the future (see `Behaviour::clamp_clock`).
    pub fn clamp_clock(&mut self, limit: Timestamp) {
        if self.last_sweep > limit {
            self.last_sweep = Timestamp::default();
        }
    }
}

#[cfg(test)]
mod tests;
