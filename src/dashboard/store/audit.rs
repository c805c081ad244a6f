//! The audit trail of who viewed and changed what, tamper-evident.
//!
//! The table is append-only for the application (triggers refuse UPDATE and DELETE),
//! and each row carries the SHA-256 of the row before it together with its own
//! fields, so someone with the file who drops the triggers and edits, deletes or
//! inserts a row breaks the chain at that row: [`verify`] names the first broken one.
//! Cutting rows off the end leaves a shorter valid chain; the daily anchor (the
//! chain's head and length, written to the log and the metrics, where a copy is kept
//! elsewhere) proves what was there.

use super::{now, Store};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// The longest `who` kept (a refused sign-in's user name is whatever was typed).
pub const MAX_WHO: usize = 64;
/// The longest `action`.
pub const MAX_ACTION: usize = 64;
/// The longest `target` (a filter, a subject, a reason).
pub const MAX_TARGET: usize = 512;

/// One line of the audit trail.
/// Which rows of the audit trail to read ([`Store::audit_trail`]).
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub before: Option<i64>,
    pub who: Option<String>,
    pub action: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub target: String,
    /// The target names a live operation's subject ([`Store::audit_marked`]).
    pub restricted: bool,
}

/// What a check of the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before: `rows` rows, the last hashing to `head`.
    Intact { rows: u64, head: String, unchained: u64 },
    /// Row `id` does not match its hash or its predecessor.
    Broken { id: i64, rows_checked: u64, why: String },
}

/// `s` cut to `max` characters (marked), so no field grows without bound.
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// The hash of a row, chained to the one before. A restricted row's mark is hashed
/// too (after the fields rows had before marks existed, so their hashes stand), so
/// that clearing it to show the target to an uncleared auditor breaks the chain.
#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev: &str,
    id: i64,
    at: &str,
    who: &str,
    role: &str,
    action: &str,
    target: &str,
    restricted: bool,
) -> String {
    let mut h = Sha256::new();
    let mark = restricted.then_some(RESTRICTED_MARK);
    for part in [prev, &id.to_string(), at, who, role, action, target].into_iter().chain(mark) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What a restricted row adds to its hash.
const RESTRICTED_MARK: &str = "restricted: a live operation";

/// The hash rows before the chain began (written by an earlier version) link from.
const GENESIS: &str = "accesswatch audit chain";

impl Store {
    /// Appends to the audit trail, chained to the row before.
    pub fn audit(&self, who: &str, role: &str, action: &str, target: &str) -> rusqlite::Result<()> {
        self.audit_marked(who, role, action, target, false)
    }

    /// As [`Store::audit`]; a `restricted` row's target names a live operation's
    /// subject, and the trail shows it only to auditors cleared for operations.
    pub fn audit_marked(
        &self,
        who: &str,
        role: &str,
        action: &str,
        target: &str,
        restricted: bool,
    ) -> rusqlite::Result<()> {
        let (who, action, target) = (bounded(who, MAX_WHO), bounded(action, MAX_ACTION), bounded(target, MAX_TARGET));
        let role = bounded(role, MAX_WHO);
        let mut db = self.db();
        let tx = db.transaction()?;
        let last: Option<(i64, Option<String>)> = tx
            .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let prev = last.as_ref().and_then(|(_, h)| h.clone()).unwrap_or_else(|| GENESIS.to_string());
        let id = last.map_or(1, |(id, _)| id + 1);
        let at = now();
        let hash = row_hash(&prev, id, &at, &who, &role, &action, &target, restricted);
        tx.execute(
            "INSERT INTO audit (id, at, who, role, action, target, prev, hash, restricted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![id, at, who, role, action, target, prev, hash, restricted],
        )?;
        tx.commit()
    }

    /// The audit trail, newest first: at most `limit` rows before row `q.before`, of
    /// `q.who`, whose action starts with `q.action`, at or after `q.since` and before
    /// `q.until` (each filter when given). Paging back by `before` reaches every row,
    /// however many reads were audited since.
    pub fn audit_trail(&self, q: &AuditFilter, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT id, at, who, role, action, target, restricted FROM audit
             WHERE (?2 IS NULL OR id < ?2) AND (?3 IS NULL OR who = ?3)
               AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4)
               AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)
             ORDER BY id DESC LIMIT ?1",
        )?;
        let args = rusqlite::params![limit, q.before, q.who, q.action, q.since, q.until];
        let rows = stmt.query_map(args, |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                role: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                restricted: r.get(6)?,
            })
        })?;
        rows.collect()
    }

    /// Checks the whole chain.
    pub fn verify_audit(&self) -> rusqlite::Result<Verdict> {
        verify(&self.db())
    }
}

