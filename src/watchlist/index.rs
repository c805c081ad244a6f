//! Row storage and the indexes that make every watch-list match O(1).
//!
//! Rows live in a slab keyed by the table's row key, so a live topic can replace or
//! delete a row and the indexes follow. A person is found by subject id, by normalised
//! surname + date of birth, or by surname alone (then forenames are compared within
//! the bucket, which holds the handful of entries sharing that surname).

use crate::event::PersonName;
use crate::time::Date;
use ahash::AHashMap;
use compact_str::CompactString;
use smallvec::SmallVec;
use std::hash::Hash;

/// Position of a row in its table's slab.
pub type RowId = u32;

/// How strongly a subject was matched to a watch-list row (spec/events.md).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStrength {
    /// Surname and an initial alone (`BUTLER, C` against Charlotte Butler), with no
    /// date of birth on one side: the weakest match; common names make it likely
    /// another person.
    Initial,
    /// Normalised name alone (every forename compared in full), with no date of birth
    /// on one side.
    Name,
    /// Normalised name and date of birth.
    NameDob,
    /// An address, by its normalised postcode.
    Postcode,
    /// A vehicle, by its normalised registration mark.
    Vrm,
    /// The record key itself.
    Id,
}

impl MatchStrength {
    /// The strength as an alert's `watchlist.match` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStrength::Id => "id",
            MatchStrength::NameDob => "name_dob",
            MatchStrength::Name => "name",
            MatchStrength::Initial => "initial",
            MatchStrength::Vrm => "vrm",
            MatchStrength::Postcode => "postcode",
        }
    }

    /// Whether the match rests on a name without a date of birth.
    pub fn is_weak(self) -> bool {
        matches!(self, MatchStrength::Name | MatchStrength::Initial)
    }

    /// How sure the alert is that the subject is the watch-list's person, vehicle or
    /// address (the alert's `confidence`).
    pub fn confidence(self) -> Confidence {
        match self {
            MatchStrength::Initial => Confidence::Low,
            MatchStrength::Name => Confidence::Medium,
            _ => Confidence::High,
        }
    }

    /// The phrase an alert sentence uses.
    pub fn phrase(self) -> &'static str {
        match self {
            MatchStrength::Id => "matched by record id",
            MatchStrength::NameDob => "matched by name and date of birth",
            MatchStrength::Name => "matched by name only, with no date of birth to confirm it",
            MatchStrength::Initial => "matched only by surname and initial, with no date of birth to confirm it",
            MatchStrength::Vrm => "matched by registration mark",
            MatchStrength::Postcode => "matched by postcode",
        }
    }
}

/// How sure an alert is of who or what its subject is: `high` for a record id, a name
/// with its date of birth, a registration mark or a postcode; `medium` for a full name
/// alone; `low` for a surname and initial alone.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Surname and initial alone.
    Low,
    /// A full name alone.
    Medium,
    /// An identifier, or a name with its date of birth.
    #[default]
    High,
}

impl Confidence {
    /// As the alert writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The confidence an alert's `confidence` names.
    pub fn parse(s: &str) -> Option<Confidence> {
        [Confidence::Low, Confidence::Medium, Confidence::High].into_iter().find(|c| c.as_str() == s)
    }
}

/// The identity of a person as a watch-list row or an event gives it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersonIdentity {
    /// The record key in the source system (a PNC ID for a person on PNC).
    pub subject_id: Option<CompactString>,
    /// The name as written in the source, for sentences.
    pub raw_name: Option<CompactString>,
    /// The name, normalised as spec/events.md says.
    pub name: Option<PersonName>,
    /// Date of birth.
    pub dob: Option<Date>,
}

impl PersonIdentity {
    /// An identity from its parts; the name is parsed and normalised here.
    pub fn new(subject_id: Option<CompactString>, raw_name: Option<CompactString>, dob: Option<Date>) -> Self {
        let name = raw_name.as_deref().and_then(PersonName::parse);
        let subject_id = subject_id.map(crate::event::normalise::record_id);
        PersonIdentity { subject_id, raw_name, name, dob }
    }

