//! The dashboard's durable state in SQLite (`synchronous = FULL`: a row the dashboard
//! has answered for is on disk): the alerts it has seen with their need-to-know marks,
//! their triage and its full history, reveals of pseudonymised identities, proposed
//! closures, and the audit trail ([`audit`]). Aggregates for the board, charts, risk
//! and briefing are SQL over every alert in their window ([`aggregate`]).

pub mod aggregate;
pub mod audit;

use super::scope::Scope;
use crate::alert::Alert;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

/// Where an alert stands in triage.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Acknowledged,
    Assigned,
    Escalated,
    /// A closure waits for a second person's approval (four eyes).
    ClosureProposed,
    Justified,
    Misconduct,
    Criminal,
    NoFurtherAction,
    /// Closed by the engine: an explanation that arrived late answers the alert (an
    /// incident recorded after the check it justifies).
    Resolved,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::New,
        Status::Acknowledged,
        Status::Assigned,
        Status::Escalated,
        Status::ClosureProposed,
        Status::Justified,
        Status::Misconduct,
        Status::Criminal,
        Status::NoFurtherAction,
        Status::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::Assigned => "assigned",
            Status::Escalated => "escalated",
            Status::ClosureProposed => "closure_proposed",
            Status::Justified => "justified",
            Status::Misconduct => "misconduct",
            Status::Criminal => "criminal",
            Status::NoFurtherAction => "no_further_action",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Closed: an outcome has been recorded.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Status::Justified | Status::Misconduct | Status::Criminal | Status::NoFurtherAction | Status::Resolved
        )
    }
}

/// One change of an alert's triage.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TriageChange {
    pub at: String,
    pub by: String,
    pub status: String,
    pub assignee: Option<String>,
    pub note: Option<String>,
}

/// An alert with its triage.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    pub alert: Alert,
    pub status: String,
    pub assignee: Option<String>,
    /// Whether the alert derives from an access to a live operation's subject.
    #[serde(skip)]
    pub operations: bool,
}

/// A request to see who is behind a pseudonym: for one alert, or for one person.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Reveal {
    pub id: i64,
    /// `alert` or `user`.
    pub scope: String,
    /// The alert id, or the user id.
    #[serde(skip)]
    pub target: String,
    #[serde(skip)]
    pub user_id: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

/// A closure proposed and awaiting a second person.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Proposal {
    pub outcome: String,
    pub proposed_by: String,
    pub proposed_at: String,
}

/// Filters of the alert board.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub unit: Option<String>,
    pub user: Option<String>,
    pub system: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u32>,
    /// Only alerts the dashboard received at or after this time (RFC 3339).
    pub since: Option<String>,
}

pub struct Store {
    db: Mutex<Connection>,
}

