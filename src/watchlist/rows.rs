//! The rows of the six watch-list tables (spec/watchlists.md) and how each is read from
//! a record of named cells, whatever the file or topic it came from.

use super::error::WatchlistError;
use super::index::PersonIdentity;
use crate::event::normalise;
use crate::time::{DailyRange, Date, Timestamp};
use compact_str::CompactString;
use std::borrow::Cow;
use std::fmt;

/// The six reference tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableName {
    Custody,
    HighProfile,
    Staff,
    Associates,
    Operations,
    Incidents,
}

impl TableName {
    pub const ALL: [TableName; 6] = [
        TableName::Custody,
        TableName::HighProfile,
        TableName::Staff,
        TableName::Associates,
        TableName::Operations,
        TableName::Incidents,
    ];

    /// The file stem and list name: `custody`, `high_profile`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            TableName::Custody => "custody",
            TableName::HighProfile => "high_profile",
            TableName::Staff => "staff",
            TableName::Associates => "associates",
            TableName::Operations => "operations",
            TableName::Incidents => "incidents",
        }
    }

    pub fn parse(s: &str) -> Option<TableName> {
        TableName::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The columns a row may have, required ones first.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            TableName::Custody => &[
                "custody_ref",
                "arrested_at",
                "subject_id",
                "subject_name",
                "subject_dob",
                "suite",
                "released_at",
                "officers",
            ],
            TableName::HighProfile => &[
                "entry_id",
                "added_at",
                "subject_id",
                "subject_name",
                "subject_dob",
                "category",
                "expires_at",
                "case_team",
                "note",
            ],
            TableName::Staff => &[
                "user_id",
                "surname",
                "forenames",
                "dob",
                "home_postcode",
                "unit",
                "role",
                "force",
                "org",
                "status",
                "status_since",
                "shift",
            ],
            TableName::Associates => &[
                "user_id",
                "relationship",
                "subject_id",
                "subject_name",
                "subject_dob",
                "subject_postcode",
                "declared_at",
            ],
            TableName::Operations => &[
                "operation",
                "starts_at",
                "subject_id",
                "subject_name",
                "subject_dob",
                "subject_vrm",
                "subject_postcode",
                "team",
                "ends_at",
            ],
            TableName::Incidents => &["reference", "opened_at", "kind", "closed_at", "unit", "officers"],
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of user ids (case team, custody officers, operation team), sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserSet(Vec<CompactString>);

impl UserSet {
    pub fn new(mut ids: Vec<CompactString>) -> UserSet {
        ids.sort();
        ids.dedup();
        UserSet(ids)
    }

    pub fn contains(&self, user: &str) -> bool {
        self.0.binary_search_by(|u| u.as_str().cmp(user)).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.as_str())
    }
}

/// A person in police custody.
#[derive(Clone, Debug, PartialEq)]
pub struct CustodyRecord {
    pub custody_ref: CompactString,
    pub person: PersonIdentity,
    pub suite: Option<CompactString>,
    pub arrested_at: Timestamp,
    pub released_at: Option<Timestamp>,
    pub officers: UserSet,
}

/// Why a person is high-profile.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HighProfileCategory {
    Celebrity,
    Politician,
    Sportsperson,
    Journalist,
    Victim,
    Other,
}

impl HighProfileCategory {
    const ALL: [HighProfileCategory; 6] = [
        HighProfileCategory::Celebrity,
        HighProfileCategory::Politician,
        HighProfileCategory::Sportsperson,
        HighProfileCategory::Journalist,
        HighProfileCategory::Victim,
        HighProfileCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HighProfileCategory::Celebrity => "celebrity",
            HighProfileCategory::Politician => "politician",
            HighProfileCategory::Sportsperson => "sportsperson",
            HighProfileCategory::Journalist => "journalist",
            HighProfileCategory::Victim => "victim",
            HighProfileCategory::Other => "other",
        }
    }
}

/// A celebrity or other high-profile person whose records only the case team may open.
#[derive(Clone, Debug, PartialEq)]
pub struct HighProfileEntry {
    pub entry_id: CompactString,
    pub person: PersonIdentity,
    pub category: HighProfileCategory,
    pub added_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub case_team: UserSet,
    pub note: Option<CompactString>,
}

