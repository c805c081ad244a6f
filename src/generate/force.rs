//! The synthetic force: its units and their rostered shifts, its staff, and the
//! public it polices (people with PNC IDs sharing common surnames and households,
//! vehicles with keepers, postcodes).

use super::names::{FORENAMES, SURNAMES, VRM_LETTERS};
use super::rng::{Rng, Weighted};
use crate::time::{DailyRange, Date, Timestamp, DAY};
use crate::watchlist::AccountStatus;
use compact_str::{format_compact, CompactString};
use std::collections::BTreeSet;

/// What a unit does, which decides how its staff use the systems.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnitKind {
    Response,
    Roads,
    Cid,
    Intelligence,
    Custody {
        suite: u8,
    },
    Control,
    Neighbourhood,
    OrganisedCrime,
    ProfessionalStandards,
    Support,
    /// Domestic abuse and sexual offences: a caseload of mostly women.
    PublicProtection,
    /// A non-police organisation with PNC access.
    Dvla,
    Hmrc,
}

/// A unit of the force (or an outside organisation) and its roster.
#[derive(Clone, Debug)]
pub struct Unit {
    pub name: &'static str,
    pub kind: UnitKind,
    pub role: &'static str,
    pub org: &'static str,
    pub shift: DailyRange,
    /// Accesses per member per shift, on average.
    pub accesses_per_shift: f64,
    share: f64,
    min: u32,
}

/// The custody suites.
pub const SUITES: [&str; 2] = ["Central", "Northgate"];

fn units() -> Vec<Unit> {
    let u = |name, kind, role, org, shift: &str, rate, share, min| Unit {
        name,
        kind,
        role,
        org,
        shift: DailyRange::parse(shift).expect("valid shift"),
        accesses_per_shift: rate,
        share,
        min,
    };
    vec![
        u("Response Early", UnitKind::Response, "PC", "police", "07:00-15:00", 26.0, 0.14, 4),
        u("Response Late", UnitKind::Response, "PC", "police", "15:00-23:00", 28.0, 0.14, 4),
        u("Response Night", UnitKind::Response, "PC", "police", "23:00-07:00", 22.0, 0.12, 4),
        u("Roads Policing", UnitKind::Roads, "PC", "police", "07:00-17:00", 40.0, 0.06, 2),
        u("Roads Policing Lates", UnitKind::Roads, "PC", "police", "14:00-24:00", 36.0, 0.04, 2),
        u("CID", UnitKind::Cid, "DC", "police", "08:00-18:00", 30.0, 0.10, 4),
        u("Intelligence", UnitKind::Intelligence, "Analyst", "police", "09:00-17:00", 45.0, 0.05, 2),
        u(
            "Custody Central Days",
            UnitKind::Custody { suite: 0 },
            "Detention Officer",
            "police",
            "06:00-18:00",
            22.0,
            0.03,
            2,
        ),
        u(
            "Custody Central Nights",
            UnitKind::Custody { suite: 0 },
            "Detention Officer",
            "police",
            "18:00-06:00",
            18.0,
            0.02,
            2,
        ),
        u(
            "Custody Northgate Days",
            UnitKind::Custody { suite: 1 },
            "Detention Officer",
            "police",
            "06:00-18:00",
            22.0,
            0.02,
            2,
        ),
        u(
            "Custody Northgate Nights",
            UnitKind::Custody { suite: 1 },
            "Detention Officer",
            "police",
            "18:00-06:00",
            18.0,
            0.02,
            2,
        ),
        u("Control Room Days", UnitKind::Control, "Call Handler", "police", "07:00-19:00", 34.0, 0.05, 2),
        u("Control Room Nights", UnitKind::Control, "Call Handler", "police", "19:00-07:00", 28.0, 0.04, 2),
        u("Neighbourhood", UnitKind::Neighbourhood, "PCSO", "police", "08:00-16:00", 9.0, 0.07, 2),
        u("Serious Organised Crime", UnitKind::OrganisedCrime, "DC", "police", "08:00-18:00", 20.0, 0.03, 5),
        u("Professional Standards", UnitKind::ProfessionalStandards, "DS", "police", "09:00-17:00", 2.0, 0.01, 1),
        u("Business Support", UnitKind::Support, "Staff", "police", "09:00-17:00", 3.0, 0.04, 1),
        u("DVLA Enquiries", UnitKind::Dvla, "Enquiry Officer", "DVLA", "09:00-17:00", 60.0, 0.015, 3),
        u("HMRC Fraud", UnitKind::Hmrc, "Investigator", "HMRC", "09:00-17:00", 25.0, 0.008, 2),
        u("Public Protection", UnitKind::PublicProtection, "DC", "police", "08:00-18:00", 26.0, 0.05, 3),
    ]
}

