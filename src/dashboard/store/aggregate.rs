//! Counts, charts and risk as SQL aggregates over every alert in their window and in
//! the viewer's scope (not the newest N: a day of green alerts must not push the
//! week's red ones out of a ranking or a briefing).

use super::super::scope::Scope;
use super::Store;
use crate::time::{Span, Timestamp};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

/// `decay(event_ms, now_ms, half_life_ms)`: the weight of an alert's score at `now`,
/// halving every half-life (an alert from the future weighs in full).
pub(super) fn register_functions(db: &Connection) -> rusqlite::Result<()> {
    db.create_scalar_function("decay", 3, FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        let (at, now, half_life): (i64, i64, i64) = (ctx.get(0)?, ctx.get(1)?, ctx.get(2)?);
        let age = (now - at).max(0) as f64;
        Ok(0.5f64.powf(age / half_life.max(1) as f64))
    })
}

/// A user's risk: their alerts' scores, each halved every half-life.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RiskLine {
    pub user_id: String,
    pub score: f64,
    pub alerts: i64,
    pub red: i64,
}

/// Alerts per day, by severity.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Day {
    pub day: String,
    pub red: i64,
    pub amber: i64,
    pub green: i64,
}

impl Store {
    /// Alerts by severity and by triage status, within scope.
    pub fn counts(&self, scope: &Scope) -> rusqlite::Result<Vec<(String, String, i64)>> {
        let mut args = Vec::new();
        let where_scope = scope.sql(&mut args);
        let db = self.db();
        let mut stmt = db.prepare(&format!(
            "SELECT severity, status, count(*) FROM alerts WHERE 1 = 1{where_scope} GROUP BY 1, 2"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    /// Red, amber and green alerts the dashboard received since `since` (RFC 3339).
    pub fn window_counts(&self, scope: &Scope, since: &str) -> rusqlite::Result<[i64; 3]> {
        let mut args = vec![Value::Text(since.to_string())];
        let where_scope = scope.sql(&mut args);
        self.db().query_row(
            &format!(
                "SELECT COALESCE(sum(severity = 'red'), 0), COALESCE(sum(severity = 'amber'), 0), COALESCE(sum(severity = 'green'), 0)
                 FROM alerts WHERE seen_at >= ?1{where_scope}"
            ),
            params_from_iter(args.iter()),
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]),
        )
    }

    /// Alerts per day by severity, and per rule, for events since `since`.
    pub fn charts(&self, scope: &Scope, since: Timestamp) -> rusqlite::Result<(Vec<Day>, Vec<(String, i64)>)> {
        let mut args = vec![Value::Integer(since.0)];
        let where_scope = scope.sql(&mut args);
        let db = self.db();
        let mut stmt = db.prepare(&format!(
            "SELECT substr(event_ts, 1, 10), sum(severity = 'red'), sum(severity = 'amber'), sum(severity = 'green')
             FROM alerts WHERE event_ms >= ?1{where_scope} GROUP BY 1 ORDER BY 1"
        ))?;
        let days = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(Day { day: r.get(0)?, red: r.get(1)?, amber: r.get(2)?, green: r.get(3)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = db.prepare(&format!(
            "SELECT rule, count(*) FROM alerts WHERE event_ms >= ?1{where_scope} GROUP BY 1 ORDER BY 2 DESC, 1"
        ))?;
        let rules =
            stmt.query_map(params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok((days, rules))
    }

    /// The users at the top of the risk ranking at `at` (allow-listed alerts add no
    /// risk), over every alert up to `at`.
    pub fn risk(&self, scope: &Scope, at: Timestamp, half_life: Span, top: u32) -> rusqlite::Result<Vec<RiskLine>> {
        let mut args = vec![Value::Integer(at.0), Value::Integer(half_life.0)];
        let where_scope = scope.sql(&mut args);
        let db = self.db();
        let mut stmt = db.prepare(&format!(
            // One user whatever the case their id was stored in (alerts stored before
            // the engine folded ids keep it); SQLite's upper() folds ASCII, as it does.
            "SELECT upper(user_id), sum(CASE WHEN allowed = 0 AND status != 'resolved' THEN score * decay(event_ms, ?1, ?2) ELSE 0 END) AS risk,
                    count(*), sum(severity = 'red')
             FROM alerts WHERE event_ms <= ?1{where_scope} GROUP BY upper(user_id) ORDER BY risk DESC, upper(user_id) LIMIT {top}"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            let score: f64 = r.get(1)?;
            Ok(RiskLine { user_id: r.get(0)?, score: (score * 10.0).round() / 10.0, alerts: r.get(2)?, red: r.get(3)? })
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::dashboard::scope::Scope;
    use crate::dashboard::store::Store;
    use crate::time::{Span, Timestamp};

    fn alert(id: &str, user: &str, severity: &str, ts: &str) -> crate::alert::Alert {
        serde_json::from_value(serde_json::json!({
            "alert_id": id, "rule": "custody.uninvolved", "category": "custody", "severity": severity, "score": 80,
            "event_ts": ts, "detected_at": ts, "user_id": user, "subject": {"subject_type": "person"},
            "event_ids": [format!("e-{id}")], "watchlist": null, "reason": "r", "retrospective": false,
            "system": "PNC", "action": "view"
        }))
        .unwrap()
    }

    #[test]
    fn risk_counts_every_alert_in_the_window_not_the_newest_n() {
        let store = Store::open(std::path::Path::new(":memory:")).unwrap();
        // An old red alert, then many newer green ones: the red one still counts.
        store.upsert_alert(&alert("R1", "U1", "red", "2026-11-20T10:00:00.000Z")).unwrap();
        for i in 0..6_000 {
            store.upsert_alert(&alert(&format!("G{i}"), "U2", "green", "2026-11-21T10:00:00.000Z")).unwrap();
        }
        let at = Timestamp::parse_rfc3339("2026-11-21T10:00:00Z").unwrap();
        let ranked = store.risk(&Scope { operations: true, ..Scope::default() }, at, Span::days(7), 10).unwrap();
        assert_eq!(ranked.iter().map(|r| r.user_id.as_str()).collect::<Vec<_>>(), vec!["U2", "U1"]);
        let u1 = &ranked[1];
        assert_eq!((u1.alerts, u1.red), (1, 1));
        assert!((u1.score - 80.0 * 0.5f64.powf(1.0 / 7.0)).abs() < 0.1, "{}", u1.score);
        let (days, rules) = store.charts(&Scope::default(), Timestamp(0)).unwrap();
        assert_eq!(days.iter().map(|d| d.red + d.green).sum::<i64>(), 6_001);
        assert_eq!(rules, vec![("custody.uninvolved".to_string(), 6_001)]);
    }

    /// An officer's alerts stored before user ids were folded (as one system logged the
    /// id) and after are one line of the ranking.
    #[test]
    fn risk_is_one_line_per_user_whatever_the_case_their_alerts_were_stored_in() {
        let store = Store::open(std::path::Path::new(":memory:")).unwrap();
        store.upsert_alert(&alert("OLD", "u1", "red", "2026-11-20T10:00:00.000Z")).unwrap();
        store.upsert_alert(&alert("NEW", "U1", "red", "2026-11-20T11:00:00.000Z")).unwrap();
        let at = Timestamp::parse_rfc3339("2026-11-21T10:00:00Z").unwrap();
        let ranked = store.risk(&Scope { operations: true, ..Scope::default() }, at, Span::days(7), 10).unwrap();
        assert_eq!(ranked.len(), 1, "{:?}", ranked.iter().map(|r| &r.user_id).collect::<Vec<_>>());
        assert_eq!((ranked[0].user_id.as_str(), ranked[0].alerts, ranked[0].red), ("U1", 2, 2));
    }
}
