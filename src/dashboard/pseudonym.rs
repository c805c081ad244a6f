//! Pseudonymised triage: an analyst sees each member of staff as a stable pseudonym
//! (`Officer 7F3K`) in every view until a supervisor reveals the identity, for one
//! alert or for the person's whole case, with a stated reason (audited, and if so
//! configured approved by a second supervisor). The pseudonym is an HMAC of the user
//! id under a key kept in the dashboard's database, so it is the same in every view
//! and after a restart, and says nothing about the person.

use crate::alert::Alert;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashSet;

/// Crockford's base 32, without the letters that read as digits.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The pseudonym of a user id under `key`: `Officer` and eight characters (40 bits: in
/// a force of 45,000 the chance that two share one is about one in a thousand, and the
/// look-up back keeps the first).
pub fn pseudonym(key: &[u8], user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(user_id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let n = u64::from_be_bytes([0, 0, 0, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]]);
    let code: String = (0..8).map(|i| ALPHABET[((n >> (5 * i)) & 31) as usize] as char).collect();
    format!("Officer {code}")
}

/// Whose identity a viewer sees, for one request.
pub struct Masker<'a> {
    pub key: &'a [u8],
    /// (alert, user) pairs revealed: the alert's own user, in that alert only.
    pub alerts: HashSet<(String, String)>,
    /// Users revealed for their whole case.
    pub users: HashSet<String>,
}

/// The rules whose subject is the officer's own life (their record, their family and
/// associates, their home, a colleague): the subject and the sentence identify the
/// officer, so a pseudonymous viewer sees neither until a reveal.
fn personal(rule: crate::alert::RuleId) -> bool {
    use crate::alert::RuleId::*;
    matches!(rule, SelfLookup | AssociateLookup | ColleagueLookup | NeighbourLookup)
}

