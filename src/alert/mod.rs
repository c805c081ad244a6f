//! Alerts (spec/alerts.md): what the engine raises, and the book of open alerts that
//! folds repeats into one alert per suppression window.

pub mod book;
pub mod rule;

pub use book::{AlertBook, AlertSink, CollectClosed};
pub use rule::{Category, RuleId, Severity};

use crate::event::{AccessEvent, Action, PersonName, SubjectType};
use crate::time::{Date, Timestamp};
use crate::watchlist::{Confidence, MatchStrength, TableName};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The subject fields of the triggering event that were present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertSubject {
    pub subject_type: SubjectType,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_id: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_name: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_dob: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_postcode: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_vrm: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_sex: Option<crate::event::Sex>,
}

impl AlertSubject {
    pub fn of(e: &AccessEvent) -> AlertSubject {
        AlertSubject {
            subject_type: e.subject_type,
            subject_id: e.subject_id.clone(),
            subject_name: e.subject_name.clone(),
            subject_dob: e.subject_dob,
            subject_postcode: e.subject_postcode.clone(),
            subject_vrm: e.subject_vrm.clone(),
            subject_sex: e.subject_sex,
        }
    }
}

/// The watch-list row an alert is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchlistRef {
    pub list: TableName,
    pub key: CompactString,
    #[serde(rename = "match")]
    pub strength: MatchStrength,
    /// Whether the subject was on the list at the moment of the access (false: the
    /// row was added, or recorded, only later; extension).
    #[serde(default = "yes")]
    pub flagged_at_access: bool,
    /// When the row was recorded, when it says (extension).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recorded_at: Option<Timestamp>,
}

fn yes() -> bool {
    true
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl WatchlistRef {
    /// The row `key` of `list`, matched with `strength`, for an access at `ts`: flagged
    /// at the time when the row was valid from `valid_from` and recorded by then.
    pub fn new(
        list: TableName,
        key: CompactString,
        strength: MatchStrength,
        ts: Timestamp,
        valid_from: Timestamp,
        recorded_at: Option<Timestamp>,
    ) -> WatchlistRef {
        let flagged_at_access = valid_from <= ts && recorded_at.is_none_or(|r| r <= ts);
        WatchlistRef { list, key, strength, flagged_at_access, recorded_at }
    }
}

/// A raised alert found to have a policing purpose after all: the row that explains
/// the access arrived late, within `explanation.late_grace` (extension).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// When the engine resolved it.
    pub at: Timestamp,
    /// What explains the access (`reference`, `custody`, ...; see crate::explain).
    pub by: CompactString,
    /// One sentence: what arrived and why it explains the access.
    pub reason: String,
}

/// One alert: this user accessed this subject, here is why it may not have been for a
/// policing purpose, and here is the evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: CompactString,
    pub rule: RuleId,
    pub category: Category,
    pub severity: Severity,
    pub score: u8,
    pub event_ts: Timestamp,
    pub detected_at: Timestamp,
    pub user_id: CompactString,
    pub subject: AlertSubject,
    /// Evidence, the triggering event first.
    pub event_ids: Vec<CompactString>,
    pub watchlist: Option<WatchlistRef>,
    /// How sure the alert is of who or what its subject is (extension; `high` when an
    /// older alert does not say).
    #[serde(default)]
    pub confidence: Confidence,
    pub reason: String,
    pub retrospective: bool,
    /// The source system of the triggering event (an extension of spec/alerts.md, so
    /// the dashboard can filter by system).
    pub system: CompactString,
    /// What the triggering access did: search, view, print, ... (extension).
    pub action: Action,
    /// The user's unit from the staff list, when known (extension, for filtering).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<CompactString>,
    /// The alert is about the user's behaviour over many accesses rather than one
    /// subject (the behavioural rules, the peer comparison); it is suppressed per user
    /// (extension).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub about_user: bool,
    /// The other users a subject spike is about, every one of them (its sentence names
    /// five): none of them reviews it (extension).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub other_users: Vec<CompactString>,
    /// A watch list the subject should probably be added to (`behaviour.subject_spike`
    /// proposes `high_profile`; extension).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub proposed_watchlist: Option<TableName>,
    /// Set when an allow list entry covered the finding: the alert is recorded for the
    /// audit trail but needs no triage (extension).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allowed: Option<Allowed>,
    /// Set when a late explanation resolved the alert: it stays on record, needs no
    /// triage (extension).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resolved: Option<Resolved>,
    /// The triggering access touched a live covert operation (its subject, or a
    /// reference naming it): the dashboard shows the alert only to accounts cleared
    /// for operations, whatever its rule (extension).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub on_operation: bool,
    /// Accesses that joined the alert after `event_ids` reached its cap
    /// ([`book::MAX_EVIDENCE`]); counted, not listed (extension).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub more_events: u64,
    /// The user's decayed risk score once this alert is counted (extension; see
    /// [`crate::risk`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_risk: Option<u32>,
}

