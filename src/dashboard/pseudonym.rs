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

/// The pseudonym of a user id under `key`: `Officer` and four characters (a million
/// names: two in a force of 45,000 may share one, which the look-up back allows for
/// by keeping the first).
pub fn pseudonym(key: &[u8], user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(user_id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let code: String = (0..4).map(|i| ALPHABET[((n >> (5 * i)) & 31) as usize] as char).collect();
    format!("Officer {code}")
}

/// Whose identity a viewer sees, for one request.
pub struct Masker<'a> {
    pub key: &'a [u8],
    /// Alerts whose user is revealed.
    pub alerts: HashSet<String>,
    /// Users revealed for their whole case.
    pub users: HashSet<String>,
}

impl Masker<'_> {
    /// Whether `user_id` is shown by name in this alert (or, with no alert, anywhere).
    pub fn revealed(&self, user_id: &str, alert_id: Option<&str>) -> bool {
        self.users.contains(user_id) || alert_id.is_some_and(|a| self.alerts.contains(a))
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
    /// without the name and post the staff list gives).
    pub fn alert(&self, mut a: Alert, staff_ids: &dyn Fn(&str) -> bool) -> Alert {
        let id = a.alert_id.to_string();
        a.reason = self.text(&a.reason, Some(&id), &|t| t == a.user_id.as_str() || staff_ids(t));
        if !self.revealed(&a.user_id, Some(&id)) {
            a.user_id = pseudonym(self.key, &a.user_id).into();
            // The risk score is the person's, across every alert: it stays, unnamed.
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
            let start = rest.find(|c: char| c.is_alphanumeric() || c == '_' || c == '-').unwrap_or(rest.len());
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            if word.is_empty() {
                continue;
            }
            if !is_staff(word) || self.revealed(word, alert_id) {
                out.push_str(word);
                continue;
            }
            out.push_str(&pseudonym(self.key, word));
            // The name and post that follow an id in a sentence.
            if let Some(after) = rest.strip_prefix(" (") {
                if let Some(close) = after.find(')') {
                    rest = &after[close + 1..];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_unrevealing_until_revealed() {
        let key = b"0123456789abcdef0123456789abcdef";
        let p = pseudonym(key, "U10257");
        assert_eq!(p, pseudonym(key, "U10257"));
        assert!(p.starts_with("Officer ") && p.len() == 12 && !p.contains("10257"), "{p}");
        assert_ne!(p, pseudonym(b"another key of 32 bytes long....", "U10257"));
        let m = Masker { key, alerts: HashSet::new(), users: HashSet::new() };
        let staff = |t: &str| t.starts_with('U') && t[1..].chars().all(|c| c.is_ascii_digit());
        let text = "U10257 (Dan Clarke, PC, Response) viewed Dave Mate; also U3, U4 and 5 more.";
        let masked = m.text(text, None, &staff);
        assert!(!masked.contains("U10257") && !masked.contains("Dan Clarke") && !masked.contains("U3,"), "{masked}");
        assert!(masked.starts_with(&p) && masked.contains("viewed Dave Mate") && masked.contains("5 more"), "{masked}");
        let m = Masker { key, alerts: HashSet::from(["A1".to_string()]), users: HashSet::new() };
        assert!(m.text(text, Some("A1"), &staff).contains("Dan Clarke"), "revealed for that alert");
        assert!(!m.text(text, Some("A2"), &staff).contains("Dan Clarke"), "and only that alert");
    }
}
