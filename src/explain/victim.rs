//! The vulnerable incidents an access's person is a victim in, as the access sees
//! them: what explains a victim's own investigators (`victim`) and what
//! `victim.contact` asks about (`crate::detect::victim`).

use super::{attached, in_window, known_in_time};
use crate::config::ExplanationConfig;
use crate::event::{AccessEvent, SubjectType};
use crate::hash::stable;
use crate::watchlist::{Incident, Matches, StaffMember, WatchLists};
use smallvec::SmallVec;

/// A vulnerable incident that lists an access's person as a victim, as the access
/// sees it.
#[derive(Debug, Clone)]
pub struct VictimLink<'a> {
    pub incident: &'a Incident,
    pub strength: crate::watchlist::MatchStrength,
    /// The victim's row (incident and position), hashed: the same person whether the
    /// look-up gave the record id or the name and date of birth.
    pub key: u64,
    /// The user is named among the incident's officers.
    pub named: bool,
    /// Named, or a member of its owning unit.
    pub attached: bool,
    /// The access falls in the incident's window (opening minus `before_open` to
    /// closing plus `after_close`).
    pub in_window: bool,
}

/// The vulnerable incidents, open and on record by the access's time, that list its
/// person as a victim; latest first, whatever order the lists were loaded in.
pub fn victim_links<'a>(
    e: &AccessEvent,
    user: Option<&StaffMember>,
    lists: &'a WatchLists,
    matches: &Matches,
    config: &ExplanationConfig,
) -> SmallVec<[VictimLink<'a>; 2]> {
    let mut out = SmallVec::new();
    if e.subject_type != SubjectType::Person {
        return out;
    }
    for &(id, strength) in matches {
        let Some(incident) = lists.victims.get(id).and_then(|v| lists.incidents.get(v.incident)) else { continue };
        if !incident.vulnerable || e.ts < incident.opened_at || !known_in_time(incident.recorded_at, e.ts, config) {
            continue;
        }
        let named = incident.officers.contains(&e.user_id);
        out.push(VictimLink {
            incident,
            strength,
            key: stable(0x9_10_11_12, lists.victims.key_of(id).unwrap_or_default()) | 1,
            named,
            attached: named || attached(incident, user, &e.user_id),
            in_window: in_window(incident, e.ts, config),
        });
    }
    out.sort_by(|a, b| {
        (b.incident.opened_at, &b.incident.reference).cmp(&(a.incident.opened_at, &a.incident.reference))
    });
    out
}
