//! The days of the scenario plan: each planned step (a misuse instance's accesses, or
//! a legitimate twin's) turned into the events of the day it falls on.

use super::force::UnitKind;
use super::names::{FORENAMES, NEWSWORTHY, SURNAMES};
use super::rng::Rng;
use super::scenarios::{person_keys, Plan};
use super::world::{GenHighProfile, GenIncident, NameForm, OpTarget, Ref, Subject, System, World};
use crate::event::{Action, SubjectType};
use crate::time::{Date, Timestamp, DAY, HOUR, MINUTE, SECOND};
use compact_str::format_compact;

/// A planned step, run at the end of the day it falls on.
pub(super) enum Step {
    /// A batch of misuse accesses for a label.
    Misuse {
        label: u32,
        day: u32,
        kind: Misuse,
    },
    /// Legitimate twins and context.
    CelebrityArrest {
        day: u32,
    },
    FootballerArrest {
        day: u32,
        users: Vec<u32>,
        label: u32,
    },
    VictimTwin {
        day: u32,
    },
    OperationTeamWork,
    PoliticianTeamWork,
    /// Hard negatives (legitimate work the rules must not mistake for misuse): street
    /// stops of people released from custody days before, and detectives on their own
    /// incidents searching a name by surname and initial that also fits an operation's
    /// subject.
    HardNegatives,
}

#[derive(Clone)]
pub(super) enum Misuse {
    LookUpPerson {
        user: u32,
        person: u32,
        at: i64,
        by_id: bool,
    },
    CustodyFriend {
        user: u32,
    },
    VehicleCheck {
        user: u32,
        vehicle: u32,
        at: i64,
    },
    OpsecTarget {
        user: u32,
        target: usize,
        at: i64,
    },
    Suspended {
        user: u32,
    },
    Leaver {
        user: u32,
        at: i64,
    },
    Fishing {
        user: u32,
        at: i64,
    },
    Burst {
        user: u32,
        at: i64,
    },
    OutOfHours {
        user: u32,
        at: i64,
    },
    ExportAfterSensitive {
        user: u32,
        at: i64,
    },
    NonPolice {
        user: u32,
        at: i64,
        export: bool,
    },
    /// An officer looking up young women with no purpose on record, every working
    /// day from `day` to `until`.
    Targeting {
        user: u32,
        until: u32,
    },
}

impl Plan {
    /// Runs the steps that fall on `day`, after the day's legitimate traffic.
    pub fn run_day(&mut self, world: &mut World, rng: &mut Rng, day: u32, days: u32) {
        let mut postponed = Vec::new();
        let steps = std::mem::take(&mut self.steps);
        for step in steps {
            let keep = match &step {
                Step::Misuse { label, day: d, kind } if *d == day => {
                    let done = self.misuse(world, rng, day, *label, kind.clone());
                    if !done && day + 1 < days {
                        postponed.push(Step::Misuse { label: *label, day: day + 1, kind: kind.clone() });
                    }
                    false
                }
                Step::CelebrityArrest { day: d } if *d == day => {
                    self.celebrity_arrest(world, rng, day);
                    false
                }
                Step::FootballerArrest { day: d, users, label } if *d == day => {
                    self.footballer_arrest(world, rng, day, users, *label);
                    false
                }
                Step::VictimTwin { day: d } if *d == day => {
                    victim_twin(world, rng, day);
                    false
                }
                Step::OperationTeamWork => {
                    operation_team_work(world, rng, day);
                    true
                }
                Step::HardNegatives => {
                    released_stops(world, rng, day);
                    initial_searches(world, rng, day);
                    true
                }
                Step::PoliticianTeamWork => {
                    if day % 3 == 0 {
                        let team = world.high_profile[0].case_team.clone();
                        let person = world.high_profile[0].person;
                        for s in team {
                            let mut t = world.hour_of(day, 10, rng.range(0, 59));
                            // The case team is on the entry: a reference is not needed.
                            let reference =
                                if rng.chance(0.5) { Ref::Incident(self.protection_ref) } else { Ref::None };
                            world.person_lookup(rng, &mut t, s, person, reference, super::world::NO_LABEL);
                        }
                    }
                    true
                }
                _ => true,
            };
            if keep {
                self.steps.push(step);
            }
        }
        self.steps.extend(postponed);
    }