    /// Whether it names no one (neither a record id nor a name).
    pub fn is_empty(&self) -> bool {
        self.subject_id.is_none() && self.name.is_none()
    }

    /// How `self` (an event's subject) matches `row`, if at all. A name alone counts
    /// only when one side has no date of birth and both sides give a forename: a
    /// surname alone identifies nobody, and differing dates of birth mean a different
    /// person.
    pub fn match_against(&self, row: &PersonIdentity) -> Option<MatchStrength> {
        if let (Some(a), Some(b)) = (&self.subject_id, &row.subject_id) {
            if a.eq_ignore_ascii_case(b) {
                return Some(MatchStrength::Id);
            }
        }
        let (a, b) = (self.name.as_ref()?, row.name.as_ref()?);
        if !a.matches(b) {
            // Forenames typed in part (`JACKSON/JOH`, `KING/PAT`), with the date of
            // birth: the person, as an initial is (an ex-partner's look-up by `KING/PAT`
            // raised nothing).
            let dated = self.dob.is_some() && self.dob == row.dob;
            return (dated && a.matches_born_alike(b)).then_some(MatchStrength::NameDob);
        }
        match (self.dob, row.dob) {
            (Some(x), Some(y)) if x == y => Some(MatchStrength::NameDob),
            (Some(_), Some(_)) => None,
            _ if a.has_forenames() && b.has_forenames() => {
                Some(if a.matches_by_initial(b) { MatchStrength::Initial } else { MatchStrength::Name })
            }
            _ => None,
        }
    }

    /// The other ways a name may be meant, when a date of birth is given (matched
    /// against rows with the same one only). Without a comma or slash the spec reads
    /// the last word as the surname: also a surname of the last two words (`Zoe
    /// Lefevre Hart`, `Luke De Souza`), or the surname first, of one or two words
    /// (`HART ZOE`, `LEFEVRE HART ZOE`, as some systems write names), or of three (`DE
    /// LA CRUZ MARY-JANE`: the archive probe). With one, the parts swapped (`Ringo,
    /// Starr`, `RINGO/STARR`: the forename typed first). A
    /// generational suffix at the end (`Jr`, `Snr`, `III`) is left out. An evaluator's
    /// celebrity look-up and a self look-up were missed; a review found the rest.
    pub fn other_readings(&self) -> SmallVec<[PersonName; 6]> {
        let mut out: SmallVec<[PersonName; 6]> = SmallVec::new();
        let (Some(raw), Some(name), Some(_)) = (&self.raw_name, &self.name, self.dob) else { return out };
        let reading = |surname: &[&str], forenames: &[&str]| {
            let mut s = CompactString::default();
            surname.iter().for_each(|w| s.push_str(w));
            let mut f = CompactString::default();
            for (i, w) in forenames.iter().enumerate() {
                if i > 0 {
                    f.push(' ');
                }
                f.push_str(w);
            }
            PersonName { surname: s, forenames: f }
        };
        let push = |n: PersonName, out: &mut SmallVec<[PersonName; 6]>| {
            if !n.surname.is_empty() && n != *name && !out.contains(&n) {
                out.push(n);
            }
        };
        let forenames: SmallVec<[&str; 4]> = name.forenames.split(' ').filter(|w| !w.is_empty()).collect();
        if crate::event::normalise::has_surname_mark(raw) {
            // Swapped: the forenames (up to three words: `MARY-JANE/DE LA CRUZ`) as
            // the surname.
            if (1..=3).contains(&forenames.len()) {
                push(reading(&forenames, &[name.surname.as_str()]), &mut out);
            }
            return out;
        }
        let mut words = forenames;
        words.push(name.surname.as_str());
        while words.len() > 2 && words.last().is_some_and(|w| NAME_SUFFIXES.contains(w)) {
            words.pop();
        }
        let n = words.len();
        if n < 2 {
            return out;
        }
        push(reading(&words[n - 1..], &words[..n - 1]), &mut out);
        if n >= 3 {
            push(reading(&words[n - 2..], &words[..n - 2]), &mut out);
        }
        // A surname of three words after a forename (`Maria De La Cruz`).
        if n >= 4 {
            push(reading(&words[n - 3..], &words[..n - 3]), &mut out);
        }
        push(reading(&words[..1], &words[1..]), &mut out);
        if n >= 3 {
            push(reading(&words[..2], &words[2..]), &mut out);
        }
        // The surname first, of three words (`DE LA CRUZ MARY-JANE`).
        if n >= 4 {
            push(reading(&words[..3], &words[3..]), &mut out);
        }
        out
    }

