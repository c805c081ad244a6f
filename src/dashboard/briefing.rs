//! The daily briefing for the morning tasking meeting: the red alerts, the users whose
//! risk is newly high, the retrospective hits and the open triage, over the last N
//! hours. Served at `/briefing` (printable) and written by `accesswatch report`.

use super::store::{Filter, Row, Store};
use crate::alert::Severity;
use crate::time::{Span, Timestamp};

#[derive(Debug, serde::Serialize)]
pub struct RiskLine {
    pub user_id: String,
    pub score: f64,
    pub alerts: usize,
    pub red: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct Briefing {
    pub generated_at: String,
    pub since: String,
    pub hours: u32,
    pub red: Vec<Row>,
    pub retrospective: Vec<Row>,
    pub high_risk: Vec<RiskLine>,
    pub open: Vec<Row>,
    pub counts: [usize; 3],
}

/// A user's risk counts as high at or above this score (three red alerts' worth).
pub const HIGH_RISK: f64 = 240.0;

impl Briefing {
    pub fn gather(store: &Store, half_life: Span, hours: u32, operations: bool) -> rusqlite::Result<Briefing> {
        let now = Timestamp::now();
        let since = now - Span::hours(hours as i64);
        let recent = store.alerts(&Filter {
            since: Some(since.to_string()),
            operations,
            limit: Some(5_000),
            ..Filter::default()
        })?;
        let all = store.alerts(&Filter { operations, limit: Some(5_000), ..Filter::default() })?;
        let alerts: Vec<crate::alert::Alert> = all.iter().map(|r| r.alert.clone()).collect();
        let before: Vec<crate::alert::Alert> = alerts.iter().filter(|a| a.event_ts < since).cloned().collect();
        let was_high: std::collections::HashSet<String> = crate::risk::rank(&before, Some(since), half_life)
            .into_iter()
            .filter(|u| u.score >= HIGH_RISK)
            .map(|u| u.user_id.to_string())
            .collect();
        let high_risk = crate::risk::rank(&alerts, Some(now), half_life)
            .into_iter()
            .filter(|u| u.score >= HIGH_RISK && !was_high.contains(u.user_id))
            .map(|u| RiskLine {
                user_id: u.user_id.to_string(),
                score: (u.score * 10.0).round() / 10.0,
                alerts: u.alerts.len(),
                red: u.alerts.iter().filter(|a| a.severity == Severity::Red).count(),
            })
            .collect();
        let mut counts = [0usize; 3];
        for r in &recent {
            counts[match r.alert.severity {
                Severity::Red => 0,
                Severity::Amber => 1,
                Severity::Green => 2,
            }] += 1;
        }
        let open = all
            .iter()
            .filter(|r| {
                !super::store::Status::parse(&r.status).is_some_and(|s| s.is_closed())
                    && r.alert.severity != Severity::Green
            })
            .cloned()
            .collect();
        Ok(Briefing {
            generated_at: now.to_string(),
            since: since.to_string(),
            hours,
            red: recent.iter().filter(|r| r.alert.severity == Severity::Red).cloned().collect(),
            retrospective: recent.iter().filter(|r| r.alert.retrospective).cloned().collect(),
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