    /// Emits one misuse batch; false when it must wait (no suitable custody yet).
    fn misuse(&mut self, world: &mut World, rng: &mut Rng, day: u32, label: u32, kind: Misuse) -> bool {
        match kind {
            Misuse::LookUpPerson { user, person, mut at, by_id } => {
                if by_id {
                    world.push(at, user, System::Pnc, Action::View, Subject::PersonView { person }, Ref::None, label);
                } else {
                    let form = NameForm::random(rng);
                    world.push(
                        at,
                        user,
                        System::Pnc,
                        Action::Search,
                        Subject::PersonSearch { person, form, dob: true },
                        Ref::None,
                        label,
                    );
                    at += rng.range(30, 90) * SECOND;
                    world.push(at, user, System::Pnc, Action::View, Subject::PersonView { person }, Ref::None, label);
                }
            }
            Misuse::CustodyFriend { user } => {
                let day_start = world.day_start(day);
                let candidates: Vec<u32> = (0..world.custody.len() as u32)
                    .filter(|&c| {
                        let r = &world.custody[c as usize];
                        r.arrested >= day_start
                            && r.arrested < day_start + DAY
                            && !r.officers.contains(&user)
                            && r.person != self.celebrity
                            && r.person != self.footballer
                    })
                    .collect();
                if candidates.is_empty() {
                    return false;
                }
                let c = candidates[rng.index(candidates.len())];
                let r = world.custody[c as usize].clone();
                let mut at = r.arrested + rng.range(40, 180) * MINUTE;
                let person = r.person;
                self.labels[label as usize].subjects = person_keys(&world.force.people[person as usize]);
                world.push(
                    at,
                    user,
                    System::Pnc,
                    Action::Search,
                    Subject::PersonSearch { person, form: NameForm::Comma, dob: true },
                    Ref::None,
                    label,
                );
                at += rng.range(30, 120) * SECOND;
                let camouflage = if label % 2 == 0 { Ref::Unknown(label) } else { Ref::None };
                world.push(at, user, System::Pnc, Action::View, Subject::PersonView { person }, camouflage, label);
            }
            Misuse::VehicleCheck { user, vehicle, at } => {
                world.push(
                    at,
                    user,
                    System::Pnc,
                    Action::Search,
                    Subject::VehicleSearch { vehicle, spaced: true },
                    Ref::None,
                    label,
                );
                world.push(
                    at + 40 * SECOND,
                    user,
                    System::Pnc,
                    Action::View,
                    Subject::VehicleView { vehicle },
                    Ref::None,
                    label,
                );
            }
            Misuse::OpsecTarget { user, target, at } => match world.operations[0].targets[target].clone() {
                OpTarget::Person(person) => world.push(
                    at,
                    user,
                    System::Pnc,
                    Action::Search,
                    Subject::PersonSearch { person, form: NameForm::Natural, dob: true },
                    Ref::None,
                    label,
                ),
                OpTarget::Vehicle(vehicle) => world.push(
                    at,
                    user,
                    System::Anpr,
                    Action::Search,
                    Subject::VehicleSearch { vehicle, spaced: true },
                    Ref::None,
                    label,
                ),
                OpTarget::Address(postcode) => {
                    world.push(at, user, System::Rms, Action::View, Subject::Address { postcode }, Ref::None, label)
                }
            },
            Misuse::Suspended { user } => {
                // Carries on as if nothing happened, on the day of suspension and the next.
                for d in [day, day + 1] {
                    let mut t = world.time_on_shift(rng, user, d, 3 * HOUR).max(world.day_start(day));
                    for _ in 0..4 {
                        let p = world.force.citizen(rng);
                        world.person_lookup(rng, &mut t, user, p, Ref::None, label);
                        t += rng.range(5, 40) * MINUTE;
                    }
                }
            }
            Misuse::Leaver { user, mut at } => {
                for _ in 0..5 {
                    let p = world.force.citizen(rng);
                    world.person_lookup(rng, &mut at, user, p, Ref::None, label);
                }
            }
            Misuse::Fishing { user, mut at } => {
                for _ in 0..25 {
                    let subject = Subject::Nobody {
                        surname: rng.index(SURNAMES.len()) as u16,
                        forename: rng.index(FORENAMES.len()) as u16,
                        dob: Date(crate::time::days_from_civil(
                            rng.range(1960, 2005) as i32,
                            rng.range(1, 12) as u32,
                            rng.range(1, 28) as u32,
                        )),
                    };
                    world.push(at, user, System::Pnc, Action::Search, subject, Ref::None, label);
                    at += rng.range(15, 60) * SECOND;
                }
            }
            Misuse::Burst { user, mut at } => {
                for _ in 0..100 {
                    let person = world.force.citizen(rng);
                    world.push(at, user, System::Pnd, Action::View, Subject::PersonView { person }, Ref::None, label);
                    at += rng.range(10, 50) * SECOND;
                }
            }
            Misuse::OutOfHours { user, mut at } => {
                for _ in 0..3 {
                    let person = world.force.citizen(rng);
                    world.person_lookup(rng, &mut at, user, person, Ref::None, label);
                    at += rng.range(2, 9) * MINUTE;
                }
            }
            Misuse::ExportAfterSensitive { user, at } => {
                let person = self.celebrity;
                world.push(at, user, System::Pnc, Action::View, Subject::PersonView { person }, Ref::None, label);
                world.push(
                    at + 3 * MINUTE,
                    user,
                    System::Pnc,
                    Action::Print,
                    Subject::PersonView { person },
                    Ref::None,
                    label,
                );
                world.push(
                    at + 5 * MINUTE,
                    user,
                    System::Rms,
                    Action::Export,
                    Subject::PersonView { person },
                    Ref::None,
                    label,
                );
            }
            Misuse::NonPolice { user, at, export } => {
                if export {
                    let person = world.force.citizen(rng);
                    world.push(at, user, System::Pnc, Action::Export, Subject::PersonView { person }, Ref::None, label);
                } else {
                    let inc = world.incidents.len() as u32 - 1;
                    world.push(
                        at,
                        user,
                        System::Intel,
                        Action::View,
                        Subject::Record { kind: SubjectType::Intel, incident: inc },
                        Ref::None,
                        label,
                    );
                }
            }
            Misuse::Targeting { user, until } => {
                // Eight look-ups a working day, a few minutes apart, no reference: the
                // record opened (with the person's sex and date of birth) each time.
                for d in day..until {
                    if !world.force.works(user, d) {
                        continue;
                    }
                    let mut t = world.time_on_shift(rng, user, d, 3 * HOUR);
                    for _ in 0..8 {
                        let person = world.young_woman(rng, t);
                        world.push(
                            t,
                            user,
                            System::Pnc,
                            Action::View,
                            Subject::PersonView { person },
                            Ref::None,
                            label,
                        );
                        t += rng.range(4, 20) * MINUTE;
                    }
                }
            }
        }
        true
    }

