//! `purpose.missing`: a person, vehicle or address accessed with no reference, an
//! unknown one, or one the user has no link to (see [`crate::enrich::Justification`]).
//! Green: on its own it is a prompt to look, and many of them add up in the user's risk.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::RuleId;
use crate::config::RulesConfig;
use crate::enrich::Enriched;

pub fn check<'a>(ctx: &Enriched<'a>, rules: &RulesConfig, out: &mut Findings<'a>) {
    if ctx.justification.is_justified() || !rules.purpose_subject_types.contains(&ctx.event.subject_type) {
        return;
    }
    let severity = rules.settings(RuleId::PurposeMissing).severity;
    out.push(Finding {
        rule: RuleId::PurposeMissing,
        severity,
        score: score(severity, None),
        subject_key: ctx.subject_key(),
        watchlist: None,
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(Facts),
    });
}

/// No facts beyond the event and its justification.
#[derive(Debug)]
pub struct Facts;

impl Explain for Facts {
    fn sentence(&self, ctx: &Enriched) -> String {
        format!(
            "{} {} and {}, so no policing purpose is on record.",
            ctx.who(),
            ctx.what(),
            ctx.justification.why_not()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    #[test]
    fn fires_without_a_linked_reference_only() {
        let c = Config::defaults();
        let l = lists(&[
            (Staff, json!({"user_id": "U1", "unit": "Traffic"})),
            (Incidents, json!({"reference": "INC-1", "opened_at": "2026-11-22T09:30:00Z", "officers": ["U1"]})),
            (Incidents, json!({"reference": "INC-2", "opened_at": "2026-11-01T09:30:00Z", "unit": "CID"})),
            (Incidents, json!({"reference": "INC-3", "opened_at": "2026-11-22T09:30:00Z", "unit": "traffic"})),
            (
                Incidents,
                json!({"reference": "INC-4", "opened_at": "2026-08-01T00:00:00Z", "closed_at": "2026-09-01T00:00:00Z", "officers": "U1"}),
            ),
        ]);
        let fires = |extra| fired(&event(extra), &l, &c).contains(&"purpose.missing");
        assert!(fires(json!({"subject_type": "vehicle", "subject_vrm": "AB12CDE"})));
        assert!(fires(json!({"reference": "NOPE-1"})));
        assert!(fires(json!({"reference": "INC-2"})), "another unit's incident");
        assert!(fires(json!({"reference": "INC-4"})), "closed more than 30 days before");
        assert!(!fires(json!({"reference": "INC-1"})), "attached officer");
        assert!(!fires(json!({"reference": "INC-3"})), "the user's unit");
        assert!(!fires(json!({"subject_type": "crime"})), "not a person, vehicle or address");
    }
}