/// Account status of a member of staff.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    Active,
    Suspended,
    Restricted,
    Left,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 4] =
        [AccountStatus::Active, AccountStatus::Suspended, AccountStatus::Restricted, AccountStatus::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Restricted => "restricted",
            AccountStatus::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<AccountStatus> {
        AccountStatus::ALL.into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Someone who can access the systems.
#[derive(Clone, Debug, PartialEq)]
pub struct StaffMember {
    pub user_id: CompactString,
    /// Surname and forenames as given, for sentences.
    pub display_name: Option<CompactString>,
    pub name: Option<normalise::PersonName>,
    pub dob: Option<Date>,
    /// Normalised (no spaces, upper case).
    pub home_postcode: Option<CompactString>,
    pub unit: Option<CompactString>,
    pub role: Option<CompactString>,
    pub force: Option<CompactString>,
    /// `police`, or the non-police organisation the user belongs to.
    pub org: CompactString,
    pub status: AccountStatus,
    pub status_since: Option<Timestamp>,
    pub shift: Option<DailyRange>,
}

impl StaffMember {
    pub fn is_police(&self) -> bool {
        self.org.eq_ignore_ascii_case("police")
    }

    /// The status in force at `ts`: a status with a `status_since` after `ts` has not
    /// yet begun, and the account counts as active before it.
    pub fn status_at(&self, ts: Timestamp) -> AccountStatus {
        match self.status_since {
            Some(since) if ts < since => AccountStatus::Active,
            _ => self.status,
        }
    }

    /// `U1234 (PC, Response B)`: the user as an alert sentence names them.
    pub fn describe(&self) -> String {
        let mut s = String::with_capacity(64);
        s.push_str(&self.user_id);
        let mut open = false;
        for part in [self.display_name.as_deref(), self.role.as_deref(), self.unit.as_deref()].into_iter().flatten() {
            s.push_str(if open { ", " } else { " (" });
            s.push_str(part);
            open = true;
        }
        if open {
            s.push(')');
        }
        s
    }
}

/// The kind of a declared association.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relationship {
    Family,
    Partner,
    ExPartner,
    Friend,
    Neighbour,
    Journalist,
    CriminalAssociate,
    Other,
}

impl Relationship {
    pub const ALL: [Relationship; 8] = [
        Relationship::Family,
        Relationship::Partner,
        Relationship::ExPartner,
        Relationship::Friend,
        Relationship::Neighbour,
        Relationship::Journalist,
        Relationship::CriminalAssociate,
        Relationship::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Family => "family",
            Relationship::Partner => "partner",
            Relationship::ExPartner => "ex_partner",
            Relationship::Friend => "friend",
            Relationship::Neighbour => "neighbour",
            Relationship::Journalist => "journalist",
            Relationship::CriminalAssociate => "criminal_associate",
            Relationship::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Relationship> {
        Relationship::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// "ex-partner", "criminal associate": for sentences.
    pub fn phrase(self) -> &'static str {
        match self {
            Relationship::Family => "family member",
            Relationship::Partner => "partner",
            Relationship::ExPartner => "ex-partner",
            Relationship::Friend => "friend",
            Relationship::Neighbour => "neighbour",
            Relationship::Journalist => "journalist contact",
            Relationship::CriminalAssociate => "criminal associate",
            Relationship::Other => "associate",
        }
    }
}

/// A notifiable association a member of staff declared.
#[derive(Clone, Debug, PartialEq)]
pub struct Associate {
    pub user_id: CompactString,
    pub person: PersonIdentity,
    /// Normalised.
    pub postcode: Option<CompactString>,
    pub relationship: Relationship,
    pub declared_at: Option<Timestamp>,
}

/// One subject (person, vehicle or address) of a live covert operation.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationSubject {
    pub operation: CompactString,
    pub person: PersonIdentity,
    /// Normalised.
    pub vrm: Option<CompactString>,
    /// Normalised.
    pub postcode: Option<CompactString>,
    pub team: UserSet,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
}

impl OperationSubject {
    pub fn is_live_at(&self, ts: Timestamp) -> bool {
        ts >= self.starts_at && self.ends_at.is_none_or(|end| ts < end)
    }

    pub fn describe(&self) -> String {
        if !self.person.is_empty() {
            self.person.describe()
        } else if let Some(v) = &self.vrm {
            format!("vehicle {v}")
        } else if let Some(p) = &self.postcode {
            format!("the address at {}", normalise::postcode_display(p))
        } else {
            "a subject".into()
        }
    }
}

/// A reference (incident, crime, custody or intelligence number) that can justify an
/// access.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub reference: CompactString,
    pub kind: Option<CompactString>,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub unit: Option<CompactString>,
    pub officers: UserSet,
}