    /// The celebrity is arrested; the case team and custody staff work the case.
    fn celebrity_arrest(&mut self, world: &mut World, rng: &mut Rng, day: u32) {
        let response = world.force.staff_of(&[UnitKind::Response]);
        let cid = world.force.staff_of(&[UnitKind::Cid]);
        let arresting = response[rng.index(response.len())];
        let oics: Vec<u32> = cid.iter().copied().skip(1).take(2).collect();
        let at = world.hour_of(day, 20, 30);
        let mut officers = vec![arresting];
        officers.extend(&oics);
        let inc = world.add_incident(
            GenIncident {
                reference: format_compact!("CR-{}-CELEB", Timestamp(at).date()),
                kind: "assault",
                opened: at - 30 * MINUTE,
                closed: None,
                unit: Some("CID"),
                officers: officers.clone(),
                people: vec![self.celebrity],
                vehicles: Vec::new(),
                victims: Vec::new(),
                vulnerable: false,
            },
            None,
        );
        let mut t = at;
        world.person_lookup(rng, &mut t, arresting, self.celebrity, Ref::Incident(inc), super::world::NO_LABEL);
        let record = world.arrest(rng, at + 40 * MINUTE, self.celebrity, officers.clone(), 20);
        let mut case_team = world.custody[record as usize].officers.clone();
        case_team.extend(&oics);
        case_team.sort_unstable();
        case_team.dedup();
        for (i, &oic) in oics.iter().enumerate() {
            for d in 0..3 {
                let mut t = at + (14 + d * 24 + i as i64) * HOUR;
                world.person_lookup(rng, &mut t, oic, self.celebrity, Ref::Incident(inc), super::world::NO_LABEL);
            }
        }
        world.high_profile.push(GenHighProfile {
            entry_id: "HP-0002",
            person: self.celebrity,
            category: "celebrity",
            added_at: self.added_at,
            case_team,
            note: "Television presenter arrested for assault; story broke next morning",
        });
    }

