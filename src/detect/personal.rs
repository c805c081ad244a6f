//! Personal look-ups: the user's own record, declared associates and family, colleagues,
//! and neighbours.
//!
//! They overlap (a user shares their own surname and home postcode), so one event
//! raises the most specific of them: self, then associate, then colleague, then
//! neighbour.
//!
//! - `self.lookup`: the subject's name and date of birth are the user's (staff list).
//! - `associate.lookup`: a declared associate, or a person sharing the user's surname
//!   and home postcode (family), accessed without justification; red for criminal
//!   associates and journalists.
//! - `colleague.lookup`: another member of staff (name and date of birth), without
//!   justification.
//! - `neighbour.lookup`: a person, vehicle or address at the user's home postcode
//!   (amber) or in its sector (green), without justification.

use super::finding::{score, Explain, Finding, Findings};
use crate::alert::RuleId;
use crate::alert::{Severity, WatchlistRef};
use crate::config::RulesConfig;
use crate::enrich::Enriched;
use crate::event::normalise::{postcode_display, postcode_sector, sector_display};
use crate::event::SubjectType;
use crate::explain::Explanation;
use crate::watchlist::{Associate, MatchStrength, StaffMember, TableName, WatchLists};
use compact_str::format_compact;

#[derive(Debug)]
pub enum Facts<'a> {
    SelfLookup,
    Declared { associate: &'a Associate, strength: MatchStrength },
    FamilyAtHome,
    Colleague(&'a StaffMember),
    Neighbour { sector: bool },
}

pub fn check<'a>(ctx: &Enriched<'a>, lists: &'a WatchLists, rules: &RulesConfig, out: &mut Findings<'a>) {
    let Some(user) = ctx.user else { return };
    let is_self = is_self(ctx, user);
    if is_self {
        if rules.enabled(RuleId::SelfLookup) {
            let sev = rules.settings(RuleId::SelfLookup).severity;
            out.push(Finding {
                rule: RuleId::SelfLookup,
                severity: sev,
                score: score(sev, Some(MatchStrength::NameDob)),
                subject_key: format_compact!("staff:{}", user.user_id),
                watchlist: Some(staff_ref(&user.user_id)),
                release_at: None,
                evidence: Vec::new(),
                explanation: Box::new(Facts::SelfLookup),
            });
        }
        return;
    }
    // Working at the suite where a declared associate is held is the conflict the
    // declaration is for, not a purpose: the associate rule still asks, unless a
    // reference that justifies the access documents it (the custody record is taken
    // before the reference: it answers the high-profile and opsec rules).
    let justified = matches!(ctx.justification, crate::enrich::Justification::Justified(_));
    let at_suite = matches!(ctx.explanation, Explanation::Custody { by_suite: true, .. }) && !justified;
    if at_suite && rules.enabled(RuleId::AssociateLookup) && associate(ctx, user, lists, rules, out) {
        return;
    }
    // A documented purpose (a reference that justifies it, a custody record, a case or
    // operation team) answers the question these rules ask; the user's own word does not.
    if ctx.explanation.is_documented() {
        return;
    }
    if rules.enabled(RuleId::AssociateLookup) && associate(ctx, user, lists, rules, out) {
        return;
    }
    if rules.enabled(RuleId::ColleagueLookup) && colleague(ctx, user, lists, rules, out) {
        return;
    }
    if rules.enabled(RuleId::NeighbourLookup) {
        neighbour(ctx, user, rules, out);
    }
}

/// A member of staff as the watch-list row of an alert (matched by name and date of
/// birth from the staff list).
fn staff_ref(user_id: &str) -> WatchlistRef {
    WatchlistRef {
        list: TableName::Staff,
        key: user_id.into(),
        strength: MatchStrength::NameDob,
        flagged_at_access: true,
        recorded_at: None,
    }
}

