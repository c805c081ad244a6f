//! What explains an access: `[justification]` (the "justified" test of
//! spec/rules.md: a reference to an incident the user is linked to) and
//! `[explanation]` (everything else a force counts as a policing purpose on record).
//! What the values mean for an event is decided in `src/explain.rs`.

use super::reader::Section;
use crate::event::{Action, SubjectType};
use crate::time::{Span, Zone};
use compact_str::CompactString;
use std::collections::BTreeMap;

/// A force's own routine that explains accesses (`[[explanation.routines]]`): every
/// list given must match; at least one of users, units or roles is given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routine {
    pub name: CompactString,
    pub users: Vec<CompactString>,
    pub units: Vec<CompactString>,
    pub roles: Vec<CompactString>,
    /// Upper case.
    pub systems: Vec<CompactString>,
    pub actions: Vec<Action>,
    pub subject_types: Vec<SubjectType>,
    /// Normalised with [`reason_code_key`].
    pub reason_codes: Vec<CompactString>,
}

/// The settings of the explanation step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExplanationConfig {
    /// An incident justifies accesses from this long before it was opened ...
    pub before_open: Span,
    /// ... until this long after it was closed.
    pub after_close: Span,
    /// A watch-list row (an incident, a custody record, a case team, an operation's
    /// team) explains an access when it was recorded no later than this after the
    /// access; an alert raised before such a row arrived is resolved when it does.
    pub late_grace: Span,
    /// An access to a subject the same user accessed with an explanation this recently
    /// is explained by that earlier access.
    pub continuation: Span,
    /// Reason codes of documented encounters (a stop, an ANPR hit), normalised: a
    /// search with a result giving one is explained.
    pub encounter_codes: Vec<CompactString>,
    /// Custody staff are explained for a detainee of their suite from arrest until
    /// this long after release, on shift.
    pub custody_staff_after: Span,
    /// Systems (upper case) on which the suite's staff do custody work: there, while
    /// the person is held, being on shift at the suite answers the high-profile and
    /// opsec rules too. Empty: every system.
    pub custody_work_systems: Vec<CompactString>,
    /// Units working at each custody suite (suite and unit upper case), beyond those
    /// whose name contains the suite's name.
    pub suite_units: BTreeMap<CompactString, Vec<CompactString>>,
    pub routines: Vec<Routine>,
    /// The zone rostered shifts are written in (`rules.behaviour.out_of_hours.timezone`).
    pub timezone: Zone,
}

/// A reason code as compared: upper case, letters and digits only (`stop-search`,
/// `STOP_SEARCH` and `Stop Search` are one code).
pub fn reason_code_key(code: &str) -> CompactString {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

impl ExplanationConfig {
    pub(super) fn read_justification(&mut self, s: &Section) {
        s.span("before_open", &mut self.before_open);
        s.span("after_close", &mut self.after_close);
    }

    pub(super) fn read(&mut self, s: &Section) {
        s.span("late_grace", &mut self.late_grace);
        s.span("continuation", &mut self.continuation);
        s.span("custody_staff_after", &mut self.custody_staff_after);
        s.systems("custody_work_systems", &mut self.custody_work_systems);
        s.parsed_list("encounter_codes", &mut self.encounter_codes, |c| match reason_code_key(c) {
            k if k.is_empty() => Err(format!("{c:?} has no letters or digits")),
            k => Ok(k),
        });
        if let Some(t) = s.table("suite_units") {
            self.suite_units.clear();
            for suite in t.keys() {
                let mut units = Vec::new();
                t.strings(&suite, &mut units);
                self.suite_units.insert(upper(&suite), units.iter().map(|u| upper(u)).collect());
            }
            t.finish();
        } else {
            s.raw("suite_units");
        }
        if s.has("routines") {
            let tables = s.tables("routines");
            self.routines = Vec::with_capacity(tables.len());
            for t in &tables {
                let Some(r) = read_routine(t) else { continue };
                // The explanation names the routine: two of one name could not be told apart.
                if self.routines.iter().any(|o: &Routine| o.name.eq_ignore_ascii_case(&r.name)) {
                    t.error("name", format!("{:?} names another routine too: each needs its own name", r.name));
                    continue;
                }
                self.routines.push(r);
            }
        } else {
            s.raw("routines");
        }
    }
}

fn upper(s: &str) -> CompactString {
    CompactString::from(s.trim().to_uppercase())
}

fn read_routine(s: &Section) -> Option<Routine> {
    let list = |key: &str| {
        let mut v = Vec::new();
        s.strings(key, &mut v);
        v.into_iter().map(CompactString::from).collect::<Vec<_>>()
    };
    let mut name = String::new();
    s.string("name", &mut name);
    let mut r = Routine {
        name: name.trim().into(),
        users: list("users")
            .into_iter()
            .map(|mut u| {
                crate::event::normalise::user_id(&mut u);
                u
            })
            .collect(),
        units: list("units"),
        roles: list("roles"),
        systems: Vec::new(),
        reason_codes: list("reason_codes").iter().map(|c| reason_code_key(c)).collect(),
        ..Routine::default()
    };
    s.systems("systems", &mut r.systems);
    s.parsed_list("actions", &mut r.actions, |a| Action::parse(a).ok_or_else(|| format!("unknown action {a:?}")));
    s.parsed_list("subject_types", &mut r.subject_types, |t| {
        SubjectType::parse(t).ok_or_else(|| format!("unknown subject type {t:?}"))
    });
    s.finish();
    let mut ok = true;
    if r.name.is_empty() {
        s.error("name", "a routine needs a name (it is what the explanation says)");
        ok = false;
    }
    if r.users.is_empty() && r.units.is_empty() && r.roles.is_empty() {
        s.error("units", "a routine must name users, units or roles: it explains the work of someone");
        ok = false;
    }
    ok.then_some(r)
}
