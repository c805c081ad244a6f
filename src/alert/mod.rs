//! Alerts (spec/alerts.md): what the engine raises, and the book of open alerts that
//! folds repeats into one alert per suppression window.

pub mod book;

pub use book::{AlertBook, AlertSink, CollectClosed};

use crate::detect::RuleId;
use crate::event::{AccessEvent, SubjectType};
use crate::time::{Date, Timestamp};
use crate::watchlist::{MatchStrength, TableName};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Red/amber/green, as the ACU's triage matrix.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Green,
    Amber,
    Red,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Red, Severity::Amber, Severity::Green];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Red => "red",
            Severity::Amber => "amber",
            Severity::Green => "green",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The base of the 0-100 score for an alert of this severity.
    pub fn base_score(self) -> i32 {
        match self {
            Severity::Red => 80,
            Severity::Amber => 50,
            Severity::Green => 20,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The disclosure typology an alert belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Custody,
    HighProfile,
    #[serde(rename = "self")]
    SelfLookup,
    Associate,
    Neighbour,
    Colleague,
    NoPurpose,
    Opsec,
    AccountStatus,
    Behaviour,
    Scope,
}

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
    pub reason: String,
    pub retrospective: bool,
    /// The source system of the triggering event (an extension of spec/alerts.md, so
    /// the dashboard can filter by system).
    pub system: CompactString,
    /// The user's unit from the staff list, when known (extension, for filtering).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<CompactString>,
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

    /// One line of JSON, as written to files and topics.
    pub fn to_json(&self) -> String {
        // An Alert holds only strings, numbers and enums: serialising cannot fail.
        serde_json::to_string(self).expect("alert serialises")
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