/// The allow list entry that covered an alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allowed {
    pub reason: String,
    pub expires: Timestamp,
}

impl Alert {
    /// The deterministic id: the same rule firing on the same evidence (triggering
    /// event, user, subject, watch-list row) gives the same id in live use, after a
    /// restart and in a replay.
    pub fn make_id(
        rule: RuleId,
        user_id: &str,
        subject_key: &str,
        system: &str,
        first_event_id: &str,
    ) -> CompactString {
        let mut h = Sha256::new();
        for part in [rule.as_str(), user_id, subject_key, system, first_event_id] {
            h.update((part.len() as u32).to_le_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        CompactString::from(hex::encode(&digest[..16]))
    }

    /// An operation's own alert (`opsec.outsider`, on the operations list) and a print
    /// or export after one (`behaviour.export_after_sensitive`, on an operation):
    /// counted in the metrics' `accesswatch_operation_*` series, withheld from readers
    /// not cleared for operations. Another rule's alert on an access that touched an
    /// operation counts in the public series as it would on any other subject: a public
    /// count that stood still where the user knew it would move would tell them the
    /// subject was an operation's (a probe). A print after an operation's look-up
    /// that moved the public series would tell them the same (a review): the look-up
    /// raised nothing they can see, so nothing should follow it where they look.
    pub fn counts_as_operations(&self) -> bool {
        self.rule == RuleId::OpsecOutsider
            || self.watchlist.as_ref().is_some_and(|w| w.list == crate::watchlist::TableName::Operations)
            || (self.rule == RuleId::BehaviourExportAfterSensitive && self.on_operation)
    }

    /// One line of JSON, as written to files and topics.
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(768);
        self.write_json(&mut s);
        s
    }

    /// Appends the alert as JSON: the same bytes serde's `Serialize` gives, written by
    /// hand because a replay writes hundreds of thousands of them.
    pub fn write_json(&self, out: &mut String) {
        use crate::event::push_json_str as str_;
        use std::fmt::Write;
        out.push_str("{\"alert_id\":");
        str_(out, &self.alert_id);
        out.push_str(",\"rule\":\"");
        out.push_str(self.rule.as_str());
        out.push_str("\",\"category\":\"");
        out.push_str(self.category.as_str());
        out.push_str("\",\"severity\":\"");
        out.push_str(self.severity.as_str());
        let _ = write!(out, "\",\"score\":{},\"event_ts\":\"", self.score);
        self.event_ts.write_rfc3339(out);
        out.push_str("\",\"detected_at\":\"");
        self.detected_at.write_rfc3339(out);
        out.push_str("\",\"user_id\":");
        str_(out, &self.user_id);
        out.push_str(",\"subject\":{\"subject_type\":\"");
        out.push_str(self.subject.subject_type.as_str());
        out.push('"');
        let s = &self.subject;
        for (name, value) in [("subject_id", &s.subject_id), ("subject_name", &s.subject_name)] {
            if let Some(v) = value {
                let _ = write!(out, ",\"{name}\":");
                str_(out, v);
            }
        }
        if let Some(d) = s.subject_dob {
            let _ = write!(out, ",\"subject_dob\":\"{d}\"");
        }
        for (name, value) in [("subject_postcode", &s.subject_postcode), ("subject_vrm", &s.subject_vrm)] {
            if let Some(v) = value {
                let _ = write!(out, ",\"{name}\":");
                str_(out, v);
            }
        }
        if let Some(sex) = s.subject_sex {
            let _ = write!(out, ",\"subject_sex\":\"{}\"", sex.as_str());
        }
        out.push_str("},\"event_ids\":[");
        for (i, e) in self.event_ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            str_(out, e);
        }
        out.push_str("],\"watchlist\":");
        match &self.watchlist {
            None => out.push_str("null"),
            Some(w) => {
                let _ = write!(out, "{{\"list\":\"{}\",\"key\":", w.list.as_str());
                str_(out, &w.key);
                let _ =
                    write!(out, ",\"match\":\"{}\",\"flagged_at_access\":{}", w.strength.as_str(), w.flagged_at_access);
                if let Some(r) = w.recorded_at {
                    out.push_str(",\"recorded_at\":\"");
                    r.write_rfc3339(out);
                    out.push('"');
                }
                out.push('}');
            }
        }
        out.push_str(",\"confidence\":\"");
        out.push_str(self.confidence.as_str());
        out.push_str("\",\"reason\":");
        str_(out, &self.reason);
        let _ = write!(out, ",\"retrospective\":{},\"system\":", self.retrospective);
        str_(out, &self.system);
        out.push_str(",\"action\":\"");
        out.push_str(self.action.as_str());
        out.push('"');
        if let Some(u) = &self.unit {
            out.push_str(",\"unit\":");
            str_(out, u);
        }
        if self.about_user {
            out.push_str(",\"about_user\":true");
        }
        if !self.other_users.is_empty() {
            out.push_str(",\"other_users\":[");
            for (i, u) in self.other_users.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                str_(out, u);
            }
            out.push(']');
        }
        if let Some(list) = self.proposed_watchlist {
            let _ = write!(out, ",\"proposed_watchlist\":\"{}\"", list.as_str());
        }
        if let Some(a) = &self.allowed {
            out.push_str(",\"allowed\":{\"reason\":");
            str_(out, &a.reason);
            out.push_str(",\"expires\":\"");
            a.expires.write_rfc3339(out);
            out.push_str("\"}");
        }
        if let Some(r) = &self.resolved {
            out.push_str(",\"resolved\":{\"at\":\"");
            r.at.write_rfc3339(out);
            out.push_str("\",\"by\":");
            str_(out, &r.by);
            out.push_str(",\"reason\":");
            str_(out, &r.reason);
            out.push('}');
        }
        if self.on_operation {
            out.push_str(",\"on_operation\":true");
        }
        if self.more_events > 0 {
            let _ = write!(out, ",\"more_events\":{}", self.more_events);
        }
        if let Some(r) = self.user_risk {
            let _ = write!(out, ",\"user_risk\":{r}");
        }
        out.push('}');
    }
}

