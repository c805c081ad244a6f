//! Allow lists: a rule's exemptions (`[[rules.<rule>.allow]]`), each naming users,
//! units, roles or systems, with a reason and an expiry. An exempted finding still
//! becomes an alert, marked `allowed`, so the audit trail shows it; it needs no triage
//! and adds nothing to the user's risk.

use crate::config::AllowEntry;
use crate::enrich::Enriched;
use compact_str::CompactString;

/// The first entry that exempts this access: not expired, and every list it gives
/// names the user, their unit, role or the system.
pub fn exemption<'a>(allow: &'a [AllowEntry], ctx: &Enriched) -> Option<&'a AllowEntry> {
    let e = ctx.event;
    let staff = ctx.user;
    allow.iter().find(|entry| {
        e.ts < entry.expires
            && names(&entry.users, Some(&e.user_id))
            && names(&entry.units, staff.and_then(|s| s.unit.as_deref()))
            && names(&entry.roles, staff.and_then(|s| s.role.as_deref()))
            && names(&entry.systems, Some(&e.system))
    })
}

/// An empty list names everyone; otherwise the value must be on it (any case).
fn names(list: &[CompactString], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::watchlist::TableName::Staff;
    use serde_json::json;

    #[test]
    fn an_entry_exempts_only_what_every_list_names_until_it_expires() {
        let text = "[[rules.purpose.missing.allow]]\nunits = [\"traffic\"]\nsystems = [\"anpr\"]\nreason = \"ANPR patrol checks\"\nexpires = \"2026-11-22\"\n";
        let c = Config::from_toml("a.toml", text).unwrap();
        let allow = &c.rules.settings(crate::alert::RuleId::PurposeMissing).allow;
        let l = lists(&[
            (Staff, json!({"user_id": "U1", "unit": "Traffic"})),
            (Staff, json!({"user_id": "U2", "unit": "CID"})),
        ]);
        let exempt = |extra| {
            let e = event(extra);
            let ctx = ctx(&e, &l, &c);
            exemption(allow, &ctx).is_some()
        };
        assert!(exempt(json!({"system": "ANPR"})));
        assert!(!exempt(json!({"system": "PNC"})), "another system");
        assert!(!exempt(json!({"system": "ANPR", "user_id": "U2"})), "another unit");
        assert!(!exempt(json!({"system": "ANPR", "ts": "2026-11-23T00:00:00Z"})), "expired");
    }
}
