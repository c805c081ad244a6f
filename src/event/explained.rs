//! The explanation an access carries with it into the archive, the timelines and the
//! subject histories: its kind and what explains it. Decided by `crate::explain`.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// What kind of explanation an access has.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Reference,
    Custody,
    CaseTeam,
    Operation,
    Victim,
    Earlier,
    Encounter,
    Routine,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Reference,
        Kind::Custody,
        Kind::CaseTeam,
        Kind::Operation,
        Kind::Victim,
        Kind::Earlier,
        Kind::Encounter,
        Kind::Routine,
    ];

    /// As the archive's `explained_by` column and the metrics write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reference => "reference",
            Kind::Custody => "custody",
            Kind::CaseTeam => "case_team",
            Kind::Operation => "operation",
            Kind::Victim => "victim",
            Kind::Earlier => "earlier",
            Kind::Encounter => "encounter",
            Kind::Routine => "routine",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An explanation carried with an event: its kind (for `earlier`, the kind of the
/// explanation it continues) and what explains it (a reference, a custody record, an
/// entry, an operation, a code, a routine's name, an earlier event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub kind: Kind,
    /// For `earlier`: the kind of the earlier access's explanation.
    pub of: Option<Kind>,
    pub detail: CompactString,
}

impl Recorded {
    /// Whether it is documented (on record by someone other than the user).
    pub fn is_documented(&self) -> bool {
        documented(self.of.unwrap_or(self.kind))
    }
}

/// Whether an explanation of this kind is documented (on record by someone other
/// than the user).
pub fn documented(kind: Kind) -> bool {
    matches!(kind, Kind::Reference | Kind::Custody | Kind::CaseTeam | Kind::Operation | Kind::Victim)
}

impl Recorded {
    /// In words, for timelines and subject histories: "reference INC-1", "custody
    /// record CUS-1", "earlier access e12 (reference)".
    pub fn describe(&self) -> String {
        let d = &self.detail;
        match (self.kind, self.of) {
            (Kind::Reference, _) => format!("reference {d}"),
            (Kind::Custody, _) => format!("custody record {d}"),
            (Kind::CaseTeam, _) => format!("case team of high-profile entry {d}"),
            (Kind::Operation, _) => format!("team of operation {d}"),
            (Kind::Victim, _) => format!("victim of incident {d}, which they are attached to"),
            (Kind::Earlier, Some(of)) => format!("earlier access {d} ({})", of.as_str().replace('_', " ")),
            (Kind::Earlier, None) => format!("earlier access {d}"),
            (Kind::Encounter, _) => format!("encounter, reason code {d}"),
            (Kind::Routine, _) => format!("routine \"{d}\""),
        }
    }
}
