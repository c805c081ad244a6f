//! Late explanations: a watch-list row that arrives after the alert it answers.
//!
//! An incident is often recorded after the check it justifies (the roadside check
//! first, the log at the end of the shift); a custody record gains its officers as the
//! case goes on; a case team grows. When such a row arrives, the open alerts it may
//! answer (those whose triggering access was by one of the users it names, or gave
//! its reference) are judged again with the lists as they are now. An alert whose rule
//! no longer fires is resolved: the same alert, with `resolved` saying what arrived and
//! what it explains, sent on as an update. A row explains an access only when it was
//! recorded within `explanation.late_grace` of it ([`crate::explain::known_in_time`]),
//! so a reference invented days later resolves nothing.

use super::Engine;
use crate::alert::{AlertSink, Resolved};
use crate::detect;
use crate::enrich::enrich;
use crate::time::Timestamp;
use crate::watchlist::Row;
use compact_str::CompactString;

impl Engine {
    /// Judges again the open alerts that `row` (just upserted under `key`) may answer.
    pub(super) fn resolve_with(&mut self, key: &str, row: &Row, sink: &mut dyn AlertSink) {
        if self.config.explanation.late_grace.0 <= 0 {
            return;
        }
        let (users, reference): (Vec<CompactString>, Option<&str>) = match row {
            Row::Incident(i) => (i.officers.iter().map(Into::into).collect(), Some(key)),
            Row::Custody(c) => (c.officers.iter().map(Into::into).collect(), None),
            Row::HighProfile(h) => (h.case_team.iter().map(Into::into).collect(), None),
            Row::Operation(o) => (o.team.iter().map(Into::into).collect(), None),
            Row::Staff(_) | Row::Associate(_) => return,
        };
        let what = format!("{} row {key}", row.table());
        let mut streams: Vec<i32> = self.streams.keys().copied().collect();
        streams.sort_unstable();
        for stream in streams {
            let Some(book) = self.streams.get(&stream) else { continue };
            let mut answered = Vec::new();
            for seq in book.resolvable(&users, reference) {
                let Some((alert, mut events)) = book.triggers(seq) else { continue };
                let subject = alert.suppression_subject();
                // Every access that raised or strengthened the alert must be answered;
                // the sentence says what answers the current trigger.
                let still_found = |event| {
                    let ctx = enrich(event, &self.lists, &self.config.explanation);
                    let findings = detect::rejudge(alert.rule, &ctx, &self.lists, &self.config.rules);
                    findings.iter().any(|f| f.subject_key == subject)
                };
                let Some(trigger) = events.next() else { continue };
                if still_found(trigger) || events.any(still_found) {
                    continue;
                }
                let ctx = enrich(trigger, &self.lists, &self.config.explanation);
                let by = ctx.explanation.kind().map_or("watch_list", |k| k.as_str());
                let recorded = row.recorded_at().map(|t| format!(", recorded {}", t.human())).unwrap_or_default();
                let reason = if ctx.explanation.is_explained() {
                    format!(
                        "{what} arrived after the alert was raised{recorded}; the access is {}.",
                        ctx.explanation.phrase()
                    )
                } else {
                    format!(
                        "{what} changed after the alert was raised{recorded}; the rule no longer finds this access."
                    )
                };
                answered.push((
                    seq,
                    alert.counts_as_operations(),
                    Resolved { at: Timestamp::default(), by: by.into(), reason },
                ));
            }
            if answered.is_empty() {
                continue;
            }
            let at = self.resolve_time(stream);
            sink.stream(stream);
            let Some(book) = self.streams.get_mut(&stream) else { continue };
            for (seq, on_operation, mut resolved) in answered {
                resolved.at = at;
                book.resolve(seq, resolved, sink);
                // Counted apart, as their raising is: a public count that moved with no
                // alert to show for it would tell of an operation's subject.
                if on_operation {
                    self.stats.resolved_on_operations += 1;
                } else {
                    self.stats.resolved += 1;
                }
            }
        }
    }

    /// When a resolution happens: the wall clock live, the stream's event time in a replay.
    fn resolve_time(&self, stream: i32) -> Timestamp {
        match self.clock {
            crate::alert::book::DetectClock::WallClock => Timestamp::now(),
            crate::alert::book::DetectClock::EventTime => {
                self.streams.get(&stream).map_or(Timestamp::default(), |b| b.now())
            }
        }
    }
}
