//! The simulated world: the force, its incidents, arrests and custody records, the
//! watch lists that follow from them, and the day-by-day legitimate use of the
//! systems, unit by unit.
//!
//! Events are held compactly ([`GenEvent`]: indexes, not strings) and rendered to the
//! canonical JSON only when written.

use super::force::{Force, UnitKind, SUITES};
use super::names::{INCIDENT_KINDS, PROTECTION_KINDS};
use super::rng::Rng;
use crate::event::{Action, SubjectType};
use crate::time::{Date, Timestamp, DAY, HOUR, MINUTE, SECOND};
use crate::watchlist::{AccountStatus, Relationship};
use compact_str::{format_compact, CompactString};

/// Marks an event that belongs to no misuse scenario.
pub const NO_LABEL: u32 = u32::MAX;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum System {
    Pnc,
    Pnd,
    Rms,
    Custody,
    Intel,
    Cad,
    Anpr,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Pnc => "PNC",
            System::Pnd => "PND",
            System::Rms => "RMS",
            System::Custody => "CUSTODY",
            System::Intel => "INTEL",
            System::Cad => "CAD",
            System::Anpr => "ANPR",
        }
    }
}

/// How a name was typed into a search.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NameForm {
    /// `SMITH, John`
    Comma,
    /// `John Smith`
    Natural,
    /// `smith/john`
    Slash,
    /// `smith/j`
    SlashInitial,
}

impl NameForm {
    pub fn random(rng: &mut Rng) -> NameForm {
        match rng.below(10) {
            0..=3 => NameForm::Comma,
            4..=6 => NameForm::Natural,
            7..=8 => NameForm::Slash,
            _ => NameForm::SlashInitial,
        }
    }
}

/// What an access touched.
#[derive(Copy, Clone, Debug)]
pub enum Subject {
    /// A search by name, with or without date of birth.
    PersonSearch {
        person: u32,
        form: NameForm,
        dob: bool,
    },
    /// A person's record opened: PNC ID (if any), full name, date of birth, postcode.
    PersonView {
        person: u32,
    },
    /// A search for a made-up person that finds nothing.
    Nobody {
        surname: u16,
        forename: u16,
        dob: Date,
    },
    VehicleSearch {
        vehicle: u32,
        spaced: bool,
    },
    /// A vehicle record: VRM and the keeper's postcode.
    VehicleView {
        vehicle: u32,
    },
    Address {
        postcode: u32,
    },
    /// An incident, crime or intelligence record, named by its reference.
    Record {
        kind: SubjectType,
        incident: u32,
    },
    CustodyRecord {
        record: u32,
    },
}

/// The reference an access gave.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ref {
    None,
    Incident(u32),
    /// A reference that exists nowhere.
    Unknown(u32),
}

/// One access, compactly.
#[derive(Clone, Debug)]
pub struct GenEvent {
    pub ts: i64,
    pub seq: u32,
    pub user: u32,
    pub system: System,
    pub action: Action,
    pub subject: Subject,
    pub reference: Ref,
    pub result_count: Option<u32>,
    pub reason_code: Option<&'static str>,
    pub label: u32,
}

/// An incident, crime, intelligence report, custody record or operation: anything a
/// `reference` can name.
#[derive(Clone, Debug)]
pub struct GenIncident {
    pub reference: CompactString,
    pub kind: &'static str,
    pub opened: i64,
    pub closed: Option<i64>,
    pub unit: Option<&'static str>,
    pub officers: Vec<u32>,
    pub people: Vec<u32>,
    pub vehicles: Vec<u32>,
    /// The people listed as its victims (the incidents list's `victims`).
    pub victims: Vec<u32>,
    /// Domestic abuse, a sexual offence, safeguarding (`vulnerable`).
    pub vulnerable: bool,
}

#[derive(Clone, Debug)]
pub struct GenCustody {
    pub custody_ref: CompactString,
    pub person: u32,
    pub suite: u8,
    pub arrested: i64,
    pub released: i64,
    pub officers: Vec<u32>,
    /// The incident row that carries the custody reference.
    pub incident: u32,
}

#[derive(Clone, Debug)]
pub struct GenHighProfile {
    pub entry_id: &'static str,
    pub person: u32,
    pub category: &'static str,
    pub added_at: i64,
    pub case_team: Vec<u32>,
    pub note: &'static str,
}

#[derive(Clone, Debug)]
pub struct GenAssociate {
    pub user: u32,
    pub person: u32,
    pub relationship: Relationship,
    pub declared_at: i64,
}

#[derive(Clone, Debug)]
pub enum OpTarget {
    Person(u32),
    Vehicle(u32),
    Address(u32),
}