    /// A footballer is arrested (not on any list); many unrelated users look.
    fn footballer_arrest(&mut self, world: &mut World, rng: &mut Rng, day: u32, users: &[u32], label: u32) {
        let response = world.force.staff_of(&[UnitKind::Response]);
        let arresting = response[response.len() / 2];
        let at = world.hour_of(day, 18, 0);
        world.arrest(rng, at, self.footballer, vec![arresting], 14);
        for (i, &u) in users.iter().enumerate() {
            let t = at + HOUR + (i as i64 * 11 + rng.range(0, 9)) * MINUTE;
            let form = NameForm::random(rng);
            world.push(
                t,
                u,
                System::Pnc,
                Action::Search,
                Subject::PersonSearch { person: self.footballer, form, dob: false },
                Ref::None,
                label,
            );
        }
    }
}

/// The legitimate twin of a subject spike: a newsworthy victim's investigators, all
/// with the reference.
fn victim_twin(world: &mut World, rng: &mut Rng, day: u32) {
    let victim = world.force.people.iter().position(|p| p.surname.as_str() == NEWSWORTHY[3].0).unwrap_or(0) as u32;
    let mut team = world.force.staff_of(&[UnitKind::Cid]);
    team.truncate(8);
    team.extend(world.force.staff_of(&[UnitKind::Response]).into_iter().rev().take(4));
    let at = world.hour_of(day, 22, 0);
    let inc = world.add_incident(
        GenIncident {
            reference: format_compact!("CR-{}-VICTIM", Timestamp(at).date()),
            kind: "serious assault",
            opened: at,
            closed: None,
            unit: Some("CID"),
            officers: team.clone(),
            people: vec![victim],
            vehicles: Vec::new(),
            victims: vec![victim],
            vulnerable: true,
        },
        None,
    );
    for (i, s) in team.into_iter().enumerate() {
        let mut t = at + (10 + i as i64 * 9) * MINUTE;
        world.person_lookup(rng, &mut t, s, victim, Ref::Incident(inc), super::world::NO_LABEL);
    }
}

