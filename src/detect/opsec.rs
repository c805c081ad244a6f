//! `opsec.outsider`: a subject (person, vehicle or address) of a live covert operation
//! accessed by a user not briefed on it: the signature of an insider checking whether
//! an organised crime group is being watched.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::WatchlistRef;
use crate::alert::{RuleId, Severity};
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::explain::Kind;
use crate::watchlist::{MatchStrength, OperationSubject, RowId, TableName, WatchLists};
use compact_str::format_compact;
use smallvec::SmallVec;

#[derive(Debug)]
pub struct Facts<'a> {
    pub subject: &'a OperationSubject,
    pub strength: MatchStrength,
    /// The access's reference names the operation; its subject is none of the
    /// operation's.
    pub named: bool,
}

pub fn check<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    let settings = rules.settings(RuleId::OpsecOutsider);
    let ts = ctx.event.ts;
    let mut raised: SmallVec<[&str; 2]> = SmallVec::new();
    // Custody staff with the subject in their cells, or a case team, have their purpose
    // on record for this very subject (a force-wide custody unit's is about the custody,
    // not the person: it is asked); a reference alone does not answer it, and each
    // operation's own team is checked below (being briefed on one operation says
    // nothing about another with the same subject).
    let answered = ctx.explanation.is_about_subject()
        && matches!(ctx.explanation.effective_kind(), Some(Kind::Custody | Kind::CaseTeam));
    for &(id, strength) in ctx.matches.operations.iter().filter(|_| !answered) {
        let Some(subject) = lists.operations.get(id) else { continue };
        if !subject.is_live_at(ts) || subject.team.contains(&ctx.event.user_id) {
            continue;
        }
        let mut severity = settings.severity_for(settings.severity, Some(strength), ctx.explanation.is_explained());
        // An address matched by its postcode alone (a postcode holds about fifteen
        // households; a block of flats, more) on an access under the user's own
        // incident, given on this very access (the burglary next door): amber, a look by
        // the cleared reviewers, not a red for every call to the street. Not carried on
        // by an earlier access, nor by any other purpose (a review: a search of the
        // postcode under an unrelated incident then kept later views of the operation's
        // addresses amber).
        let referenced = matches!(ctx.explanation, crate::explain::Explanation::Reference(_));
        if strength == MatchStrength::Postcode && referenced {
            severity = severity.min(Severity::Amber);
        }
        // The postcode as the place of another record (a crime's scene, an incident,
        // an intelligence report): a look by the cleared reviewers, amber, whatever the
        // reference (a review: every call to an address is such a record, and the next
        // shift's handlers were red; a second review: green under any incident of the
        // user's own let an insider read and print the intelligence on the address).
        if strength == MatchStrength::Postcode && ctx.event.subject_type != crate::event::SubjectType::Address {
            severity = severity.min(Severity::Amber);
        }
        out.push(outsider(lists, (id, subject), strength, severity, ts, false));
        raised.push(&subject.operation);
    }
    // An officer not briefed on a live operation who writes its name in a reference
    // knows of it (and the name hides the access from reviewers not cleared for
    // operations: `crate::explain::touches_operation`), whatever else explains the
    // access: one finding for each such operation named.
    let named: SmallVec<[(RowId, &OperationSubject); 2]> = (ctx.matches.named_operations.iter())
        .filter_map(|&id| Some((id, lists.operations.get(id)?)))
        .filter(|(_, o)| o.is_live_at(ts))
        .collect();
    for &(id, subject) in &named {
        let op = subject.operation.as_str();
        let briefed = named.iter().any(|(_, o)| o.operation == op && o.team.contains(&ctx.event.user_id));
        if briefed || raised.contains(&op) {
            continue;
        }
        let severity = settings.severity_for(settings.severity, Some(MatchStrength::Id), false);
        out.push(outsider(lists, (id, subject), MatchStrength::Id, severity, ts, true));
        raised.push(op);
    }
}

/// An `opsec.outsider` finding on an operation's subject row, for an access at `ts`.
fn outsider<'a>(
    lists: &'a WatchLists,
    (id, subject): (RowId, &'a OperationSubject),
    strength: MatchStrength,
    severity: crate::alert::Severity,
    ts: crate::time::Timestamp,
    named: bool,
) -> Finding<'a> {
    let key = lists.operations.key_of(id).unwrap_or_default();
    Finding {
        rule: RuleId::OpsecOutsider,
        severity,
        score: score(severity, Some(strength)),
        subject_key: format_compact!("operations:{key}"),
        watchlist: Some(WatchlistRef::new(
            TableName::Operations,
            key.into(),
            strength,
            ts,
            subject.starts_at,
            subject.recorded_at,
        )),
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(Facts { subject, strength, named }),
    }
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }
}