pub(crate) fn now() -> String {
    crate::time::Timestamp::now().to_string()
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS alerts (
      alert_id TEXT PRIMARY KEY, json TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL,
      unit TEXT, user_id TEXT NOT NULL, system TEXT NOT NULL, event_ts TEXT NOT NULL,
      operations INTEGER NOT NULL, retrospective INTEGER NOT NULL, score INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'new', assignee TEXT, seq INTEGER NOT NULL, seen_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS alerts_seq ON alerts (seq);
    CREATE INDEX IF NOT EXISTS alerts_user ON alerts (user_id);
    CREATE INDEX IF NOT EXISTS alerts_user_nocase ON alerts (user_id COLLATE NOCASE);
    CREATE TABLE IF NOT EXISTS alert_events (
      event_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY (event_id, alert_id)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS operation_events (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS triage_history (
      id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,
      status TEXT NOT NULL, assignee TEXT, note TEXT);
    CREATE TABLE IF NOT EXISTS closures (
      alert_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS reveals (
      id INTEGER PRIMARY KEY, scope TEXT NOT NULL, target TEXT NOT NULL, user_id TEXT NOT NULL,
      reason TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
      approved_by TEXT, approved_at TEXT);
    CREATE TABLE IF NOT EXISTS pseudonyms (pseudonym TEXT PRIMARY KEY, user_id TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS intake (
      topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (topic, partition)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS audit (
      id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL,
      action TEXT NOT NULL, target TEXT NOT NULL);
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;";

/// Columns added since the first version, for databases it wrote.
const MIGRATIONS: [(&str, &str, &str); 5] = [
    ("alerts", "event_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "allowed", "INTEGER NOT NULL DEFAULT 0"),
    ("audit", "prev", "TEXT"),
    ("audit", "hash", "TEXT"),
    ("audit", "restricted", "INTEGER NOT NULL DEFAULT 0"),
];

impl Store {
    /// Opens (creating or upgrading if needed) the database at `path`; `:memory:` for a
    /// scratch one.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let db = Connection::open(path)?;
        db.execute_batch(SCHEMA)?;
        for (table, column, kind) in MIGRATIONS {
            let has: bool = db.query_row(
                &format!("SELECT count(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
                [column],
                |r| r.get(0),
            )?;
            if !has {
                db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
            }
        }
        db.execute_batch("CREATE INDEX IF NOT EXISTS alerts_event_ms ON alerts (event_ms);")?;
        aggregate::register_functions(&db)?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the intake of `topic` resumes, per partition (empty for a new database).
    pub fn intake_offsets(&self, topic: &str) -> rusqlite::Result<std::collections::HashMap<i32, i64>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT partition, next_offset FROM intake WHERE topic = ?1")?;
        let rows = stmt.query_map([topic], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, i64>(1)?)))?;
        rows.collect()
    }

    /// Records that `partition` of `topic` has been read up to `offset` with nothing
    /// to store (a message that is not an alert).
    pub fn intake_skip(&self, topic: &str, partition: i32, offset: i64) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO intake (topic, partition, next_offset) VALUES (?1, ?2, ?3)
             ON CONFLICT (topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
            params![topic, partition, offset + 1],
        )?;
        Ok(())
    }

    /// A secret of this database (created on first use): the pseudonym key.
    pub fn secret(&self, name: &str) -> rusqlite::Result<Vec<u8>> {
        let db = self.db();
        if let Some(v) = db.query_row("SELECT value FROM secrets WHERE name = ?1", [name], |r| r.get(0)).optional()? {
            return Ok(v);
        }
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        db.execute("INSERT INTO secrets (name, value) VALUES (?1, ?2)", params![name, bytes.to_vec()])?;
        Ok(bytes.to_vec())
    }

    /// Records a new alert or a new version of one (more evidence); triage is kept.
    /// An alert on a live operation marks every event it names, and every alert on
    /// those events, as derived from the operation. Returns the stored row.
    pub fn upsert_alert(&self, a: &Alert) -> rusqlite::Result<Row> {
        self.upsert_alert_from(a, None)
    }

    /// As [`Store::upsert_alert`], recording in the same transaction that the alert
    /// topic's `partition` has been read up to `offset` (the dashboard service's
    /// intake: the database, not Kafka, says where to resume, so an alert is never
    /// counted as read without being stored, and a lost database is rebuilt from the
    /// topic).
    pub fn upsert_alert_from(&self, a: &Alert, read: Option<(&str, i32, i64)>) -> rusqlite::Result<Row> {
        let mut json = String::new();
        a.write_json(&mut json);
        let mut db = self.db();
        let tx = db.transaction()?;
        if let Some((topic, partition, offset)) = read {
            tx.execute(
                "INSERT INTO intake (topic, partition, next_offset) VALUES (?1, ?2, ?3)
                 ON CONFLICT (topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                params![topic, partition, offset + 1],
            )?;
        }
        // What the board held of it before: a later access that raises a closed alert's
        // severity reopens it (a probe: one supervisor closed an amber as justified, the
        // officer looked again with no reference, and the red sank into the closed
        // alert, past the second pair of eyes a red needs).
        // So does one that makes it surer of its subject (a search by name closed as a
        // namesake, then the view of the listed person by record id: a review).
        let before: Option<(String, String, Option<String>)> = tx
            .query_row(
                "SELECT severity, status, json_extract(json, '$.confidence') FROM alerts WHERE alert_id = ?1",
                [a.alert_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        // The engine marks every alert whose access touched a live operation (whatever
        // the rule); an opsec alert's watch list says so too.
        let on_operation =
            a.on_operation || a.watchlist.as_ref().is_some_and(|w| w.list == crate::watchlist::TableName::Operations);
        // The accesses that touched the operation: every one of an alert about its
        // subject (they share the subject), but only the trigger of an alert about the
        // user's behaviour, whose other accesses are the user's own business: one
        // look-up of an operation's subject must not hide the rest of a pattern, and
        // every alert on it, from triage staff not cleared for operations.
        let touched = match (on_operation, a.about_user) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => a.event_ids.len(),
        };
        for (i, e) in a.event_ids.iter().enumerate() {
            tx.execute(
                "INSERT OR IGNORE INTO alert_events (event_id, alert_id) VALUES (?1, ?2)",
                params![e.as_str(), a.alert_id.as_str()],
            )?;
            if i < touched {
                tx.execute("INSERT OR IGNORE INTO operation_events (event_id) VALUES (?1)", [e.as_str()])?;
            }
        }
        tx.execute(
            "INSERT INTO alerts (alert_id, json, severity, rule, unit, user_id, system, event_ts, operations,
                                 retrospective, score, seq, seen_at, event_ms, allowed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?14, ?9, ?10, (SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts), ?11, ?12, ?13)
             ON CONFLICT (alert_id) DO UPDATE SET json = excluded.json, severity = excluded.severity,
               score = excluded.score, operations = max(operations, excluded.operations),
               system = excluded.system, event_ts = excluded.event_ts, event_ms = excluded.event_ms,
               allowed = excluded.allowed",
            params![
                a.alert_id.as_str(),
                json,
                a.severity.as_str(),
                a.rule.as_str(),
                a.unit.as_deref(),
                a.user_id.as_str(),
                a.system.as_str(),
                a.event_ts.to_string(),
                a.retrospective,
                a.score,
                now(),
                a.event_ts.0,
                a.allowed.is_some(),
                on_operation,
            ],
        )?;
        if let Some((severity, status, confidence)) = before {
            let was = crate::alert::Severity::parse(&severity);
            let settled = Status::parse(&status).is_some_and(|s| s.is_closed() || s == Status::ClosureProposed);
            let was_sure: crate::watchlist::Confidence =
                confidence.and_then(|c| serde_json::from_value(serde_json::Value::String(c)).ok()).unwrap_or_default();
            let rose = was.is_some_and(|w| a.severity > w) || a.confidence > was_sure;
            if settled && rose && a.resolved.is_none() {
                tx.execute("UPDATE alerts SET status = 'new' WHERE alert_id = ?1", [a.alert_id.as_str()])?;
                // A closure proposed for what it was is not one for what it is now.
                tx.execute("DELETE FROM closures WHERE alert_id = ?1", [a.alert_id.as_str()])?;
                let note = match was.is_some_and(|w| a.severity > w) {
                    true => format!(
                        "reopened: a later access raised it from {severity} to {} while it was {status}",
                        a.severity.as_str()
                    ),
                    false => format!(
                        "reopened: a later access matched its subject surer ({} confidence, was {}) while it was {status}",
                        a.confidence.as_str(),
                        was_sure.as_str()
                    ),
                };
                tx.execute(
                    "INSERT INTO triage_history (alert_id, at, by, status, assignee, note) VALUES (?1, ?2, 'accesswatch', 'new', NULL, ?3)",
                    params![a.alert_id.as_str(), now(), note],
                )?;
            }
        }
        // An alert the engine resolved needs no triage, unless someone has taken it up.
        if let Some(r) = &a.resolved {
            let changed = tx.execute(
                "UPDATE alerts SET status = 'resolved' WHERE alert_id = ?1 AND status = 'new'",
                [a.alert_id.as_str()],
            )?;
            if changed > 0 {
                tx.execute(
                    "INSERT INTO triage_history (alert_id, at, by, status, assignee, note) VALUES (?1, ?2, 'accesswatch', 'resolved', NULL, ?3)",
                    params![a.alert_id.as_str(), now(), r.reason.as_str()],
                )?;
            }
        }
        // Everything on an event that touched an operation's subject is the operation's:
        // for an alert about the user's behaviour, only when that event is its trigger
        // (the accesses it gathered are the user's own business, as above), or, for a
        // print or export after a sensitive access, that access, which its sentence
        // names with the rule it raised (a probe: "... raised a red opsec.outsider
        // alert", shown to an uncleared analyst).
        tx.execute(
            "UPDATE alerts SET operations = 1 WHERE operations = 0 AND alert_id IN (
               SELECT ae.alert_id FROM alert_events ae JOIN operation_events oe ON oe.event_id = ae.event_id
                 JOIN alerts al ON al.alert_id = ae.alert_id
               WHERE (ae.alert_id = ?1 OR ae.event_id IN (SELECT event_id FROM alert_events WHERE alert_id = ?1))
                 AND (COALESCE(json_extract(al.json, '$.about_user'), 0) = 0
                      OR json_extract(al.json, '$.event_ids[0]') = ae.event_id
                      OR (al.rule = 'behaviour.export_after_sensitive'
                          AND json_extract(al.json, '$.event_ids[1]') = ae.event_id)))",
            [a.alert_id.as_str()],
        )?;
        tx.commit()?;
        drop(db);
        Ok(self.alert(&a.alert_id)?.expect("the alert was just stored"))
    }

    fn rows(&self, sql: &str, args: &[Value]) -> rusqlite::Result<Vec<Row>> {
        let db = self.db();
        let mut stmt = db.prepare(sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, bool>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, status, assignee, operations) = row?;
            if let Ok(alert) = serde_json::from_str(&json) {
                out.push(Row { alert, status, assignee, operations });
            }
        }
        Ok(out)
    }

    /// The board: newest first, filtered, within `scope`.
    pub fn alerts(&self, f: &Filter, scope: &Scope) -> rusqlite::Result<Vec<Row>> {
        let mut sql = String::from("SELECT json, status, assignee, operations FROM alerts WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        for (col, v) in [
            ("severity", &f.severity),
            ("rule", &f.rule),
            ("unit", &f.unit),
            // Ids are compared as the engine folds them (rows stored before it did
            // keep the case they were logged in).
            ("user_id COLLATE NOCASE", &f.user),
            ("system", &f.system),
            ("status", &f.status),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                args.push(Value::Text(v.to_string()));
                sql.push_str(&format!(" AND {col} = ?{}", args.len()));
            }
        }
        if let Some(since) = f.since.as_deref().filter(|v| !v.is_empty()) {
            args.push(Value::Text(since.to_string()));
            sql.push_str(&format!(" AND seen_at >= ?{}", args.len()));
        }
        sql.push_str(&scope.sql(&mut args));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", f.limit.unwrap_or(200).min(5_000)));
        self.rows(&sql, &args)
    }

    /// Alerts meeting `condition` (SQL over the `alerts` columns, its parameters
    /// `args`) within `scope`, newest first, at most `limit`.
    pub fn rows_where(
        &self,
        condition: &str,
        mut args: Vec<Value>,
        scope: &Scope,
        limit: u32,
    ) -> rusqlite::Result<Vec<Row>> {
        let where_scope = scope.sql(&mut args);
        self.rows(
            &format!(
                "SELECT json, status, assignee, operations FROM alerts WHERE ({condition}){where_scope} ORDER BY seq DESC LIMIT {limit}"
            ),
            &args,
        )
    }

    /// One alert, whatever its scope (the caller checks it).
    /// Every alert id held.
    pub fn alert_ids(&self) -> rusqlite::Result<Vec<String>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT alert_id FROM alerts ORDER BY alert_id")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        ids.collect()
    }

    pub fn alert(&self, id: &str) -> rusqlite::Result<Option<Row>> {
        let args = [Value::Text(id.to_string())];
        Ok(self
            .rows("SELECT json, status, assignee, operations FROM alerts WHERE alert_id = ?1", &args)?
            .into_iter()
            .next())
    }

    /// Every alert of a user within `scope`, oldest first.
    pub fn alerts_of(&self, user_id: &str, scope: &Scope) -> rusqlite::Result<Vec<Row>> {
        let mut args = vec![Value::Text(user_id.to_string())];
        let where_scope = scope.sql(&mut args);
        self.rows(
            &format!("SELECT json, status, assignee, operations FROM alerts WHERE user_id = ?1 COLLATE NOCASE{where_scope} ORDER BY event_ts"),
            &args,
        )
    }

    /// Which of these event ids touched a live operation's subject.
    pub fn operation_events(&self, ids: &[&str]) -> rusqlite::Result<std::collections::HashSet<String>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT 1 FROM operation_events WHERE event_id = ?1")?;
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if stmt.exists([id])? {
                out.insert(id.to_string());
            }
        }
        Ok(out)
    }

    /// Changes an alert's triage and records the change; `None` if there is no such alert.
    pub fn triage(
        &self,
        id: &str,
        by: &str,
        status: Status,
        assignee: Option<&str>,
        note: Option<&str>,
    ) -> rusqlite::Result<Option<()>> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let current: Option<Option<String>> =
            tx.query_row("SELECT assignee FROM alerts WHERE alert_id = ?1", [id], |r| r.get(0)).optional()?;
        let Some(current) = current else { return Ok(None) };
        let assignee = assignee.map(String::from).or(current);
        tx.execute(
            "UPDATE alerts SET status = ?2, assignee = ?3 WHERE alert_id = ?1",
            params![id, status.as_str(), assignee],
        )?;
        tx.execute(
            "INSERT INTO triage_history (alert_id, at, by, status, assignee, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, now(), by, status.as_str(), assignee, note],
        )?;
        if status != Status::ClosureProposed {
            tx.execute("DELETE FROM closures WHERE alert_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(Some(()))
    }

    /// Proposes closing an alert with `outcome`; a second person approves it.
    pub fn propose_closure(
        &self,
        id: &str,
        by: &str,
        outcome: Status,
        note: Option<&str>,
    ) -> rusqlite::Result<Option<()>> {
        if self.triage(id, by, Status::ClosureProposed, None, note)?.is_none() {
            return Ok(None);
        }
        self.db().execute(
            "INSERT OR REPLACE INTO closures (alert_id, outcome, proposed_by, proposed_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, outcome.as_str(), by, now()],
        )?;
        Ok(Some(()))
    }

    /// The closure proposed for an alert, if one waits.
    pub fn proposal(&self, id: &str) -> rusqlite::Result<Option<Proposal>> {
        self.db()
            .query_row("SELECT outcome, proposed_by, proposed_at FROM closures WHERE alert_id = ?1", [id], |r| {
                Ok(Proposal { outcome: r.get(0)?, proposed_by: r.get(1)?, proposed_at: r.get(2)? })
            })
            .optional()
    }

    pub fn history(&self, id: &str) -> rusqlite::Result<Vec<TriageChange>> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT at, by, status, assignee, note FROM triage_history WHERE alert_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id], |r| {
            Ok(TriageChange { at: r.get(0)?, by: r.get(1)?, status: r.get(2)?, assignee: r.get(3)?, note: r.get(4)? })
        })?;
        rows.collect()
    }

    /// The stable pseudonym of a user id, recorded so that it can be looked up back.
    pub fn pseudonym_of(&self, user_id: &str, pseudonym: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT OR IGNORE INTO pseudonyms (pseudonym, user_id) VALUES (?1, ?2)",
            params![pseudonym, user_id],
        )?;
        Ok(())
    }

    /// The user id behind a pseudonym, if the dashboard has shown it.
    pub fn user_of(&self, pseudonym: &str) -> rusqlite::Result<Option<String>> {
        self.db().query_row("SELECT user_id FROM pseudonyms WHERE pseudonym = ?1", [pseudonym], |r| r.get(0)).optional()
    }

    /// Records a request to reveal an identity; approved at once unless a second
    /// supervisor must approve.
    pub fn request_reveal(
        &self,
        scope: &str,
        target: &str,
        user_id: &str,
        reason: &str,
        by: &str,
        approved: bool,
    ) -> rusqlite::Result<i64> {
        let at = now();
        let db = self.db();
        db.execute(
            "INSERT INTO reveals (scope, target, user_id, reason, requested_by, requested_at, approved_by, approved_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![scope, target, user_id, reason, by, at, approved.then_some(by), approved.then_some(&at)],
        )?;
        Ok(db.last_insert_rowid())
    }

    /// Approves a pending reveal; `false` if there is none, or `by` asked for it.
    pub fn approve_reveal(&self, id: i64, by: &str) -> rusqlite::Result<bool> {
        let n = self.db().execute(
            "UPDATE reveals SET approved_by = ?2, approved_at = ?3 WHERE id = ?1 AND approved_by IS NULL AND requested_by != ?2",
            params![id, by, now()],
        )?;
        Ok(n == 1)
    }

    /// Every reveal, approved or waiting.
    pub fn reveals(&self) -> rusqlite::Result<Vec<Reveal>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT id, scope, target, user_id, reason, requested_by, requested_at, approved_by, approved_at
             FROM reveals ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Reveal {
                id: r.get(0)?,
                scope: r.get(1)?,
                target: r.get(2)?,
                user_id: r.get(3)?,
                reason: r.get(4)?,
                requested_by: r.get(5)?,
                requested_at: r.get(6)?,
                approved_by: r.get(7)?,
                approved_at: r.get(8)?,
            })
        })?;
        rows.collect()
    }

    /// Runs raw SQL against the database (tests prove the audit trail refuses edits).
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> rusqlite::Result<usize> {
        self.db().execute(sql, [])
    }
}
