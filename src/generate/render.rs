//! The generated world's events as a source system writes them: names typed in the
//! officer's style, ids, references and the fields of spec/events.md.

use super::names::{FORENAMES, SURNAMES};
use crate::event::{AccessEvent, SubjectType};
use crate::time::Timestamp;
use compact_str::{format_compact, CompactString};

use super::world::{GenEvent, NameForm, Ref, Subject, World};

impl World {
    /// Renders one event in the canonical form.
    pub fn render(&self, e: &GenEvent, event_id: u64) -> AccessEvent {
        let staff = &self.force.staff[e.user as usize];
        let mut ev = AccessEvent {
            event_id: format_compact!("E{event_id:010}"),
            ts: Timestamp(e.ts),
            system: e.system.as_str().into(),
            user_id: staff.user_id.clone(),
            action: e.action,
            subject_type: SubjectType::Other,
            subject_id: None,
            subject_name: None,
            subject_dob: None,
            subject_postcode: None,
            subject_vrm: None,
            subject_sex: None,
            query: None,
            result_count: e.result_count.map(u64::from),
            reason_code: e.reason_code.map(Into::into),
            reference: match e.reference {
                Ref::None => None,
                Ref::Incident(i) => Some(self.incidents[i as usize].reference.clone()),
                Ref::Unknown(n) => Some(format_compact!("REF-{n:06}")),
            },
            force: Some(if self.force.unit_of(e.user).org == "police" {
                "NS".into()
            } else {
                self.force.unit_of(e.user).org.into()
            }),
            terminal: None,
            session_id: None,
            extra: None,
        };
        match e.subject {
            Subject::PersonSearch { person, form, dob } => {
                let p = &self.force.people[person as usize];
                ev.subject_type = SubjectType::Person;
                ev.subject_name = Some(typed_name(p, form));
                ev.subject_dob = dob.then_some(p.dob);
            }
            Subject::PersonView { person } => {
                let p = &self.force.people[person as usize];
                ev.subject_type = SubjectType::Person;
                ev.subject_id = p.pnc_id.clone();
                ev.subject_name = Some(format_compact!("{}, {}", p.surname.to_uppercase(), p.forenames));
                ev.subject_dob = Some(p.dob);
                ev.subject_postcode = Some(self.force.postcodes[p.postcode as usize].clone());
                // The record shows the person's recorded sex.
                ev.subject_sex = Some(super::names::sex_of(&p.forenames));
            }
            Subject::Nobody { surname, forename, dob } => {
                ev.subject_type = SubjectType::Person;
                ev.subject_name = Some(format_compact!(
                    "{}, {}",
                    SURNAMES[surname as usize].to_uppercase(),
                    FORENAMES[forename as usize]
                ));
                ev.subject_dob = Some(dob);
            }
            Subject::VehicleSearch { vehicle, spaced } => {
                let v = &self.force.vehicles[vehicle as usize].vrm;
                ev.subject_type = SubjectType::Vehicle;
                ev.subject_vrm = Some(if spaced {
                    format_compact!("{} {}", &v[..4], &v[4..]).to_lowercase().into()
                } else {
                    v.clone()
                });
            }
            Subject::VehicleView { vehicle } => {
                let v = &self.force.vehicles[vehicle as usize];
                ev.subject_type = SubjectType::Vehicle;
                ev.subject_vrm = Some(format_compact!("{} {}", &v.vrm[..4], &v.vrm[4..]));
                let keeper = &self.force.people[v.keeper as usize];
                ev.subject_postcode = Some(self.force.postcodes[keeper.postcode as usize].clone());
            }
            Subject::Address { postcode } => {
                ev.subject_type = SubjectType::Address;
                ev.subject_postcode = Some(self.force.postcodes[postcode as usize].clone());
            }
            Subject::Record { kind, incident } => {
                ev.subject_type = kind;
                ev.subject_id = Some(self.incidents[incident as usize].reference.clone());
            }
            Subject::CustodyRecord { record } => {
                let r = &self.custody[record as usize];
                let p = &self.force.people[r.person as usize];
                ev.subject_type = SubjectType::Custody;
                ev.subject_id = Some(r.custody_ref.clone());
                ev.subject_name = Some(format_compact!("{}, {}", p.surname.to_uppercase(), p.forenames));
                ev.subject_dob = Some(p.dob);
            }
        }
        ev
    }
}

/// A person's name as someone typed it.
pub fn typed_name(p: &super::force::Person, form: NameForm) -> CompactString {
    let first = p.forenames.split(' ').next().unwrap_or("");
    match form {
        NameForm::Comma => format_compact!("{}, {}", p.surname.to_uppercase(), first),
        NameForm::Natural => format_compact!("{} {}", first, p.surname),
        NameForm::Slash => format_compact!("{}/{}", p.surname.to_lowercase(), first.to_lowercase()),
        NameForm::SlashInitial => {
            format_compact!("{}/{}", p.surname.to_lowercase(), first.chars().next().unwrap_or('x').to_ascii_lowercase())
        }
    }
}