/// Whether the access's subject is tied to its user's own life: their own record, a
/// declared associate (by identity or address), another member of staff, or anything
/// at their home postcode or in its sector (family at home included). Broader than
/// the rules (no justification or setting answers it): a pseudonymous view must not
/// show such a subject beside the user's pseudonym, as together they name the officer.
pub fn ties_to_user(ctx: &Enriched, lists: &WatchLists) -> bool {
    let Some(user) = ctx.user else { return false };
    let declared = || {
        lists
            .associates_of(&user.user_id)
            .any(|(_, a)| ctx.person.match_against(&a.person).is_some() || at_home_of(ctx, a))
    };
    let colleague = || lists.staff_with_identity(&ctx.person).iter().any(|s| s.user_id != user.user_id);
    let home = || match (&ctx.postcode, &user.home_postcode) {
        (Some(pc), Some(home)) => pc == home || postcode_sector(pc).is_some_and(|s| postcode_sector(home) == Some(s)),
        _ => false,
    };
    is_self(ctx, user) || declared() || colleague() || home()
}

/// Whether the access's subject is at a declared associate's home postcode: the
/// address itself, or anything recorded there (an ex-partner's new partner, the car on
/// their drive).
fn at_home_of(ctx: &Enriched, a: &Associate) -> bool {
    a.postcode.is_some() && a.postcode == ctx.postcode
}

fn is_self(ctx: &Enriched, user: &StaffMember) -> bool {
    match (&ctx.person.name, ctx.person.dob, &user.name, user.dob) {
        // As written, then the other ways the name may be meant (`Zoe Lefevre Hart`,
        // `COLE ANN`), as the colleague rule reads it: an evaluator's officer searching
        // their own name so was a colleague to everyone else and no one to themselves.
        (Some(subject), Some(dob), Some(own), Some(own_dob)) => {
            dob == own_dob
                && (subject.matches_born_alike(own)
                    || ctx.person.other_readings().iter().any(|n| n.matches_born_alike(own)))
        }
        _ => false,
    }
}

fn associate<'a>(
    ctx: &Enriched<'a>,
    user: &StaffMember,
    lists: &'a WatchLists,
    rules: &RulesConfig,
    out: &mut Findings<'a>,
) -> bool {
    let base = rules.settings(RuleId::AssociateLookup).severity;
    let mut found = false;
    for (id, a) in lists.associates_of(&user.user_id) {
        // The address itself (as before), or a person or vehicle recorded there: not
        // when the associate shares the user's home, which the family and neighbour
        // rules answer.
        let address = a.postcode.is_some() && a.postcode.as_deref() == ctx.address();
        let beside = !address
            && at_home_of(ctx, a)
            && matches!(ctx.event.subject_type, SubjectType::Person | SubjectType::Vehicle)
            && a.postcode != user.home_postcode;
        let strength =
            ctx.person.match_against(&a.person).or_else(|| (address || beside).then_some(MatchStrength::Postcode));
        let Some(strength) = strength else { continue };
        let severity = rules.associate_severity.get(&a.relationship).copied().unwrap_or(base);
        // Someone else at the associate's home (about fifteen households share a
        // postcode) is no more than amber, whoever the associate is.
        let severity =
            if beside && strength == MatchStrength::Postcode { severity.min(Severity::Amber) } else { severity };
        let severity = rules.settings(RuleId::AssociateLookup).severity_for(
            severity,
            Some(strength),
            ctx.explanation.is_explained(),
        );
        let key = lists.associates.key_of(id).unwrap_or_default();
        out.push(Finding {
            rule: RuleId::AssociateLookup,
            severity,
            score: score(severity, Some(strength)),
            subject_key: format_compact!("associates:{key}"),
            watchlist: Some(WatchlistRef {
                list: TableName::Associates,
                key: key.into(),
                strength,
                flagged_at_access: a.declared_at.is_none_or(|d| d <= ctx.event.ts),
                recorded_at: None,
            }),
            release_at: None,
            evidence: Vec::new(),
            explanation: Box::new(Facts::Declared { associate: a, strength }),
        });
        found = true;
    }
    if found || !rules.associate_family_at_home {
        return found;
    }
    let family = match (&ctx.person.name, &user.name, &ctx.postcode, &user.home_postcode) {
        (Some(subject), Some(own), Some(pc), Some(home)) => subject.surname == own.surname && pc == home,
        _ => false,
    };
    if family {
        out.push(Finding {
            rule: RuleId::AssociateLookup,
            severity: base,
            score: score(base, None),
            subject_key: ctx.subject_key(),
            watchlist: None,
            release_at: None,
            evidence: Vec::new(),
            explanation: Box::new(Facts::FamilyAtHome),
        });
    }
    family
}

