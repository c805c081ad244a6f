//! The `[rules.<group>.<name>]` sections: every rule's common settings (enabled,
//! severity, suppression, allow lists) and its own parameters, each documented in
//! `config/default.toml`. What the settings mean for an event is decided by the rules
//! themselves (`src/detect/`, `src/behaviour/`); this is only their values.

use super::reader::Section;
use crate::alert::{Category, RuleId, Severity};
use crate::event::{Action, SubjectType};
use crate::time::{DailyRange, Date, Span, Timestamp, Zone, DAY};
use crate::watchlist::{AccountStatus, MatchStrength, Relationship};
use compact_str::CompactString;
use std::collections::BTreeMap;

/// An exemption from one rule, with an expiry and a reason.
#[derive(Clone, Debug, PartialEq)]
pub struct AllowEntry {
    pub users: Vec<CompactString>,
    pub units: Vec<CompactString>,
    pub roles: Vec<CompactString>,
    /// Upper case.
    pub systems: Vec<CompactString>,
    /// The first instant the entry no longer applies.
    pub expires: Timestamp,
    pub reason: String,
}

/// Settings every rule has.
#[derive(Clone, Debug, Default)]
pub struct RuleSettings {
    pub enabled: bool,
    pub severity: Severity,
    /// At most one alert per (rule, user, subject) per this window.
    pub suppression: Span,
    pub allow: Vec<AllowEntry>,
    /// For rules that match people: the most an alert can be when the person was
    /// matched by full name alone (no date of birth to confirm it). `None`: no cap.
    pub name_only_severity: Option<Severity>,
    /// ... by surname and initial alone.
    pub initial_only_severity: Option<Severity>,
    /// ... by name or initial alone on an access that is otherwise explained.
    pub weak_explained_severity: Option<Severity>,
}

impl RuleSettings {
    /// The severity of a finding given how its person was matched and whether the
    /// access is explained.
    pub fn severity_for(&self, severity: Severity, strength: Option<MatchStrength>, explained: bool) -> Severity {
        let cap = |s: Severity, cap: Option<Severity>| cap.map_or(s, |c| s.min(c));
        let severity = match strength {
            Some(MatchStrength::Name) => cap(severity, self.name_only_severity),
            Some(MatchStrength::Initial) => cap(severity, self.initial_only_severity),
            _ => severity,
        };
        match strength {
            Some(s) if s.is_weak() && explained => cap(severity, self.weak_explained_severity),
            _ => severity,
        }
    }
}

/// What a non-police organisation or a role may use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entitlement {
    /// Upper case; empty means any system.
    pub systems: Vec<CompactString>,
    /// Empty means any action.
    pub actions: Vec<Action>,
}

/// Every rule's settings and parameters.
#[derive(Clone, Debug, Default)]
pub struct RulesConfig {
    settings: Vec<RuleSettings>,
    /// high_profile.uninvolved: how far before `added_at` an entry reaches back.
    pub high_profile_lookback: Span,
    /// custody.uninvolved: how long after release a person still counts.
    pub custody_after_release: Span,
    /// custody.uninvolved: severity when the access gave no reference at all.
    pub custody_no_reference_severity: Severity,
    /// custody.uninvolved: severity once the person has been released.
    pub custody_released_severity: Severity,
    /// associate.lookup: severity by relationship, overriding the rule's severity.
    pub associate_severity: BTreeMap<Relationship, Severity>,
    /// associate.lookup: also treat a person sharing the user's surname and home
    /// postcode as family.
    pub associate_family_at_home: bool,
    /// neighbour.lookup: also alert on the postcode sector, at `neighbour_sector_severity`.
    pub neighbour_sector: bool,
    pub neighbour_sector_severity: Severity,
    /// purpose.missing and neighbour.lookup: the subject types they look at.
    pub purpose_subject_types: Vec<SubjectType>,
    /// account.status: statuses that make any access an alert.
    pub account_statuses: Vec<AccountStatus>,
    /// account.status: also alert on accounts missing from the staff list.
    pub account_unknown_users: bool,
    /// scope.unentitled: per non-police organisation.
    pub scope_orgs: BTreeMap<String, Entitlement>,
    /// scope.unentitled: per role.
    pub scope_roles: BTreeMap<String, Entitlement>,
    /// scope.unentitled: alert on non-police organisations that have no entitlement.
    pub scope_unlisted_orgs: bool,
    /// victim.contact: a user returning to a victim after their attachment ended.
    pub victim_returning_severity: Severity,
    /// victim.contact: an unattached user outside their hours.
    pub victim_out_of_hours_severity: Severity,
    /// victim.contact: the hours that count as out of hours for a user with no shift.
    pub victim_night: DailyRange,
    /// victim.contact: an unattached user's second access to the same victim within
    /// this long (and more than an hour after the first) is a repeat.
    pub victim_repeat_within: Span,
    /// victim.contact: the severity of such a repeat.
    pub victim_repeat_severity: Severity,
    /// The stateful detectors (`behaviour.*`, the peer comparison of purpose.missing).
    pub behaviour: BehaviourSettings,
}

