#![warn(missing_docs)]
//! Watch lists and reference data (spec/watchlists.md): the tables events are joined
//! against, with O(1) look-ups by subject id, name + date of birth, name, VRM and
//! postcode.
//!
//! [`WatchLists`] holds all six tables. Rows come from files ([`load`]) at start-up
//! and, in live operation, from compacted topics through [`WatchLists::upsert`] and
//! [`WatchLists::delete`], which keep the indexes in step so a change applies to the
//! next event.

pub mod error;
pub mod index;
pub mod load;
mod names;
pub mod read;
mod reference;
pub mod rows;

pub use error::{WatchlistError, WatchlistErrors};
pub use index::{Confidence, MatchStrength, Matches, PersonIdentity, PersonKeys, RowId, Rows, NAME_SUFFIXES};
pub use load::{is_table_name, load_dir, load_text, LoadReport};
pub use rows::{
    normalise_reference, reference_key, AccountStatus, Associate, CustodyRecord, HighProfileCategory, HighProfileEntry,
    Incident, OperationSubject, Relationship, Row, StaffMember, TableName, UserSet,
};

use compact_str::CompactString;
use index::{MultiIndex, PersonIndex};
use names::NameMatcher;
use std::sync::OnceLock;

/// All six reference tables and their indexes.
#[derive(Debug, Default)]
pub struct WatchLists {
    /// Persons in custody, by custody reference.
    pub custody: Rows<CustodyRecord>,
    custody_people: PersonIndex,
    /// High-profile people, by entry id.
    pub high_profile: Rows<HighProfileEntry>,
    high_profile_people: PersonIndex,
    /// Custody records by their number's letters and digits ([`reference_key`]), for
    /// a number typed with other separators.
    custody_numbers: MultiIndex<CompactString>,
    /// Everyone who can access the systems, by user id.
    pub staff: Rows<StaffMember>,
    staff_by_name_dob: MultiIndex<u64>,
    /// Declared associations, by user and associate.
    pub associates: Rows<Associate>,
    associates_by_user: MultiIndex<CompactString>,
    /// Subjects of live operations, by operation and subject.
    pub operations: Rows<OperationSubject>,
    operation_people: PersonIndex,
    operation_vrms: MultiIndex<CompactString>,
    operation_postcodes: MultiIndex<CompactString>,
    /// Operations by name (ASCII upper case, 4 characters or more), for references
    /// that name one.
    operation_names: MultiIndex<CompactString>,
    /// The same names as one automaton, built at the first look-up after they change.
    operation_name_matcher: OnceLock<NameMatcher>,
    /// Justifying references, by reference.
    pub incidents: Rows<Incident>,
    /// Incidents kept beside another of the same letters and digits
    /// ([`WatchLists::incident_key`]): looked for only while there are any.
    incidents_beside: usize,
    /// Every date of birth a staff row has had (a filter: see `PersonIndex`).
    staff_dobs: ahash::AHashSet<i32>,
    /// The victims the incidents list, one row each (keyed by incident and position).
    pub victims: Rows<Victim>,
    victim_people: PersonIndex,
}

/// One victim of an incident (its `victims` column), indexed as a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Victim {
    /// The incident's row.
    pub incident: RowId,
    /// Who.
    pub person: PersonIdentity,
}

impl WatchLists {
    /// Inserts or replaces a row (by its row key) and returns the row it replaced.
    pub fn upsert(&mut self, row: Row) -> Option<Row> {
        self.upsert_as(row.key(), row)
    }