#[derive(Clone, Debug)]
pub struct GenOperation {
    pub name: &'static str,
    pub targets: Vec<OpTarget>,
    pub team: Vec<u32>,
    pub starts: i64,
    pub ends: Option<i64>,
    /// The incident row carrying the operation's reference.
    pub incident: u32,
}

/// Everything simulated so far.
pub struct World {
    pub force: Force,
    pub start: i64,
    pub incidents: Vec<GenIncident>,
    pub custody: Vec<GenCustody>,
    pub high_profile: Vec<GenHighProfile>,
    pub associates: Vec<GenAssociate>,
    pub operations: Vec<GenOperation>,
    /// Events not yet written, in no order.
    pub pending: Vec<GenEvent>,
    seq: u32,
    /// Open incidents per unit, for staff to work on.
    open_by_unit: Vec<Vec<u32>>,
}

fn at(day_start: i64, hour: i64, minute: i64) -> i64 {
    day_start + hour * HOUR + minute * MINUTE
}

impl World {
    pub fn new(force: Force, start: Timestamp) -> World {
        let n_units = force.units.len();
        World {
            force,
            start: start.0,
            incidents: Vec::new(),
            custody: Vec::new(),
            high_profile: Vec::new(),
            associates: Vec::new(),
            operations: Vec::new(),
            pending: Vec::new(),
            seq: 0,
            open_by_unit: vec![Vec::new(); n_units],
        }
    }