/// Checks the chain of the audit table in `db`, row by row from the first.
pub fn verify(db: &Connection) -> rusqlite::Result<Verdict> {
    let mut stmt =
        db.prepare("SELECT id, at, who, role, action, target, prev, hash, restricted FROM audit ORDER BY id")?;
    let mut rows = stmt.query([])?;
    let (mut expected_prev, mut checked, mut unchained, mut head) = (None::<String>, 0u64, 0u64, String::new());
    let mut last_id = 0i64;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let (at, who, role, action, target): (String, String, String, String, String) =
            (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        let (prev, hash, restricted): (Option<String>, Option<String>, bool) = (r.get(6)?, r.get(7)?, r.get(8)?);
        let broken = |why: &str| Verdict::Broken { id, rows_checked: checked, why: why.to_string() };
        let Some(hash) = hash else {
            // Written before the chain existed: allowed only before the first chained row.
            if expected_prev.is_some() {
                return Ok(broken("a row without a hash after the chain began"));
            }
            unchained += 1;
            last_id = id;
            continue;
        };
        if expected_prev.is_some() && id != last_id + 1 {
            return Ok(broken(&format!("row {} is missing before it", last_id + 1)));
        }
        let prev = prev.unwrap_or_default();
        let want_prev = expected_prev.clone().unwrap_or_else(|| GENESIS.to_string());
        if prev != want_prev {
            return Ok(broken("it does not link to the row before (a row was removed, inserted or changed)"));
        }
        if row_hash(&prev, id, &at, &who, &role, &action, &target, restricted) != hash {
            return Ok(broken("its contents do not match its hash (the row was changed)"));
        }
        checked += 1;
        last_id = id;
        head = hash.clone();
        expected_prev = Some(hash);
    }
    Ok(Verdict::Intact { rows: checked, head, unchained })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_the_first_row_changed_removed_or_inserted() {
        let store = Store::open(std::path::Path::new(":memory:")).unwrap();
        for i in 0..5 {
            store.audit("ana", "analyst", "view alert", &format!("A{i}")).unwrap();
        }
        let Verdict::Intact { rows: 5, .. } = store.verify_audit().unwrap() else { panic!("intact") };
        // The application cannot change it...
        assert!(store.execute_raw("UPDATE audit SET target = 'X' WHERE id = 3").is_err());
        // ... someone with the file can, but the chain shows where.
        store.execute_raw("DROP TRIGGER audit_no_update").unwrap();
        store.execute_raw("DROP TRIGGER audit_no_delete").unwrap();
        store.execute_raw("UPDATE audit SET target = 'A9' WHERE id = 3").unwrap();
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Broken { id: 3, .. }));
        store.execute_raw("UPDATE audit SET target = 'A2' WHERE id = 3").unwrap();
        store.execute_raw("DELETE FROM audit WHERE id = 2").unwrap();
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Broken { id: 3, .. }), "a removed row");
    }

    #[test]
    fn fields_are_bounded() {
        let store = Store::open(std::path::Path::new(":memory:")).unwrap();
        store.audit(&"x".repeat(2_000_000), "-", "sign-in refused", "").unwrap();
        let row = &store.audit_trail(&AuditFilter::default(), 1).unwrap()[0];
        assert!(row.who.chars().count() <= MAX_WHO + 1, "{}", row.who.len());
        assert!(matches!(store.verify_audit().unwrap(), Verdict::Intact { rows: 1, .. }));
    }
}