/// Normalises a justifying reference for comparison: trimmed, upper case.
pub fn normalise_reference(r: &str) -> CompactString {
    let mut s = CompactString::from(r.trim());
    s.make_ascii_uppercase();
    s
}

/// The cells of one row by column name, from a CSV record or a JSON object.
pub trait Cells {
    /// The cell's text; `None` when absent or empty.
    fn text(&self, column: &str) -> Option<Cow<'_, str>>;
    /// A list cell: a JSON array, or text separated by `;`.
    fn list(&self, column: &str) -> Vec<CompactString>;
    /// The column names present, to report unknown ones; `None` when the caller has
    /// already checked them (a CSV header is checked once per file).
    fn column_names(&self) -> Option<Vec<String>>;
}

/// A table row of any of the six kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Custody(CustodyRecord),
    HighProfile(HighProfileEntry),
    Staff(StaffMember),
    Associate(Associate),
    Operation(OperationSubject),
    Incident(Incident),
}

impl Row {
    /// The table the row belongs to.
    pub fn table(&self) -> TableName {
        match self {
            Row::Custody(_) => TableName::Custody,
            Row::HighProfile(_) => TableName::HighProfile,
            Row::Staff(_) => TableName::Staff,
            Row::Associate(_) => TableName::Associates,
            Row::Operation(_) => TableName::Operations,
            Row::Incident(_) => TableName::Incidents,
        }
    }

    /// The row key of spec/watchlists.md.
    pub fn key(&self) -> CompactString {
        match self {
            Row::Custody(r) => r.custody_ref.clone(),
            Row::HighProfile(r) => r.entry_id.clone(),
            Row::Staff(r) => r.user_id.clone(),
            Row::Associate(r) => {
                compact_str::format_compact!("{}|{}", r.user_id, identity_key(&r.person, None, r.postcode.as_deref()))
            }
            Row::Operation(r) => compact_str::format_compact!(
                "{}|{}",
                r.operation,
                identity_key(&r.person, r.vrm.as_deref(), r.postcode.as_deref())
            ),
            Row::Incident(r) => r.reference.clone(),
        }
    }
}

fn identity_key(p: &PersonIdentity, vrm: Option<&str>, postcode: Option<&str>) -> String {
    if let Some(id) = &p.subject_id {
        format!("id:{id}")
    } else if let Some(n) = &p.name {
        match p.dob {
            Some(d) => format!("name:{n}|{d}"),
            None => format!("name:{n}"),
        }
    } else if let Some(v) = vrm {
        format!("vrm:{v}")
    } else {
        format!("postcode:{}", postcode.unwrap_or_default())
    }
}

/// Reads typed values out of [`Cells`], collecting every fault.
struct Reader<'a> {
    cells: &'a dyn Cells,
    errors: Vec<WatchlistError>,
}

impl<'a> Reader<'a> {
    fn fail(&mut self, column: &str, message: impl Into<String>) {
        self.errors.push(WatchlistError::cell(column, message));
    }

    fn text(&mut self, column: &str) -> Option<CompactString> {
        self.cells.text(column).map(|v| CompactString::from(v.trim())).filter(|v| !v.is_empty())
    }

    fn required(&mut self, column: &str) -> CompactString {
        match self.text(column) {
            Some(v) => v,
            None => {
                self.fail(column, "required value is missing");
                CompactString::default()
            }
        }
    }

    fn ts(&mut self, column: &str) -> Option<Timestamp> {
        let text = self.text(column)?;
        match Timestamp::parse_rfc3339(&text) {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(column, format!("{e} (got {text:?})"));
                None
            }
        }
    }

    fn required_ts(&mut self, column: &str) -> Timestamp {
        if self.text(column).is_none() {
            self.fail(column, "required value is missing");
        }
        self.ts(column).unwrap_or_default()
    }

    fn date(&mut self, column: &str) -> Option<Date> {
        let text = self.text(column)?;
        match Date::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(column, format!("{e} (got {text:?})"));
                None
            }
        }
    }

    fn users(&mut self, column: &str) -> UserSet {
        UserSet::new(self.cells.list(column))
    }

    fn person(&mut self, id: &str, name: &str, dob: &str) -> PersonIdentity {
        let raw_name = self.text(name);
        if let Some(n) = &raw_name {
            if normalise::PersonName::parse(n).is_none() {
                self.fail(name, format!("no surname can be read from {n:?}"));
            }
        }
        PersonIdentity::new(self.text(id), raw_name, self.date(dob))
    }

    fn choice<T: Copy>(&mut self, column: &str, parse: impl Fn(&str) -> Option<T>, expected: &str) -> Option<T> {
        let text = self.text(column)?;
        let v = parse(&text);
        if v.is_none() {
            self.fail(column, format!("unknown value {text:?} (expected one of {expected})"));
        }
        v
    }
}

