//! Per-user risk: a decaying score per user, the sum of their alerts' scores halving
//! every `risk.half_life`, so that users (not only alerts) can be ranked and many green
//! alerts on one user add up to attention.
//!
//! The engine keeps a [`RiskBoard`] and stamps each new alert with the user's score
//! after it (`user_risk`); `accesswatch risk` ranks users from an alert stream with the
//! alerts behind each score.

use crate::alert::{Alert, Severity};
use crate::time::{Span, Timestamp};
use crate::window::Decaying;
use ahash::AHashMap;
use compact_str::CompactString;
use std::fmt;

/// Decaying risk per user.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RiskBoard {
    users: AHashMap<CompactString, Decaying>,
}

impl RiskBoard {
    /// Adds an alert's score at `at`; returns the user's score after it, rounded.
    pub fn add(&mut self, user: &str, score: u8, at: Timestamp, half_life: Span) -> u32 {
        let d = self.users.entry(user.into()).or_default();
        d.add(score as f64, at, half_life);
        d.value.round() as u32
    }

    /// The user's score at `at`.
    pub fn score(&self, user: &str, at: Timestamp, half_life: Span) -> f64 {
        self.users.get(user).map_or(0.0, |d| d.at(at, half_life))
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// One user in the ranking, with the alerts behind the score.
#[derive(Debug)]
pub struct UserRisk<'a> {
    pub user_id: &'a str,
    pub score: f64,
    pub alerts: Vec<&'a Alert>,
}

/// Ranks the users of `alerts` by risk at `at` (default: the newest alert's time);
/// allowed alerts count for nothing.
pub fn rank(alerts: &[Alert], at: Option<Timestamp>, half_life: Span) -> Vec<UserRisk<'_>> {
    let at = at.unwrap_or_else(|| alerts.iter().map(|a| a.event_ts).max().unwrap_or(Timestamp(0)));
    let mut by_user: AHashMap<&str, UserRisk> = AHashMap::new();
    for a in alerts.iter().filter(|a| a.allowed.is_none() && a.event_ts <= at) {
        let u =
            by_user.entry(&a.user_id).or_insert_with(|| UserRisk { user_id: &a.user_id, score: 0.0, alerts: vec![] });
        u.score += Decaying { value: a.score as f64, at: a.event_ts }.at(at, half_life);
        u.alerts.push(a);
    }
    let mut ranked: Vec<UserRisk> = by_user.into_values().collect();
    for u in &mut ranked {
        u.alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.event_ts.cmp(&a.event_ts)));
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.user_id.cmp(b.user_id)));
    ranked
}

impl fmt::Display for UserRisk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |s: Severity| self.alerts.iter().filter(|a| a.severity == s).count();
        writeln!(
            f,
            "{:<10} risk {:>7.1}   alerts: red {}, amber {}, green {}",
            self.user_id,
            self.score,
            count(Severity::Red),
            count(Severity::Amber),
            count(Severity::Green)
        )?;
        for a in self.alerts.iter().take(3) {
            writeln!(
                f,
                "    {} {:<5} {:<32} {}",
                a.event_ts.human(),
                a.severity.as_str().to_uppercase(),
                a.rule.as_str(),
                a.reason
            )?;
        }
        if self.alerts.len() > 3 {
            writeln!(f, "    ... and {} more", self.alerts.len() - 3)?;
        }
        Ok(())
    }
}
