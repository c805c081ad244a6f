//! Misuse scenarios injected into the synthetic force, each instance labelled with who
//! did it, to whom, and what counts as catching it; and the legitimate twins that must
//! stay silent (the celebrity's case team, the newsworthy victim's investigators, the
//! operation's own team, the politician's protection team).

use super::force::{Person, UnitKind, Vehicle};
use super::names::{FIRST_FEMALE, FORENAMES, NEWSWORTHY, OPERATIONS, SURNAMES};
use super::rng::Rng;
use super::steps::{Misuse, Step};
use super::world::{GenAssociate, GenHighProfile, GenIncident, GenOperation, OpTarget, World};
use crate::alert::RuleId;
use crate::alert::{Category, Severity};
use crate::event::PersonName;
use crate::time::{Date, Timestamp, DAY, HOUR};
use crate::watchlist::{AccountStatus, Relationship};
use compact_str::{format_compact, CompactString};
use serde::{Deserialize, Serialize};

/// A kind of misuse the generator can inject.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    HighProfileBefore,
    HighProfileAfter,
    CustodyFriend,
    FamilyAtAddress,
    ExPartner,
    CriminalAssociate,
    NeighbourVehicle,
    SelfLookup,
    ColleagueLookup,
    OpsecOutsider,
    SuspendedAccount,
    LeaverAccount,
    Fishing,
    Burst,
    OutOfHours,
    ExportAfterSensitive,
    SubjectSpike,
    NonPoliceScope,
    Targeting,
    VictimReturn,
}

impl Scenario {
    pub const ALL: [Scenario; 20] = [
        Scenario::HighProfileBefore,
        Scenario::HighProfileAfter,
        Scenario::CustodyFriend,
        Scenario::FamilyAtAddress,
        Scenario::ExPartner,
        Scenario::CriminalAssociate,
        Scenario::NeighbourVehicle,
        Scenario::SelfLookup,
        Scenario::ColleagueLookup,
        Scenario::OpsecOutsider,
        Scenario::SuspendedAccount,
        Scenario::LeaverAccount,
        Scenario::Fishing,
        Scenario::Burst,
        Scenario::OutOfHours,
        Scenario::ExportAfterSensitive,
        Scenario::SubjectSpike,
        Scenario::NonPoliceScope,
        Scenario::Targeting,
        Scenario::VictimReturn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::HighProfileBefore => "high_profile_before",
            Scenario::HighProfileAfter => "high_profile_after",
            Scenario::CustodyFriend => "custody_friend",
            Scenario::FamilyAtAddress => "family_at_address",
            Scenario::ExPartner => "ex_partner",
            Scenario::CriminalAssociate => "criminal_associate",
            Scenario::NeighbourVehicle => "neighbour_vehicle",
            Scenario::SelfLookup => "self_lookup",
            Scenario::ColleagueLookup => "colleague_lookup",
            Scenario::OpsecOutsider => "opsec_outsider",
            Scenario::SuspendedAccount => "suspended_account",
            Scenario::LeaverAccount => "leaver_account",
            Scenario::Fishing => "fishing",
            Scenario::Burst => "burst",
            Scenario::OutOfHours => "out_of_hours",
            Scenario::ExportAfterSensitive => "export_after_sensitive",
            Scenario::SubjectSpike => "subject_spike",
            Scenario::NonPoliceScope => "non_police_scope",
            Scenario::Targeting => "targeting",
            Scenario::VictimReturn => "victim_return",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s.trim())
    }

    /// The rule meant to catch it.
    pub fn rule(self) -> RuleId {
        match self {
            Scenario::HighProfileBefore | Scenario::HighProfileAfter => RuleId::HighProfileUninvolved,
            Scenario::CustodyFriend => RuleId::CustodyUninvolved,
            Scenario::FamilyAtAddress | Scenario::ExPartner | Scenario::CriminalAssociate => RuleId::AssociateLookup,
            Scenario::NeighbourVehicle => RuleId::NeighbourLookup,
            Scenario::SelfLookup => RuleId::SelfLookup,
            Scenario::ColleagueLookup => RuleId::ColleagueLookup,
            Scenario::OpsecOutsider => RuleId::OpsecOutsider,
            Scenario::SuspendedAccount | Scenario::LeaverAccount => RuleId::AccountStatus,
            Scenario::Fishing => RuleId::BehaviourFishing,
            Scenario::Burst => RuleId::BehaviourVolume,
            Scenario::OutOfHours => RuleId::BehaviourOutOfHours,
            Scenario::ExportAfterSensitive => RuleId::BehaviourExportAfterSensitive,
            Scenario::SubjectSpike => RuleId::BehaviourSubjectSpike,
            Scenario::NonPoliceScope => RuleId::ScopeUnentitled,
            Scenario::Targeting => RuleId::BehaviourTargeting,
            Scenario::VictimReturn => RuleId::VictimContact,
        }
    }

    /// The alert categories that count as catching it.
    pub fn categories(self) -> Vec<Category> {
        match self {
            Scenario::FamilyAtAddress => vec![Category::Associate, Category::Neighbour],
            _ => vec![self.rule().category()],
        }
    }

    /// The least severe alert that counts as catching it.
    pub fn min_severity(self) -> Severity {
        match self {
            Scenario::HighProfileBefore
            | Scenario::HighProfileAfter
            | Scenario::CriminalAssociate
            | Scenario::OpsecOutsider
            | Scenario::SuspendedAccount
            | Scenario::LeaverAccount
            | Scenario::ExportAfterSensitive
            | Scenario::VictimReturn => Severity::Red,
            Scenario::OutOfHours => Severity::Green,
            _ => Severity::Amber,
        }
    }

    fn instances(self) -> u32 {
        match self {
            Scenario::LeaverAccount | Scenario::SubjectSpike => 1,
            Scenario::CriminalAssociate
            | Scenario::SuspendedAccount
            | Scenario::Fishing
            | Scenario::Burst
            | Scenario::OutOfHours
            | Scenario::ExportAfterSensitive
            | Scenario::NonPoliceScope
            | Scenario::Targeting
            | Scenario::VictimReturn => 2,
            _ => 3,
        }
    }
}