/// Why a column does not belong in `table`, if it does not.
pub fn unknown_column(table: TableName, name: &str) -> Option<String> {
    (!table.columns().contains(&name)).then(|| format!("unknown column for the {table} table"))
}

/// Reads one row of `table`. Every faulty cell is reported, and unknown columns too.
pub fn read_row(table: TableName, cells: &dyn Cells) -> Result<Row, Vec<WatchlistError>> {
    let mut r = Reader { cells, errors: Vec::new() };
    for name in cells.column_names().unwrap_or_default() {
        if let Some(problem) = unknown_column(table, &name) {
            r.fail(&name, problem);
        }
    }
    let row = match table {
        TableName::Custody => {
            let custody_ref = r.required("custody_ref");
            let person = r.person("subject_id", "subject_name", "subject_dob");
            if person.is_empty() {
                r.fail("subject_id", "a custody record needs subject_id or subject_name");
            }
            Row::Custody(CustodyRecord {
                custody_ref,
                person,
                suite: r.text("suite"),
                arrested_at: r.required_ts("arrested_at"),
                released_at: r.ts("released_at"),
                officers: r.users("officers"),
            })
        }
        TableName::HighProfile => {
            let entry_id = r.required("entry_id");
            let person = r.person("subject_id", "subject_name", "subject_dob");
            if person.is_empty() {
                r.fail("subject_id", "a high-profile entry needs subject_id or subject_name");
            }
            let category = r
                .choice(
                    "category",
                    |s| HighProfileCategory::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s)),
                    "celebrity, politician, sportsperson, journalist, victim, other",
                )
                .unwrap_or(HighProfileCategory::Other);
            Row::HighProfile(HighProfileEntry {
                entry_id,
                person,
                category,
                added_at: r.required_ts("added_at"),
                expires_at: r.ts("expires_at"),
                case_team: r.users("case_team"),
                note: r.text("note"),
            })
        }
        TableName::Staff => {
            let surname = r.text("surname");
            let forenames = r.text("forenames");
            let name = surname
                .as_deref()
                .and_then(|s| normalise::PersonName::from_parts(s, forenames.as_deref().unwrap_or("")));
            let display_name = surname.as_ref().map(|s| match &forenames {
                Some(f) => compact_str::format_compact!("{f} {s}"),
                None => s.clone(),
            });
            let shift = match r.text("shift") {
                None => None,
                Some(text) => match DailyRange::parse(&text) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        r.fail("shift", format!("{e} (got {text:?})"));
                        None
                    }
                },
            };
            Row::Staff(StaffMember {
                user_id: r.required("user_id"),
                display_name,
                name,
                dob: r.date("dob"),
                home_postcode: r.text("home_postcode").and_then(|p| normalise::postcode(&p)),
                unit: r.text("unit"),
                role: r.text("role"),
                force: r.text("force"),
                org: r.text("org").unwrap_or_else(|| "police".into()),
                status: r
                    .choice("status", AccountStatus::parse, "active, suspended, restricted, left")
                    .unwrap_or(AccountStatus::Active),
                status_since: r.ts("status_since"),
                shift,
            })
        }
        TableName::Associates => {
            let user_id = r.required("user_id");
            let person = r.person("subject_id", "subject_name", "subject_dob");
            let postcode = r.text("subject_postcode").and_then(|p| normalise::postcode(&p));
            if person.is_empty() && postcode.is_none() {
                r.fail("subject_id", "an association needs subject_id, subject_name or subject_postcode");
            }
            let relationship = r.choice(
                "relationship",
                Relationship::parse,
                "family, partner, ex_partner, friend, neighbour, journalist, criminal_associate, other",
            );
            if r.text("relationship").is_none() {
                r.fail("relationship", "required value is missing");
            }
            Row::Associate(Associate {
                user_id,
                person,
                postcode,
                relationship: relationship.unwrap_or(Relationship::Other),
                declared_at: r.ts("declared_at"),
            })
        }
        TableName::Operations => {
            let operation = r.required("operation");
            let person = r.person("subject_id", "subject_name", "subject_dob");
            let vrm = r.text("subject_vrm").and_then(|v| normalise::vrm(&v));
            let postcode = r.text("subject_postcode").and_then(|p| normalise::postcode(&p));
            if person.is_empty() && vrm.is_none() && postcode.is_none() {
                r.fail("subject_id", "an operation row needs a person, a subject_vrm or a subject_postcode");
            }
            let starts_at = r.required_ts("starts_at");
            let ends_at = r.ts("ends_at");
            if ends_at.is_some_and(|e| e < starts_at) {
                r.fail("ends_at", "ends before it starts");
            }
            Row::Operation(OperationSubject {
                operation,
                person,
                vrm,
                postcode,
                team: r.users("team"),
                starts_at,
                ends_at,
            })
        }
        TableName::Incidents => {
            let reference = normalise_reference(&r.required("reference"));
            let opened_at = r.required_ts("opened_at");
            let closed_at = r.ts("closed_at");
            if closed_at.is_some_and(|c| c < opened_at) {
                r.fail("closed_at", "closed before it was opened");
            }
            Row::Incident(Incident {
                reference,
                kind: r.text("kind"),
                opened_at,
                closed_at,
                unit: r.text("unit"),
                officers: r.users("officers"),
            })
        }
    };
    if r.errors.is_empty() {
        Ok(row)
    } else {
        Err(r.errors)
    }
}