fn sentence(f: &Facts, ctx: &Enriched) -> String {
    if f.named {
        return format!(
            "{} {} giving reference {}, which names live operation {}; {} is not on the operation's briefed team.",
            ctx.who(),
            ctx.what(),
            crate::event::raw::as_typed_id(ctx.event.reference.as_deref().unwrap_or_default()),
            f.subject.operation,
            ctx.event.user_id,
        );
    }
    // A reference is said: an incident, even the user's own, briefs no one on a covert
    // operation, and the investigator needs to know it was given.
    let reference = match ctx.event.reference.as_deref() {
        Some(r) => format!(", although they gave reference {}", crate::event::raw::as_typed_id(r)),
        None => String::new(),
    };
    format!(
        "{} {}, a subject of live operation {} ({}); {} is not on the operation's briefed team{reference} ({}).",
        ctx.who(),
        ctx.what(),
        f.subject.operation,
        f.subject.describe(),
        ctx.event.user_id,
        f.strength.phrase()
    )
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::detect::Findings;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    #[test]
    fn outsiders_alert_team_and_ended_operations_do_not() {
        let c = Config::defaults();
        let l = lists(&[
            (
                Operations,
                json!({"operation": "NIGHTJAR", "subject_vrm": "AB12 CDE", "team": "U7;U8",
                       "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}),
            ),
            (
                Operations,
                json!({"operation": "NIGHTJAR", "subject_name": "BOSS, Big", "subject_dob": "1970-01-01", "team": "U7;U8",
                       "starts_at": "2026-11-01T00:00:00Z"}),
            ),
        ]);
        let fires = |extra| fired(&event(extra), &l, &c).contains(&"opsec.outsider");
        assert!(fires(json!({"subject_type": "vehicle", "subject_vrm": "ab12cde"})));
        assert!(fires(json!({"subject_name": "Big Boss", "subject_dob": "1970-01-01"})));
        assert!(!fires(json!({"user_id": "U7", "subject_type": "vehicle", "subject_vrm": "AB12CDE"})));
        assert!(!fires(json!({"ts": "2026-12-02T00:00:00Z", "subject_type": "vehicle", "subject_vrm": "AB12CDE"})));
        assert!(!fires(json!({"subject_type": "vehicle", "subject_vrm": "AB12CDF"})));
        // A vehicle record given by its key alone (PNC keys vehicles by VRM): the same
        // vehicle (before, silent); a person's record key is not a VRM.
        assert!(fires(json!({"subject_type": "vehicle", "subject_id": "AB12CDE"})));
        assert!(!fires(json!({"subject_type": "person", "subject_id": "AB12CDE"})));
        // A reference given is said in the sentence.
        let e = event(json!({"subject_type": "vehicle", "subject_vrm": "AB12CDE", "reference": "INC-7"}));
        let enriched = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&enriched, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&enriched);
        assert!(s.contains("is not on the operation's briefed team, although they gave reference INC-7"), "{s}");
    }

    /// An address matched by its postcode alone, under the user's own incident (the
    /// burglary next door to the operation's address): amber, not red (an evaluator's
    /// force: a red for every call to the street). Without a purpose on record, or with
    /// only a declared one, it stays red; the address's own record id, red.
    #[test]
    fn a_postcode_match_under_the_users_own_incident_is_amber() {
        let c = Config::defaults();
        let l = lists(&[
            (
                Operations,
                json!({"operation": "KESTREL", "subject_postcode": "LS14 7XX", "team": ["U9"],
                       "starts_at": "2026-11-01T00:00:00Z"}),
            ),
            (
                Operations,
                json!({"operation": "KESTREL", "subject_id": "ADDR-1", "team": ["U9"], "starts_at": "2026-11-01T00:00:00Z"}),
            ),
            (Incidents, json!({"reference": "INC-7", "opened_at": "2026-11-22T09:00:00Z", "officers": ["U1"]})),
        ]);
        let severity = |extra: serde_json::Value| {
            let base = json!({"subject_type": "address", "subject_id": "ADDR-12", "subject_postcode": "ls147xx"});
            let e = event(merged(base, extra));
            let cx = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&cx, &l, &c.rules, &mut out);
            out.iter().map(|f| f.severity).max()
        };
        assert_eq!(severity(json!({"reference": "INC-7"})), Some(crate::alert::Severity::Amber));
        assert_eq!(severity(json!({})), Some(crate::alert::Severity::Red));
        assert_eq!(severity(json!({"subject_id": "ADDR-1", "reference": "INC-7"})), Some(crate::alert::Severity::Red));
        // The address as the place of another record (a crime's scene, an intelligence
        // report), or an address record given by its postcode as its key, is the
        // operation's address (a probe: each raised nothing); a person's or a
        // detainee's postcode is where they live, and no address looked up.
        for (subject_type, id) in
            [("crime", "CR-1"), ("intel", "IR-1"), ("incident", "I-1"), ("property", "P-1"), ("other", "X")]
        {
            // Amber, with the user's own incident or without (reviews: every call to the
            // address is such a record; green would let an insider print it unseen).
            let extra = json!({"subject_type": subject_type, "subject_id": id});
            assert_eq!(severity(extra), Some(crate::alert::Severity::Amber), "{subject_type}");
            let extra = json!({"subject_type": subject_type, "subject_id": id, "reference": "INC-7"});
            assert_eq!(severity(extra), Some(crate::alert::Severity::Amber), "{subject_type}");
        }
        for keyed in ["LS14 7XX", "ls147xx"] {
            let extra = json!({"subject_id": keyed, "subject_postcode": null});
            assert_eq!(severity(extra), Some(crate::alert::Severity::Red), "{keyed}");
        }
        assert_eq!(severity(json!({"subject_id": "ADDR-12X", "subject_postcode": null})), None);
        for subject_type in ["person", "custody", "vehicle"] {
            assert_eq!(severity(json!({"subject_type": subject_type, "subject_id": "Z"})), None, "{subject_type}");
        }
    }

    /// An outsider who writes a live operation's name in a reference knows of it; the
    /// name hides the access from uncleared reviewers, so it puts them in front of the
    /// cleared ones (found by a review: it was a way to hide one's own look-ups).
    #[test]
    fn an_outsider_naming_a_live_operation_in_a_reference_alerts() {
        let c = Config::defaults();
        let l = lists(&[(
            Operations,
            json!({"operation": "NIGHTJAR", "subject_vrm": "AB12 CDE", "team": "U7;U8",
                   "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"}),
        )]);
        let other = |user: &str, reference: &str, ts: &str| {
            let e = event(json!({"user_id": user, "ts": ts, "subject_name": "NOBODY, Ann", "reference": reference}));
            let enriched = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&enriched, &l, &c.rules, &mut out);
            let said = out.first().map(|f| f.explanation.sentence(&enriched));
            (enriched.on_operation, said)
        };
        let (hidden, said) = other("U1", "checking nightjar", "2026-11-22T10:00:00Z");
        assert!(hidden);
        let said = said.expect("an alert");
        assert!(
            said.contains("giving reference \u{201c}checking nightjar\u{201d}, which names live operation NIGHTJAR"),
            "{said}"
        );
        assert_eq!(other("U7", "OP-NIGHTJAR", "2026-11-22T10:00:00Z"), (true, None), "the team");
        assert_eq!(other("U1", "OP-NIGHTJAR", "2026-12-02T10:00:00Z"), (false, None), "ended");
        assert_eq!(other("U1", "INC-7", "2026-11-22T10:00:00Z"), (false, None));
    }

    /// Found by a second review: custody staff explained for the person were never
    /// asked about a reference naming an operation, and only the first operation a
    /// reference named was checked; a force-wide custody unit was not asked at all.
    #[test]
    fn every_operation_named_is_asked_whatever_explains_the_access() {
        let c = Config::defaults();
        let l = lists(&[
            (
                Operations,
                json!({"operation": "NIGHTJAR", "subject_vrm": "AB12 CDE", "team": "U7",
                       "starts_at": "2026-11-01T00:00:00Z"}),
            ),
            (
                Operations,
                json!({"operation": "KESTREL", "subject_name": "BOSS, Big", "subject_dob": "1970-01-01",
                       "team": "K1", "starts_at": "2026-11-01T00:00:00Z"}),
            ),
            (
                Custody,
                json!({"custody_ref": "C1", "subject_name": "BOSS, Big", "subject_dob": "1970-01-01",
                       "suite": "Central", "arrested_at": "2026-11-22T08:00:00Z"}),
            ),
            (Staff, json!({"user_id": "D1", "unit": "Custody Central Days"})),
            (Staff, json!({"user_id": "D2", "unit": "Custody Detention Officers"})),
        ]);
        let raised = |user: &str, reference: Option<&str>| {
            let mut e = json!({"user_id": user, "subject_name": "BOSS, Big", "subject_dob": "1970-01-01"});
            if let Some(r) = reference {
                e["reference"] = json!(r);
            }
            let e = event(e);
            let enriched = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&enriched, &l, &c.rules, &mut out);
            let mut ops: Vec<String> =
                out.iter().map(|f| f.watchlist.as_ref().unwrap().key.split('|').next().unwrap().to_string()).collect();
            ops.sort();
            ops
        };
        // The suite's own staff: the person in their cells is theirs; a reference naming
        // an operation is asked all the same.
        assert!(raised("D1", None).is_empty());
        assert_eq!(raised("D1", Some("Op Nightjar")), ["NIGHTJAR"]);
        // A force-wide custody unit is asked about the person too.
        assert_eq!(raised("D2", None), ["KESTREL"]);
        // Briefed on one, naming both: the other, in whatever order they are listed.
        assert_eq!(raised("K1", Some("KESTREL NIGHTJAR")), ["NIGHTJAR"]);
        assert_eq!(raised("K1", Some("NIGHTJAR / KESTREL")), ["NIGHTJAR"]);
    }
}