    /// Inserts or replaces a row under `key` (a topic message's key) and returns the
    /// row it replaced.
    pub fn upsert_as(&mut self, key: CompactString, row: Row) -> Option<Row> {
        match row {
            Row::Custody(r) => {
                let number = reference_key(&key);
                let (id, old) = self.custody.upsert(key, r);
                match &old {
                    Some(old) => self.custody_people.remove(id, &old.person),
                    None => self.custody_numbers.insert(number, id),
                }
                self.custody_people.add(id, &self.custody.get(id)?.person);
                old.map(Row::Custody)
            }
            Row::HighProfile(r) => {
                let (id, old) = self.high_profile.upsert(key, r);
                if let Some(old) = &old {
                    self.high_profile_people.remove(id, &old.person);
                }
                self.high_profile_people.add(id, &self.high_profile.get(id)?.person);
                old.map(Row::HighProfile)
            }
            Row::Staff(r) => {
                // A member of staff is found by user id: the key is one, folded.
                let mut key = key;
                crate::event::normalise::user_id(&mut key);
                let (id, old) = self.staff.upsert(key, r);
                if let Some(k) = old.as_ref().and_then(staff_key) {
                    self.staff_by_name_dob.remove(&k, id);
                }
                if let Some(k) = self.staff.get(id).and_then(staff_key) {
                    self.staff_by_name_dob.insert(k, id);
                }
                if let Some(dob) = self.staff.get(id).and_then(|s| s.dob) {
                    self.staff_dobs.insert(dob.0);
                }
                old.map(Row::Staff)
            }
            Row::Associate(r) => {
                let (id, old) = self.associates.upsert(key, r);
                if let Some(old) = &old {
                    self.associates_by_user.remove(&old.user_id, id);
                }
                self.associates_by_user.insert(self.associates.get(id)?.user_id.clone(), id);
                old.map(Row::Associate)
            }
            Row::Operation(r) => {
                let (id, old) = self.operations.upsert(key, r);
                if let Some(old) = &old {
                    self.unindex_operation(id, old);
                }
                let new = self.operations.get(id)?.clone();
                self.operation_people.add(id, &new.person);
                if let Some(v) = new.vrm {
                    self.operation_vrms.insert(v, id);
                }
                if let Some(p) = new.postcode {
                    self.operation_postcodes.insert(p, id);
                }
                if let Some(name) = operation_name_key(&new.operation) {
                    self.operation_names.insert(name, id);
                    self.operation_name_matcher = OnceLock::new();
                }
                old.map(Row::Operation)
            }
            Row::Incident(r) => {
                let key = self.incident_key(&key);
                let (id, old) = self.incidents.upsert(key.clone(), r);
                self.incidents_beside += usize::from(old.is_none() && key.contains(BESIDE));
                if let Some(old) = &old {
                    self.unindex_victims(&key, old);
                }
                self.index_victims(id, &key);
                old.map(Row::Incident)
            }
        }
    }

    /// Deletes the row with this key (an empty message on a compacted topic).
    pub fn delete(&mut self, table: TableName, key: &str) -> Option<Row> {
        match table {
            TableName::Custody => {
                let (id, old) = self.custody.remove(key)?;
                self.custody_people.remove(id, &old.person);
                self.custody_numbers.remove(&reference_key(key), id);
                Some(Row::Custody(old))
            }
            TableName::HighProfile => {
                let (id, old) = self.high_profile.remove(key)?;
                self.high_profile_people.remove(id, &old.person);
                Some(Row::HighProfile(old))
            }
            TableName::Staff => {
                let (id, old) = self.staff.remove(&key.to_ascii_uppercase())?;
                if let Some(k) = staff_key(&old) {
                    self.staff_by_name_dob.remove(&k, id);
                }
                Some(Row::Staff(old))
            }
            TableName::Associates => {
                let (id, old) = self.associates.remove(key)?;
                self.associates_by_user.remove(&old.user_id, id);
                Some(Row::Associate(old))
            }
            TableName::Operations => {
                let (id, old) = self.operations.remove(key)?;
                self.unindex_operation(id, &old);
                Some(Row::Operation(old))
            }
            TableName::Incidents => {
                let key = self.incident_key(key);
                let (_, old) = self.incidents.remove(&key)?;
                self.incidents_beside -= usize::from(key.contains(BESIDE));
                self.unindex_victims(&key, &old);
                Some(Row::Incident(old))
            }
        }
    }

