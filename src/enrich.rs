//! Enrich: what the watch lists say about one event before any rule looks at it.
//!
//! The user's staff record, the subject's normalised identity (person, VRM,
//! postcode), the watch-list rows the subject matches, the "justified" test of
//! spec/rules.md (the event's `reference` is a known incident whose officers include
//! the user, or whose unit is the user's unit, and the access falls between its
//! opening minus a margin and its closing plus one), and the access's explanation
//! ([`crate::explain`]).

use crate::config::ExplanationConfig;
use crate::event::{normalise, AccessEvent, SubjectType};
use crate::explain::{explain, known_in_time, victim_links, Access, Explanation, SubjectMatches, VictimLink};
use crate::watchlist::{CustodyRecord, Incident, MatchStrength, PersonIdentity, RowId, StaffMember, WatchLists};
use compact_str::CompactString;

/// Whether, and why not, an access had a policing purpose on record.
#[derive(Clone, Debug, PartialEq)]
pub enum Justification<'a> {
    /// The reference is an incident the user is linked to, and the access is in its window.
    Justified(&'a Incident),
    /// No reference was given.
    NoReference,
    /// The reference is not a known incident.
    UnknownReference(&'a str),
    /// The incident exists but neither names the user nor belongs to their unit.
    NotLinked(&'a Incident),
    /// The user is linked, but the access is outside the incident's window: before
    /// it opened (`true`), or after it closed.
    OutsideWindow(&'a Incident, bool),
    /// The incident was recorded too long after the access to justify it (more than
    /// `explanation.late_grace`).
    RecordedLate(&'a Incident),
}

impl Justification<'_> {
    pub fn is_justified(&self) -> bool {
        matches!(self, Justification::Justified(_))
    }

    /// Why the access is not justified, as the end of an alert sentence:
    /// "gave no reference", "gave reference INC-9, which is not a known incident", ...
    pub fn why_not(&self) -> String {
        match self {
            Justification::Justified(i) => format!("gave reference {}, which justifies it", i.reference),
            Justification::NoReference => "gave no reference".into(),
            Justification::UnknownReference(r) => {
                format!("gave reference {}, which is not a known incident", crate::event::raw::as_typed_id(r))
            }
            Justification::NotLinked(i) => {
                let kind = i.kind.as_deref().map(|k| format!(" ({k})")).unwrap_or_default();
                let unit = i.unit.as_deref().map(|u| format!(" owned by {u}")).unwrap_or_default();
                format!("gave reference {}{kind}, an incident{unit} they are not attached to", i.reference)
            }
            Justification::RecordedLate(i) => format!(
                "gave reference {}, an incident recorded only on {}",
                i.reference,
                i.recorded_at.map(|t| t.human()).unwrap_or_default()
            ),
            // Said by the side of the window the access fell on (an access before an
            // incident that has since closed was said to come after its close).
            Justification::OutsideWindow(i, before) => match (before, i.closed_at) {
                (false, Some(c)) => {
                    format!("gave reference {}, an incident closed on {}, outside its window", i.reference, c.human())
                }
                _ => format!(
                    "gave reference {}, an incident opened on {}, before it began",
                    i.reference,
                    i.opened_at.human()
                ),
            },
        }
    }
}

/// The bytes of [`Enriched::person_key`] for a person named with a forename and a date
/// of birth (`person~SURNAME|I|YYYY-MM-DD`), else `None`; also what a spike alert read
/// back after a restart is keyed by ([`crate::behaviour::CrossUser::seed`]).
pub fn named_person_key(
    subject_type: SubjectType,
    name: Option<&normalise::PersonName>,
    dob: Option<crate::time::Date>,
) -> Option<smallvec::SmallVec<[u8; 64]>> {
    let mut key = named_person(subject_type, name)?;
    key.push(b'|');
    key.extend_from_slice(&dob?.iso()?);
    Some(key)
}

/// `person~SURNAME|I`: a person named with a forename, whatever the date of birth.
fn named_person(
    subject_type: SubjectType,
    name: Option<&normalise::PersonName>,
) -> Option<smallvec::SmallVec<[u8; 64]>> {
    let n = name?;
    let initial = n.forenames.chars().next()?;
    if subject_type != SubjectType::Person {
        return None;
    }
    let mut key = smallvec::SmallVec::new();
    key.extend_from_slice(b"person~");
    key.extend_from_slice(n.surname.as_bytes());
    key.push(b'|');
    key.extend_from_slice(initial.encode_utf8(&mut [0u8; 4]).as_bytes());
    Some(key)
}

/// One event joined with what the watch lists know about its user and subject.
pub struct Enriched<'a> {
    pub event: &'a AccessEvent,
    pub user: Option<&'a StaffMember>,
    /// The subject as a person: id, normalised name, date of birth.
    pub person: PersonIdentity,
    /// Normalised VRM.
    pub vrm: Option<CompactString>,
    /// Normalised postcode.
    pub postcode: Option<CompactString>,
    pub justification: Justification<'a>,
    /// The watch-list rows the subject matches (custody, high-profile, operations).
    pub matches: SubjectMatches,
    /// Whether, and by what, a policing purpose is on record.
    pub explanation: Explanation<'a>,
    /// The access touched a live covert operation (see [`crate::explain::touches_operation`]).
    pub on_operation: bool,
    /// The vulnerable incidents that list the person as a victim.
    pub victims: smallvec::SmallVec<[VictimLink<'a>; 2]>,
    /// The user's earlier `victim.contact` access to this person: set by the engine
    /// from its memory ([`crate::explain::Continuations::victim_before`]).
    pub victim_before: Option<crate::explain::VictimSeen>,
    /// Whether the access falls in the user's usual hours as the behavioural state
    /// has learned them (`None`: not learned, or not asked): set by the engine for a
    /// user without a roster who looks up a victim.
    pub usual_hour: Option<bool>,
    /// [`Enriched::subject_key`], built once when first asked for.
    subject_key: std::cell::OnceCell<CompactString>,
}

impl<'a> Enriched<'a> {
    /// A key naming the subject for suppression: the record id, else the person's
    /// normalised name and date of birth, else the VRM or postcode.
    pub fn subject_key(&self) -> CompactString {
        self.subject_key_ref().clone()
    }

    /// The key a person is counted by, as one person however each access named them:
    /// the surname, first initial and date of birth when the access gives them, else
    /// [`Enriched::subject_key`]. A search for `harrison/t` born 1968-07-13 and the view
    /// of record 68/123X that follows it (`HARRISON, Thomas`, born that day) are one
    /// person to fishing's distinct people, targeting and the subject spike; by their
    /// subject keys (name, then record id) they were two, and a crowd that searched by
    /// name and one that opened the record split one spike in two. Alerts keep the
    /// subject key: their ids and suppression do not move.
    pub fn person_key(&self) -> CompactString {
        self.with_person_key(|key| CompactString::from(key))
    }

    /// `f` of [`Enriched::person_key`], the key written on the stack: the detectors
    /// that only hash it ask for it at most accesses.
    pub fn with_person_key<T>(&self, f: impl FnOnce(&str) -> T) -> T {
        let p = &self.person;
        match named_person_key(self.event.subject_type, p.name.as_ref(), p.dob) {
            // Whole UTF-8 strings and ASCII joined: UTF-8.
            Some(key) => f(std::str::from_utf8(&key).unwrap_or_default()),
            None => f(self.subject_key_ref()),
        }
    }

    /// `f` of the key one user's look-ups of a person are counted by, for fishing's
    /// distinct people: surname and first initial, without the date of birth (a search
    /// by name alone, then the record with its date of birth, were two people: an
    /// evaluator's false fishing alert). Two people of one surname and initial looked
    /// up by one user in half an hour count once; across users (the spike) the date
    /// of birth still tells them apart.
    pub fn with_users_person_key<T>(&self, f: impl FnOnce(&str) -> T) -> T {
        match named_person(self.event.subject_type, self.person.name.as_ref()) {
            // Whole UTF-8 strings and ASCII joined: UTF-8.
            Some(key) => f(std::str::from_utf8(&key).unwrap_or_default()),
            None => f(self.subject_key_ref()),
        }
    }

    /// As [`Enriched::subject_key`], borrowed.
    pub fn subject_key_ref(&self) -> &CompactString {
        self.subject_key.get_or_init(|| {
            let e = self.event;
            crate::alert::event_subject_key(
                e.subject_type,
                e.subject_id.as_deref(),
                self.person.name.as_ref(),
                self.person.dob,
                self.vrm.as_deref(),
                self.postcode.as_deref(),
                &e.event_id,
            )
        })
    }

    /// The user as a sentence names them: `U1234 (Jo Bloggs, PC, Response B)`.
    pub fn who(&self) -> String {
        match self.user {
            Some(s) => s.describe(),
            None => self.event.user_id.to_string(),
        }
    }

    /// The postcode as the identity of an address: only an address record is matched
    /// by its postcode (spec/events.md); a person's or vehicle's postcode says where
    /// they live, not who or what they are.
    pub fn address(&self) -> Option<&str> {
        (self.event.subject_type == SubjectType::Address).then_some(self.postcode.as_deref()).flatten()
    }

    /// Why no policing purpose is on record, as the end of an alert sentence: the
    /// reference's failing, and a declared explanation that does not count for the
    /// rule ("gave no reference, though declared as an encounter ...").
    pub fn why_not(&self) -> String {
        let given = self.justification.why_not();
        match (&self.explanation, &self.justification) {
            (Explanation::Unexplained, _) => given,
            // Said once: "gave reference X, which justifies it", not again as what
            // explains it (an evaluator read the two as a contradiction).
            (Explanation::Reference(e), Justification::Justified(j)) if e.reference == j.reference => given,
            (e, _) => format!("{given}, though {}", e.phrase()),
        }
    }

    /// The latest vulnerable incident that lists the person as a victim, matched by
    /// record id or by name with date of birth.
    pub fn victim_of(&self) -> Option<&'a Incident> {
        self.victims.iter().find(|l| !l.strength.is_weak()).map(|l| l.incident)
    }

    /// "viewed John SMITH (born 1980-01-02) on PNC"
    pub fn what(&self) -> String {
        let e = self.event;
        match (&e.subject_name, e.subject_type, &self.person.raw_name) {
            // A custody record opened by its number alone: whom it holds.
            (None, SubjectType::Custody, Some(_)) => {
                format!("{} {} ({}) on {}", e.action.verb(), e.subject_description(), self.person.describe(), e.system)
            }
            _ => format!("{} {} on {}", e.action.verb(), e.subject_description(), e.system),
        }
    }
}

/// Joins one event against the watch lists and explains it (the stateless kinds; the
/// engine adds `earlier` from its memory).
pub fn enrich<'a>(event: &'a AccessEvent, lists: &'a WatchLists, config: &ExplanationConfig) -> Enriched<'a> {
    let user = lists.staff_member(&event.user_id);
    let justification = justify(event, user, lists, config);
    let own = PersonIdentity::new(event.subject_id.clone(), event.subject_name.clone(), event.subject_dob);
    // A log that names someone else beside the number (another date of birth, another
    // name) is taken at its word: the record is not the person (a review: a view of a
    // celebrity by name and date of birth under another detainee's number raised nothing).
    let record = custody_record_opened(event, lists).filter(|(_, r)| {
        let same_birth = own.dob.zip(r.person.dob).is_none_or(|(a, b)| a == b);
        let same_name = own.name.is_none() || r.person.name.is_none() || own.match_against(&r.person).is_some();
        same_birth && same_name
    });
    let person = match record {
        // The record is the person held: their identity is its own (the log often gives
        // nothing beside the number; the name as the sentence shows it).
        Some((_, r)) => {
            PersonIdentity { raw_name: event.subject_name.clone().or(r.person.raw_name.clone()), ..r.person.clone() }
        }
        None => own,
    };
    let vrm = event.vrm_key();
    // An address record given by its postcode alone, as its key, is that postcode's.
    let postcode = event.postcode_key();
    // Where the record is, for the operations' addresses: an address's postcode, or
    // that of the scene of a crime, an incident, an intelligence report or property
    // (a probe: an operation's address looked up as a crime scene or in intelligence
    // raised nothing, where its car did whatever the record's type). A person's,
    // vehicle's or detainee's postcode is where they live, not an address looked up.
    let place = match event.subject_type {
        SubjectType::Person | SubjectType::Vehicle | SubjectType::Custody => None,
        _ => postcode.as_deref(),
    };
    let mut matches =
        SubjectMatches::find(lists, &person, vrm.as_deref(), place).named_in(lists, event.reference.as_deref());
    if let Some((row, _)) = record {
        match matches.custody.iter_mut().find(|(id, _)| *id == row) {
            Some(found) => found.1 = MatchStrength::Id,
            None => matches.custody.push((row, MatchStrength::Id)),
        }
    }
    let justified_by = match justification {
        Justification::Justified(i) => Some(i),
        _ => None,
    };
    let victims = victim_links(event, user, lists, &matches.victims, config);
    let explanation =
        explain(&Access { event, user, matches: &matches, justified_by, victims: &victims }, lists, config);
    let on_operation = crate::explain::touches_operation(lists, event.ts, &matches);
    Enriched {
        event,
        user,
        person,
        vrm,
        postcode,
        justification,
        matches,
        explanation,
        on_operation,
        victims,
        victim_before: None,
        usual_hour: None,
        subject_key: std::cell::OnceCell::new(),
    }
}

/// The custody record an access to a custody record opened by its own number
/// (`subject_type` custody, `subject_id` its `custody_ref`): custody systems log the
/// record number, often with no name or date of birth beside it, and a celebrity's
/// custody record opened by its number is as much a look at them as their PNC record.
fn custody_record_opened<'a>(event: &AccessEvent, lists: &'a WatchLists) -> Option<(RowId, &'a CustodyRecord)> {
    if event.subject_type != SubjectType::Custody || lists.custody.is_empty() {
        return None;
    }
    // As the other joins compare record ids: full-width forms are the ASCII they show.
    // As logged first: a custody number is no PNC id, whatever it looks like.
    let logged = event.subject_id.as_deref()?;
    lists.custody_record(logged).or_else(|| lists.custody_record(&crate::event::normalise::record_id(logged.into())))
}

fn justify<'a>(
    event: &'a AccessEvent,
    user: Option<&StaffMember>,
    lists: &'a WatchLists,
    config: &ExplanationConfig,
) -> Justification<'a> {
    let Some(reference) = event.reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
        return Justification::NoReference;
    };
    // A reference naming several incidents among its words is judged by each: the
    // first that justifies, else what the first found says.
    let judged = lists.incidents_in(reference).into_iter().map(|incident| {
        if !crate::explain::attached(incident, user, &event.user_id) {
            return Justification::NotLinked(incident);
        }
        if !known_in_time(incident.recorded_at, event.ts, config) {
            return Justification::RecordedLate(incident);
        }
        if !crate::explain::in_window(incident, event.ts, config) {
            return Justification::OutsideWindow(incident, event.ts < incident.opened_at);
        }
        Justification::Justified(incident)
    });
    let mut first = None;
    for j in judged {
        if matches!(j, Justification::Justified(_)) {
            return j;
        }
        first.get_or_insert(j);
    }
    first.unwrap_or(Justification::UnknownReference(reference))
}