    /// A short description for sentences: the name as written and the date of birth
    /// (`STARR, Ringo, born 1975-07-07`), or the record id.
    pub fn describe(&self) -> String {
        use crate::event::raw::as_typed;
        match (&self.raw_name, self.dob, &self.subject_id) {
            (Some(n), Some(d), _) => format!("{}, born {d}", as_typed(n)),
            (Some(n), None, _) => as_typed(n).into_owned(),
            (None, _, Some(id)) => format!("record {}", as_typed(id)),
            _ => "an unnamed person".into(),
        }
    }
}

/// A slab of rows addressed by their row key. The key index holds only row ids: a
/// look-up hashes the key, and compares it with the key kept in the row it must read
/// anyway (the rows of a large table are far apart in memory, so a key in the index
/// too would cost one more cache miss a look-up).
pub struct Rows<T> {
    slots: Vec<Option<(CompactString, T)>>,
    by_key: hashbrown::HashTable<RowId>,
    hasher: ahash::RandomState,
    free: Vec<RowId>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows { slots: Vec::new(), by_key: Default::default(), hasher: Default::default(), free: Vec::new() }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Rows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter().map(|(_, k, row)| (k, row))).finish()
    }
}

impl<T> Rows<T> {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The row with this id, if it has not been removed.
    pub fn get(&self, id: RowId) -> Option<&T> {
        self.slots.get(id as usize)?.as_ref().map(|(_, row)| row)
    }

    /// The key of the row with this id.
    pub fn key_of(&self, id: RowId) -> Option<&str> {
        self.slots.get(id as usize)?.as_ref().map(|(k, _)| k.as_str())
    }

    /// The row with this key, and its id.
    pub fn by_key(&self, key: &str) -> Option<(RowId, &T)> {
        let hash = self.hasher.hash_one(key);
        let &id = self.by_key.find(hash, |&id| Self::key_in(&self.slots, id) == key)?;
        self.get(id).map(|row| (id, row))
    }

    /// Inserts or replaces the row with this key; returns its id and the row it
    /// replaced, so the caller can take the old row out of its indexes.
    pub fn upsert(&mut self, key: CompactString, row: T) -> (RowId, Option<T>) {
        let hash = self.hasher.hash_one(key.as_str());
        let slots = &mut self.slots;
        if let Some(&id) = self.by_key.find(hash, |&id| Self::key_in(slots, id) == key) {
            let old = slots[id as usize].replace((key, row)).map(|(_, r)| r);
            return (id, old);
        }
        let id = match self.free.pop() {
            Some(id) => {
                slots[id as usize] = Some((key, row));
                id
            }
            None => {
                slots.push(Some((key, row)));
                RowId::try_from(slots.len() - 1).expect("a watch-list table holds fewer than 2^32 rows")
            }
        };
        let hasher = &self.hasher;
        self.by_key.insert_unique(hash, id, |&id| hasher.hash_one(Self::key_in(slots, id)));
        (id, None)
    }

    /// Removes the row with this key; returns its id and the row.
    pub fn remove(&mut self, key: &str) -> Option<(RowId, T)> {
        let hash = self.hasher.hash_one(key);
        let slots = &mut self.slots;
        let entry = self.by_key.find_entry(hash, |&id| Self::key_in(slots, id) == key).ok()?;
        let (id, _) = entry.remove();
        let (_, row) = slots[id as usize].take()?;
        self.free.push(id);
        Some((id, row))
    }

    /// The key of a slot the index files (every slot it files holds a row).
    fn key_in(slots: &[Option<(CompactString, T)>], id: RowId) -> &str {
        slots[id as usize].as_ref().map_or("", |(k, _)| k.as_str())
    }