    fn victim_key(incident: &str, i: usize) -> CompactString {
        compact_str::format_compact!("{incident}\u{1f}{i}")
    }

    fn index_victims(&mut self, id: RowId, key: &str) {
        let Some(incident) = self.incidents.get(id) else { return };
        let people: Vec<PersonIdentity> = incident.victims.clone();
        for (i, person) in people.into_iter().enumerate() {
            let (vid, _) = self.victims.upsert(Self::victim_key(key, i), Victim { incident: id, person });
            if let Some(v) = self.victims.get(vid) {
                self.victim_people.add(vid, &v.person);
            }
        }
    }

    fn unindex_victims(&mut self, key: &str, old: &Incident) {
        for i in 0..old.victims.len() {
            if let Some((vid, v)) = self.victims.remove(&Self::victim_key(key, i)) {
                self.victim_people.remove(vid, &v.person);
            }
        }
    }

    /// The incidents that list the person as a victim: (victim row, match strength).
    pub fn victim_matches(&self, person: &PersonIdentity, keys: &PersonKeys, out: &mut Matches) {
        if !self.victims.is_empty() {
            self.victim_people.find(person, keys, |id| self.victims.get(id).map(|v| &v.person), out);
        }
    }

    fn unindex_operation(&mut self, id: RowId, old: &OperationSubject) {
        self.operation_people.remove(id, &old.person);
        if let Some(v) = &old.vrm {
            self.operation_vrms.remove(v, id);
        }
        if let Some(p) = &old.postcode {
            self.operation_postcodes.remove(p, id);
        }
        if let Some(name) = operation_name_key(&old.operation) {
            self.operation_names.remove(&name, id);
            self.operation_name_matcher = OnceLock::new();
        }
    }