impl Masker<'_> {
    /// Whether `user_id` is shown by name in this alert (or, with no alert, anywhere).
    /// An alert's reveal shows that alert's user, not everyone its sentence names.
    pub fn revealed(&self, user_id: &str, alert_id: Option<&str>) -> bool {
        self.users.contains(user_id)
            || alert_id.is_some_and(|a| self.alerts.contains(&(a.to_string(), user_id.to_string())))
    }

    /// The name a view shows for `user_id`.
    pub fn name(&self, user_id: &str, alert_id: Option<&str>) -> String {
        if self.revealed(user_id, alert_id) {
            user_id.to_string()
        } else {
            pseudonym(self.key, user_id)
        }
    }

    /// An alert as the viewer sees it: its user pseudonymised, in the field and in
    /// its sentence, and every member of staff its sentence names (by id, with or
    /// without the name and post the staff list gives). `tied`: the alert's subject is
    /// tied to its user's own life (`detect::personal::ties_to_user`), whatever the
    /// rule (a suspended officer looking themselves up raises `account.status`).
    pub fn alert(&self, mut a: Alert, staff_ids: &dyn Fn(&str) -> bool, odd: &OddIds, tied: bool) -> Alert {
        let id = a.alert_id.to_string();
        let hidden = !self.revealed(&a.user_id, Some(&id));
        if hidden && (personal(a.rule) || tied) {
            // What was looked up is the officer's own record, family, home or colleague:
            // say which rule, nothing that identifies them.
            let me = pseudonym(self.key, &a.user_id);
            a.reason = format!(
                "{me} {} a record tied to their own life ({}: its subject would identify the officer; a supervisor can reveal it with a reason).",
                a.action.verb(),
                a.rule
            );
            a.subject = crate::alert::AlertSubject {
                subject_type: a.subject.subject_type,
                subject_id: None,
                subject_name: None,
                subject_dob: None,
                subject_postcode: None,
                subject_vrm: None,
                subject_sex: None,
            };
            if let Some(w) = &mut a.watchlist {
                w.key = match w.list {
                    crate::watchlist::TableName::Staff => pseudonym(self.key, &w.key).into(),
                    _ => "(hidden)".into(),
                };
            }
        } else {
            if hidden && a.user_id.chars().any(|c| !in_word(c)) {
                // An id the word scan cannot see whole (`sean.o'neill@dvla`, one with a
                // space or a slash): masked where it stands, with its name and post.
                a.reason = without_id(&a.reason, &a.user_id, &pseudonym(self.key, &a.user_id));
            }
            // The same for the other staff the sentence names (a subject spike's users).
            for other in odd.found_in(&a.reason) {
                if other != a.user_id.as_str() && !self.revealed(other, Some(&id)) {
                    a.reason = without_id(&a.reason, other, &pseudonym(self.key, other));
                }
            }
            a.reason = self.text(&a.reason, Some(&id), &|t| t == a.user_id.as_str() || staff_ids(t));
            if let Some(w) = a.watchlist.as_mut().filter(|w| w.list == crate::watchlist::TableName::Staff) {
                if !self.revealed(&w.key, Some(&id)) {
                    w.key = pseudonym(self.key, &w.key).into();
                }
            }
        }
        if hidden {
            a.user_id = pseudonym(self.key, &a.user_id).into();
            // The risk score is the person's, across every alert: it stays, unnamed.
        }
        // A subject spike's other users, each as the sentence shows them.
        for other in a.other_users.iter_mut() {
            if !self.revealed(other, Some(&id)) {
                *other = pseudonym(self.key, other).into();
            }
        }
        a
    }

    /// Text with every user id `is_staff` recognises (a whole word) replaced by its
    /// name for this viewer; `U1234 (Jo Bloggs, PC, Response)`, the way sentences name
    /// a member of staff, loses the parenthesis too.
    pub fn text(&self, text: &str, alert_id: Option<&str>, is_staff: &dyn Fn(&str) -> bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            let start = rest.find(in_word).unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let mut end = rest.find(|c: char| !in_word(c)).unwrap_or(rest.len());
            while end > 0 && matches!(rest.as_bytes()[end - 1], b'.' | b'-' | b'@') && !is_staff(&rest[..end]) {
                end -= 1;
            }
            if end == 0 {
                out.push_str(&rest[..1]);
                rest = &rest[1..];
                continue;
            }
            let word = &rest[..end];
            rest = &rest[end..];
            if !is_staff(word) || self.revealed(word, alert_id) {
                out.push_str(word);
                continue;
            }
            out.push_str(&pseudonym(self.key, word));
            // The name and post that follow an id in a sentence.
            if let Some(after) = rest.strip_prefix(" (") {
                rest = past_bracket(after).unwrap_or(rest);
            }
        }
        out
    }
}

/// The staff ids the word scan cannot see whole (with a space, an apostrophe, a slash:
/// `J SMITH`, `north/4471`), found in a sentence in one pass.
#[derive(Debug, Default)]
pub struct OddIds {
    ids: Vec<String>,
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl OddIds {
    /// From every staff id; keeps those [`in_word`] does not cover.
    pub fn of<'a>(ids: impl Iterator<Item = &'a str>) -> OddIds {
        let ids: Vec<String> = ids.filter(|id| id.chars().any(|c| !in_word(c))).map(str::to_string).collect();
        if ids.is_empty() {
            return OddIds::default();
        }
        let automaton = aho_corasick::AhoCorasick::new(&ids)
            .inspect_err(|e| tracing::warn!(error = %e, "staff ids with spaces or punctuation could not be indexed; they are shown by id in alert sentences"))
            .ok();
        OddIds { ids, automaton }
    }

    /// The ids `text` holds (each once), longest first: masking `J SMITH` inside
    /// `J SMITH/2` first would leave the longer id's name beside the wrong pseudonym.
    pub fn found_in(&self, text: &str) -> Vec<&str> {
        let Some(automaton) = &self.automaton else { return Vec::new() };
        let mut found: Vec<usize> = automaton.find_overlapping_iter(text).map(|m| m.pattern().as_usize()).collect();
        found.sort_unstable();
        found.dedup();
        let mut ids: Vec<&str> = found.into_iter().map(|i| self.ids[i].as_str()).collect();
        ids.sort_by_key(|id| std::cmp::Reverse(id.len()));
        ids
    }
}

/// Whether `c` may be part of a user id as sentences are scanned for them. User ids may
/// hold `.`, `@` or `\` (jo.bloggs@force, FORCE\jbloggs): a word runs over them, and a
/// trailing full stop is the sentence's, not the id's.
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '\\')
}

