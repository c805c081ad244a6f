//! Reading one watch-list row from its cells (a CSV record or a JSON object), with
//! every fault of the row collected: the same reader for files and topic messages.

use super::error::WatchlistError;
use super::index::PersonIdentity;
use super::rows::*;
use crate::event::normalise;
use crate::time::{DailyRange, Date, Timestamp};
use compact_str::CompactString;
use std::borrow::Cow;

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

    /// A user id, folded as events' are ([`normalise::user_id`]).
    fn user(&mut self, column: &str) -> Option<CompactString> {
        let mut id = self.text(column)?;
        self.check_user(column, &id);
        normalise::user_id(&mut id);
        Some(id)
    }

    fn required_user(&mut self, column: &str) -> CompactString {
        let mut id = self.required(column);
        self.check_user(column, &id);
        normalise::user_id(&mut id);
        id
    }

    /// An event's user id holds no control character: a watch list's that does
    /// matches no one's.
    fn check_user(&mut self, column: &str, id: &str) {
        if id.chars().any(char::is_control) {
            self.fail(column, format!("user id {id:?} holds a control character"));
        }
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

    /// A row's start (arrest, entry added, operation start, incident opened): required,
    /// and in the years 1970 to 2100. A start in year 9999 or 2620 (a slip of one digit)
    /// would make the row never apply, silently. An end may be far off: some exports
    /// write 9999-12-31 for "no end".
    fn required_ts(&mut self, column: &str) -> Timestamp {
        if self.text(column).is_none() {
            self.fail(column, "required value is missing");
        }
        let ts = self.ts(column).unwrap_or_default();
        if !(START_YEARS.contains(&ts.date().ymd().0)) {
            self.fail(column, format!("{ts} is outside the years 1970 to 2100"));
        }
        ts
    }

    /// A date of birth, in the years an event's may be (1850 to 2100).
    fn date(&mut self, column: &str) -> Option<Date> {
        let text = self.text(column)?;
        match Date::parse(&text) {
            Ok(d) if !crate::event::raw::BIRTH_YEARS.contains(&d.ymd().0) => {
                self.fail(
                    column,
                    format!("{text:?} is outside the years 1850 to 2100 (a two-digit year read as four?)"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(column, format!("{e} (got {text:?})"));
                None
            }
        }
    }

    /// A list of user ids. User ids hold no comma: `U3,U1` is two (a list written
    /// with the wrong separator named no one, and both officers' own work raised red
    /// alerts); an id holding a control character is refused (it matches no event's),
    /// and so is one holding a space or a `|` (`U3 U1`, `U3 | U1`, `U3 and U1`: a list
    /// with another separator, which named no one, as a probe's case team did).
    fn users(&mut self, column: &str) -> UserSet {
        let mut ids = self.cells.list(column);
        let odd = |id: &str| id.contains([',', '|']) || id.chars().any(|c| c.is_control() || c.is_whitespace());
        // Nearly every list: plain ids, kept as they are.
        if ids.iter().any(|id| odd(id)) {
            let items = std::mem::take(&mut ids);
            for item in &items {
                for id in item.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                    if id.chars().any(char::is_control) {
                        self.fail(column, format!("user id {id:?} holds a control character"));
                    } else if id.contains('|') || id.chars().any(char::is_whitespace) {
                        self.fail(
                            column,
                            format!("user id {id:?} holds a space or a `|`: separate the ids of a list with `;`"),
                        );
                    } else {
                        ids.push(CompactString::from(id));
                    }
                }
            }
        }
        UserSet::new(ids)
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

    /// A `victims` cell: `;`-separated, each a subject id (`12/34567A`) or a name
    /// ending in its date of birth (`SMITH, Jane 1990-04-02`). A name without a date of
    /// birth names too many people to watch and is refused.
    fn victims(&mut self, column: &str) -> Vec<PersonIdentity> {
        let mut out = Vec::new();
        for item in self.cells.list(column) {
            match parse_victim(&item) {
                Ok(p) => out.push(p),
                Err(problem) => self.fail(column, problem),
            }
        }
        out
    }

    /// A yes/no cell; absent or empty is no.
    fn flag(&mut self, column: &str) -> bool {
        self.choice(
            column,
            |s| match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => Some(true),
                "false" | "no" | "n" | "0" => Some(false),
                _ => None,
            },
            "true, false",
        )
        .unwrap_or(false)
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

/// One victim of an incident's `victims` cell.
pub fn parse_victim(item: &str) -> Result<PersonIdentity, String> {
    let item = item.trim();
    let (head, last) = item.rsplit_once(char::is_whitespace).unwrap_or(("", item));
    if let Ok(dob) = Date::parse(last) {
        let name = head.trim().trim_end_matches(',').trim();
        if normalise::PersonName::parse(name).is_none() {
            return Err(format!("victim {item:?}: no surname can be read before the date of birth"));
        }
        return Ok(PersonIdentity::new(None, Some(name.into()), Some(dob)));
    }
    if item.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(format!(
            "victim {item:?}: a name needs its date of birth (\"SMITH, Jane 1990-04-02\"), else give the subject id"
        ));
    }
    Ok(PersonIdentity::new(Some(item.into()), None, None))
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
            let arrested_at = r.required_ts("arrested_at");
            let released_at = r.ts("released_at");
            if released_at.is_some_and(|at| at < arrested_at) {
                r.fail("released_at", "released before the arrest");
            }
            Row::Custody(CustodyRecord {
                custody_ref,
                person,
                suite: r.text("suite"),
                arrested_at,
                released_at,
                officers: r.users("officers"),
                recorded_at: r.ts("recorded_at"),
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
            let added_at = r.required_ts("added_at");
            let expires_at = r.ts("expires_at");
            if expires_at.is_some_and(|at| at < added_at) {
                r.fail("expires_at", "expires before it was added");
            }
            Row::HighProfile(HighProfileEntry {
                entry_id,
                person,
                category,
                added_at,
                expires_at,
                case_team: r.users("case_team"),
                note: r.text("note"),
                recorded_at: r.ts("recorded_at"),
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
                user_id: r.required_user("user_id"),
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
                line_manager: r.user("line_manager"),
            })
        }
        TableName::Associates => {
            let user_id = r.required_user("user_id");
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
                recorded_at: r.ts("recorded_at"),
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
                victims: r.victims("victims"),
                vulnerable: r.flag("vulnerable"),
                recorded_at: r.ts("recorded_at"),
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

/// The years a watch-list row's start may fall in.
const START_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

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

    /// A start one digit off (year 9999, 2620), a period that ends before it starts,
    /// a date of birth from a two-digit year: each a fault of its column, where before
    /// the row loaded and then never applied. An end far off ("no end") is kept.
    #[test]
    fn starts_out_of_range_inverted_periods_and_impossible_births_are_faults() {
        let fault = |table: TableName, v: serde_json::Value| -> Vec<String> {
            let errs = json_row(table, v).unwrap_err();
            errs.iter().map(|e| format!("{}: {}", e.column.as_deref().unwrap_or(""), e.message)).collect()
        };
        let hp = |added: &str, expires: &str, dob: &str| {
            serde_json::json!({"entry_id": "HP-1", "subject_name": "KRAY, Ronald", "subject_dob": dob,
                "category": "celebrity", "added_at": added, "expires_at": expires})
        };
        let got = fault(TableName::HighProfile, hp("9999-11-05T10:30:00Z", "", "1933-10-24"));
        assert!(got.iter().any(|f| f.starts_with("added_at: ") && f.contains("1970 to 2100")), "{got:?}");
        let got = fault(TableName::HighProfile, hp("2026-11-05T10:30:00Z", "2026-11-01T00:00:00Z", "1933-10-24"));
        assert_eq!(got, ["expires_at: expires before it was added"]);
        let got = fault(TableName::HighProfile, hp("2026-11-05T10:30:00Z", "", "0033-10-24"));
        assert!(got.iter().any(|f| f.starts_with("subject_dob: ") && f.contains("1850 to 2100")), "{got:?}");
        assert!(
            json_row(TableName::HighProfile, hp("2026-11-05T10:30:00Z", "9999-12-31T23:59:59Z", "1933-10-24")).is_ok()
        );
        let op = serde_json::json!({"operation": "NIGHTJAR", "subject_id": "61/908405S", "starts_at": "2620-10-22T00:00:00Z"});
        assert!(fault(TableName::Operations, op)[0].starts_with("starts_at: "));
        let custody = serde_json::json!({"custody_ref": "C1", "subject_id": "1/2A", "arrested_at": "2026-11-05T10:00:00Z",
            "released_at": "2026-11-04T10:00:00Z"});
        assert_eq!(fault(TableName::Custody, custody), ["released_at: released before the arrest"]);
    }

    /// A user list written with commas names each user; an id with a control
    /// character is refused (a hostile probe: both were read as one unknown id).
    #[test]
    fn a_user_list_with_commas_names_each_and_a_control_character_is_refused() {
        let row = json_row(
            TableName::HighProfile,
            serde_json::json!({"entry_id": "HP1", "subject_id": "01/1X", "added_at": "2026-11-01T00:00:00Z",
                               "case_team": "U3, U1;U2"}),
        )
        .unwrap();
        let Row::HighProfile(e) = row else { panic!() };
        assert_eq!(e.case_team.iter().collect::<Vec<_>>(), ["U1", "U2", "U3"]);
        let errs = json_row(
            TableName::Custody,
            serde_json::json!({"custody_ref": "C1", "subject_id": "01/1X", "arrested_at": "2026-11-01T00:00:00Z",
                               "officers": "U3\u{0}"}),
        )
        .unwrap_err();
        assert!(
            errs.iter().any(|e| e.to_string().contains("officers") && e.to_string().contains("control")),
            "{errs:?}"
        );
        let errs = json_row(TableName::Staff, serde_json::json!({"user_id": "U\u{7}9"})).unwrap_err();
        assert!(errs.iter().any(|e| e.to_string().contains("control")), "{errs:?}");
        // Another separator (a probe's `U10120 U10121` named no one, and both officers'
        // own case raised red alerts): refused, saying which separator to use.
        for team in ["U3 U1", "U3 | U1", "U3 and U1", "U2;U3 U1"] {
            let errs = json_row(
                TableName::HighProfile,
                serde_json::json!({"entry_id": "HP1", "subject_id": "01/1X", "added_at": "2026-11-01T00:00:00Z",
                                   "case_team": team}),
            )
            .unwrap_err();
            assert!(
                errs.iter().any(|e| e.to_string().contains("separate the ids of a list with `;`")),
                "{team}: {errs:?}"
            );
        }
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

    #[test]
    fn victims_are_ids_or_names_with_a_date_of_birth() {
        let row = json_row(
            TableName::Incidents,
            serde_json::json!({"reference": "DA-1", "opened_at": "2026-11-01T00:00:00Z",
                "victims": "01/123456X; HALE, Jenna 1999-05-06;Amy Lane 2001-07-08", "vulnerable": "TRUE"}),
        )
        .unwrap();
        let Row::Incident(i) = row else { panic!("not an incident") };
        assert!(i.vulnerable);
        assert_eq!(i.victims.len(), 3);
        assert_eq!(i.victims[0].subject_id.as_deref(), Some("01/123456X"));
        assert_eq!(i.victims[1].describe(), "HALE, Jenna, born 1999-05-06");
        assert_eq!(i.victims[2].name.as_ref().map(|n| n.surname.as_str()), Some("LANE"));
        // A name alone names too many people; a flag must be a yes or a no.
        let errors = json_row(
            TableName::Incidents,
            serde_json::json!({"reference": "DA-2", "opened_at": "2026-11-01T00:00:00Z",
                "victims": "HALE, Jenna", "vulnerable": "maybe"}),
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("victims") && t.contains("needs its date of birth")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("vulnerable")), "{text:?}");
        // Both columns are optional: an old file still loads, nothing vulnerable.
        let old = json_row(
            TableName::Incidents,
            serde_json::json!({"reference": "INC-1", "opened_at": "2026-11-01T00:00:00Z"}),
        );
        assert!(matches!(old, Ok(Row::Incident(Incident { vulnerable: false, .. }))));
    }

    /// A sentence names a member of staff as `U1 (name, post, unit)`: brackets of the
    /// name's own are squared, so that the part ends at its one closing bracket.
    #[test]
    fn a_staff_description_holds_no_bracket_of_its_own() {
        let row = json_row(
            TableName::Staff,
            serde_json::json!({"user_id": "U1", "surname": "Smith (née Jones)", "forenames": "Joanna (Jo)",
                               "role": "PC", "unit": "Response (Late)"}),
        );
        let Ok(Row::Staff(m)) = row else { panic!("{row:?}") };
        assert_eq!(m.describe(), "U1 (Joanna [Jo] Smith [née Jones], PC, Response [Late])");
    }
}