/// The suppression subject of the per-user behavioural rules: one alert per rule per
/// user per window, whatever was accessed.
pub const BEHAVIOUR_SUBJECT: &str = "behaviour";

/// The suppression key of a subject seen in an event: the record id, else the
/// person's normalised name and date of birth, else the VRM or postcode, else the
/// event itself.
pub fn event_subject_key(
    subject_type: SubjectType,
    subject_id: Option<&str>,
    name: Option<&PersonName>,
    dob: Option<Date>,
    vrm: Option<&str>,
    postcode: Option<&str>,
    event_id: &str,
) -> CompactString {
    // Written piece by piece: this runs for most accesses, and `format!` costs more
    // than the rest of the key.
    let mut key = CompactString::default();
    let mut put = |parts: &[&str]| parts.iter().for_each(|p| key.push_str(p));
    if let Some(id) = subject_id {
        put(&[subject_type.as_str(), ":", id]);
    } else if let Some(n) = name {
        put(&["person:", &n.surname, "|", &n.forenames]);
        if let Some(d) = dob {
            match d.iso() {
                Some(iso) => put(&["|", std::str::from_utf8(&iso).unwrap_or_default()]),
                None => put(&["|", &d.to_string()]),
            }
        }
    } else if let Some(v) = vrm {
        put(&["vrm:", v]);
    } else if let Some(p) = postcode {
        put(&["postcode:", p]);
    } else {
        put(&["event:", event_id]);
    }
    key
}

