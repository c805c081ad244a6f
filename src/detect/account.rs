//! Who may use the systems at all, and for what.
//!
//! - `account.status`: any access by an account that is suspended, restricted or has
//!   left at the time of the access. One alert per user per window, whatever they
//!   looked at: the account is the subject.
//! - `scope.unentitled`: a user of a non-police organisation, or of a role, using a
//!   system or action outside what the configuration entitles it to.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::RuleId;
use crate::config::{Entitlement, RulesConfig};
use crate::enrich::Enriched;
use crate::event::Action;
use crate::watchlist::AccountStatus;
use compact_str::format_compact;

#[derive(Debug)]
pub enum Facts<'a> {
    Status(AccountStatus),
    UnknownUser,
    OrgWithoutEntitlement(&'a str),
    Org { org: &'a str, entitlement: &'a Entitlement },
    Role { role: &'a str, entitlement: &'a Entitlement },
}

pub fn account_status<'a>(ctx: &Enriched<'a>, rules: &RulesConfig, out: &mut Findings<'a>) {
    let facts = match ctx.user {
        Some(user) => {
            let status = user.status_at(ctx.event.ts);
            if !rules.account_statuses.contains(&status) {
                return;
            }
            Facts::Status(status)
        }
        None if rules.account_unknown_users => Facts::UnknownUser,
        None => return,
    };
    let severity = rules.settings(RuleId::AccountStatus).severity;
    out.push(Finding {
        rule: RuleId::AccountStatus,
        severity,
        score: score(severity, None),
        subject_key: "account".into(),
        watchlist: None,
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(facts),
    });
}

pub fn scope_unentitled<'a>(ctx: &Enriched<'a>, rules: &'a RulesConfig, out: &mut Findings<'a>) {
    let Some(user) = ctx.user else { return };
    let (system, action) = (ctx.event.system.as_str(), ctx.event.action);
    let facts = if !user.is_police() {
        match rules.scope_orgs.iter().find(|(o, _)| o.eq_ignore_ascii_case(&user.org)) {
            Some((org, ent)) if !entitles(ent, system, action) => Some(Facts::Org { org, entitlement: ent }),
            Some(_) => None,
            None if rules.scope_unlisted_orgs => Some(Facts::OrgWithoutEntitlement(user.org.as_str())),
            None => None,
        }
    } else {
        None
    };
    let facts = facts.or_else(|| {
        let role = user.role.as_deref()?;
        let (name, ent) = rules.scope_roles.iter().find(|(r, _)| r.eq_ignore_ascii_case(role))?;
        (!entitles(ent, system, action)).then_some(Facts::Role { role: name, entitlement: ent })
    });
    let Some(facts) = facts else { return };
    // `user` borrows from the watch lists, which outlive the finding; the org name in
    // OrgWithoutEntitlement comes from there.
    let severity = rules.settings(RuleId::ScopeUnentitled).severity;
    out.push(Finding {
        rule: RuleId::ScopeUnentitled,
        severity,
        score: score(severity, None),
        subject_key: format_compact!("scope:{system}:{action}"),
        watchlist: None,
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(facts),
    });
}

/// Whether an entitlement covers a system and action: an empty list allows any.
fn entitles(e: &Entitlement, system: &str, action: Action) -> bool {
    (e.systems.is_empty() || e.systems.iter().any(|s| s == system))
        && (e.actions.is_empty() || e.actions.contains(&action))
}

fn entitlement_phrase(e: &Entitlement) -> String {
    let systems = if e.systems.is_empty() { "any system".to_string() } else { e.systems.join(", ") };
    let actions = if e.actions.is_empty() {
        "any action".to_string()
    } else {
        e.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
    };
    format!("{actions} on {systems}")
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }
}

fn sentence(f: &Facts, ctx: &Enriched) -> String {
    let who = ctx.who();
    let what = ctx.what();
    match f {
        Facts::Status(status) => {
            let since = ctx.user.and_then(|u| u.status_since);
            let when = |word: &str| since.map(|t| format!(" {word} {}", t.human())).unwrap_or_default();
            match status {
                AccountStatus::Left => format!("{who} {what} although they left the force{}.", when("on")),
                other => format!("{who} {what} although the account has been {}{}.", other.as_str(), when("since")),
            }
        }
        Facts::UnknownUser => format!("{who} {what}, but no such user is on the staff list (an orphan or shared account)."),
        Facts::OrgWithoutEntitlement(org) => format!(
            "{who}, of non-police organisation {org}, {what}, and {org} has no entitlement to police systems in the configuration."
        ),
        Facts::Org { org, entitlement } => format!(
            "{who}, of non-police organisation {org}, {what}, outside what {org} is entitled to ({}).",
            entitlement_phrase(entitlement)
        ),
        Facts::Role { role, entitlement } => format!(
            "{who} {what}, outside what the role {role} is entitled to ({}).",
            entitlement_phrase(entitlement)
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    #[test]
    fn suspended_accounts_alert_from_status_since() {
        let c = Config::defaults();
        let l =
            lists(&[(Staff, json!({"user_id": "U1", "status": "suspended", "status_since": "2026-11-20T00:00:00Z"}))]);
        assert!(fired(&event(json!({})), &l, &c).contains(&"account.status"));
        assert!(!fired(&event(json!({"ts": "2026-11-19T00:00:00Z"})), &l, &c).contains(&"account.status"));
        let active = lists(&[(Staff, json!({"user_id": "U1"}))]);
        assert!(!fired(&event(json!({})), &active, &c).contains(&"account.status"));
    }

    #[test]
    fn entitlements_for_orgs_and_roles() {
        let c = Config::from_toml(
            "t.toml",
            r#"
[rules.scope.unentitled.orgs.DVLA]
systems = ["PNC"]
actions = ["search", "view"]
[rules.scope.unentitled.roles.PCSO]
systems = ["RMS"]
"#,
        )
        .unwrap();
        let l = lists(&[
            (Staff, json!({"user_id": "U1", "org": "DVLA"})),
            (Staff, json!({"user_id": "U2", "role": "PCSO"})),
            (Staff, json!({"user_id": "U3", "org": "Acme Security"})),
            (Staff, json!({"user_id": "U4", "role": "PC"})),
        ]);
        let fires = |extra| fired(&event(extra), &l, &c).contains(&"scope.unentitled");
        assert!(!fires(json!({"user_id": "U1"})), "DVLA viewing on PNC");
        assert!(fires(json!({"user_id": "U1", "system": "INTEL"})));
        assert!(fires(json!({"user_id": "U1", "action": "export"})));
        assert!(fires(json!({"user_id": "U2"})), "PCSO on PNC");
        assert!(!fires(json!({"user_id": "U2", "system": "rms"})));
        assert!(fires(json!({"user_id": "U3"})), "organisation with no entitlement");
        assert!(!fires(json!({"user_id": "U4"})), "role without restrictions");
    }
}