/// Parameters of the behavioural detectors ([`crate::behaviour`]); each is documented
/// in `config/default.toml`.
#[derive(Clone, Debug, Default)]
pub struct BehaviourSettings {
    pub volume_window: Span,
    pub volume_min_events: u32,
    pub volume_z: f32,
    /// The baseline's span, in active hours.
    pub baseline_hours: u32,
    /// Active hours of baseline before the z-score is trusted (before: twice the floor).
    pub min_baseline_hours: u32,
    pub timezone: Zone,
    pub out_of_hours_grace: Span,
    pub learn_min_events: u32,
    pub usual_share: f32,
    pub fishing_window: Span,
    pub fishing_zero_results: u32,
    pub fishing_distinct_people: u32,
    pub export_window: Span,
    pub spike_window: Span,
    pub spike_min_users: u32,
    pub spike_multiple: f32,
    /// The spike's severity when its subject is a victim of a vulnerable incident.
    pub spike_victim_severity: Severity,
    /// behaviour.targeting: the window of unexplained person look-ups counted.
    pub targeting_window: Span,
    /// ... the fewest such look-ups (with sex and date of birth) before a user is judged.
    pub targeting_min_lookups: u32,
    /// ... the least share of them in one sex and age band.
    pub targeting_min_share: f32,
    /// ... how many times the rest of the unit's share it must be.
    pub targeting_ratio: f32,
    /// ... the binomial tail probability below which it is an alert.
    pub targeting_p_value: f32,
    /// ... the fewest look-ups by the rest of the unit for a comparison.
    pub targeting_unit_min_lookups: u32,
    /// ... the lower bounds of the age bands after the first (which starts at 0).
    pub targeting_age_bands: Vec<u8>,
    /// Whether purpose.missing compares users with their unit at all.
    pub peer_comparison: bool,
    pub peer_ratio: f32,
    pub peer_min_difference: f32,
    pub peer_min_accesses: u32,
    pub peer_half_life: Span,
    /// Per-user and per-subject state idle this long is forgotten.
    pub idle_after: Span,
    /// `[state] allowed_lateness`, copied here: how far behind the newest event an
    /// access still reaches the detectors, so how long their windows must remember.
    pub allowed_lateness: Span,
}

impl RulesConfig {
    pub fn settings(&self, rule: RuleId) -> &RuleSettings {
        &self.settings[rule as usize]
    }

    pub fn enabled(&self, rule: RuleId) -> bool {
        self.settings[rule as usize].enabled
    }

    /// Whether any stateful detector is on (if none, the engine keeps no behaviour state).
    pub fn any_behaviour(&self) -> bool {
        RuleId::ALL.iter().any(|r| r.category() == Category::Behaviour && self.enabled(*r))
            || (self.enabled(RuleId::PurposeMissing) && self.behaviour.peer_comparison)
    }
}

impl RulesConfig {
    /// Reads every `[rules.<group>.<name>]` section present; in the defaults, every
    /// rule must have one.
    pub(super) fn read(&mut self, rules: &Section) {
        if self.settings.is_empty() {
            self.settings = RuleId::ALL.iter().map(|_| RuleSettings::default()).collect();
        }
        let mut seen = Vec::new();
        for group in rules.keys() {
            let Some(g) = rules.table(&group) else { continue };
            for name in g.keys() {
                let id = format!("{group}.{name}");
                match (RuleId::parse(&id), g.table(&name)) {
                    (Some(rule), Some(section)) => {
                        self.read_rule(rule, &section);
                        section.finish();
                        seen.push(rule);
                    }
                    (None, _) => g.error(&name, format!("unknown rule `{id}`")),
                    (Some(_), None) => {}
                }
            }
        }
        if rules.is_complete() {
            for rule in RuleId::ALL.iter().filter(|r| !seen.contains(r)) {
                rules.error(rule.as_str(), "missing: every rule has its section in config/default.toml");
            }
        }
    }