    /// The operation subjects whose operation's name (4 characters or more) occurs in
    /// `reference`, ASCII case aside: a reference that names an operation touches it.
    pub fn operations_named_in<'a>(&'a self, reference: &'a str) -> impl Iterator<Item = &'a OperationSubject> + 'a {
        self.operation_rows_named_in(reference).filter_map(|id| self.operations.get(id))
    }

    /// As [`WatchLists::operations_named_in`], the rows' ids.
    pub fn operation_rows_named_in<'a>(&'a self, reference: &'a str) -> impl Iterator<Item = RowId> + 'a {
        let matcher = self
            .operation_name_matcher
            .get_or_init(|| NameMatcher::new(self.operation_names.iter().map(|(n, _)| n.clone())));
        matcher.found_in(reference).into_iter().flat_map(|name| self.operation_names.get(name).iter().copied())
    }

    /// Row counts per table.
    pub fn sizes(&self) -> [(TableName, usize); 6] {
        [
            (TableName::Custody, self.custody.len()),
            (TableName::HighProfile, self.high_profile.len()),
            (TableName::Staff, self.staff.len()),
            (TableName::Associates, self.associates.len()),
            (TableName::Operations, self.operations.len()),
            (TableName::Incidents, self.incidents.len()),
        ]
    }

    /// The member of staff with this user id.
    pub fn staff_member(&self, user_id: &str) -> Option<&StaffMember> {
        self.staff.by_key(user_id).map(|(_, s)| s)
    }

    /// Units named by staff of more than one force: each unit as first written, with
    /// its forces. An incident owned by such a unit justifies the accesses of every
    /// member of staff of that name (spec/rules.md compares the unit's name): right for
    /// a joint unit, wrong for two forces' units that share a name (an evaluator's SV
    /// detective quoted an NR "CID" crime to look up his former partner, unseen).
    pub fn units_of_several_forces(&self) -> Vec<(String, Vec<String>)> {
        type Forces = std::collections::BTreeSet<String>;
        let mut units: std::collections::BTreeMap<String, (String, Forces)> = Default::default();
        for (_, _, s) in self.staff.iter() {
            if let (Some(unit), Some(force)) = (s.unit.as_deref(), s.force.as_deref()) {
                let (_, forces) =
                    units.entry(unit.to_ascii_uppercase()).or_insert_with(|| (unit.to_string(), Forces::new()));
                forces.insert(force.to_ascii_uppercase());
            }
        }
        units.into_values().filter(|(_, f)| f.len() > 1).map(|(u, f)| (u, f.into_iter().collect())).collect()
    }

    /// Says, as a warning in the log, each unit shared by staff of several forces that
    /// `said` does not hold yet (at load, and in the live engine as staff rows change),
    /// so that a force names separate units apart.
    pub fn warn_of_shared_units(&self, said: &mut std::collections::BTreeSet<String>) {
        for (unit, forces) in self.units_of_several_forces() {
            if said.insert(unit.to_ascii_uppercase()) {
                tracing::warn!(unit = %unit, forces = %forces.join(", "), "{}", shared_unit_note(&unit, &forces));
            }
        }
    }

    /// The incident with this reference (compared by its letters and digits, upper
    /// case: [`reference_key`]), or else the first whose reference stands among other
    /// words in it ([`WatchLists::incidents_in`]).
    pub fn incident(&self, reference: &str) -> Option<&Incident> {
        self.incidents_in(reference).into_iter().next()
    }

    /// The incidents a reference names: the one it is as a whole, or else each whose
    /// reference is one of its [`reference_readings`], the longest first (`Ref:
    /// INC-2026-001234`, `INC 2026 001234 (burglary)`, `CAD-1 / INC-2`: a probe's force
    /// whose officers wrote a label before each reference had 82% of its accesses
    /// unexplained). The access is judged by each in turn ([`crate::enrich`]): one
    /// naming two incidents is justified by the one the user is on, whichever comes
    /// first (a review). It explains no more than each reference alone would.
    pub fn incidents_in(&self, reference: &str) -> smallvec::SmallVec<[&Incident; 1]> {
        if let Some(whole) = self.incident_as_written(reference) {
            return smallvec::smallvec![whole];
        }
        let mut found: smallvec::SmallVec<[&Incident; 1]> = smallvec::SmallVec::new();
        for reading in reference_readings(reference).into_iter().skip(1) {
            if let Some(i) = self.incident_as_written(reading) {
                if !found.iter().any(|f| std::ptr::eq(*f, i)) {
                    found.push(i);
                }
            }
        }
        found
    }

    fn incident_as_written(&self, reference: &str) -> Option<&Incident> {
        let mut buf = [0u8; rows::SHORT_REFERENCE];
        let found = match rows::short_reference_key(reference, &mut buf) {
            Some(key) => self.incidents.by_key(key),
            None => self.incidents.by_key(&reference_key(reference)),
        };
        match found {
            Some((_, i)) if rows::same_grouping(reference, &i.reference) => Some(i),
            // Another reference of the same letters and digits split elsewhere: this
            // one, if known, is kept beside it.
            Some(_) => self.incident_beside(reference),
            None if self.incidents_beside > 0 => self.incident_beside(reference),
            None => None,
        }
    }

    fn incident_beside(&self, reference: &str) -> Option<&Incident> {
        let key = incident_key_beside(&reference_key(reference), reference);
        self.incidents.by_key(&key).map(|(_, i)| i).filter(|i| rows::same_grouping(reference, &i.reference))
    }

    /// Where the incidents row of `reference` is kept: under its key
    /// ([`reference_key`]), unless a row of another reference of the same letters and
    /// digits, split in other places (`4/12345/26`, `41/2345/26`), is there: then
    /// beside it, under the key with where this one splits its numbers.
    pub fn incident_key(&self, reference: &str) -> CompactString {
        let key = reference_key(reference);
        match self.incidents.by_key(&key) {
            Some((_, i)) if !rows::same_grouping(reference, &i.reference) => incident_key_beside(&key, reference),
            Some(_) => key,
            // Kept beside a row since deleted: still there.
            None if self.incidents_beside > 0 => {
                let beside = incident_key_beside(&key, reference);
                if self.incidents.by_key(&beside).is_some() {
                    beside
                } else {
                    key
                }
            }
            None => key,
        }
    }

    /// The custody record with this number: as written, in either case, or else the
    /// one record whose number has the same letters and digits (`CUS N 20261101 0000`,
    /// `CUS/N/20261101/0000` for `CUS-N-20261101-0000`: a probe's look-ups so typed
    /// matched no custody row, where references were already compared so).
    pub fn custody_record(&self, number: &str) -> Option<(RowId, &CustodyRecord)> {
        let number = number.trim();
        let found = (self.custody.by_key(number))
            .or_else(|| self.custody.by_key(&number.to_uppercase()))
            .or_else(|| self.custody.by_key(&number.to_lowercase()));
        found.or_else(|| match self.custody_numbers.get(&reference_key(number)) {
            &[id] => self.custody.get(id).map(|r| (id, r)),
            _ => None,
        })
    }

    /// Custody records of the person, by any match strength.
    pub fn custody_matches(&self, person: &PersonIdentity, keys: &PersonKeys, out: &mut Matches) {
        self.custody_people.find(person, keys, |id| self.custody.get(id).map(|r| &r.person), out);
    }

    /// High-profile entries of the person.
    pub fn high_profile_matches(&self, person: &PersonIdentity, keys: &PersonKeys, out: &mut Matches) {
        self.high_profile_people.find(person, keys, |id| self.high_profile.get(id).map(|r| &r.person), out);
    }

    /// Staff whose own name and date of birth are the person's (colleague and self
    /// look-ups need both: a name alone is shared by too many of 45,000 staff).
    pub fn staff_with_identity(&self, person: &PersonIdentity) -> smallvec::SmallVec<[&StaffMember; 2]> {
        let (Some(name), Some(dob)) = (&person.name, person.dob) else { return Default::default() };
        let mut found: smallvec::SmallVec<[&StaffMember; 2]> = Default::default();
        // As written, then the other ways the name may be meant (`Luke De Souza` is
        // `DE SOUZA, Luke`: `PersonIdentity::other_readings`), where a member of staff
        // was born that day.
        let others = match self.staff_dobs.contains(&dob.0) {
            true => person.other_readings(),
            false => Default::default(),
        };
        for name in std::iter::once(name.clone()).chain(others) {
            let same = (self.staff_by_name_dob.get(&index::name_dob_key(&name.surname, dob)).iter())
                .filter_map(|&id| self.staff.get(id))
                .filter(|s| s.name.as_ref().is_some_and(|own| name.matches_born_alike(own)));
            for s in same {
                if !found.iter().any(|f| std::ptr::eq(*f, s)) {
                    found.push(s);
                }
            }
        }
        found
    }

    /// The associations `user_id` has declared.
    pub fn associates_of(&self, user_id: &str) -> impl Iterator<Item = (RowId, &Associate)> {
        self.associates_by_user.get(user_id).iter().filter_map(move |&id| self.associates.get(id).map(|a| (id, a)))
    }

    /// Operation subjects matching a person, a VRM or a postcode.
    pub fn operation_matches(
        &self,
        person: &PersonIdentity,
        keys: &PersonKeys,
        vrm: Option<&str>,
        postcode: Option<&str>,
        out: &mut Matches,
    ) {
        self.operation_people.find(person, keys, |id| self.operations.get(id).map(|r| &r.person), out);
        for (key, index, strength) in [
            (vrm, &self.operation_vrms, MatchStrength::Vrm),
            (postcode, &self.operation_postcodes, MatchStrength::Postcode),
        ] {
            if let Some(k) = key {
                for &id in index.get(k) {
                    if !out.iter().any(|(seen, _)| *seen == id) {
                        out.push((id, strength));
                    }
                }
            }
        }
    }
}