    /// Every row with its id and key.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &str, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|(k, r)| (i as RowId, k.as_str(), r)))
    }
}

/// A hash index from a key to the rows that carry it.
#[derive(Debug)]
pub struct MultiIndex<K> {
    map: AHashMap<K, SmallVec<[RowId; 2]>>,
}

impl<K> Default for MultiIndex<K> {
    fn default() -> Self {
        MultiIndex { map: AHashMap::new() }
    }
}

impl<K: Hash + Eq> MultiIndex<K> {
    /// Files row `id` under `key`.
    pub fn insert(&mut self, key: K, id: RowId) {
        let ids = self.map.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Takes row `id` out from under `key`.
    pub fn remove(&mut self, key: &K, id: RowId) {
        if let Some(ids) = self.map.get_mut(key) {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.map.remove(key);
            }
        }
    }

    /// Every key with its rows.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &[RowId])> {
        self.map.iter().map(|(k, ids)| (k, ids.as_slice()))
    }

    /// The rows filed under `key`.
    pub fn get<Q>(&self, key: &Q) -> &[RowId]
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map_or(&[], |v| v.as_slice())
    }
}

/// The matches found for one subject: row and strength, strongest per row.
pub type Matches = SmallVec<[(RowId, MatchStrength); 4]>;

/// The keys a person is filed and found under, hashed once per subject and used for
/// every table: record id; surname with date of birth; surname with the first
/// forename's initial. A hash that collides only adds a candidate, which
/// [`PersonIdentity::match_against`] then turns down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonKeys {
    id: Option<u64>,
    name_dob: Option<u64>,
    initial: Option<u64>,
    /// The subject's other readings with their name and date-of-birth keys, worked
    /// out when a table first holds a row of the subject's date of birth
    /// ([`PersonIndex::find`]; a row is filed without them).
    readings: std::cell::OnceCell<SmallVec<[(u64, PersonName); 2]>>,
}

/// Generational suffixes a name may end with, left out of [`PersonIdentity::other_readings`].
pub const NAME_SUFFIXES: [&str; 7] = ["JR", "JNR", "SR", "SNR", "II", "III", "IV"];

const KEY_HASH: ahash::RandomState = ahash::RandomState::with_seeds(31, 37, 41, 43);

/// The key of a record id, whatever the case of its letters: a PNC ID's check letter
/// typed `88/121212z` is `88/121212Z` (two probes: a celebrity's record id given in
/// lower case matched nothing).
fn id_key(id: &str) -> u64 {
    match id.bytes().any(|b| b.is_ascii_lowercase()) {
        true => KEY_HASH.hash_one((0u8, id.to_ascii_uppercase().as_str())),
        false => KEY_HASH.hash_one((0u8, id)),
    }
}

/// The key of a surname with a date of birth (also the staff table's).
pub fn name_dob_key(surname: &str, dob: Date) -> u64 {
    KEY_HASH.hash_one((1u8, surname, dob.0))
}

impl PersonIdentity {
    /// The keys this person is filed and found under.
    pub fn keys(&self) -> PersonKeys {
        let name = self.name.as_ref();
        PersonKeys {
            id: self.subject_id.as_deref().map(id_key),
            name_dob: name.zip(self.dob).map(|(n, dob)| name_dob_key(&n.surname, dob)),
            // A name alone matches only when both sides give a forename, and then the
            // first forenames share their first byte (equal, or one the other's initial).
            initial: name
                .and_then(|n| n.forenames.as_bytes().first().map(|i| KEY_HASH.hash_one((2u8, n.surname.as_str(), *i)))),
            readings: std::cell::OnceCell::new(),
        }
    }

    /// The other readings of the name with their keys, worked out once (`keys` are
    /// this person's).
    fn readings<'k>(&self, keys: &'k PersonKeys) -> &'k [(u64, PersonName)] {
        keys.readings.get_or_init(|| match self.dob {
            Some(dob) => self.other_readings().into_iter().map(|n| (name_dob_key(&n.surname, dob), n)).collect(),
            None => SmallVec::new(),
        })
    }
}

