//! The dashboard's durable state in SQLite: the alerts it has seen, their triage and
//! its full history, and the audit trail of who viewed what.
//!
//! The audit table is append-only: triggers refuse every UPDATE and DELETE, so no code
//! path of the application (and no SQL slip) can edit it.

use crate::alert::Alert;
use rusqlite::{params, Connection, OptionalExtension};
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
    Justified,
    Misconduct,
    Criminal,
    NoFurtherAction,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::New,
        Status::Acknowledged,
        Status::Assigned,
        Status::Escalated,
        Status::Justified,
        Status::Misconduct,
        Status::Criminal,
        Status::NoFurtherAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::Assigned => "assigned",
            Status::Escalated => "escalated",
            Status::Justified => "justified",
            Status::Misconduct => "misconduct",
            Status::Criminal => "criminal",
            Status::NoFurtherAction => "no_further_action",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Closed: an outcome has been recorded.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Justified | Status::Misconduct | Status::Criminal | Status::NoFurtherAction)
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
}

/// One line of the audit trail.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub target: String,
}

/// Filters of the alert board.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Filter {
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub unit: Option<String>,
    pub user: Option<String>,
    pub system: Option<String>,
    pub status: Option<String>,
    /// Include alerts about subjects of live operations.
    #[serde(skip)]
    pub operations: bool,
    pub limit: Option<u32>,
    /// Only alerts the dashboard received at or after this time (RFC 3339).
    pub since: Option<String>,
}

pub struct Store {
    db: Mutex<Connection>,
}

fn now() -> String {
    crate::time::Timestamp::now().to_string()
}

impl Store {
    /// Opens (creating if needed) the database at `path`; `:memory:` for a scratch one.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS alerts (
               alert_id TEXT PRIMARY KEY, json TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL,
               unit TEXT, user_id TEXT NOT NULL, system TEXT NOT NULL, event_ts TEXT NOT NULL,
               operations INTEGER NOT NULL, retrospective INTEGER NOT NULL, score INTEGER NOT NULL,
               status TEXT NOT NULL DEFAULT 'new', assignee TEXT, seq INTEGER NOT NULL, seen_at TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS alerts_seq ON alerts (seq);
             CREATE INDEX IF NOT EXISTS alerts_user ON alerts (user_id);
             CREATE TABLE IF NOT EXISTS triage_history (
               id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,
               status TEXT NOT NULL, assignee TEXT, note TEXT);
             CREATE TABLE IF NOT EXISTS audit (
               id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL,
               action TEXT NOT NULL, target TEXT NOT NULL);
             CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
               BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;
             CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
               BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;",
        )?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new alert or a new version of one (more evidence); triage is kept.
    pub fn upsert_alert(&self, a: &Alert) -> rusqlite::Result<()> {
        let mut json = String::new();
        a.write_json(&mut json);
        let operations = a.watchlist.as_ref().is_some_and(|w| w.list == crate::watchlist::TableName::Operations);
        self.db().execute(
            "INSERT INTO alerts (alert_id, json, severity, rule, unit, user_id, system, event_ts, operations,
                                 retrospective, score, seq, seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts), ?12)
             ON CONFLICT (alert_id) DO UPDATE SET json = excluded.json, severity = excluded.severity,
               score = excluded.score",
            params![
                a.alert_id.as_str(),
                json,
                a.severity.as_str(),
                a.rule.as_str(),
                a.unit.as_deref(),
                a.user_id.as_str(),
                a.system.as_str(),
                a.event_ts.to_string(),
                operations,
                a.retrospective,
                a.score,
                now(),
            ],
        )?;
        Ok(())
    }

    fn rows(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<Vec<Row>> {
        let db = self.db();
        let mut stmt = db.prepare(sql)?;
        let rows = stmt.query_map(args, |r| {
            let json: String = r.get(0)?;
            Ok((json, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, status, assignee) = row?;
            if let Ok(alert) = serde_json::from_str(&json) {
                out.push(Row { alert, status, assignee });
            }
        }
        Ok(out)
    }

    /// The board: newest first, filtered.
    pub fn alerts(&self, f: &Filter) -> rusqlite::Result<Vec<Row>> {
        let mut sql = String::from("SELECT json, status, assignee FROM alerts WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        for (col, v) in [
            ("severity", &f.severity),
            ("rule", &f.rule),
            ("unit", &f.unit),
            ("user_id", &f.user),
            ("system", &f.system),
            ("status", &f.status),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                args.push(v.to_string());
                sql.push_str(&format!(" AND {col} = ?{}", args.len()));
            }
        }
        if let Some(since) = f.since.as_deref().filter(|v| !v.is_empty()) {
            args.push(since.to_string());
            sql.push_str(&format!(" AND seen_at >= ?{}", args.len()));
        }
        if !f.operations {
            sql.push_str(" AND operations = 0");
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", f.limit.unwrap_or(200).min(5_000)));
        let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        self.rows(&sql, &refs)
    }

    pub fn alert(&self, id: &str) -> rusqlite::Result<Option<Row>> {
        Ok(self.rows("SELECT json, status, assignee FROM alerts WHERE alert_id = ?1", &[&id])?.into_iter().next())
    }

    /// Every alert of a user, oldest first.
    pub fn alerts_of(&self, user_id: &str, operations: bool) -> rusqlite::Result<Vec<Row>> {
        let ops = if operations { "" } else { " AND operations = 0" };
        self.rows(
            &format!("SELECT json, status, assignee FROM alerts WHERE user_id = ?1{ops} ORDER BY event_ts"),
            &[&user_id],
        )
    }

    /// Alerts by severity and by triage status.
    pub fn counts(&self, operations: bool) -> rusqlite::Result<Vec<(String, String, i64)>> {
        let ops = if operations { "" } else { " WHERE operations = 0" };
        let db = self.db();
        let mut stmt = db.prepare(&format!("SELECT severity, status, count(*) FROM alerts{ops} GROUP BY 1, 2"))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
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
        tx.commit()?;
        Ok(Some(()))
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

    /// Appends to the audit trail.
    pub fn audit(&self, who: &str, role: &str, action: &str, target: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO audit (at, who, role, action, target) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), who, role, action, target],
        )?;
        Ok(())
    }

    /// The audit trail, newest first.
    pub fn audit_trail(&self, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT id, at, who, role, action, target FROM audit ORDER BY id DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                role: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
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
