//! Need-to-know: which alerts and accesses one account may see. One rule, applied in
//! one place, to every path of the dashboard (board, stream, alert, evidence, timeline,
//! subject history, risk, charts, counts, briefing):
//!
//! - an account not cleared for operations sees nothing derived from an access to a
//!   live operation's subject: not the operation's alert, not any other alert on an
//!   event that touched the subject (the store marks them), not the event itself in a
//!   timeline or history, and not their weight in a count, chart or risk score;
//! - no one reviews themselves: an account linked to a member of staff never sees
//!   alerts about that person (and, as configured, about their line manager or their
//!   own unit);
//! - alerts about members of the anti-corruption unit (`acu_units`) go only to
//!   accounts cleared to review the ACU.

use crate::config::{Account, DashboardConfig};
use crate::watchlist::WatchLists;
use rusqlite::types::Value;

/// What one account may see.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// Cleared for live operations.
    pub operations: bool,
    /// Users whose alerts and accesses are never shown (the account's own person,
    /// their line manager).
    pub hidden_users: Vec<String>,
    /// Units whose members' alerts and accesses are never shown (the account's own
    /// unit, as configured; the ACU's units without clearance).
    pub hidden_units: Vec<String>,
    /// The members of the hidden units by the staff list: a subject spike they are
    /// among the other users of is not shown either.
    pub hidden_members: Vec<String>,
}

impl Scope {
    /// An account's scope, from the configuration and the staff list.
    pub fn of(account: &Account, config: &DashboardConfig, lists: Option<&WatchLists>) -> Scope {
        let mut scope = Scope { operations: account.operations, ..Scope::default() };
        if !account.review_acu {
            scope.hidden_units.extend(config.acu_units.iter().cloned());
        }
        if let Some(me) = &account.staff_id {
            scope.hidden_users.push(me.clone());
            let staff = lists.and_then(|l| l.staff_member(me));
            if config.hide_line_manager {
                if let Some(manager) = staff.and_then(|s| s.line_manager.as_deref()) {
                    scope.hidden_users.push(manager.to_string());
                }
            }
            if config.hide_own_unit {
                if let Some(unit) = staff.and_then(|s| s.unit.as_deref()) {
                    scope.hidden_units.push(unit.to_string());
                }
            }
        }
        scope.hidden_units.sort();
        scope.hidden_units.dedup();
        if let Some(lists) = lists.filter(|_| !scope.hidden_units.is_empty()) {
            scope.hidden_members = lists
                .staff
                .iter()
                .filter(|(_, _, s)| {
                    s.unit.as_deref().is_some_and(|u| scope.hidden_units.iter().any(|h| h.eq_ignore_ascii_case(u)))
                })
                .map(|(_, _, s)| s.user_id.to_string())
                .collect();
        }
        scope
    }

    /// The users a subject spike may not name among its others for this account to
    /// see it: its own hidden users and the members of its hidden units.
    fn hidden_others(&self) -> impl Iterator<Item = &String> {
        self.hidden_users.iter().chain(&self.hidden_members)
    }

    /// The condition on the `alerts` table (columns `operations`, `user_id`, `unit`)
    /// this scope puts on every query, with its parameters appended to `args`.
    pub fn sql(&self, args: &mut Vec<Value>) -> String {
        let mut sql = String::new();
        if !self.operations {
            sql.push_str(" AND operations = 0");
        }
        let list = |col: &str, values: &[String], args: &mut Vec<Value>| {
            if values.is_empty() {
                return String::new();
            }
            let marks: Vec<String> = values
                .iter()
                .map(|v| {
                    args.push(Value::Text(v.clone()));
                    format!("?{}", args.len())
                })
                .collect();
            format!(" AND {col} NOT IN ({})", marks.join(", "))
        };
        // Ids whatever their case: alerts stored before the engine folded them keep
        // the case they were logged in, and an account must never see its own.
        sql.push_str(&list("user_id COLLATE NOCASE", &self.hidden_users, args));
        // Whatever the case (the configuration's `acu_units` as typed, the staff list's
        // units as written); an alert with no unit is not in a hidden one.
        sql.push_str(&list("COALESCE(unit, '') COLLATE NOCASE", &self.hidden_units, args));
        // A subject spike is about its other users too (`other_users`, every one; its
        // sentence names five: `also U1, U2 and 3 more`; alerts stored before the list
        // was written have only the sentence): none of them, and no member of a hidden
        // unit among them, reviews it (a probe closed the spike naming them). The users
        // go as one JSON array, however large a hidden unit (one parameter each would
        // near SQLite's limit for a large force: a review), and the table is named
        // (inside `json_each`, `json` is its own column).
        let others: Vec<String> = self.hidden_others().map(|u| u.to_ascii_uppercase()).collect();
        if !others.is_empty() {
            args.push(Value::Text(serde_json::to_string(&others).unwrap_or_default()));
            let n = args.len();
            let named = |end: &str| {
                format!("instr(upper(json_extract(alerts.json, '$.reason')), ' ' || h.value || '{end}') > 0")
            };
            sql.push_str(&format!(
                " AND NOT (rule = '{SPIKE}' AND (\
                 EXISTS (SELECT 1 FROM json_each(alerts.json, '$.other_users') o, json_each(?{n}) h WHERE upper(o.value) = h.value) \
                 OR EXISTS (SELECT 1 FROM json_each(?{n}) h WHERE {} OR {} OR {})))",
                named(","),
                named(")"),
                named(" AND ")
            ));
        }
        sql
    }