/// Finds persons by id, name + date of birth, and name alone.
#[derive(Debug, Default)]
pub struct PersonIndex {
    by_id: MultiIndex<u64>,
    by_name_dob: MultiIndex<u64>,
    /// Rows with a forename, by surname and initial ...
    by_initial: MultiIndex<u64>,
    /// ... and those of them without a date of birth.
    by_initial_without_dob: MultiIndex<u64>,
    /// Every date of birth a row has had (never removed: only a filter, so that a
    /// name's other readings are worked out only where a row could match one).
    dobs: ahash::AHashSet<i32>,
}

impl PersonIndex {
    /// Indexes row `id` by the person's record id, name and date of birth, and name.
    pub fn add(&mut self, id: RowId, p: &PersonIdentity) {
        if let Some(dob) = p.dob {
            self.dobs.insert(dob.0);
        }
        let k = p.keys();
        for (index, key) in self.indexes(p, &k) {
            index.insert(key, id);
        }
    }

    /// Removes row `id` from the indexes it was added to with `p`.
    pub fn remove(&mut self, id: RowId, p: &PersonIdentity) {
        let k = p.keys();
        for (index, key) in self.indexes(p, &k) {
            index.remove(&key, id);
        }
    }

    /// The indexes a row of person `p` is filed in, with its key in each.
    fn indexes(&mut self, p: &PersonIdentity, k: &PersonKeys) -> SmallVec<[(&mut MultiIndex<u64>, u64); 4]> {
        let PersonIndex { by_id, by_name_dob, by_initial, by_initial_without_dob, .. } = self;
        let mut out = SmallVec::new();
        if let Some(key) = k.id {
            out.push((by_id, key));
        }
        if let Some(key) = k.name_dob {
            out.push((by_name_dob, key));
        }
        if let Some(key) = k.initial {
            out.push((by_initial, key));
            if p.dob.is_none() {
                out.push((by_initial_without_dob, key));
            }
        }
        out
    }

    /// Appends to `out` every row that `subject` (whose keys are `keys`) matches, with
    /// the strongest strength per row. `person_of` gives a row's identity.
    pub fn find<'r>(
        &self,
        subject: &PersonIdentity,
        keys: &PersonKeys,
        person_of: impl Fn(RowId) -> Option<&'r PersonIdentity>,
        out: &mut Matches,
    ) {
        let consider = |ids: &[RowId], out: &mut Matches| {
            for &id in ids {
                if out.iter().any(|(seen, _)| *seen == id) {
                    continue;
                }
                if let Some(strength) = person_of(id).and_then(|row| subject.match_against(row)) {
                    out.push((id, strength));
                }
            }
        };
        if let Some(k) = keys.id {
            consider(self.by_id.get(&k), out);
        }
        if subject.name.is_none() {
            return;
        }
        // With a date of birth: the rows with the same one, and those with none (a
        // different date of birth is a different person). Without: any row whose
        // name can match, which needs a forename on both sides.
        match (subject.dob, keys.name_dob) {
            (Some(dob), Some(k)) => {
                consider(self.by_name_dob.get(&k), out);
                if let Some(k) = keys.initial {
                    consider(self.by_initial_without_dob.get(&k), out);
                }
                // A name written without a comma read the other ways it may be
                // meant, against rows with the same date of birth only.
                let readings = match self.dobs.contains(&dob.0) {
                    true => subject.readings(keys),
                    false => &[],
                };
                for (key, name) in readings {
                    let ids = self.by_name_dob.get(key);
                    if ids.is_empty() {
                        continue;
                    }
                    let reading =
                        PersonIdentity { subject_id: None, raw_name: None, name: Some(name.clone()), dob: Some(dob) };
                    for &id in ids {
                        if out.iter().any(|(seen, _)| *seen == id) {
                            continue;
                        }
                        if let Some(strength) = person_of(id).and_then(|row| reading.match_against(row)) {
                            out.push((id, strength));
                        }
                    }
                }
            }
            _ => {
                if let Some(k) = keys.initial {
                    consider(self.by_initial.get(&k), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