/// A member of the public or of staff, as the systems know them.
#[derive(Clone, Debug)]
pub struct Person {
    /// Title case, as people type it.
    pub surname: CompactString,
    /// One or two forenames, title case, space-separated.
    pub forenames: CompactString,
    pub dob: Date,
    /// Index into [`Force::postcodes`].
    pub postcode: u32,
    /// Citizens have a PNC ID; staff, as people, do not.
    pub pnc_id: Option<CompactString>,
}

/// A member of staff (or an outside organisation's user).
#[derive(Clone, Debug)]
pub struct Staff {
    pub user_id: CompactString,
    /// Index into [`Force::people`].
    pub person: u32,
    pub unit: u16,
    pub status: AccountStatus,
    pub status_since: Option<Timestamp>,
    /// Shifts a 5-on, 2-off pattern by this many days.
    pub rota_offset: u8,
}

/// A vehicle and its registered keeper.
#[derive(Clone, Debug)]
pub struct Vehicle {
    /// Normalised: `AB12CDE`.
    pub vrm: CompactString,
    /// Index into [`Force::people`].
    pub keeper: u32,
}

/// Everyone and everything the synthetic force's systems hold.
pub struct Force {
    pub units: Vec<Unit>,
    pub staff: Vec<Staff>,
    /// Citizens first (`0..citizens`), then staff as people.
    pub people: Vec<Person>,
    pub citizens: u32,
    /// The force area's own vehicles first (`0..population_vehicles`), then those the
    /// scenarios add (an operation's car, a neighbour's van).
    pub vehicles: Vec<Vehicle>,
    pub population_vehicles: u32,
    /// Display form: `NS4 7AB`.
    pub postcodes: Vec<CompactString>,
    /// Staff indexes per unit.
    pub members: Vec<Vec<u32>>,
}

impl Force {
    /// A vehicle of the force area's population, for routine checks. The scenarios'
    /// vehicles are not among them: the generated population is a tenth of a real
    /// force's, so a routine check would hit one vehicle ten times as often as it
    /// would in life (a covert operation's car checked at random every other day).
    pub fn random_vehicle(&self, rng: &mut super::rng::Rng) -> u32 {
        rng.index(self.population_vehicles as usize) as u32
    }