fn colleague<'a>(
    ctx: &Enriched<'a>,
    user: &StaffMember,
    lists: &'a WatchLists,
    rules: &RulesConfig,
    out: &mut Findings<'a>,
) -> bool {
    let sev = rules.settings(RuleId::ColleagueLookup).severity;
    let Some(other) = lists.staff_with_identity(&ctx.person).into_iter().find(|s| s.user_id != user.user_id) else {
        return false;
    };
    out.push(Finding {
        rule: RuleId::ColleagueLookup,
        severity: sev,
        score: score(sev, Some(MatchStrength::NameDob)),
        subject_key: format_compact!("staff:{}", other.user_id),
        watchlist: Some(staff_ref(&other.user_id)),
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(Facts::Colleague(other)),
    });
    true
}

fn neighbour(ctx: &Enriched, user: &StaffMember, rules: &RulesConfig, out: &mut Findings) {
    let (Some(pc), Some(home)) = (&ctx.postcode, &user.home_postcode) else { return };
    if !rules.purpose_subject_types.contains(&ctx.event.subject_type) {
        return;
    }
    let sector = if pc == home {
        false
    } else if rules.neighbour_sector && postcode_sector(pc).is_some_and(|s| postcode_sector(home) == Some(s)) {
        true
    } else {
        return;
    };
    // The sector is a weak signal (officers police where they live): any explanation,
    // a declared encounter included, answers it.
    if sector && ctx.explanation.is_explained() {
        return;
    }
    let severity: Severity =
        if sector { rules.neighbour_sector_severity } else { rules.settings(RuleId::NeighbourLookup).severity };
    out.push(Finding {
        rule: RuleId::NeighbourLookup,
        severity,
        score: score(severity, None),
        subject_key: ctx.subject_key(),
        watchlist: None,
        release_at: None,
        evidence: Vec::new(),
        explanation: Box::new(Facts::Neighbour { sector }),
    });
}

impl Explain for Facts<'_> {
    fn sentence(&self, ctx: &Enriched) -> String {
        sentence(self, ctx)
    }
}

fn sentence(f: &Facts, ctx: &Enriched) -> String {
    let who = ctx.who();
    let what = ctx.what();
    let why = ctx.why_not();
    let uid = &ctx.event.user_id;
    match f {
        Facts::SelfLookup => {
            format!("{who} {what}: that is their own record (same name and date of birth as on the staff list).")
        }
        Facts::Declared { associate, strength } => {
            let declared = associate.declared_at.map(|d| format!("; declared {}", d.date())).unwrap_or_default();
            let (relationship, named) =
                (associate.relationship.phrase(), associate.person.describe_or("the associate's address"));
            match strength {
                // The subject is at the associate's address, not the associate.
                MatchStrength::Postcode => format!(
                    "{who} {what}, at the home postcode {} of their declared {relationship} ({named}{declared}), and {why}.",
                    associate.postcode.as_deref().map(postcode_display).unwrap_or_default()
                ),
                _ => format!(
                    "{who} {what}, their declared {relationship} ({named}{declared}), and {why} ({}).",
                    strength.phrase()
                ),
            }
        }
        Facts::FamilyAtHome => {
            let home = ctx.user.and_then(|u| u.home_postcode.as_deref()).map(postcode_display).unwrap_or_default();
            format!("{who} {what}, who shares {uid}'s surname and home postcode {home} (likely family), and {why}.")
        }
        Facts::Colleague(other) => format!(
            "{who} {what}, the record of colleague {} (same name and date of birth as on the staff list), and {why}.",
            other.describe()
        ),
        Facts::Neighbour { sector } => {
            let home = ctx.user.and_then(|u| u.home_postcode.as_deref()).unwrap_or_default();
            if *sector {
                let s = sector_display(postcode_sector(home).unwrap_or(home));
                format!("{who} {what}, in {uid}'s own home postcode sector {s}, and {why}.")
            } else {
                format!("{who} {what}, at {uid}'s own home postcode {}, and {why}.", postcode_display(home))
            }
        }
    }
}