/// One injected misuse instance, as written to `labels.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Label {
    pub scenario: String,
    pub instance: u32,
    /// Who misused the systems; absent when many users did (a subject spike).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<CompactString>,
    /// Identity keys of the subject: `id:..`, `name:SURNAME|FORENAMES|YYYY-MM-DD`,
    /// `vrm:..`, `postcode:..`.
    pub subjects: Vec<String>,
    pub categories: Vec<Category>,
    pub min_severity: Severity,
    pub rule: RuleId,
    pub event_ids: Vec<CompactString>,
}

/// The scenario plan and the labels it produces.
pub struct Plan {
    pub(super) steps: Vec<Step>,
    pub labels: Vec<Label>,
    pub(super) celebrity: u32,
    pub(super) footballer: u32,
    pub(super) added_at: i64,
    /// The incident row justifying the politician's protection team.
    pub(super) protection_ref: u32,
}

pub(super) fn person_keys(p: &Person) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(id) = &p.pnc_id {
        keys.push(format!("id:{id}"));
    }
    if let Some(n) = PersonName::from_parts(&p.surname, &p.forenames) {
        keys.push(format!("name:{}|{}|{}", n.surname, n.forenames, p.dob));
    }
    keys
}

impl Plan {
    /// Prepares the scenarios: special people, watch-list rows, chosen users and days.
    pub fn new(world: &mut World, rng: &mut Rng, days: u32, enabled: &[Scenario]) -> Plan {
        let start = world.start;
        let add_person = |world: &mut World, surname: &str, forenames: &str, dob: Date, postcode: u32| -> u32 {
            let n = world.force.people.len() as u32;
            world.force.people.push(Person {
                surname: surname.into(),
                forenames: forenames.into(),
                dob,
                postcode,
                pnc_id: Some(format_compact!("{:02}/{:06}{}", dob.ymd().0 % 100, 900_000 + n, 'S')),
            });
            n
        };
        let random_dob = |rng: &mut Rng| {
            Date(crate::time::days_from_civil(
                rng.range(1950, 2000) as i32,
                rng.range(1, 12) as u32,
                rng.range(1, 28) as u32,
            ))
        };

        // Users for misuse: police in ordinary operational units, each used once.
        let mut pool = world.force.staff_of(&[
            UnitKind::Response,
            UnitKind::Roads,
            UnitKind::Cid,
            UnitKind::Neighbourhood,
            UnitKind::Control,
            UnitKind::Intelligence,
        ]);
        for i in (1..pool.len()).rev() {
            let j = rng.index(i + 1);
            pool.swap(i, j);
        }
        let mut pool = pool.into_iter();

        let arrest_day = days / 2;
        let arrest_at = world.hour_of(arrest_day, 20, 30);
        let added_at = world.hour_of(arrest_day + 1, 10, 30);
        let postcodes = world.force.postcodes.len();
        let celebrity =
            add_person(world, NEWSWORTHY[0].0, NEWSWORTHY[0].1, random_dob(rng), rng.index(postcodes) as u32);
        let footballer =
            add_person(world, NEWSWORTHY[1].0, NEWSWORTHY[1].1, random_dob(rng), rng.index(postcodes) as u32);
        let politician =
            add_person(world, NEWSWORTHY[2].0, NEWSWORTHY[2].1, random_dob(rng), rng.index(postcodes) as u32);
        let _victim = add_person(world, NEWSWORTHY[3].0, NEWSWORTHY[3].1, random_dob(rng), rng.index(postcodes) as u32);

        let mut plan =
            Plan { steps: Vec::new(), labels: Vec::new(), celebrity, footballer, added_at, protection_ref: 0 };
        plan.steps.push(Step::CelebrityArrest { day: arrest_day });
        plan.steps.push(Step::VictimTwin { day: (days / 3).max(1) });

        // The politician, on the list since before the period, and their protection team.
        let intel = world.force.staff_of(&[UnitKind::Intelligence]);
        let protection: Vec<u32> = intel.iter().copied().take(2).collect();
        plan.protection_ref = world.add_incident(
            GenIncident {
                reference: "INT-PROTECT-0001".into(),
                kind: "protective intelligence",
                opened: start - 90 * DAY,
                closed: None,
                unit: Some("Intelligence"),
                officers: protection.clone(),
                people: vec![politician],
                vehicles: Vec::new(),
                victims: Vec::new(),
                vulnerable: false,
            },
            None,
        );
        world.high_profile.push(GenHighProfile {
            entry_id: "HP-0001",
            person: politician,
            category: "politician",
            added_at: start - 60 * DAY,
            case_team: protection,
            note: "Member of Parliament; protective intelligence only",
        });
        plan.steps.push(Step::PoliticianTeamWork);

        // A covert operation against an organised crime group.
        let soc = world.force.staff_of(&[UnitKind::OrganisedCrime]);
        let team: Vec<u32> = soc.iter().copied().take(5).collect();
        let gang1 = add_person(world, "Kray", "Ronald", random_dob(rng), rng.index(postcodes) as u32);
        let gang2 = add_person(world, "Sykes", "Bill", random_dob(rng), rng.index(postcodes) as u32);
        let vehicle = world.force.vehicles.len() as u32;
        world.force.vehicles.push(Vehicle { vrm: "KR11AYS".into(), keeper: gang1 });
        let op_address = world.force.people[gang2 as usize].postcode;
        let op_incident = world.add_incident(
            GenIncident {
                reference: format_compact!("OP-{}", OPERATIONS[0]),
                kind: "covert operation",
                opened: start - 10 * DAY,
                closed: None,
                unit: Some("Serious Organised Crime"),
                officers: team.clone(),
                people: vec![gang1, gang2],
                vehicles: vec![vehicle],
                victims: Vec::new(),
                vulnerable: false,
            },
            None,
        );
        world.operations.push(GenOperation {
            name: OPERATIONS[0],
            targets: vec![
                OpTarget::Person(gang1),
                OpTarget::Person(gang2),
                OpTarget::Vehicle(vehicle),
                OpTarget::Address(op_address),
            ],
            team,
            starts: start - 10 * DAY,
            ends: None,
            incident: op_incident,
        });
        plan.steps.push(Step::OperationTeamWork);
        plan.steps.push(Step::HardNegatives);

        // Declared associations nobody misuses: the background of the associates list.
        let police = world.force.staff_of(&[UnitKind::Response, UnitKind::Cid, UnitKind::Roads, UnitKind::Control]);
        for &s in &police {
            if !rng.chance(0.03) {
                continue;
            }
            let person = world.force.citizen(rng);
            let relationship = *rng.pick(&[Relationship::Family, Relationship::Friend, Relationship::Partner]);
            world.associates.push(GenAssociate {
                user: s,
                person,
                relationship,
                declared_at: start - rng.range(30, 900) * DAY,
            });
        }

        let instance_day = |i: u32, n: u32| 1 + (i * (days - 2)) / n.max(1) + (i % 2);
        for &scenario in Scenario::ALL.iter().filter(|s| enabled.contains(s)) {
            let n = scenario.instances();
            for i in 0..n {
                let Some(user) = pool.next() else { break };
                let day = instance_day(i, n).min(days - 1);
                let label = plan.labels.len() as u32;
                let mut subjects = Vec::new();
                let on_shift = world.time_on_shift(rng, user, day, 2 * HOUR);
                let kind = match scenario {
                    Scenario::HighProfileBefore => {
                        // One fan checks days before; two check between the arrest and the news.
                        let at = if i == 0 {
                            (arrest_at - 4 * DAY + rng.range(0, 8) * HOUR).max(start + 2 * HOUR)
                        } else {
                            arrest_at + (1 + 3 * i as i64) * HOUR
                        };
                        subjects = person_keys(&world.force.people[celebrity as usize]);
                        Misuse::LookUpPerson { user, person: celebrity, at, by_id: i == 2 }
                    }
                    Scenario::HighProfileAfter => {
                        subjects = person_keys(&world.force.people[celebrity as usize]);
                        let at = added_at + (2 + 7 * i as i64) * HOUR;
                        Misuse::LookUpPerson { user, person: celebrity, at, by_id: i == 1 }
                    }
                    Scenario::CustodyFriend => Misuse::CustodyFriend { user },
                    Scenario::FamilyAtAddress => {
                        let own = world.force.person_of_staff(user).clone();
                        let rel = add_person(
                            world,
                            &own.surname,
                            FORENAMES[rng.index(FORENAMES.len())],
                            random_dob(rng),
                            own.postcode,
                        );
                        subjects = person_keys(&world.force.people[rel as usize]);
                        Misuse::LookUpPerson { user, person: rel, at: on_shift, by_id: true }
                    }
                    Scenario::ExPartner | Scenario::CriminalAssociate => {
                        let (surname, forename) =
                            (SURNAMES[rng.index(SURNAMES.len())], FORENAMES[rng.index(FORENAMES.len())]);
                        let p = add_person(world, surname, forename, random_dob(rng), rng.index(postcodes) as u32);
                        let relationship = if scenario == Scenario::ExPartner {
                            Relationship::ExPartner
                        } else {
                            Relationship::CriminalAssociate
                        };
                        world.associates.push(GenAssociate {
                            user,
                            person: p,
                            relationship,
                            declared_at: start - rng.range(60, 700) * DAY,
                        });
                        subjects = person_keys(&world.force.people[p as usize]);
                        Misuse::LookUpPerson {
                            user,
                            person: p,
                            at: on_shift,
                            by_id: scenario == Scenario::CriminalAssociate,
                        }
                    }
                    Scenario::NeighbourVehicle => {
                        let own = world.force.person_of_staff(user).clone();
                        let surname = SURNAMES.iter().find(|s| **s != own.surname.as_str()).unwrap_or(&"Nobody");
                        let keeper = add_person(
                            world,
                            surname,
                            FORENAMES[rng.index(FORENAMES.len())],
                            random_dob(rng),
                            own.postcode,
                        );
                        let v = world.force.vehicles.len() as u32;
                        let vrm = format_compact!("NB{:02}{}", 60 + i, ["XYZ", "QRS", "TUV"][i as usize % 3]);
                        subjects.push(format!("vrm:{vrm}"));
                        world.force.vehicles.push(Vehicle { vrm, keeper });
                        Misuse::VehicleCheck { user, vehicle: v, at: on_shift }
                    }
                    Scenario::SelfLookup => {
                        let me = world.force.staff[user as usize].person;
                        subjects = person_keys(&world.force.people[me as usize]);
                        Misuse::LookUpPerson { user, person: me, at: on_shift, by_id: false }
                    }
                    Scenario::ColleagueLookup => {
                        let other = loop {
                            let o = rng.below(world.force.staff.len() as u64) as u32;
                            if world.force.staff[o as usize].unit != world.force.staff[user as usize].unit
                                && world.force.unit_of(o).org == "police"
                            {
                                break o;
                            }
                        };
                        let p = world.force.staff[other as usize].person;
                        subjects = person_keys(&world.force.people[p as usize]);
                        Misuse::LookUpPerson { user, person: p, at: on_shift, by_id: false }
                    }
                    Scenario::OpsecOutsider => {
                        let target = i as usize % 4;
                        subjects = match &world.operations[0].targets[target] {
                            OpTarget::Person(p) => person_keys(&world.force.people[*p as usize]),
                            OpTarget::Vehicle(v) => vec![format!("vrm:{}", world.force.vehicles[*v as usize].vrm)],
                            OpTarget::Address(pc) => vec![format!(
                                "postcode:{}",
                                crate::event::normalise::postcode(&world.force.postcodes[*pc as usize])
                                    .unwrap_or_default()
                            )],
                        };
                        Misuse::OpsecTarget { user, target, at: on_shift }
                    }
                    Scenario::SuspendedAccount => {
                        let day = (days / 3 + i).min(days - 2);
                        let st = &mut world.force.staff[user as usize];
                        st.status = AccountStatus::Suspended;
                        st.status_since = Some(Timestamp(world.start + day as i64 * DAY));
                        plan.push_label(scenario, i, Some(world.force.staff[user as usize].user_id.clone()), subjects);
                        plan.steps.push(Step::Misuse { label, day, kind: Misuse::Suspended { user } });
                        continue;
                    }
                    Scenario::LeaverAccount => {
                        let day = (days / 2 + 1).min(days - 1);
                        let st = &mut world.force.staff[user as usize];
                        st.status = AccountStatus::Left;
                        st.status_since = Some(Timestamp(world.start + (day as i64 - 2) * DAY));
                        let at = world.hour_of(day, 14, 5);
                        plan.push_label(scenario, i, Some(world.force.staff[user as usize].user_id.clone()), subjects);
                        plan.steps.push(Step::Misuse { label, day, kind: Misuse::Leaver { user, at } });
                        continue;
                    }
                    Scenario::Fishing => Misuse::Fishing { user, at: on_shift },
                    Scenario::Targeting => {
                        plan.push_label(scenario, i, Some(world.force.staff[user as usize].user_id.clone()), subjects);
                        plan.steps.push(Step::Misuse { label, day: 1, kind: Misuse::Targeting { user, until: days } });
                        continue;
                    }
                    Scenario::VictimReturn => {
                        // The user attended a domestic-abuse call two months before the
                        // period; the case closed six weeks before it. Now they look the
                        // victim up again.
                        let forename = FORENAMES[FIRST_FEMALE + rng.index(FORENAMES.len() - FIRST_FEMALE)];
                        let dob = Date(crate::time::days_from_civil(
                            rng.range(1996, 2004) as i32,
                            rng.range(1, 12) as u32,
                            rng.range(1, 28) as u32,
                        ));
                        let surname = SURNAMES[rng.index(SURNAMES.len())];
                        let victim = add_person(world, surname, forename, dob, rng.index(postcodes) as u32);
                        world.add_incident(
                            GenIncident {
                                reference: format_compact!("PP-DA-{:05}", 90_000 + i),
                                kind: "domestic abuse",
                                opened: start - 70 * DAY,
                                closed: Some(start - 42 * DAY),
                                unit: Some("Public Protection"),
                                officers: vec![user],
                                people: vec![victim],
                                vehicles: Vec::new(),
                                victims: vec![victim],
                                vulnerable: true,
                            },
                            None,
                        );
                        subjects = person_keys(&world.force.people[victim as usize]);
                        Misuse::LookUpPerson { user, person: victim, at: on_shift, by_id: i == 0 }
                    }
                    Scenario::Burst => Misuse::Burst { user, at: on_shift },
                    Scenario::OutOfHours => {
                        // A day-shift user at two in the morning.
                        let day_worker = world
                            .force
                            .staff_of(&[UnitKind::Support, UnitKind::Cid, UnitKind::Intelligence])
                            .into_iter()
                            .nth(3 + i as usize * 5)
                            .unwrap_or(user);
                        let at = world.hour_of(day, 2, 10 + 7 * i as i64);
                        plan.push_label(
                            scenario,
                            i,
                            Some(world.force.staff[day_worker as usize].user_id.clone()),
                            subjects,
                        );
                        plan.steps.push(Step::Misuse { label, day, kind: Misuse::OutOfHours { user: day_worker, at } });
                        continue;
                    }
                    Scenario::ExportAfterSensitive => {
                        subjects = person_keys(&world.force.people[celebrity as usize]);
                        let day = arrest_day + 1 + (i % 2);
                        let at = added_at.max(world.hour_of(day, 11, 0)) + (3 + 2 * i as i64) * HOUR;
                        let day = ((at - world.start) / DAY) as u32;
                        plan.push_label(scenario, i, Some(world.force.staff[user as usize].user_id.clone()), subjects);
                        plan.steps.push(Step::Misuse { label, day, kind: Misuse::ExportAfterSensitive { user, at } });
                        continue;
                    }
                    Scenario::SubjectSpike => {
                        let users: Vec<u32> = pool.by_ref().take(15).collect();
                        subjects = person_keys(&world.force.people[footballer as usize]);
                        let day = (arrest_day + 2).min(days - 1);
                        plan.push_label(scenario, i, None, subjects);
                        plan.steps.push(Step::FootballerArrest {
                            day,
                            users: std::iter::once(user).chain(users).collect(),
                            label,
                        });
                        continue;
                    }
                    Scenario::NonPoliceScope => {
                        let outside = world.force.staff_of(&[if i == 0 { UnitKind::Dvla } else { UnitKind::Hmrc }]);
                        let u = outside[0];
                        let at = world.time_on_shift(rng, u, day, HOUR);
                        plan.push_label(scenario, i, Some(world.force.staff[u as usize].user_id.clone()), subjects);
                        plan.steps.push(Step::Misuse {
                            label,
                            day,
                            kind: Misuse::NonPolice { user: u, at, export: i == 1 },
                        });
                        continue;
                    }
                };
                let at_day = |at: i64| ((at - world.start).max(0) / DAY) as u32;
                let step_day = match &kind {
                    Misuse::LookUpPerson { at, .. }
                    | Misuse::VehicleCheck { at, .. }
                    | Misuse::OpsecTarget { at, .. }
                    | Misuse::Fishing { at, .. }
                    | Misuse::Burst { at, .. } => at_day(*at),
                    _ => day,
                };
                plan.push_label(scenario, i, Some(world.force.staff[user as usize].user_id.clone()), subjects);
                plan.steps.push(Step::Misuse { label, day: step_day, kind });
            }
        }
        plan
    }

    pub(super) fn push_label(
        &mut self,
        scenario: Scenario,
        instance: u32,
        user_id: Option<CompactString>,
        subjects: Vec<String>,
    ) {
        self.labels.push(Label {
            scenario: scenario.name().into(),
            instance: instance + 1,
            user_id,
            subjects,
            categories: scenario.categories(),
            min_severity: scenario.min_severity(),
            rule: scenario.rule(),
            event_ids: Vec::new(),
        });
    }
}
