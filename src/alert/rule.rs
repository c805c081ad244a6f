//! The shared vocabulary of alerts: the rule catalogue of spec/rules.md (every rule's
//! id, category and default severity), the severities of the ACU's red/amber/green
//! triage matrix, and the disclosure typology. Everything that raises, stores, shows
//! or configures alerts speaks these words, so they sit at the bottom.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Red/amber/green, as the ACU's triage matrix.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
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
    /// Abuse of position: officers seeking out vulnerable people (victim.contact).
    AbuseOfPosition,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Custody => "custody",
            Category::HighProfile => "high_profile",
            Category::SelfLookup => "self",
            Category::Associate => "associate",
            Category::Neighbour => "neighbour",
            Category::Colleague => "colleague",
            Category::NoPurpose => "no_purpose",
            Category::Opsec => "opsec",
            Category::AccountStatus => "account_status",
            Category::Behaviour => "behaviour",
            Category::Scope => "scope",
            Category::AbuseOfPosition => "abuse_of_position",
        }
    }
}

/// A rule of spec/rules.md.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    HighProfileUninvolved,
    CustodyUninvolved,
    SelfLookup,
    AssociateLookup,
    NeighbourLookup,
    ColleagueLookup,
    PurposeMissing,
    OpsecOutsider,
    AccountStatus,
    ScopeUnentitled,
    BehaviourVolume,
    BehaviourOutOfHours,
    BehaviourFishing,
    BehaviourExportAfterSensitive,
    BehaviourSubjectSpike,
    VictimContact,
    BehaviourTargeting,
}

impl RuleId {
    pub const ALL: [RuleId; 17] = [
        RuleId::HighProfileUninvolved,
        RuleId::CustodyUninvolved,
        RuleId::SelfLookup,
        RuleId::AssociateLookup,
        RuleId::NeighbourLookup,
        RuleId::ColleagueLookup,
        RuleId::PurposeMissing,
        RuleId::OpsecOutsider,
        RuleId::AccountStatus,
        RuleId::ScopeUnentitled,
        RuleId::BehaviourVolume,
        RuleId::BehaviourOutOfHours,
        RuleId::BehaviourFishing,
        RuleId::BehaviourExportAfterSensitive,
        RuleId::BehaviourSubjectSpike,
        RuleId::VictimContact,
        RuleId::BehaviourTargeting,
    ];

    /// The rules that need only the event and the watch lists.
    pub const WATCHLIST_RULES: [RuleId; 11] = [
        RuleId::HighProfileUninvolved,
        RuleId::CustodyUninvolved,
        RuleId::SelfLookup,
        RuleId::AssociateLookup,
        RuleId::NeighbourLookup,
        RuleId::ColleagueLookup,
        RuleId::PurposeMissing,
        RuleId::OpsecOutsider,
        RuleId::AccountStatus,
        RuleId::ScopeUnentitled,
        RuleId::VictimContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::HighProfileUninvolved => "high_profile.uninvolved",
            RuleId::CustodyUninvolved => "custody.uninvolved",
            RuleId::SelfLookup => "self.lookup",
            RuleId::AssociateLookup => "associate.lookup",
            RuleId::NeighbourLookup => "neighbour.lookup",
            RuleId::ColleagueLookup => "colleague.lookup",
            RuleId::PurposeMissing => "purpose.missing",
            RuleId::OpsecOutsider => "opsec.outsider",
            RuleId::AccountStatus => "account.status",
            RuleId::ScopeUnentitled => "scope.unentitled",
            RuleId::BehaviourVolume => "behaviour.volume",
            RuleId::BehaviourOutOfHours => "behaviour.out_of_hours",
            RuleId::BehaviourFishing => "behaviour.fishing",
            RuleId::BehaviourExportAfterSensitive => "behaviour.export_after_sensitive",
            RuleId::BehaviourSubjectSpike => "behaviour.subject_spike",
            RuleId::VictimContact => "victim.contact",
            RuleId::BehaviourTargeting => "behaviour.targeting",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn category(self) -> Category {
        match self {
            RuleId::HighProfileUninvolved => Category::HighProfile,
            RuleId::CustodyUninvolved => Category::Custody,
            RuleId::SelfLookup => Category::SelfLookup,
            RuleId::AssociateLookup => Category::Associate,
            RuleId::NeighbourLookup => Category::Neighbour,
            RuleId::ColleagueLookup => Category::Colleague,
            RuleId::PurposeMissing => Category::NoPurpose,
            RuleId::OpsecOutsider => Category::Opsec,
            RuleId::AccountStatus => Category::AccountStatus,
            RuleId::ScopeUnentitled => Category::Scope,
            RuleId::BehaviourVolume
            | RuleId::BehaviourOutOfHours
            | RuleId::BehaviourFishing
            | RuleId::BehaviourExportAfterSensitive
            | RuleId::BehaviourSubjectSpike
            | RuleId::BehaviourTargeting => Category::Behaviour,
            RuleId::VictimContact => Category::AbuseOfPosition,
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RuleId::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown rule {s:?}")))
    }
}