    /// [`Scope::allows`] for a stored alert, with the other users a subject spike
    /// names: the same rule as [`Scope::sql`].
    pub fn allows_alert(&self, a: &crate::alert::Alert, operations: bool) -> bool {
        self.allows(&a.user_id, a.unit.as_deref(), operations)
            && !(a.rule.as_str() == SPIKE
                && a.other_users
                    .iter()
                    .map(|u| u.as_str())
                    .chain(spike_names(&a.reason))
                    .any(|u| self.hidden_others().any(|h| h.eq_ignore_ascii_case(u))))
    }

    /// Whether an alert (with the store's operations mark) is in scope; the same rule
    /// as [`Scope::sql`].
    pub fn allows(&self, user_id: &str, unit: Option<&str>, operations: bool) -> bool {
        (self.operations || !operations)
            && !self.hidden_users.iter().any(|u| u.eq_ignore_ascii_case(user_id))
            && !unit.is_some_and(|u| self.hidden_units.iter().any(|h| h.eq_ignore_ascii_case(u)))
    }

    /// Whether an access (a timeline or subject-history row) is in scope: by whom,
    /// and whether it touched a live operation's subject.
    pub fn allows_access(&self, user_id: &str, unit: Option<&str>, touches_operation: bool) -> bool {
        self.allows(user_id, unit, touches_operation)
    }
}

const SPIKE: &str = "behaviour.subject_spike";

/// The users a subject spike's sentence names beside its own (`(also U1, U2 and 3 more)`).
fn spike_names(reason: &str) -> impl Iterator<Item = &str> {
    let named = reason.split_once("(also ").and_then(|(_, rest)| rest.split_once(')')).map_or("", |(n, _)| n);
    named
        .split(", ")
        .flat_map(|part| part.split(" and "))
        .map(str::trim)
        .filter(|u| !u.is_empty() && !u.ends_with(" more"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    #[test]
    fn one_rule_for_queries_and_single_alerts() {
        let config = DashboardConfig { acu_units: vec!["PSD".into()], hide_own_unit: true, ..Default::default() };
        let account = Account {
            password: None,
            role: Role::Analyst,
            operations: false,
            staff_id: Some("U7".into()),
            review_acu: false,
        };
        let scope = Scope::of(&account, &config, None);
        assert!(scope.allows("U1", Some("Response"), false));
        assert!(!scope.allows("U1", Some("Response"), true), "operations");
        assert!(!scope.allows("U7", None, false), "themselves");
        assert!(!scope.allows("u7", None, false), "themselves, logged in lower case before ids were folded");
        assert!(!scope.allows("U2", Some("PSD"), false), "the ACU without clearance");
        let mut args = Vec::new();
        let sql = scope.sql(&mut args);
        assert!(sql.contains("operations = 0") && sql.contains("user_id COLLATE NOCASE NOT IN (?1)"), "{sql}");
        assert_eq!(args.len(), 3, "the user, the unit, the users a spike's others may not hold (one JSON array)");
        let cleared = Scope::of(&Account { operations: true, review_acu: true, ..account }, &config, None);
        assert!(cleared.allows("U2", Some("PSD"), true));
    }
}