    /// Records one access.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        ts: i64,
        user: u32,
        system: System,
        action: Action,
        subject: Subject,
        reference: Ref,
        label: u32,
    ) {
        let result_count = match (action, subject) {
            (Action::Search, Subject::Nobody { .. }) => Some(0),
            (Action::Search, _) => Some(1 + (self.seq % 4)),
            _ => None,
        };
        self.seq += 1;
        self.pending.push(GenEvent {
            ts,
            seq: self.seq,
            user,
            system,
            action,
            subject,
            reference,
            result_count,
            reason_code: None,
            label,
        });
    }

    /// Adds an incident (or any referenceable record) and returns its index.
    pub fn add_incident(&mut self, inc: GenIncident, unit: Option<u16>) -> u32 {
        let idx = self.incidents.len() as u32;
        if let Some(u) = unit {
            self.open_by_unit[u as usize].push(idx);
            if self.open_by_unit[u as usize].len() > 60 {
                self.open_by_unit[u as usize].remove(0);
            }
        }
        self.incidents.push(inc);
        idx
    }

    /// A new incident owned by the staff member's unit, with people, maybe vehicles.
    /// A domestic incident lists its first person as the victim and is vulnerable; a
    /// public-protection unit's are all domestic abuse or sexual offences, their
    /// victims mostly young women.
    pub fn new_incident(&mut self, rng: &mut Rng, s: u32, partner: Option<u32>, opened: i64, prefix: &str) -> u32 {
        let unit = self.force.staff[s as usize].unit;
        let protection = self.force.units[unit as usize].kind == UnitKind::PublicProtection;
        let mut people = Vec::new();
        let first =
            if protection && rng.chance(0.85) { self.young_woman(rng, opened) } else { self.force.citizen(rng) };
        people.push(first);
        for _ in 0..rng.below(3) {
            people.push(self.force.citizen(rng));
        }
        let mut vehicles = Vec::new();
        if rng.chance(0.4) {
            vehicles.push(self.force.random_vehicle(rng));
        }
        let mut officers = vec![s];
        officers.extend(partner);
        let n = self.incidents.len();
        let date = Timestamp(opened).date().ymd();
        let kind = if protection { *rng.pick(PROTECTION_KINDS) } else { *rng.pick(INCIDENT_KINDS) };
        let vulnerable = protection || kind == "domestic";
        let inc = GenIncident {
            reference: format_compact!("{prefix}-{:04}{:02}{:02}-{:05}", date.0, date.1, date.2, n),
            kind,
            opened,
            closed: rng.chance(0.6).then(|| opened + rng.range(1, 10) * DAY),
            unit: Some(self.force.units[unit as usize].name),
            officers,
            people,
            vehicles,
            victims: if vulnerable { vec![first] } else { Vec::new() },
            vulnerable,
        };
        self.add_incident(inc, Some(unit))
    }

    /// A citizen who is a woman aged 18 to 30 at `at` (the first found in a few hundred
    /// draws; else the last drawn).
    pub fn young_woman(&self, rng: &mut Rng, at: i64) -> u32 {
        let on = Timestamp(at).date();
        let mut c = self.force.citizen(rng);
        for _ in 0..400 {
            let p = &self.force.people[c as usize];
            let age = crate::behaviour::targeting::age_on(p.dob, on).unwrap_or(0);
            if super::names::sex_of(&p.forenames) == crate::event::Sex::F && (18..=30).contains(&age) {
                break;
            }
            c = self.force.citizen(rng);
        }
        c
    }

    /// Looks a person up as officers do: a search by name (in some typed form, with or
    /// without date of birth), often followed by opening the record.
    pub fn person_lookup(&mut self, rng: &mut Rng, t: &mut i64, s: u32, person: u32, reference: Ref, label: u32) {
        let system = if rng.chance(0.2) { System::Pnd } else { System::Pnc };
        let form = NameForm::random(rng);
        let dob = rng.chance(0.65);
        self.push(*t, s, system, Action::Search, Subject::PersonSearch { person, form, dob }, reference, label);
        *t += rng.range(20, 120) * SECOND;
        if rng.chance(0.8) {
            self.push(*t, s, system, Action::View, Subject::PersonView { person }, reference, label);
            *t += rng.range(30, 300) * SECOND;
        }
    }

    /// A vehicle check: a search by VRM, often followed by the record.
    pub fn vehicle_lookup(&mut self, rng: &mut Rng, t: &mut i64, s: u32, vehicle: u32, reference: Ref, label: u32) {
        let system = if rng.chance(0.3) { System::Anpr } else { System::Pnc };
        let spaced = rng.chance(0.5);
        self.push(*t, s, system, Action::Search, Subject::VehicleSearch { vehicle, spaced }, reference, label);
        *t += rng.range(10, 60) * SECOND;
        if rng.chance(0.6) {
            self.push(*t, s, System::Pnc, Action::View, Subject::VehicleView { vehicle }, reference, label);
            *t += rng.range(20, 200) * SECOND;
        }
    }

    /// Works an incident: opens it, then looks up its people and vehicles.
    fn work_incident(&mut self, rng: &mut Rng, t: &mut i64, s: u32, inc: u32, forget_ref: f64) -> u32 {
        let mut n = 0;
        let r = |rng: &mut Rng| if rng.chance(forget_ref) { Ref::None } else { Ref::Incident(inc) };
        let kind = if self.incidents[inc as usize].reference.starts_with("CR") {
            SubjectType::Crime
        } else {
            SubjectType::Incident
        };
        let system = if kind == SubjectType::Crime { System::Rms } else { System::Cad };
        self.push(*t, s, system, Action::View, Subject::Record { kind, incident: inc }, Ref::Incident(inc), NO_LABEL);
        *t += rng.range(60, 400) * SECOND;
        n += 1;
        let people = self.incidents[inc as usize].people.clone();
        for p in people {
            let reference = r(rng);
            self.person_lookup(rng, t, s, p, reference, NO_LABEL);
            n += 2;
        }
        let vehicles = self.incidents[inc as usize].vehicles.clone();
        for v in vehicles {
            let reference = r(rng);
            self.vehicle_lookup(rng, t, s, v, reference, NO_LABEL);
            n += 2;
        }
        if rng.chance(0.4) {
            let pc = self.force.people[self.incidents[inc as usize].people[0] as usize].postcode;
            self.push(*t, s, System::Rms, Action::View, Subject::Address { postcode: pc }, r(rng), NO_LABEL);
            *t += rng.range(30, 200) * SECOND;
            n += 1;
        }
        n
    }

    /// Books a person into custody and returns the custody record's index.
    pub fn arrest(&mut self, rng: &mut Rng, arrested: i64, person: u32, officers: Vec<u32>, hours: i64) -> u32 {
        let suite = rng.below(SUITES.len() as u64) as u8;
        // The record names the arresting officers and the officer in the case; the
        // custody staff of the suite are not listed (as on real custody systems): their
        // look-ups are explained by the suite they work at.
        let mut all = officers;
        all.sort_unstable();
        all.dedup();
        let n = self.custody.len();
        let date = Timestamp(arrested).date().ymd();
        let custody_ref =
            format_compact!("CUS-{}-{:04}{:02}{:02}-{:04}", &SUITES[suite as usize][..1], date.0, date.1, date.2, n);
        let released = arrested + hours * HOUR + rng.range(0, 59) * MINUTE;
        let incident = self.add_incident(
            GenIncident {
                reference: custody_ref.clone(),
                kind: "custody",
                opened: arrested,
                closed: Some(released),
                unit: None,
                officers: all.clone(),
                people: vec![person],
                vehicles: Vec::new(),
                victims: Vec::new(),
                vulnerable: false,
            },
            None,
        );
        self.custody.push(GenCustody { custody_ref, person, suite, arrested, released, officers: all, incident });
        n as u32
    }

    /// One day of legitimate work by every member on shift.
    pub fn simulate_day(&mut self, rng: &mut Rng, day: u32) {
        let day_start = self.start + day as i64 * DAY;
        for s in 0..self.force.staff.len() as u32 {
            let member = &self.force.staff[s as usize];
            let barred = member.status != AccountStatus::Active && member.status_since.is_none_or(|t| t.0 <= day_start);
            if barred || !self.force.works(s, day) {
                continue;
            }
            let (start, end) = self.force.shift_window(s, Timestamp(day_start));
            let unit = self.force.unit_of(s).clone();
            let jitter = 0.7 + 0.6 * rng.unit();
            let mut n = rng.count(unit.accesses_per_shift * jitter) as i64;
            match unit.kind {
                UnitKind::Response | UnitKind::Neighbourhood | UnitKind::Control => {
                    let prefix = match unit.kind {
                        UnitKind::Control => "CAD",
                        UnitKind::Neighbourhood => "NH",
                        _ => "INC",
                    };
                    while n > 0 {
                        let opened = rng.range(start, end - 30 * MINUTE);
                        let mut t = opened + rng.range(1, 20) * MINUTE;
                        let members = &self.force.members[unit_index(&self.force, s)];
                        let partner =
                            (rng.chance(0.5) && members.len() > 1).then(|| *rng.pick(members)).filter(|p| *p != s);
                        let inc = self.new_incident(rng, s, partner, opened, prefix);
                        n -= self.work_incident(rng, &mut t, s, inc, 0.06) as i64;
                        if unit.kind == UnitKind::Response && rng.chance(0.025) {
                            let person = self.incidents[inc as usize].people[0];
                            let mut officers = vec![s];
                            officers.extend(partner);
                            let hours = rng.range(4, 30);
                            self.arrest(rng, t + 20 * MINUTE, person, officers, hours);
                        }
                        // Patrol checks between jobs, often with no reference; most of
                        // those give a stop reason code, some none.
                        for _ in 0..rng.below(3) {
                            let v = self.force.random_vehicle(rng);
                            let reference = if rng.chance(0.65) { Ref::None } else { Ref::Incident(inc) };
                            let before = self.pending.len();
                            self.vehicle_lookup(rng, &mut t, s, v, reference, NO_LABEL);
                            if reference == Ref::None && rng.chance(0.8) {
                                self.tag_since(before, *rng.pick(&["STOP", "VEHICLE-STOP"]));
                            }
                            n -= 1;
                        }
                    }
                }
                UnitKind::Roads => {
                    let opened = rng.range(start, end - HOUR);
                    let inc = self.new_incident(rng, s, None, opened, "RTC");
                    let mut t = opened + rng.range(5, 30) * MINUTE;
                    n -= self.work_incident(rng, &mut t, s, inc, 0.05) as i64;
                    while n > 0 {
                        let mut t = rng.range(start, end - 10 * MINUTE);
                        let v = self.force.random_vehicle(rng);
                        let reference = if rng.chance(0.7) { Ref::None } else { Ref::Incident(inc) };
                        let before = self.pending.len();
                        self.vehicle_lookup(rng, &mut t, s, v, reference, NO_LABEL);
                        if reference == Ref::None && rng.chance(0.85) {
                            self.tag_since(before, *rng.pick(&["ANPR", "TRAFFIC-STOP"]));
                        }
                        n -= 2;
                    }
                }
                UnitKind::Cid | UnitKind::OrganisedCrime | UnitKind::Intelligence | UnitKind::PublicProtection => {
                    // A heavy but justified day now and then.
                    if rng.chance(0.05) {
                        n *= 3;
                    }
                    let prefix = match unit.kind {
                        UnitKind::Intelligence => "INT",
                        UnitKind::PublicProtection => "PP",
                        _ => "CR",
                    };
                    let ui = unit_index(&self.force, s);
                    while n > 0 {
                        let mut t = rng.range(start, end - HOUR);
                        let inc = match self.open_by_unit[ui].len() {
                            k if k > 3 && rng.chance(0.6) => {
                                let pick = self.open_by_unit[ui][rng.index(k)];
                                if !self.incidents[pick as usize].officers.contains(&s) {
                                    self.incidents[pick as usize].officers.push(s);
                                }
                                pick
                            }
                            _ => {
                                let opened = t - rng.range(0, 30) * MINUTE;
                                self.new_incident(rng, s, None, opened, prefix)
                            }
                        };
                        if self.incidents[inc as usize].opened > t {
                            t = self.incidents[inc as usize].opened;
                        }
                        n -= self.work_incident(rng, &mut t, s, inc, 0.03) as i64;
                    }
                }
                UnitKind::Custody { suite } => {
                    let detainees: Vec<u32> = (0..self.custody.len() as u32)
                        .filter(|&c| {
                            let r = &self.custody[c as usize];
                            r.suite == suite && r.arrested < end && r.released > start
                        })
                        .collect();
                    for c in detainees {
                        if n <= 0 {
                            break;
                        }
                        let r = self.custody[c as usize].clone();
                        let mut t =
                            rng.range(r.arrested.max(start), r.released.min(end).max(r.arrested.max(start) + 1));
                        // Custody systems do not ask for a reference; half give one.
                        let reference = if rng.chance(0.5) { Ref::Incident(r.incident) } else { Ref::None };
                        self.push(
                            t,
                            s,
                            System::Custody,
                            Action::View,
                            Subject::CustodyRecord { record: c },
                            reference,
                            NO_LABEL,
                        );
                        t += rng.range(60, 600) * SECOND;
                        self.push(
                            t,
                            s,
                            System::Pnc,
                            Action::View,
                            Subject::PersonView { person: r.person },
                            reference,
                            NO_LABEL,
                        );
                        n -= 2;
                    }
                }
                UnitKind::ProfessionalStandards | UnitKind::Support => {
                    for _ in 0..n {
                        let ui = rng.index(self.open_by_unit.len());
                        if let Some(&inc) = self.open_by_unit[ui].last() {
                            let t = rng.range(start, end);
                            let kind = SubjectType::Crime;
                            self.push(
                                t,
                                s,
                                System::Rms,
                                Action::View,
                                Subject::Record { kind, incident: inc },
                                Ref::Incident(inc),
                                NO_LABEL,
                            );
                        }
                    }
                }
                UnitKind::Dvla | UnitKind::Hmrc => {
                    for _ in 0..n / 2 {
                        let mut t = rng.range(start, end - 5 * MINUTE);
                        if unit.kind == UnitKind::Dvla {
                            let v = self.force.random_vehicle(rng);
                            self.push(
                                t,
                                s,
                                System::Pnc,
                                Action::Search,
                                Subject::VehicleSearch { vehicle: v, spaced: false },
                                Ref::None,
                                NO_LABEL,
                            );
                            t += rng.range(10, 60) * SECOND;
                            self.push(
                                t,
                                s,
                                System::Pnc,
                                Action::View,
                                Subject::VehicleView { vehicle: v },
                                Ref::None,
                                NO_LABEL,
                            );
                        } else {
                            let p = self.force.citizen(rng);
                            let form = NameForm::Comma;
                            self.push(
                                t,
                                s,
                                System::Pnd,
                                Action::Search,
                                Subject::PersonSearch { person: p, form, dob: true },
                                Ref::None,
                                NO_LABEL,
                            );
                            t += rng.range(10, 60) * SECOND;
                            self.push(
                                t,
                                s,
                                System::Pnd,
                                Action::View,
                                Subject::PersonView { person: p },
                                Ref::None,
                                NO_LABEL,
                            );
                        }
                        let code = if unit.kind == UnitKind::Dvla { "DVLA-ENQ" } else { "HMRC-INV" };
                        let len = self.pending.len();
                        for e in &mut self.pending[len - 2..] {
                            e.reason_code = Some(code);
                        }
                    }
                }
            }
        }
    }

    /// Gives the events pushed since `from` (the pending list's length before them) a
    /// reason code.
    pub fn tag_since(&mut self, from: usize, code: &'static str) {
        for e in &mut self.pending[from..] {
            e.reason_code = Some(code);
        }
    }

    /// The start of `day` of the simulation.
    pub fn day_start(&self, day: u32) -> i64 {
        self.start + day as i64 * DAY
    }

    /// A time inside the member's shift on `day`, at least `margin` before its end.
    pub fn time_on_shift(&self, rng: &mut Rng, s: u32, day: u32, margin: i64) -> i64 {
        let (start, end) = self.force.shift_window(s, Timestamp(self.day_start(day)));
        rng.range(start + 10 * MINUTE, (end - margin).max(start + 11 * MINUTE))
    }

    pub fn hour_of(&self, day: u32, hour: i64, minute: i64) -> i64 {
        at(self.day_start(day), hour, minute)
    }
}

fn unit_index(force: &Force, s: u32) -> usize {
    force.staff[s as usize].unit as usize
}