/// The most words of a reference read for an incident's reference among them, the
/// most words of one run of them, and the most readings.
const REFERENCE_WORDS: usize = 12;
const RUN_WORDS: usize = 6;
const MOST_READINGS: usize = 64;

/// The ways a reference may name an incident: as a whole, then each run of up to
/// [`RUN_WORDS`] of its words that holds a digit and four letters or digits at least
/// (a bare `1` of `seen 1 time` is no incident's number: a review), the longest first. Words part at
/// white space and `:;,()[]{}#"'=`; the separators inside a run are kept, as the
/// reference's grouping counts; the first [`REFERENCE_WORDS`] words are read. The
/// alert book files a trigger under each, so that an incident recorded late resolves
/// the alerts of accesses that named it among other words, as a replay with it explains
/// them.
pub fn reference_readings(reference: &str) -> smallvec::SmallVec<[&str; 4]> {
    let mut out: smallvec::SmallVec<[&str; 4]> = smallvec::smallvec![reference];
    let parts = |c: char| c.is_whitespace() || ":;,()[]{}#\"'=".contains(c);
    let mut words: smallvec::SmallVec<[(usize, usize); REFERENCE_WORDS]> = smallvec::SmallVec::new();
    let mut start = None;
    for (i, c) in reference.char_indices().chain(std::iter::once((reference.len(), ' '))) {
        match (parts(c), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
                if words.len() == REFERENCE_WORDS {
                    break;
                }
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    for n in (1..=words.len().min(RUN_WORDS)).rev() {
        for run in words.windows(n) {
            let text = &reference[run[0].0..run[n - 1].1];
            let marks = text.bytes().filter(u8::is_ascii_alphanumeric).count();
            let digit = text.bytes().any(|b| b.is_ascii_digit());
            if out.len() < MOST_READINGS && digit && marks >= 4 && !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// An operation's name as references are searched for it: as shown ([`names::shown`]),
/// upper case; `None` under 4 characters (too likely a word of any reference).
fn operation_name_key(name: &str) -> Option<CompactString> {
    let name = names::shown(name.trim());
    (name.len() >= 4).then(|| name.to_ascii_uppercase().into())
}

fn staff_key(s: &StaffMember) -> Option<u64> {
    Some(index::name_dob_key(&s.name.as_ref()?.surname, s.dob?))
}

/// The key of an incident kept beside another of the same letters and digits
/// ([`WatchLists::incident_key`]).
fn incident_key_beside(key: &str, reference: &str) -> CompactString {
    let splits: Vec<String> = rows::splits(reference).iter().map(u16::to_string).collect();
    compact_str::format_compact!("{key}{BESIDE}{}", splits.join("."))
}

/// What parts an incident's key kept beside another's from its splits.
const BESIDE: char = '\u{1f}';

/// What a unit name shared by staff of several forces means for the rules, for
/// whoever onboards the force.
pub fn shared_unit_note(unit: &str, forces: &[String]) -> String {
    let (last, rest) = forces.split_last().map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
    let named = if rest.is_empty() { last.to_string() } else { format!("{} and {last}", rest.join(", ")) };
    format!(
        "unit {unit:?} has staff in forces {named}: an incident owned by {unit:?} counts as a policing purpose for all of them, whichever force opened it; if these are separate units, name them apart (e.g. \"{} {unit}\") in staff.csv, incidents.csv and wherever the configuration names the unit (allow lists, routines, explanation.suite_units); a joint unit needs nothing",
        forces.first().map_or("", |f| f.as_str())
    )
}

#[cfg(test)]
mod tests;
