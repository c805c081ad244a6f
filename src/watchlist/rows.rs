//! The rows of the six watch-list tables (spec/watchlists.md) and how each is read from
//! a record of named cells, whatever the file or topic it came from.

use super::index::PersonIdentity;
use crate::event::normalise;
use crate::time::{DailyRange, Date, Timestamp};
use compact_str::CompactString;
use std::fmt;

#[cfg(test)]
pub(super) use super::reference::short_splits;
pub use super::reference::{
    normalise_reference, reference_key, same_grouping, short_reference_key, splits, SHORT_REFERENCE,
};

/// The six reference tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableName {
    /// `custody`: persons in police custody.
    Custody,
    /// `high_profile`: celebrity and other high-profile arrests.
    HighProfile,
    /// `staff`: everyone who can access the systems.
    Staff,
    /// `associates`: declared (notifiable) associations.
    Associates,
    /// `operations`: subjects of live covert operations.
    Operations,
    /// `incidents`: references that justify an access.
    Incidents,
}

impl TableName {
    /// Every table, in the order they are loaded and reported.
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

    /// The table with this name (`custody`, `high_profile`, ...).
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
                "recorded_at",
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
                "recorded_at",
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
                "line_manager",
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
                "recorded_at",
            ],
            TableName::Incidents => &[
                "reference",
                "opened_at",
                "kind",
                "closed_at",
                "unit",
                "officers",
                "recorded_at",
                "victims",
                "vulnerable",
            ],
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
    /// A set of these user ids (sorted, duplicates dropped).
    pub fn new(mut ids: Vec<CompactString>) -> UserSet {
        ids.iter_mut().for_each(crate::event::normalise::user_id);
        ids.sort();
        ids.dedup();
        UserSet(ids)
    }

    /// Whether the user is in the set (exact match).
    pub fn contains(&self, user: &str) -> bool {
        self.0.binary_search_by(|u| u.as_str().cmp(user)).is_ok()
    }

    /// How many users.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set names no one.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The user ids, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.as_str())
    }
}

/// A person in police custody.
#[derive(Clone, Debug, PartialEq)]
pub struct CustodyRecord {
    /// The custody record number (the row's key).
    pub custody_ref: CompactString,
    /// The detained person.
    pub person: PersonIdentity,
    /// The custody suite.
    pub suite: Option<CompactString>,
    /// Time of arrest.
    pub arrested_at: Timestamp,
    /// Time of release; `None` while in custody.
    pub released_at: Option<Timestamp>,
    /// Users with a part in this custody: arresting officer, officer in the case, custody staff.
    pub officers: UserSet,
    /// When we learned it (record time): the optional `recorded_at` column, else the
    /// watch-list topic message's timestamp; `None` for a row loaded from a file
    /// without the column (known from the start).
    pub recorded_at: Option<Timestamp>,
}

/// Why a person is high-profile.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HighProfileCategory {
    /// A celebrity.
    Celebrity,
    /// A politician.
    Politician,
    /// A sportsperson.
    Sportsperson,
    /// A journalist.
    Journalist,
    /// The victim in a newsworthy case.
    Victim,
    /// Anyone else whose records are of outside interest.
    Other,
}

impl HighProfileCategory {
    /// Every category.
    pub const ALL: [HighProfileCategory; 6] = [
        HighProfileCategory::Celebrity,
        HighProfileCategory::Politician,
        HighProfileCategory::Sportsperson,
        HighProfileCategory::Journalist,
        HighProfileCategory::Victim,
        HighProfileCategory::Other,
    ];

    /// The category as spec/watchlists.md writes it.
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
    /// The entry's id (the row's key).
    pub entry_id: CompactString,
    /// The person.
    pub person: PersonIdentity,
    /// Why the person is high-profile.
    pub category: HighProfileCategory,
    /// When the entry was put on the list; it covers accesses from this minus the look-back.
    pub added_at: Timestamp,
    /// When the entry stops applying; `None`: no end.
    pub expires_at: Option<Timestamp>,
    /// Users allowed to access this person's records.
    pub case_team: UserSet,
    /// Free text.
    pub note: Option<CompactString>,
    /// When we learned it (record time): the optional `recorded_at` column, else the
    /// watch-list topic message's timestamp; `None` for a row loaded from a file
    /// without the column (known from the start).
    pub recorded_at: Option<Timestamp>,
}

/// Account status of a member of staff.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// In use.
    Active,
    /// Suspended: any access is an alert.
    Suspended,
    /// Restricted: any access is an alert.
    Restricted,
    /// The member of staff has left: any access is an alert.
    Left,
}

impl AccountStatus {
    /// Every status.
    pub const ALL: [AccountStatus; 4] =
        [AccountStatus::Active, AccountStatus::Suspended, AccountStatus::Restricted, AccountStatus::Left];