    fn read_rule(&mut self, rule: RuleId, s: &Section) {
        let r = self;
        {
            let set = &mut r.settings[rule as usize];
            s.bool("enabled", &mut set.enabled);
            s.parsed("severity", &mut set.severity, parse_severity);
            s.span("suppression", &mut set.suppression);
            if s.has("allow") {
                set.allow = s.tables("allow").iter().filter_map(read_allow).collect();
            } else {
                s.raw("allow");
            }
        }
        if matches!(
            rule,
            RuleId::HighProfileUninvolved
                | RuleId::CustodyUninvolved
                | RuleId::AssociateLookup
                | RuleId::OpsecOutsider
                | RuleId::VictimContact
        ) {
            let set = &mut r.settings[rule as usize];
            let cap = |t: &str| match t {
                "" | "none" => Ok(None),
                other => parse_severity(other).map(Some).map_err(|e| format!("{e}, or \"none\"")),
            };
            s.parsed("name_only_severity", &mut set.name_only_severity, cap);
            s.parsed("initial_only_severity", &mut set.initial_only_severity, cap);
            s.parsed("weak_explained_severity", &mut set.weak_explained_severity, cap);
        }
        match rule {
            RuleId::HighProfileUninvolved => s.span("lookback", &mut r.high_profile_lookback),
            RuleId::CustodyUninvolved => {
                s.span("after_release", &mut r.custody_after_release);
                s.parsed("severity_no_reference", &mut r.custody_no_reference_severity, parse_severity);
                s.parsed("severity_released", &mut r.custody_released_severity, parse_severity);
            }
            RuleId::AssociateLookup => {
                s.bool("family_at_home", &mut r.associate_family_at_home);
                if let Some(t) = s.table("severity_by_relationship") {
                    for key in t.keys() {
                        match Relationship::parse(&key) {
                            Some(rel) => {
                                let mut sev = Severity::Amber;
                                t.parsed(&key, &mut sev, parse_severity);
                                r.associate_severity.insert(rel, sev);
                            }
                            None => t.error(
                                &key,
                                "unknown relationship (expected family, partner, ex_partner, friend, neighbour, journalist, criminal_associate, other)",
                            ),
                        }
                    }
                }
            }
            RuleId::NeighbourLookup => {
                s.bool("sector", &mut r.neighbour_sector);
                s.parsed("sector_severity", &mut r.neighbour_sector_severity, parse_severity);
            }
            RuleId::PurposeMissing => {
                s.parsed_list("subject_types", &mut r.purpose_subject_types, |t| {
                    SubjectType::parse(t).ok_or_else(|| format!("unknown subject type {t:?}"))
                });
                if r.purpose_subject_types.is_empty() && r.settings[rule as usize].enabled {
                    s.error("subject_types", SWITCHED_OFF_UNSEEN);
                }
                let b = &mut r.behaviour;
                s.bool("peer_comparison", &mut b.peer_comparison);
                s.f32("peer_ratio", 1.0..=100.0, &mut b.peer_ratio);
                s.f32("peer_min_difference", 0.0..=1.0, &mut b.peer_min_difference);
                s.u32("peer_min_accesses", 1..=1_000_000, &mut b.peer_min_accesses);
                s.positive_span("peer_half_life", &mut b.peer_half_life);
            }
            RuleId::BehaviourVolume => {
                let b = &mut r.behaviour;
                s.positive_span("window", &mut b.volume_window);
                s.u32("min_events", 1..=100_000, &mut b.volume_min_events);
                s.f32("z", 0.0..=100.0, &mut b.volume_z);
                s.u32("baseline_hours", 1..=10_000, &mut b.baseline_hours);
                s.u32("min_baseline_hours", 0..=10_000, &mut b.min_baseline_hours);
            }
            RuleId::BehaviourOutOfHours => {
                let b = &mut r.behaviour;
                s.parsed("timezone", &mut b.timezone, Zone::parse);
                s.span("grace", &mut b.out_of_hours_grace);
                s.u32("learn_min_events", 1..=10_000_000, &mut b.learn_min_events);
                s.f32("usual_share", 0.0..=1.0, &mut b.usual_share);
            }
            RuleId::BehaviourFishing => {
                let b = &mut r.behaviour;
                s.positive_span("window", &mut b.fishing_window);
                s.u32("zero_results", 1..=100_000, &mut b.fishing_zero_results);
                s.u32("distinct_people", 1..=100_000, &mut b.fishing_distinct_people);
            }
            RuleId::BehaviourExportAfterSensitive => s.positive_span("window", &mut r.behaviour.export_window),
            RuleId::BehaviourSubjectSpike => {
                let b = &mut r.behaviour;
                s.positive_span("window", &mut b.spike_window);
                s.u32("min_users", 2..=100_000, &mut b.spike_min_users);
                s.f32("baseline_multiple", 1.0..=1000.0, &mut b.spike_multiple);
                s.parsed("severity_victim", &mut b.spike_victim_severity, parse_severity);
            }
            RuleId::VictimContact => {
                s.parsed("severity_returning", &mut r.victim_returning_severity, parse_severity);
                s.parsed("severity_out_of_hours", &mut r.victim_out_of_hours_severity, parse_severity);
                s.parsed("night", &mut r.victim_night, |t| DailyRange::parse(t).map_err(|e| e.to_string()));
                s.span("repeat_within", &mut r.victim_repeat_within);
                s.parsed("severity_repeat", &mut r.victim_repeat_severity, parse_severity);
            }
            RuleId::BehaviourTargeting => {
                let b = &mut r.behaviour;
                s.positive_span("window", &mut b.targeting_window);
                if b.targeting_window > Span(366 * DAY) || b.targeting_window < Span(DAY) {
                    s.error("window", "between one day and a year");
                }
                s.u32("min_lookups", 1..=100_000, &mut b.targeting_min_lookups);
                s.f32("min_share", 0.0..=1.0, &mut b.targeting_min_share);
                s.f32("ratio", 1.0..=100.0, &mut b.targeting_ratio);
                // Above f32's smallest normal number: 0 would switch the detector off unseen.
                s.f32("p_value", 1e-30..=0.5, &mut b.targeting_p_value);
                s.u32("unit_min_lookups", 1..=10_000_000, &mut b.targeting_unit_min_lookups);
                s.parsed_list("age_bands", &mut b.targeting_age_bands, |t| {
                    t.parse::<u8>().map_err(|_| format!("expected an age in years, got {t:?}"))
                });
                if b.targeting_age_bands.windows(2).any(|w| w[0] >= w[1]) || b.targeting_age_bands.len() > 12 {
                    s.error("age_bands", "ages must rise, at most 12 of them");
                }
            }
            RuleId::AccountStatus => {
                s.parsed_list("statuses", &mut r.account_statuses, |t| {
                    AccountStatus::parse(t)
                        .ok_or_else(|| format!("unknown status {t:?} (expected suspended, restricted, left, active)"))
                });
                if r.account_statuses.is_empty() && r.settings[rule as usize].enabled {
                    s.error("statuses", SWITCHED_OFF_UNSEEN);
                }
                s.bool("unknown_users", &mut r.account_unknown_users);
            }
            RuleId::ScopeUnentitled => {
                s.bool("unlisted_orgs", &mut r.scope_unlisted_orgs);
                for (key, map) in [("orgs", &mut r.scope_orgs), ("roles", &mut r.scope_roles)] {
                    if let Some(t) = s.table(key) {
                        map.clear();
                        for name in t.keys() {
                            if let Some(e) = t.table(&name) {
                                let mut ent = Entitlement::default();
                                e.systems("systems", &mut ent.systems);
                                e.parsed_list("actions", &mut ent.actions, |a| {
                                    Action::parse(a).ok_or_else(|| format!("unknown action {a:?}"))
                                });
                                e.finish();
                                map.insert(name.clone(), ent);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// An empty list where a rule judges only what the list names would switch the rule
/// off while it still counts as enabled.
const SWITCHED_OFF_UNSEEN: &str =
    "an empty list leaves the rule nothing to judge (to switch it off, set enabled = false)";

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("expected red, amber or green, got {s:?}"))
}

fn read_allow(s: &Section) -> Option<AllowEntry> {
    let list = |key: &str| {
        let mut v = Vec::new();
        s.strings(key, &mut v);
        v.into_iter().map(CompactString::from).collect::<Vec<_>>()
    };
    let mut users = list("users");
    users.iter_mut().for_each(crate::event::normalise::user_id);
    let units = list("units");
    let roles = list("roles");
    let mut systems: Vec<CompactString> = Vec::new();
    s.systems("systems", &mut systems);
    let mut reason = String::new();
    s.string("reason", &mut reason);
    let mut expires = None;
    s.parsed("expires", &mut expires, |t| {
        // A date means the whole of that day.
        Date::parse(t)
            .map(|d| Timestamp(d.0 as i64 * DAY + DAY))
            .or_else(|_| Timestamp::parse_rfc3339(t))
            .map(Some)
            .map_err(|_| format!("expected a date (YYYY-MM-DD) or an RFC 3339 time, got {t:?}"))
    });
    let mut ok = true;
    if users.is_empty() && units.is_empty() && roles.is_empty() && systems.is_empty() {
        s.error("users", "an allow entry must name users, units, roles or systems");
        ok = false;
    }
    if reason.trim().is_empty() {
        s.error("reason", "an allow entry needs a reason");
        ok = false;
    }
    if expires.is_none() && !s.has("expires") {
        s.error("expires", "an allow entry needs an expiry date (expires = \"YYYY-MM-DD\")");
        ok = false;
    }
    s.finish();
    let expires = expires?;
    ok.then_some(AllowEntry { users, units, roles, systems, expires, reason })
}