impl Alert {
    /// The subject part of the alert's suppression key, recomputed from the alert
    /// alone, so that open alerts can be restored from the alert topic after a restart.
    /// The rules use exactly these keys.
    pub fn suppression_subject(&self) -> CompactString {
        use crate::event::normalise;
        use compact_str::format_compact;
        match (self.rule, &self.watchlist) {
            (RuleId::AccountStatus, _) => "account".into(),
            _ if self.about_user => BEHAVIOUR_SUBJECT.into(),
            (RuleId::ScopeUnentitled, _) => format_compact!("scope:{}:{}", self.system, self.action),
            (_, Some(w)) => format_compact!("{}:{}", w.list, w.key),
            (_, None) => {
                let s = &self.subject;
                event_subject_key(
                    s.subject_type,
                    s.subject_id.as_deref(),
                    s.subject_name.as_deref().and_then(PersonName::parse).as_ref(),
                    s.subject_dob,
                    s.subject_vrm.as_deref().and_then(normalise::vrm).as_deref(),
                    s.subject_postcode.as_deref().and_then(normalise::postcode).as_deref(),
                    self.event_ids.first().map_or("", |e| e.as_str()),
                )
            }
        }
    }
}

impl Serialize for TableName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TableName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TableName::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown watch list {s:?}")))
    }
}

impl<'de> Deserialize<'de> for SubjectType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SubjectType::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown subject type {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_json_matches_serde() {
        let mut a = crate::alert::book::tests::alert("e\"1", 5);
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
        a.subject.subject_name = Some("O'BRIEN, Siân".into());
        a.subject.subject_dob = Some(crate::time::Date(3000));
        a.subject.subject_vrm = Some("AB12 CDE".into());
        a.subject.subject_sex = Some(crate::event::Sex::F);
        a.watchlist = Some(WatchlistRef {
            list: TableName::HighProfile,
            key: "HP\\1".into(),
            strength: MatchStrength::NameDob,
            flagged_at_access: false,
            recorded_at: Some(Timestamp(86_400_000)),
        });
        a.confidence = Confidence::Low;
        a.resolved = Some(Resolved { at: Timestamp(7), by: "reference".into(), reason: "late \"row\"".into() });
        a.more_events = 12;
        a.on_operation = true;
        a.about_user = true;
        a.other_users = vec!["U\"2".into(), "U3".into()];
        a.proposed_watchlist = Some(TableName::HighProfile);
        a.unit = Some("CID".into());
        a.event_ids.push("e2".into());
        a.reason = "line\nbreak \u{1} control".into();
        assert_eq!(a.to_json(), serde_json::to_string(&a).unwrap());
        let back: Alert = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn id_is_stable_and_separates_parts() {
        let a = Alert::make_id(RuleId::SelfLookup, "U1", "self", "PNC", "e1");
        assert_eq!(a, Alert::make_id(RuleId::SelfLookup, "U1", "self", "PNC", "e1"));
        assert_eq!(a.len(), 32);
        // Length prefixes keep ("U1","0") and ("U","10") apart.
        assert_ne!(
            Alert::make_id(RuleId::SelfLookup, "U1", "0", "PNC", "e"),
            Alert::make_id(RuleId::SelfLookup, "U", "10", "PNC", "e")
        );
    }
}
