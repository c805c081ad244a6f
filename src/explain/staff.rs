//! Custody staff: whether a user's unit works at a custody record's suite, and how
//! (the suite's own staff, or a custody unit of the whole force), from the unit's
//! name or the configuration's `suite_units`.

use crate::config::ExplanationConfig;
use crate::time::Timestamp;
use crate::watchlist::{CustodyRecord, StaffMember};

/// How a unit staffs a custody suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staffing {
    /// The suite's own staff.
    Suite,
    /// A custody unit of the whole force, of no one suite.
    ForceWide,
}

/// Whether the user works at the custody record's suite and is on shift at `ts`
/// (anyone without a rostered shift counts as on shift), and how: listed for the
/// suite in `suite_units` (or under `"*"`, every suite), or a custody unit by name.
pub fn works_at_suite(
    user: Option<&StaffMember>,
    record: &CustodyRecord,
    ts: Timestamp,
    config: &ExplanationConfig,
) -> Option<Staffing> {
    let (user, suite) = (user?, record.suite.as_deref()?);
    let unit = user.unit.as_deref()?;
    let (unit, suite) = (unit.to_uppercase(), suite.trim().to_uppercase());
    let listed = |suite: &str| config.suite_units.get(suite).is_some_and(|units| units.iter().any(|u| *u == unit));
    let staffing = if listed(suite.as_str()) {
        Staffing::Suite
    } else if listed("*") {
        Staffing::ForceWide
    } else {
        custody_unit_of(&unit, &suite)?
    };
    user.shift.is_none_or(|shift| shift.contains_minute(config.timezone.minute_of_day(ts), 60)).then_some(staffing)
}

/// Words that make a unit a custody unit ("Custody", "Detention Officers", "Cells",
/// "Prisoner Handling", "Bridewell"; not "Cell": an intelligence cell is no custody
/// staff), also stripped from a suite's name to leave the place it is named after,
/// with "Suite".
const CUSTODY_WORDS: [&str; 11] = [
    "CUSTODY",
    "DETENTION",
    "CELLS",
    "BRIDEWELL",
    "GAOLER",
    "GAOLERS",
    "DETAINEE",
    "DETAINEES",
    "PRISONER",
    "PRISONERS",
    "SUITE",
];

/// Words of a unit's name that name no place: a custody unit of only these and
/// custody words ("Custody Detention Officers", "Criminal Justice Custody Team 2")
/// serves every suite of the force.
const FORCE_WIDE_WORDS: [&str; 30] = [
    "OFFICER",
    "OFFICERS",
    "STAFF",
    "TEAM",
    "TEAMS",
    "UNIT",
    "DEPARTMENT",
    "DEPT",
    "FORCE",
    "CRIMINAL",
    "JUSTICE",
    "CJ",
    "CJU",
    "AND",
    "OF",
    "THE",
    "SERGEANT",
    "SERGEANTS",
    "SGT",
    "SGTS",
    "INSPECTOR",
    "DAYS",
    "NIGHTS",
    "LATES",
    "EARLIES",
    "SHIFT",
    "SHIFTS",
    "COMMAND",
    "SUPPORT",
    "HANDLING",
];

/// Whether a unit (upper case) is the custody staff of a suite (upper case): it is a
/// custody unit by name and names the suite's place ("Custody Central Days" at
/// "Central" or "Central Custody Suite"; a suite named by a custody word alone,
/// "Bridewell", is its own place), or names no place at all (a force-wide custody
/// unit, "Custody Detention Officers"; "Bridewell" names a place here, and so does any
/// word of two letters or more, "NW Custody"). A unit that only shares the place
/// ("Central CID", "Central Response") is not: towns name suites and units alike.
pub fn custody_unit_of(unit: &str, suite: &str) -> Option<Staffing> {
    fn words(s: &str) -> impl Iterator<Item = &str> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
    }
    let unit: Vec<&str> = words(unit).collect();
    let custody_word = |w: &&str| CUSTODY_WORDS[..CUSTODY_WORDS.len() - 1].contains(w);
    let no_place = |w: &&str| {
        (CUSTODY_WORDS.contains(w) && *w != "BRIDEWELL")
            || FORCE_WIDE_WORDS.contains(w)
            || w.len() == 1
            || w.bytes().all(|b| b.is_ascii_digit())
    };
    if unit.iter().any(custody_word) && !suite.trim().is_empty() && unit.iter().all(no_place) {
        return Some(Staffing::ForceWide);
    }
    let mut place: Vec<&str> = words(suite).filter(|w| !CUSTODY_WORDS.contains(w)).collect();
    if place.is_empty() {
        // A suite named by a place-like custody word ("Bridewell"); "Custody Suite"
        // names no place, and would take every custody unit of the force for its own.
        const GENERIC: [&str; 4] = ["CUSTODY", "DETENTION", "CELLS", "SUITE"];
        place = words(suite).filter(|w| !GENERIC.contains(w)).collect();
    }
    let custody = unit.iter().any(custody_word);
    (custody && !place.is_empty() && unit.windows(place.len()).any(|w| w == place.as_slice()))
        .then_some(Staffing::Suite)
}