/// The text after the bracket that closes one just opened (`after` follows the `(`),
/// brackets nested inside counted: a staff list written before sentences squared
/// them, or a name edited by hand, may hold `Joanna (Jo)`. Unbalanced (`Jo (Smith`),
/// the first closing bracket, as before.
fn past_bracket(after: &str) -> Option<&str> {
    balanced_close(after).or_else(|| after.find(')').map(|close| &after[close + 1..]))
}

fn balanced_close(after: &str) -> Option<&str> {
    let mut depth = 1;
    for (i, c) in after.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&after[i + 1..]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` with every occurrence of `id` that stands alone (not inside a longer word)
/// replaced by `name`, and the name and post in brackets after it dropped.
fn without_id(text: &str, id: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(id) {
        let (before, after) = (&rest[..at], &rest[at + id.len()..]);
        let alone = !before.chars().next_back().is_some_and(in_word) && !after.chars().next().is_some_and(in_word);
        out.push_str(before);
        if !alone {
            out.push_str(id);
            rest = after;
            continue;
        }
        out.push_str(name);
        rest = after.strip_prefix(" (").and_then(past_bracket).unwrap_or(after);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_unrevealing_until_revealed() {
        let key = b"0123456789abcdef0123456789abcdef";
        let p = pseudonym(key, "U10257");
        assert_eq!(p, pseudonym(key, "U10257"));
        assert!(p.starts_with("Officer ") && p.len() == 16 && !p.contains("10257"), "{p}");
        assert_ne!(p, pseudonym(b"another key of 32 bytes long....", "U10257"));
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let staff = |t: &str| t.starts_with('U') && t[1..].chars().all(|c| c.is_ascii_digit());
        let text = "U10257 (Dan Clarke, PC, Response) viewed Dave Mate; also U3, U4 and 5 more.";
        let masked = m.text(text, None, &staff);
        assert!(!masked.contains("U10257") && !masked.contains("Dan Clarke") && !masked.contains("U3,"), "{masked}");
        // A name with brackets of its own (found by a probe: the surname leaked).
        let bracketed = m.text("U10257 (Joanna (Jo) Smith, PC, Response Late) viewed Dave Mate.", None, &staff);
        assert_eq!(bracketed, format!("{p} viewed Dave Mate."));
        let unbalanced = m.text("U10257 (Joanna (Jo Smith, PC, Response Late) viewed Dave Mate.", None, &staff);
        assert_eq!(unbalanced, format!("{p} viewed Dave Mate."));
        assert!(masked.starts_with(&p) && masked.contains("viewed Dave Mate") && masked.contains("5 more"), "{masked}");
        let m =
            Masker { key, alerts: HashSet::from([("A1".to_string(), "U10257".to_string())]), users: HashSet::new() };
        let shown = m.text(text, Some("A1"), &staff);
        assert!(shown.contains("Dan Clarke"), "revealed for that alert");
        assert!(!shown.contains("U3,"), "and only that alert's own user: {shown}");
        assert!(!m.text(text, Some("A2"), &staff).contains("Dan Clarke"), "and only that alert");
    }

    #[test]
    fn ids_with_dots_and_at_signs_are_masked_and_a_full_stop_is_kept() {
        let key = b"0123456789abcdef0123456789abcdef";
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let staff = |t: &str| t == "jo.bloggs@force" || t == "FORCE\\jb";
        let masked = m.text("Seen by jo.bloggs@force (Jo Bloggs, PC). Then FORCE\\jb.", None, &staff);
        assert!(!masked.contains("bloggs") && !masked.contains("Jo Bloggs") && !masked.contains("jb"), "{masked}");
        assert!(masked.ends_with('.'), "{masked}");
    }

    /// An alert's user whose id the word scan cannot see whole (an apostrophe, a space,
    /// a slash) is masked in its sentence all the same, with the name after it.
    #[test]
    fn an_alerts_user_with_any_characters_in_the_id_is_masked_in_its_sentence() {
        let key = b"0123456789abcdef0123456789abcdef";
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        for id in ["sean.o'neill@dvla", "J SMITH", "north/4471", "a+b:c"] {
            let mut a = crate::alert::book::tests::alert("A9", 0);
            a.user_id = id.into();
            a.rule = crate::alert::RuleId::HighProfileUninvolved;
            a.reason = format!("{id} (Sean O'Neill, PC, Roads) viewed FEATHERSTONEHAUGH, Rupert; {id}'s third.");
            let shown = m.alert(a, &|_| false, &OddIds::default(), false);
            assert!(!shown.reason.contains(id) && !shown.reason.contains("Sean"), "{id}: {}", shown.reason);
            assert!(shown.reason.contains("viewed FEATHERSTONEHAUGH, Rupert"), "{}", shown.reason);
            assert_eq!(shown.user_id, pseudonym(key, id));
        }
    }

    /// A subject spike's other users, listed beside its sentence, are pseudonyms as in
    /// it (a review: the list gave pseudonymous analysts every real id).
    #[test]
    fn a_spikes_other_users_are_masked() {
        let key = b"0123456789abcdef0123456789abcdef";
        let mut a = crate::alert::book::tests::alert("A9", 0);
        a.rule = crate::alert::RuleId::BehaviourSubjectSpike;
        a.other_users = vec!["U3".into(), "U4".into()];
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let shown = m.alert(a.clone(), &|_| true, &OddIds::default(), false);
        assert_eq!(shown.other_users, [pseudonym(key, "U3"), pseudonym(key, "U4")]);
        let m = Masker { key, alerts: HashSet::from([("A9".to_string(), "U4".to_string())]), users: HashSet::new() };
        let shown = m.alert(a, &|_| true, &OddIds::default(), false);
        assert_eq!(shown.other_users, [pseudonym(key, "U3"), "U4".to_string()], "revealed for this alert");
    }

    /// The other staff a sentence names are masked too when their ids hold a space or
    /// punctuation the word scan stops at; an id inside a longer word is left alone.
    #[test]
    fn other_staff_with_any_characters_in_their_ids_are_masked_in_a_sentence() {
        let key = b"0123456789abcdef0123456789abcdef";
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let staff = ["U1", "J SMITH", "sean.o'neill@dvla", "north/4471", "J SMITH/2"];
        let odd = OddIds::of(staff.iter().copied());
        let mut a = crate::alert::book::tests::alert("A9", 0);
        a.user_id = "U1".into();
        a.rule = crate::alert::RuleId::BehaviourSubjectSpike;
        a.reason = "U1 viewed KRAY, Ronald, as did J SMITH (Jo Smith, PC, Roads), sean.o'neill@dvla and north/4471, and J SMITH/2 (Jim Smith, DC, CID); XJ SMITHY too.".into();
        let shown = m.alert(a, &|t| staff.contains(&t), &odd, false).reason;
        for id in ["did J SMITH", "Jo Smith", "o'neill", "north/4471", "U1 ", "Jim Smith", "/2"] {
            assert!(!shown.contains(id), "{id} in {shown}");
        }
        assert!(shown.contains(&pseudonym(key, "J SMITH")) && shown.contains("XJ SMITHY"), "{shown}");
    }

    #[test]
    fn personal_alerts_hide_what_identifies_the_officer() {
        let key = b"0123456789abcdef0123456789abcdef";
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let mut a = crate::alert::book::tests::alert("A9", 0);
        a.user_id = "U1".into();
        a.subject.subject_name = Some("BLOGGS, Joe".into());
        a.subject.subject_postcode = Some("LS1 1AA".into());
        a.watchlist = Some(crate::alert::WatchlistRef {
            list: crate::watchlist::TableName::Staff,
            key: "U1".into(),
            strength: crate::watchlist::MatchStrength::NameDob,
            flagged_at_access: true,
            recorded_at: None,
        });
        a.reason = "U1 (Joe Bloggs, PC, Response) viewed BLOGGS, Joe at LS1 1AA: their own record.".into();
        let shown = serde_json::to_string(&m.alert(a, &|t| t == "U1", &OddIds::default(), false)).unwrap();
        for secret in ["BLOGGS", "Bloggs", "LS1", "\"U1\""] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