impl crate::watchlist::PersonIdentity {
    /// The person's description, or `fallback` when the row names no person.
    pub fn describe_or(&self, fallback: &str) -> String {
        if self.is_empty() {
            fallback.to_string()
        } else {
            self.describe()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::Severity;
    use crate::config::Config;
    use crate::detect::testkit::*;
    use crate::detect::Findings;
    use crate::watchlist::TableName::*;
    use serde_json::json;

    fn force() -> crate::watchlist::WatchLists {
        lists(&[
            (
                Staff,
                json!({"user_id": "U1", "surname": "Bloggs", "forenames": "Joe", "dob": "1980-01-01",
                       "home_postcode": "AB1 2CD", "unit": "Response"}),
            ),
            (
                Staff,
                json!({"user_id": "U2", "surname": "Peel", "forenames": "Robert", "dob": "1975-02-05", "unit": "CID"}),
            ),
            (
                Associates,
                json!({"user_id": "U1", "subject_name": "EX, Jo", "subject_dob": "1982-07-07", "relationship": "ex_partner"}),
            ),
            (Associates, json!({"user_id": "U1", "subject_name": "Hack, Harry", "relationship": "journalist"})),
            (
                Associates,
                json!({"user_id": "U1", "subject_name": "CARR, Rachel", "subject_dob": "1974-06-01",
                       "subject_postcode": "HX1 2PQ", "relationship": "ex_partner"}),
            ),
            (Incidents, json!({"reference": "INC-1", "opened_at": "2026-11-22T09:00:00Z", "unit": "Response"})),
        ])
    }

    fn run(extra: serde_json::Value) -> Vec<(&'static str, Severity)> {
        let c = Config::defaults();
        let l = force();
        let e = event(extra);
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        out.iter().map(|f| (f.rule.as_str(), f.severity)).collect()
    }

    #[test]
    fn self_lookup_only_with_name_and_dob() {
        assert_eq!(
            run(json!({"subject_name": "BLOGGS, Joe", "subject_dob": "1980-01-01"})),
            [("self.lookup", Severity::Amber)]
        );
        assert!(run(json!({"subject_name": "BLOGGS, Joe", "subject_dob": "1999-09-09"})).is_empty());
        // Self with a reference is still self; own postcode does not add neighbour or family.
        assert_eq!(
            run(
                json!({"subject_name": "Joe Bloggs", "subject_dob": "1980-01-01", "subject_postcode": "ab12cd", "reference": "INC-1"})
            ),
            [("self.lookup", Severity::Amber)]
        );
    }

    /// An officer searching their own name as another system writes it (`Zoe Lefevre
    /// Hart`, `COLE ANN`, `Maria De La Cruz`) is a self look-up, as the same string is
    /// a colleague look-up from anyone else (an evaluator's four searches were nothing).
    #[test]
    fn self_lookup_reads_the_name_every_way_a_colleague_look_up_does() {
        let c = Config::defaults();
        let l = lists(&[
            (Staff, json!({"user_id": "U1", "surname": "Lefevre Hart", "forenames": "Zoe", "dob": "1990-02-02"})),
            (Staff, json!({"user_id": "U2", "surname": "Cole", "forenames": "Ann", "dob": "1986-03-03"})),
            (Staff, json!({"user_id": "U3", "surname": "De La Cruz", "forenames": "Maria", "dob": "1979-04-04"})),
        ]);
        let rules = |user: &str, name: &str, dob: &str| {
            let e = event(json!({"user_id": user, "action": "search", "subject_name": name, "subject_dob": dob}));
            let ctx = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&ctx, &l, &c.rules, &mut out);
            out.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(rules("U1", "Zoe Lefevre Hart", "1990-02-02"), ["self.lookup"]);
        // A comma before any word ends no surname, for the other readings too (a review).
        assert_eq!(rules("U1", ", Zoe Lefevre Hart", "1990-02-02"), ["self.lookup"]);
        assert_eq!(rules("U2", "COLE ANN", "1986-03-03"), ["self.lookup"]);
        assert_eq!(rules("U2", "Ann, Cole", "1986-03-03"), ["self.lookup"]);
        assert_eq!(rules("U3", "Maria De La Cruz", "1979-04-04"), ["self.lookup"]);
        assert_eq!(rules("U2", "Zoe Lefevre Hart", "1990-02-02"), ["colleague.lookup"]);
        assert_eq!(rules("U1", "Maria De La Cruz", "1979-04-04"), ["colleague.lookup"]);
        assert!(rules("U2", "COLE ANN", "1986-03-04").is_empty(), "another date of birth");
    }

    #[test]
    fn declared_associates_by_relationship() {
        assert_eq!(
            run(json!({"subject_name": "Jo Ex", "subject_dob": "1982-07-07"})),
            [("associate.lookup", Severity::Amber)]
        );
        assert_eq!(run(json!({"subject_name": "HACK, H"})), [("associate.lookup", Severity::Red)]);
        // Justified by an incident of the user's unit: silent.
        assert!(run(json!({"subject_name": "Jo Ex", "subject_dob": "1982-07-07", "reference": "INC-1"})).is_empty());
        // Same surname, different forename: not the associate.
        assert!(run(json!({"subject_name": "EX, Sam", "subject_dob": "1982-07-07"})).is_empty());
    }

    /// A detention officer's declared criminal associate held at their own suite: working
    /// there explains the look-up for every other rule, not for this one (the conflict
    /// the declaration is for). Named on the custody record, or by a reference, it is
    /// documented.
    #[test]
    fn an_associate_held_at_the_users_own_suite_is_still_an_associate() {
        let mut rows = vec![
            (
                Staff,
                json!({"user_id": "D1", "surname": "Gaol", "forenames": "Dee", "dob": "1980-01-01",
                       "unit": "Central Custody", "shift": "00:00-23:59"}),
            ),
            (
                Associates,
                json!({"user_id": "D1", "subject_name": "TRANTER, Liam", "subject_dob": "1990-03-03",
                       "relationship": "criminal_associate"}),
            ),
            (Incidents, json!({"reference": "INC-9", "opened_at": "2026-11-22T09:00:00Z", "unit": "Central Custody"})),
        ];
        let custody = |officers: &str| {
            (
                Custody,
                json!({"custody_ref": "C1", "subject_name": "TRANTER, Liam", "subject_dob": "1990-03-03", "suite": "Central",
                       "arrested_at": "2026-11-22T08:00:00Z", "officers": officers}),
            )
        };
        let c = Config::defaults();
        let findings = |rows: &[(crate::watchlist::TableName, serde_json::Value)], extra: serde_json::Value| {
            let l = lists(rows);
            let mut base = json!({"user_id": "D1", "subject_name": "TRANTER, Liam", "subject_dob": "1990-03-03"});
            base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let e = event(base);
            let ctx = ctx(&e, &l, &c);
            let mut out = Findings::new();
            super::check(&ctx, &l, &c.rules, &mut out);
            let by_suite = matches!(ctx.explanation, crate::explain::Explanation::Custody { by_suite: true, .. });
            (by_suite, out.iter().map(|f| (f.rule.as_str(), f.severity)).collect::<Vec<_>>())
        };
        rows.push(custody("U5"));
        assert_eq!(findings(&rows, json!({})), (true, vec![("associate.lookup", Severity::Red)]));
        assert_eq!(findings(&rows, json!({"reference": "INC-9"})).1, []);
        rows.pop();
        rows.push(custody("U5;D1"));
        assert_eq!(findings(&rows, json!({})), (false, vec![]));
    }

    /// Whatever is at a declared associate's home (the address, an ex-partner's new
    /// partner, the car on the drive) is the associate's; before, only the address.
    #[test]
    fn anything_at_an_associates_home_postcode() {
        let partner =
            json!({"subject_name": "DOYLE, Mark", "subject_dob": "1984-02-02", "subject_postcode": "hx1 2pq"});
        assert_eq!(run(partner.clone()), [("associate.lookup", Severity::Amber)]);
        let car = json!({"subject_type": "vehicle", "subject_vrm": "YB66 TRE", "subject_postcode": "HX1 2PQ"});
        assert_eq!(run(car), [("associate.lookup", Severity::Amber)]);
        assert_eq!(
            run(json!({"subject_type": "address", "subject_postcode": "HX12PQ"})),
            [("associate.lookup", Severity::Amber)]
        );
        assert!(run(json!({"subject_name": "DOYLE, Mark", "subject_postcode": "HX1 2PR"})).is_empty());
        // A crime record there is not a person, vehicle or address.
        assert!(run(json!({"subject_type": "crime", "subject_id": "CR-1", "subject_postcode": "HX1 2PQ"})).is_empty());
        // The sentence says where, and that the subject is not the associate.
        let (c, l) = (Config::defaults(), force());
        let e = event(partner);
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&ctx);
        assert!(
            s.contains("at the home postcode HX1 2PQ of their declared ex-partner (CARR, Rachel, born 1974-06-01)"),
            "{s}"
        );
    }

    #[test]
    fn family_at_home_and_neighbours() {
        assert_eq!(
            run(json!({"subject_name": "Bloggs, Mary", "subject_postcode": "AB12CD"})),
            [("associate.lookup", Severity::Amber)]
        );
        assert_eq!(
            run(json!({"subject_type": "vehicle", "subject_vrm": "XY12 ABC", "subject_postcode": "ab1 2cd"})),
            [("neighbour.lookup", Severity::Amber)]
        );
        assert_eq!(
            run(json!({"subject_type": "address", "subject_postcode": "AB1 2XY"})),
            [("neighbour.lookup", Severity::Green)]
        );
        assert!(run(json!({"subject_type": "address", "subject_postcode": "ZZ9 9ZZ"})).is_empty());
        // A different surname at the user's postcode is a neighbour, not family.
        assert_eq!(
            run(json!({"subject_name": "Nosy, Parker", "subject_postcode": "AB12CD"})),
            [("neighbour.lookup", Severity::Amber)]
        );
    }

    #[test]
    fn colleagues_need_name_and_dob() {
        assert_eq!(
            run(json!({"subject_name": "PEEL, Robert", "subject_dob": "1975-02-05"})),
            [("colleague.lookup", Severity::Amber)]
        );
        assert!(run(json!({"subject_name": "PEEL, Robert"})).is_empty());
    }

    #[test]
    fn sentences_read_plainly() {
        let c = Config::defaults();
        let l = force();
        let e = event(json!({"subject_name": "Jo Ex", "subject_dob": "1982-07-07", "reference": "INC-404"}));
        let ctx = ctx(&e, &l, &c);
        let mut out = Findings::new();
        super::check(&ctx, &l, &c.rules, &mut out);
        let s = out[0].explanation.sentence(&ctx);
        assert_eq!(
            s,
            "U1 (Joe Bloggs, Response) viewed Jo Ex (born 1982-07-07) on PNC, their declared ex-partner (EX, Jo, born 1982-07-07), and gave reference INC-404, which is not a known incident (matched by name and date of birth)."
        );
    }
}
