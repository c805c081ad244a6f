//! The vocabularies of an access event: what was done (`Action`), to what kind of
//! record (`SubjectType`), and the subject's recorded sex (`Sex`).

use serde::Serialize;
use std::fmt;

/// What the user did to the record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Search,
    View,
    Update,
    Create,
    Print,
    Export,
}

/// A `subject_sex` that is none of `F`, `M`, `X`, `U` or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSex;

/// A person's recorded sex (spec/events.md `subject_sex`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub enum Sex {
    F,
    M,
    X,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
            Sex::X => "X",
        }
    }

    /// `F`, `M` or `X`, or the words systems write for the first two (`Female`,
    /// `male`), any case; `None` for empty or unknown (`U`, `Unknown`, `Not known`,
    /// `Not stated`, `NK`, `NS`); `Err` for anything else.
    pub fn parse(s: &str) -> Result<Option<Sex>, UnknownSex> {
        // The letters first: nearly every system writes them.
        match s {
            "F" | "f" => return Ok(Some(Sex::F)),
            "M" | "m" => return Ok(Some(Sex::M)),
            _ => {}
        }
        let s = s.trim();
        let is = |word: &str| s.eq_ignore_ascii_case(word);
        if s.is_empty() || ["U", "UNKNOWN", "NOT KNOWN", "NOT STATED", "NK", "NS"].into_iter().any(is) {
            Ok(None)
        } else if is("F") || is("FEMALE") {
            Ok(Some(Sex::F))
        } else if is("M") || is("MALE") {
            Ok(Some(Sex::M))
        } else if is("X") {
            Ok(Some(Sex::X))
        } else {
            Err(UnknownSex)
        }
    }

    /// In a sentence: "women", "men", "people recorded as X".
    pub fn plural(self) -> &'static str {
        match self {
            Sex::F => "women",
            Sex::M => "men",
            Sex::X => "people recorded as X",
        }
    }
}

/// What kind of record was accessed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Person,
    Vehicle,
    Address,
    Crime,
    Incident,
    Custody,
    Intel,
    Property,
    Other,
}

impl Action {
    pub const ALL: [Action; 6] =
        [Action::Search, Action::View, Action::Update, Action::Create, Action::Print, Action::Export];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::View => "view",
            Action::Update => "update",
            Action::Create => "create",
            Action::Print => "print",
            Action::Export => "export",
        }
    }

    /// Case-insensitive parse of the spec's enum values.
    pub fn parse(s: &str) -> Option<Action> {
        // As the spec writes them (nearly every event), then any case and padding.
        if let Some(a) = Action::ALL.into_iter().find(|a| a.as_str() == s) {
            return Some(a);
        }
        Action::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The verb an alert sentence uses: "searched for", "viewed", ...
    pub fn verb(self) -> &'static str {
        match self {
            Action::Search => "searched for",
            Action::View => "viewed",
            Action::Update => "updated",
            Action::Create => "created a record of",
            Action::Print => "printed",
            Action::Export => "exported",
        }
    }
}

impl SubjectType {
    pub const ALL: [SubjectType; 9] = [
        SubjectType::Person,
        SubjectType::Vehicle,
        SubjectType::Address,
        SubjectType::Crime,
        SubjectType::Incident,
        SubjectType::Custody,
        SubjectType::Intel,
        SubjectType::Property,
        SubjectType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Person => "person",
            SubjectType::Vehicle => "vehicle",
            SubjectType::Address => "address",
            SubjectType::Crime => "crime",
            SubjectType::Incident => "incident",
            SubjectType::Custody => "custody",
            SubjectType::Intel => "intel",
            SubjectType::Property => "property",
            SubjectType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectType> {
        if let Some(t) = SubjectType::ALL.into_iter().find(|t| t.as_str() == s) {
            return Some(t);
        }
        SubjectType::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SubjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