/// Cells of a JSON object (a JSONL line or a live topic message).
pub struct JsonCells<'a>(pub &'a serde_json::Map<String, serde_json::Value>);

impl Cells for JsonCells<'_> {
    fn text(&self, column: &str) -> Option<Cow<'_, str>> {
        match self.0.get(column)? {
            serde_json::Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            serde_json::Value::Null => None,
            serde_json::Value::Array(a) => Some(Cow::Owned(
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(";"),
            )),
            other => Some(Cow::Owned(other.to_string())),
        }
    }

    fn list(&self, column: &str) -> Vec<CompactString> {
        match self.0.get(column) {
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(CompactString::from(s.trim())),
                    serde_json::Value::Null => None,
                    other => Some(CompactString::from(other.to_string())),
                })
                .filter(|s| !s.is_empty())
                .collect(),
            _ => split_list(self.text(column).as_deref().unwrap_or("")),
        }
    }

    fn column_names(&self) -> Option<Vec<String>> {
        Some(self.0.keys().cloned().collect())
    }
}

/// Splits a `;`-separated list cell.
pub fn split_list(s: &str) -> Vec<CompactString> {
    s.split(';').map(str::trim).filter(|x| !x.is_empty()).map(CompactString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_row(table: TableName, v: serde_json::Value) -> Result<Row, Vec<WatchlistError>> {
        read_row(table, &JsonCells(v.as_object().unwrap()))
    }

    #[test]
    fn every_fault_in_a_row_is_reported() {
        let errs = json_row(
            TableName::Custody,
            serde_json::json!({"custody_ref": "", "arrested_at": "monday", "officerz": "U1"}),
        )
        .unwrap_err();
        let cols: Vec<&str> = errs.iter().map(|e| e.column.as_deref().unwrap_or("")).collect();
        assert!(cols.contains(&"custody_ref"), "{errs:?}");
        assert!(cols.contains(&"arrested_at"), "{errs:?}");
        assert!(cols.contains(&"officerz"), "{errs:?}");
        assert!(cols.contains(&"subject_id"), "{errs:?}");
    }

    #[test]
    fn lists_from_arrays_or_semicolons() {
        let a = json_row(
            TableName::Incidents,
            serde_json::json!({"reference": "inc-1 ", "opened_at": "2026-11-01T00:00:00Z", "officers": ["U1", "U2"]}),
        )
        .unwrap();
        let b = json_row(
            TableName::Incidents,
            serde_json::json!({"reference": "INC-1", "opened_at": "2026-11-01T00:00:00Z", "officers": "U2; U1"}),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key(), "INC-1");
    }

    #[test]
    fn staff_status_takes_effect_at_status_since() {
        let Row::Staff(s) = json_row(
            TableName::Staff,
            serde_json::json!({"user_id": "U1", "status": "suspended", "status_since": "2026-11-10T00:00:00Z"}),
        )
        .unwrap() else {
            panic!()
        };
        let at = |t| Timestamp::parse_rfc3339(t).unwrap();
        assert_eq!(s.status_at(at("2026-11-09T00:00:00Z")), AccountStatus::Active);
        assert_eq!(s.status_at(at("2026-11-10T00:00:00Z")), AccountStatus::Suspended);
        assert!(s.is_police());
    }
}
