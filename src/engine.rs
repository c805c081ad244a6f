//! The engine: one pipeline that every source feeds, file replay and live Kafka alike.
//!
//! For each event, in event-time order: advance the clock (release held retrospective
//! alerts, close finished ones), enrich the event against the watch lists, run the
//! rules, drop findings an allow list exempts, and offer the rest to the alert book,
//! which raises new alerts or folds repeats into open ones.

use crate::alert::book::DetectClock;
use crate::alert::{Alert, AlertBook, AlertSink, AlertSubject};
use crate::config::Config;
use crate::detect::{self, Finding, Findings, RuleId};
use crate::enrich::{enrich, Enriched};
use crate::event::AccessEvent;
use crate::time::Timestamp;
use crate::watchlist::WatchLists;
use std::sync::Arc;

/// Counters of what the engine has done.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    pub events: u64,
    /// Findings per rule (index: `RuleId as usize`), before suppression.
    pub findings: [u64; RuleId::ALL.len()],
    /// Findings an allow list exempted, per rule.
    pub allowed: [u64; RuleId::ALL.len()],
    /// Findings folded into an open alert, per rule.
    pub folded: [u64; RuleId::ALL.len()],
}

/// The detection pipeline over one stream of events.
pub struct Engine {
    config: Arc<Config>,
    lists: WatchLists,
    book: AlertBook,
    stats: EngineStats,
}

impl Engine {
    /// An engine over these watch lists. `clock` says where `detected_at` comes from:
    /// event time for replays (deterministic output), the wall clock when live.
    pub fn new(config: Arc<Config>, lists: WatchLists, clock: DetectClock) -> Engine {
        Engine { config, lists, book: AlertBook::new(clock), stats: EngineStats::default() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn lists(&self) -> &WatchLists {
        &self.lists
    }

    /// The watch lists, for live changes; a change applies to the next event.
    pub fn lists_mut(&mut self) -> &mut WatchLists {
        &mut self.lists
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Alerts raised or held and still open.
    pub fn open_alerts(&self) -> usize {
        self.book.open_alerts()
    }

    /// Runs one event through the pipeline.
    pub fn process(&mut self, event: &AccessEvent, sink: &mut dyn AlertSink) {
        self.stats.events += 1;
        self.book.advance(event.ts, sink);
        let ctx = enrich(event, &self.lists, &self.config.justification);
        let mut findings = Findings::new();
        detect::detect(&ctx, &self.lists, &self.config.rules, &mut findings);
        for finding in findings {
            let rule = finding.rule as usize;
            self.stats.findings[rule] += 1;
            let settings = self.config.rules.settings(finding.rule);
            if settings.allow.iter().any(|a| a.covers(&event.user_id, ctx.user, &event.system, event.ts)) {
                self.stats.allowed[rule] += 1;
                continue;
            }
            let offer = self.book.offer(
                finding.rule,
                &event.user_id,
                &finding.subject_key,
                event.ts,
                &event.event_id,
                settings.suppression,
                finding.release_at,
                || new_alert(&finding, &ctx),
                sink,
            );
            if offer == crate::alert::book::Offer::Folded {
                self.stats.folded[rule] += 1;
            }
        }
    }

    /// Moves the clock without an event (a quiet live stream still releases held
    /// alerts and closes finished ones).
    pub fn advance_to(&mut self, now: Timestamp, sink: &mut dyn AlertSink) {
        self.book.advance(now, sink);
    }

    /// Ends the stream: raises every held alert and closes every open one.
    pub fn finish(&mut self, sink: &mut dyn AlertSink) {
        self.book.finish(sink);
    }
}

fn new_alert(f: &Finding, ctx: &Enriched) -> Alert {
    let e = ctx.event;
    Alert {
        alert_id: Alert::make_id(f.rule, &e.user_id, &f.subject_key, &e.system, &e.event_id),
        rule: f.rule,
        category: f.rule.category(),
        severity: f.severity,
        score: f.score,
        event_ts: e.ts,
        detected_at: e.ts,
        user_id: e.user_id.clone(),
        subject: AlertSubject::of(e),
        event_ids: vec![e.event_id.clone()],
        watchlist: f.watchlist.clone(),
        reason: f.explanation.sentence(ctx),
        retrospective: f.release_at.is_some(),
        system: e.system.clone(),
        unit: ctx.user.and_then(|u| u.unit.clone()),
    }
}