    /// Builds a force of about `staff_n` staff policing `citizens_n` people.
    pub fn build(rng: &mut Rng, staff_n: u32, citizens_n: u32) -> Force {
        let units = units();
        let surnames = Weighted::zipf(SURNAMES.len(), 1.0, 3.0);
        let forenames = Weighted::zipf(FORENAMES.len(), 0.7, 2.0);

        // Postcodes: about four people to a postcode, as households cluster.
        let wanted = (citizens_n / 4).max(2_000) as usize;
        let mut seen = BTreeSet::new();
        let mut postcodes = Vec::with_capacity(wanted);
        let letters = b"ABDEFGHJLNPQRSTUWXYZ";
        while postcodes.len() < wanted {
            let pc = format_compact!(
                "NS{} {}{}{}",
                rng.range(1, 40),
                rng.range(0, 9),
                letters[rng.index(letters.len())] as char,
                letters[rng.index(letters.len())] as char
            );
            if seen.insert(pc.clone()) {
                postcodes.push(pc);
            }
        }

        let mut people = Vec::with_capacity((citizens_n + staff_n) as usize);
        let date = |y: i64, m: i64, d: i64| Date(crate::time::days_from_civil(y as i32, m as u32, d as u32));
        let person = |rng: &mut Rng, oldest: i64, youngest: i64| -> Person {
            let first = FORENAMES[forenames.pick(rng)];
            let forenames = if rng.chance(0.3) {
                format_compact!("{first} {}", FORENAMES[forenames.pick(rng)])
            } else {
                first.into()
            };
            Person {
                surname: SURNAMES[surnames.pick(rng)].into(),
                forenames,
                dob: date(rng.range(oldest, youngest), rng.range(1, 12), rng.range(1, 28)),
                postcode: rng.index(postcodes.len()) as u32,
                pnc_id: None,
            }
        };
        for i in 0..citizens_n {
            let mut p = person(rng, 1940, 2008);
            // A third of people live with family: same surname, same postcode.
            if i > 0 && rng.chance(0.33) {
                let prev: &Person = &people[i as usize - 1];
                p.surname = prev.surname.clone();
                p.postcode = prev.postcode;
            }
            let year = p.dob.ymd().0 % 100;
            let check = b"ABCDEFGHJKLMNPQRTUVWXYZ"[(i as usize * 7) % 23] as char;
            p.pnc_id = Some(format_compact!("{:02}/{:06}{}", (year + 18) % 100, 100_000 + i, check));
            people.push(p);
        }

        let total_share: f64 = units.iter().map(|u| u.share).sum();
        let mut staff = Vec::with_capacity(staff_n as usize);
        let mut members = vec![Vec::new(); units.len()];
        for (ui, unit) in units.iter().enumerate() {
            let n = ((unit.share / total_share * staff_n as f64).round() as u32).max(unit.min);
            for _ in 0..n {
                let idx = staff.len() as u32;
                people.push(person(rng, 1962, 2004));
                members[ui].push(idx);
                staff.push(Staff {
                    user_id: format_compact!("U{:05}", 10_000 + idx),
                    person: (people.len() - 1) as u32,
                    unit: ui as u16,
                    status: AccountStatus::Active,
                    status_since: None,
                    rota_offset: rng.below(7) as u8,
                });
            }
        }

        let mut vrms = BTreeSet::new();
        let mut vehicles = Vec::with_capacity((citizens_n / 2) as usize);
        while vehicles.len() < (citizens_n / 2) as usize {
            let l = |rng: &mut Rng| VRM_LETTERS[rng.index(VRM_LETTERS.len())] as char;
            let age = if rng.chance(0.5) { rng.range(10, 25) } else { rng.range(60, 75) };
            let vrm = format_compact!("{}{}{age:02}{}{}{}", l(rng), l(rng), l(rng), l(rng), l(rng));
            if vrms.insert(vrm.clone()) {
                vehicles.push(Vehicle { vrm, keeper: rng.below(citizens_n as u64) as u32 });
            }
        }
        let population_vehicles = vehicles.len() as u32;
        Force { units, staff, people, citizens: citizens_n, vehicles, population_vehicles, postcodes, members }
    }

    pub fn unit_of(&self, staff: u32) -> &Unit {
        &self.units[self.staff[staff as usize].unit as usize]
    }

    pub fn person_of_staff(&self, staff: u32) -> &Person {
        &self.people[self.staff[staff as usize].person as usize]
    }

    /// Whether the member works a shift that starts on `day` (5 on, 2 off).
    pub fn works(&self, staff: u32, day: u32) -> bool {
        (day + self.staff[staff as usize].rota_offset as u32) % 7 < 5
    }

    /// The start and end of the shift that starts on the day beginning at `day_start`.
    pub fn shift_window(&self, staff: u32, day_start: Timestamp) -> (i64, i64) {
        let shift = self.unit_of(staff).shift;
        let start = day_start.0 + shift.start_minute as i64 * 60_000;
        let mut end = day_start.0 + shift.end_minute as i64 * 60_000;
        if end <= start {
            end += DAY;
        }
        (start, end)
    }

    /// Staff of units of these kinds, active and police.
    pub fn staff_of(&self, kinds: &[UnitKind]) -> Vec<u32> {
        (0..self.staff.len() as u32).filter(|&s| kinds.contains(&self.unit_of(s).kind)).collect()
    }

    /// A random citizen.
    pub fn citizen(&self, rng: &mut Rng) -> u32 {
        rng.below(self.citizens as u64) as u32
    }
}