    /// The status as spec/watchlists.md writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Restricted => "restricted",
            AccountStatus::Left => "left",
        }
    }

    /// The status with this name (any case).
    pub fn parse(s: &str) -> Option<AccountStatus> {
        AccountStatus::ALL.into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Someone who can access the systems.
#[derive(Clone, Debug, PartialEq)]
pub struct StaffMember {
    /// Staff or warrant number: the `user_id` of their events (the row's key).
    pub user_id: CompactString,
    /// Surname and forenames as given, for sentences.
    pub display_name: Option<CompactString>,
    /// Their own name, normalised (self and family look-ups).
    pub name: Option<normalise::PersonName>,
    /// Their own date of birth.
    pub dob: Option<Date>,
    /// Normalised (no spaces, upper case).
    pub home_postcode: Option<CompactString>,
    /// Their unit (an incident owned by it justifies their accesses).
    pub unit: Option<CompactString>,
    /// Their role (PC, DC, PCSO, analyst, ...).
    pub role: Option<CompactString>,
    /// Their force's code.
    pub force: Option<CompactString>,
    /// `police`, or the non-police organisation the user belongs to.
    pub org: CompactString,
    /// The account's status.
    pub status: AccountStatus,
    /// When the status took effect.
    pub status_since: Option<Timestamp>,
    /// Rostered hours of the day (may wrap midnight); `None` if not rostered.
    pub shift: Option<DailyRange>,
    /// The user id of their line manager (an optional column beyond the spec, see
    /// docs/contract.md): the dashboard keeps alerts about a manager from the people
    /// they manage.
    pub line_manager: Option<CompactString>,
}

impl StaffMember {
    /// Whether they belong to the police rather than an outside organisation.
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
            // Brackets within (`Joanna (Jo)`, `Smith (née Jones)`) become square: the
            // dashboard's masking cuts this part at its first closing bracket.
            s.extend(part.chars().map(|c| match c {
                '(' => '[',
                ')' => ']',
                c => c,
            }));
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
    /// A family member.
    Family,
    /// A current partner.
    Partner,
    /// A former partner.
    ExPartner,
    /// A friend.
    Friend,
    /// A neighbour.
    Neighbour,
    /// A journalist (a disclosure risk: red by default).
    Journalist,
    /// Someone with criminal connections (red by default).
    CriminalAssociate,
    /// Any other declared association.
    Other,
}

impl Relationship {
    /// Every relationship.
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

    /// The relationship as spec/watchlists.md writes it.
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

    /// The relationship with this name.
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
    /// The member of staff who declared it.
    pub user_id: CompactString,
    /// The associate.
    pub person: PersonIdentity,
    /// Normalised.
    pub postcode: Option<CompactString>,
    /// What they are to the member of staff.
    pub relationship: Relationship,
    /// When it was declared.
    pub declared_at: Option<Timestamp>,
}

/// One subject (person, vehicle or address) of a live covert operation.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationSubject {
    /// The operation's name.
    pub operation: CompactString,
    /// The subject as a person, when it is one.
    pub person: PersonIdentity,
    /// Normalised.
    pub vrm: Option<CompactString>,
    /// Normalised.
    pub postcode: Option<CompactString>,
    /// Users briefed on the operation.
    pub team: UserSet,
    /// When the operation began.
    pub starts_at: Timestamp,
    /// When it ended; `None` while live.
    pub ends_at: Option<Timestamp>,
    /// When we learned it (record time): the optional `recorded_at` column, else the
    /// watch-list topic message's timestamp; `None` for a row loaded from a file
    /// without the column (known from the start).
    pub recorded_at: Option<Timestamp>,
}

impl OperationSubject {
    /// Whether the operation is live at `ts`.
    pub fn is_live_at(&self, ts: Timestamp) -> bool {
        ts >= self.starts_at && self.ends_at.is_none_or(|end| ts < end)
    }

    /// The subject as a sentence names it: a person, "vehicle AB12CDE" or an address.
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
    /// The reference, normalised (the row's key).
    pub reference: CompactString,
    /// What kind of incident (free text).
    pub kind: Option<CompactString>,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it was closed; `None` while open.
    pub closed_at: Option<Timestamp>,
    /// The owning unit: its members are linked to the incident.
    pub unit: Option<CompactString>,
    /// Users attached to it.
    pub officers: UserSet,
    /// Its victims (the optional `victims` column): each a subject id, or a name with
    /// its date of birth.
    pub victims: Vec<PersonIdentity>,
    /// Domestic abuse, a sexual offence or otherwise safeguarding-flagged (the optional
    /// `vulnerable` column): its victims are watched by `victim.contact`.
    pub vulnerable: bool,
    /// When we learned it (record time): the optional `recorded_at` column, else the
    /// watch-list topic message's timestamp; `None` for a row loaded from a file
    /// without the column (known from the start).
    pub recorded_at: Option<Timestamp>,
}

impl Incident {
    /// A missing-person incident: its kind says "missing" or "MISPER" as a word. A
    /// search for a missing person is every officer's business.
    pub fn is_missing_person(&self) -> bool {
        self.kind.as_deref().is_some_and(|k| {
            k.split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case("missing") || w.eq_ignore_ascii_case("misper"))
        })
    }
}

/// A table row of any of the six kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    /// A `custody` row.
    Custody(CustodyRecord),
    /// A `high_profile` row.
    HighProfile(HighProfileEntry),
    /// A `staff` row.
    Staff(StaffMember),
    /// An `associates` row.
    Associate(Associate),
    /// An `operations` row.
    Operation(OperationSubject),
    /// An `incidents` row.
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

    /// When we learned the row (see [`Incident::recorded_at`]); `None` for the tables
    /// that do not keep it (staff, associates) and rows known from the start.
    pub fn recorded_at(&self) -> Option<Timestamp> {
        match self {
            Row::Custody(r) => r.recorded_at,
            Row::HighProfile(r) => r.recorded_at,
            Row::Operation(r) => r.recorded_at,
            Row::Incident(r) => r.recorded_at,
            Row::Staff(_) | Row::Associate(_) => None,
        }
    }

    /// Sets the record time of a row that does not give its own (a topic message's
    /// timestamp).
    pub fn recorded_by_default(&mut self, at: Timestamp) {
        let slot = match self {
            Row::Custody(r) => &mut r.recorded_at,
            Row::HighProfile(r) => &mut r.recorded_at,
            Row::Operation(r) => &mut r.recorded_at,
            Row::Incident(r) => &mut r.recorded_at,
            Row::Staff(_) | Row::Associate(_) => return,
        };
        slot.get_or_insert(at);
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
            // As written (the topic's key); the table finds it by [`reference_key`].
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
