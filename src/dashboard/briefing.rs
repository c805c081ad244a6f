//! The daily briefing for the morning tasking meeting: the red alerts, the users whose
//! risk is newly high, the retrospective hits and the open triage, over the last N
//! hours. Served at `/briefing` (printable) and written by `accesswatch report`.

use super::scope::Scope;
use super::store::{aggregate::RiskLine, Row, Store};
use crate::alert::Alert;
use crate::time::{Span, Timestamp};
use rusqlite::types::Value;

#[derive(Debug, serde::Serialize)]
pub struct Briefing {
    pub generated_at: String,
    pub since: String,
    pub hours: u32,
    /// Red alerts raised in the window (the newest 500 listed; `counts` has them all).
    pub red: Vec<Row>,
    pub retrospective: Vec<Row>,
    pub high_risk: Vec<RiskLine>,
    /// Open red and amber alerts (the newest 500 listed).
    pub open: Vec<Row>,
    /// Red, amber and green alerts raised in the window: every one of them.
    pub counts: [i64; 3],
}

/// A user's risk counts as high at or above this score (three red alerts' worth).
pub const HIGH_RISK: f64 = 240.0;

/// Rows a list of the briefing shows at most.
const LISTED: u32 = 500;

impl Briefing {
    /// The briefing as one dashboard viewer may see it.
    pub fn gather(d: &super::state::Dashboard, v: &super::auth::Viewer, hours: u32) -> rusqlite::Result<Briefing> {
        let masker = d.masker(v);
        let name = |u: &str| masker.as_ref().map_or(u.to_string(), |m| m.name(u, None));
        Briefing::from_store(&d.store, &v.scope, d.risk_half_life, hours, &|a| d.shown(v, a), &name)
    }

    /// The briefing of everything in `scope`, with alerts and users shown through
    /// `shown` and `name` (the report command shows them as they are).
    pub fn from_store(
        store: &Store,
        scope: &Scope,
        half_life: Span,
        hours: u32,
        shown: &dyn Fn(Alert) -> Alert,
        name: &dyn Fn(&str) -> String,
    ) -> rusqlite::Result<Briefing> {
        let now = Timestamp::now();
        let since = now - Span::hours(hours as i64);
        let window = Value::Text(since.to_string());
        let rows = |condition: &str| -> rusqlite::Result<Vec<Row>> {
            let rows = store.rows_where(condition, vec![window.clone()], scope, LISTED)?;
            Ok(rows.into_iter().map(|r| Row { alert: shown(r.alert), ..r }).collect())
        };
        let red = rows("seen_at >= ?1 AND severity = 'red'")?;
        let retrospective = rows("seen_at >= ?1 AND retrospective = 1")?;
        let open = rows(
            "?1 = ?1 AND severity != 'green' AND status NOT IN ('justified', 'misconduct', 'criminal', 'no_further_action', 'resolved')",
        )?;
        let counts = store.window_counts(scope, &since.to_string())?;
        let before: std::collections::HashSet<String> = store
            .risk(scope, since, half_life, 100_000)?
            .into_iter()
            .filter(|u| u.score >= HIGH_RISK)
            .map(|u| u.user_id)
            .collect();
        let high_risk = store
            .risk(scope, now, half_life, 100_000)?
            .into_iter()
            .filter(|u| u.score >= HIGH_RISK && !before.contains(&u.user_id))
            .map(|u| RiskLine { user_id: name(&u.user_id), ..u })
            .collect();
        Ok(Briefing {
            generated_at: now.to_string(),
            since: since.to_string(),
            hours,
            red,
            retrospective,
            high_risk,
            open,
            counts,
        })
    }

    /// A printable page, without outside assets.
    pub fn html(&self) -> String {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        let table = |rows: &[Row]| {
            if rows.is_empty() {
                return "<p class=none>None.</p>".to_string();
            }
            let mut t =
                String::from("<table><tr><th>When</th><th>Rule</th><th>User</th><th>Status</th><th>Why</th></tr>");
            for r in rows {
                t.push_str(&format!(
                    "<tr class={}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    r.alert.severity.as_str(),
                    esc(&r.alert.event_ts.to_string()),
                    esc(r.alert.rule.as_str()),
                    esc(&r.alert.user_id),
                    esc(&r.status),
                    esc(&r.alert.reason)
                ));
            }
            t.push_str("</table>");
            t
        };
        let mut risk = String::new();
        if self.high_risk.is_empty() {
            risk.push_str("<p class=none>None.</p>");
        } else {
            risk.push_str("<table><tr><th>User</th><th>Risk</th><th>Alerts</th><th>Red</th></tr>");
            for u in &self.high_risk {
                risk.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&u.user_id),
                    u.score,
                    u.alerts,
                    u.red
                ));
            }
            risk.push_str("</table>");
        }
        format!(
            r#"<!doctype html><html lang=en><head><meta charset=utf-8><title>accesswatch daily briefing</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#111}}h1{{font-size:20px}}h2{{font-size:16px;margin-top:1.5em;border-bottom:1px solid #999}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}}
tr.red td:first-child{{border-left:6px solid #c62828}}tr.amber td:first-child{{border-left:6px solid #ef8f00}}tr.green td:first-child{{border-left:6px solid #2e7d32}}
.none{{color:#666}}.sum span{{margin-right:2em}}@media print{{body{{margin:0}}}}</style></head><body>
<h1>Daily briefing: access to police systems</h1>
<p>Alerts raised in the {hours} hours from {since} to {generated} (UTC). OFFICIAL-SENSITIVE.</p>
<p class=sum><span>Red {r}</span><span>Amber {a}</span><span>Green {g}</span></p>
<p>Need-to-know applies: only what the reader may see is in this page.</p>
<h2>Red alerts ({nr})</h2>{red}
<h2>Users newly at high risk ({nh})</h2>{risk}
<h2>Retrospective hits ({nt})</h2>{retro}
<h2>Open triage, red and amber ({no})</h2>{open}
</body></html>"#,
            hours = self.hours,
            since = esc(&self.since),
            generated = esc(&self.generated_at),
            r = self.counts[0],
            a = self.counts[1],
            g = self.counts[2],
            nr = self.red.len(),
            red = table(&self.red),
            nh = self.high_risk.len(),
            risk = risk,
            nt = self.retrospective.len(),
            retro = table(&self.retrospective),
            no = self.open.len(),
            open = table(&self.open),
        )
    }
}