/// The operation's own team looks at its targets most days, with the operation's reference.
fn operation_team_work(world: &mut World, rng: &mut Rng, day: u32) {
    let Some(op) = world.operations.first().cloned() else { return };
    for &s in &op.team {
        if !world.force.works(s, day) || rng.chance(0.3) {
            continue;
        }
        let mut t = world.time_on_shift(rng, s, day, HOUR);
        // The team is on the operation's rows: a reference is not always given.
        let reference = if rng.chance(0.7) { Ref::Incident(op.incident) } else { Ref::None };
        match op.targets[rng.index(op.targets.len())] {
            OpTarget::Person(p) => world.person_lookup(rng, &mut t, s, p, reference, super::world::NO_LABEL),
            OpTarget::Vehicle(v) => world.vehicle_lookup(rng, &mut t, s, v, reference, super::world::NO_LABEL),
            OpTarget::Address(pc) => world.push(
                t,
                s,
                System::Rms,
                Action::View,
                Subject::Address { postcode: pc },
                reference,
                super::world::NO_LABEL,
            ),
        }
    }
}

/// Response officers stop people in the street who were released from custody one to
/// six days before: a search by name and date of birth under a stop reason code, often
/// followed by the record. Most give the code; a few give none (a green custody alert).
fn released_stops(world: &mut World, rng: &mut Rng, day: u32) {
    let day_start = world.day_start(day);
    // Not the people on the high-profile list: any look-up of them outside the case
    // team is an alert by design.
    let listed: Vec<u32> = world.high_profile.iter().map(|h| h.person).collect();
    let released: Vec<u32> = (0..world.custody.len() as u32)
        .filter(|&c| {
            let r = &world.custody[c as usize];
            r.released < day_start - DAY && r.released >= day_start - 6 * DAY && !listed.contains(&r.person)
        })
        .collect();
    let patrol: Vec<u32> =
        world.force.staff_of(&[UnitKind::Response]).into_iter().filter(|&s| world.force.works(s, day)).collect();
    if patrol.is_empty() {
        return;
    }
    for c in released {
        if !rng.chance(0.12) {
            continue;
        }
        let person = world.custody[c as usize].person;
        let s = patrol[rng.index(patrol.len())];
        let mut t = world.time_on_shift(rng, s, day, HOUR);
        let before = world.pending.len();
        world.push(
            t,
            s,
            System::Pnc,
            Action::Search,
            Subject::PersonSearch { person, form: NameForm::random(rng), dob: true },
            Ref::None,
            super::world::NO_LABEL,
        );
        t += rng.range(20, 90) * SECOND;
        if rng.chance(0.6) {
            world.push(
                t,
                s,
                System::Pnc,
                Action::View,
                Subject::PersonView { person },
                Ref::None,
                super::world::NO_LABEL,
            );
        }
        if rng.chance(0.9) {
            world.tag_since(before, *rng.pick(&["STOP", "STOP-SEARCH", "STOP-CHECK"]));
        }
    }
}

/// Detectives working their own open incidents search a name by surname and initial
/// (no date of birth) that also fits a subject of the live operation: a name-only
/// match on an explained access, which must not raise a red or amber alert.
fn initial_searches(world: &mut World, rng: &mut Rng, day: u32) {
    let Some(op) = world.operations.first().cloned() else { return };
    let targets: Vec<u32> = op
        .targets
        .iter()
        .filter_map(|t| match t {
            OpTarget::Person(p) => Some(*p),
            _ => None,
        })
        .collect();
    if targets.is_empty() {
        return;
    }
    let detectives: Vec<u32> = world
        .force
        .staff_of(&[UnitKind::Cid])
        .into_iter()
        .filter(|&s| world.force.works(s, day) && !op.team.contains(&s))
        .collect();
    for _ in 0..2 {
        if detectives.is_empty() || !rng.chance(0.7) {
            continue;
        }
        let s = detectives[rng.index(detectives.len())];
        let t = world.time_on_shift(rng, s, day, HOUR);
        let inc = world.new_incident(rng, s, None, t - 20 * MINUTE, "CR");
        let person = targets[rng.index(targets.len())];
        world.push(
            t,
            s,
            System::Pnc,
            Action::Search,
            Subject::PersonSearch { person, form: NameForm::SlashInitial, dob: false },
            Ref::Incident(inc),
            super::world::NO_LABEL,
        );
    }
}
