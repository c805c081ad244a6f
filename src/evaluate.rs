//! `accesswatch evaluate`: how well the engine catches labelled misuse, and how often
//! it cries wolf.
//!
//! A misuse instance is caught when an alert by the same user (any user, for a
//! subject spike) of one of the instance's categories, at or above its minimum
//! severity, shares an event with it. A red or amber alert is a false alert when it
//! shares no event with any instance and is not about a labelled user-subject pair.

use crate::alert::RuleId;
use crate::alert::{Alert, Severity};
use crate::event::{normalise, PersonName};
use crate::generate::Label;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;

/// Recall of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    pub scenario: String,
    pub rule: RuleId,
    pub instances: usize,
    pub caught: usize,
    /// Instances missed: (instance, user).
    pub missed: Vec<(u32, String)>,
}

/// The evaluation of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub events: u64,
    /// Alerts resolved by a late explanation: on record, not counted as alerts.
    pub resolved: u64,
    /// The replay's summary (explanations), when one was found beside the alerts.
    pub summary: Option<crate::replay::SummaryFile>,
    pub scenarios: Vec<ScenarioResult>,
    /// Red/amber alerts on unlabelled user-subject pairs, per rule.
    pub false_alerts: BTreeMap<RuleId, u64>,
    /// All alerts per rule and severity, for context.
    pub alerts: BTreeMap<(RuleId, Severity), u64>,
}

impl Evaluation {
    pub fn false_per_10k(&self, n: u64) -> f64 {
        n as f64 * 10_000.0 / self.events.max(1) as f64
    }

    /// Recall over every scenario: (caught, instances).
    pub fn recall(&self) -> (usize, usize) {
        self.scenarios.iter().fold((0, 0), |(c, n), s| (c + s.caught, n + s.instances))
    }

    pub fn total_false(&self) -> u64 {
        self.false_alerts.values().sum()
    }
}

/// Identity keys of an alert's subject, in the labels' form.
fn subject_keys(a: &Alert) -> Vec<String> {
    let s = &a.subject;
    let mut keys = Vec::new();
    if let Some(id) = &s.subject_id {
        keys.push(format!("id:{id}"));
    }
    if let (Some(name), Some(dob)) = (s.subject_name.as_deref().and_then(PersonName::parse), s.subject_dob) {
        keys.push(format!("name:{}|{}|{dob}", name.surname, name.forenames));
    }
    if let Some(v) = s.subject_vrm.as_deref().and_then(normalise::vrm) {
        keys.push(format!("vrm:{v}"));
    }
    if let Some(p) = s.subject_postcode.as_deref().and_then(normalise::postcode) {
        keys.push(format!("postcode:{p}"));
    }
    keys
}

/// Scores alerts against labels over `events` events.
pub fn evaluate(labels: &[Label], alerts: &[Alert], events: u64) -> Evaluation {
    let mut labelled_events: HashSet<&str> = HashSet::new();
    // User ids as the engine folds them: a label may write one in lower case.
    let mut labelled_pairs: HashSet<(String, &str)> = HashSet::new();
    for l in labels {
        labelled_events.extend(l.event_ids.iter().map(|e| e.as_str()));
        if let Some(u) = &l.user_id {
            for s in &l.subjects {
                labelled_pairs.insert((u.to_ascii_uppercase().to_string(), s.as_str()));
            }
        }
    }
    let mut by_event: HashMap<&str, Vec<&Alert>> = HashMap::new();
    for a in alerts {
        for e in &a.event_ids {
            if labelled_events.contains(e.as_str()) {
                by_event.entry(e.as_str()).or_default().push(a);
            }
        }
    }
    let catches = |l: &Label, a: &Alert| {
        l.user_id.as_ref().is_none_or(|u| u.eq_ignore_ascii_case(&a.user_id))
            && l.categories.contains(&a.category)
            && a.severity >= l.min_severity
    };

    let mut scenarios: BTreeMap<&str, ScenarioResult> = BTreeMap::new();
    for l in labels {
        let r = scenarios.entry(l.scenario.as_str()).or_insert_with(|| ScenarioResult {
            scenario: l.scenario.clone(),
            rule: l.rule,
            instances: 0,
            caught: 0,
            missed: Vec::new(),
        });
        r.instances += 1;
        let caught = l.event_ids.iter().filter_map(|e| by_event.get(e.as_str())).flatten().any(|a| catches(l, a));
        if caught {
            r.caught += 1;
        } else {
            r.missed.push((l.instance, l.user_id.as_deref().unwrap_or("-").to_string()));
        }
    }

    let mut false_alerts = BTreeMap::new();
    let mut counts = BTreeMap::new();
    let resolved = alerts.iter().filter(|a| a.resolved.is_some()).count() as u64;
    for a in alerts.iter().filter(|a| a.resolved.is_none()) {
        *counts.entry((a.rule, a.severity)).or_insert(0) += 1;
        if a.severity < Severity::Amber {
            continue;
        }
        let on_labelled_event = a.event_ids.iter().any(|e| labelled_events.contains(e.as_str()));
        let on_labelled_pair = subject_keys(a)
            .iter()
            .any(|k| labelled_pairs.contains(&(a.user_id.to_ascii_uppercase().to_string(), k.as_str())));
        if !on_labelled_event && !on_labelled_pair {
            *false_alerts.entry(a.rule).or_insert(0) += 1;
        }
    }
    let mut scenarios: Vec<ScenarioResult> = scenarios.into_values().collect();
    scenarios.sort_by_key(|s| (s.rule, s.scenario.clone()));
    Evaluation { events, resolved, summary: None, scenarios, false_alerts, alerts: counts }
}

/// Reads the labels, the alerts and the events file (to count events) and evaluates;
/// the replay's summary beside the alerts, when there is one, adds the share of
/// accesses explained.
pub fn evaluate_files(labels: &Path, alerts: &Path, events: &Path) -> io::Result<Evaluation> {
    fn named(path: &Path) -> impl Fn(io::Error) -> io::Error + '_ {
        move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    }
    let labels: Vec<Label> = crate::sink::alert_file::read_jsonl(labels).map_err(named(labels))?;
    let alerts_path = alerts;
    let mut alerts = crate::sink::alert_file::read(alerts).map_err(named(alerts))?;
    // An alert given again (a file appended to twice, the alert topic's updates) is
    // one alert: its last line holds its final state. Its id and first event's time
    // name it (a source reusing an event id could give two alerts one id).
    let mut last: HashMap<(String, i64), usize> = HashMap::new();
    for (i, a) in alerts.iter().enumerate() {
        last.insert((a.alert_id.to_string(), a.event_ts.0), i);
    }
    let mut i = 0;
    alerts.retain(|a| {
        i += 1;
        last.get(&(a.alert_id.to_string(), a.event_ts.0)) == Some(&(i - 1))
    });
    let file =
        std::fs::File::open(events).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", events.display())))?;
    let mut n = 0u64;
    let raw: Box<dyn io::Read> = if events.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = io::BufReader::with_capacity(1 << 20, raw);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        n += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: no events; the rates are per event replayed: give the events file with --events",
                events.display()
            ),
        ));
    }
    let mut eval = evaluate(&labels, &alerts, n);
    eval.summary =
        std::fs::read(crate::replay::summary_path(alerts_path)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    Ok(eval)
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| scenario | rule | instances | caught | recall |")?;
        writeln!(f, "|---|---|---:|---:|---:|")?;
        for s in &self.scenarios {
            let recall = format!("{:.2}", s.caught as f64 / s.instances.max(1) as f64);
            writeln!(f, "| {} | {} | {} | {} | {recall} |", s.scenario, s.rule, s.instances, s.caught)?;
        }
        writeln!(f)?;
        writeln!(f, "| rule | red | amber | green | red/amber false | false per 10k events |")?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|")?;
        let rules: std::collections::BTreeSet<RuleId> = self.alerts.keys().map(|(r, _)| *r).collect();
        for r in rules {
            let n = |s| self.alerts.get(&(r, s)).copied().unwrap_or(0);
            let fa = self.false_alerts.get(&r).copied().unwrap_or(0);
            writeln!(
                f,
                "| {r} | {} | {} | {} | {fa} | {:.2} |",
                n(Severity::Red),
                n(Severity::Amber),
                n(Severity::Green),
                self.false_per_10k(fa)
            )?;
        }
        let (caught, total) = self.recall();
        writeln!(f)?;
        let by = |s: Severity| self.alerts.iter().filter(|((_, sev), _)| *sev == s).map(|(_, n)| n).sum::<u64>();
        let per = |n: u64| n as f64 * 10_000.0 / self.events.max(1) as f64;
        let (red, amber, green) = (by(Severity::Red), by(Severity::Amber), by(Severity::Green));
        writeln!(
            f,
            "alerts per 10,000 events: red {:.2}, amber {:.2}, green {:.2}, all {:.2} ({} alerts; {} more resolved by a late explanation)",
            per(red),
            per(amber),
            per(green),
            per(red + amber + green),
            red + amber + green,
            self.resolved
        )?;
        if let Some(s) = &self.summary {
            let explained: u64 = s.explained.values().sum();
            let parts: Vec<String> = s.explained.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(
                f,
                "accesses explained: {:.1}% of {} person, vehicle and address accesses ({})",
                s.explained_share() * 100.0,
                explained + s.unexplained,
                parts.join(", ")
            )?;
        }
        write!(
            f,
            "overall: recall {:.2} ({caught}/{total} instances), {} red/amber false alerts = {:.2} per 10,000 events ({} events)",
            caught as f64 / total.max(1) as f64,
            self.total_false(),
            self.false_per_10k(self.total_false()),
            self.events
        )?;
        let missed: Vec<String> = self
            .scenarios
            .iter()
            .flat_map(|s| s.missed.iter().map(move |(i, u)| format!("{} #{i} ({u})", s.scenario)))
            .collect();
        if !missed.is_empty() {
            write!(f, "\nmissed: {}", missed.join(", "))?;
        }
        Ok(())
    }
}

/// The events file a generated force keeps beside its labels: `events.jsonl`, or
/// `events.jsonl.gz` when only that exists.
pub fn events_beside(labels: &Path) -> std::path::PathBuf {
    let plain = labels.with_file_name("events.jsonl");
    let gz = labels.with_file_name("events.jsonl.gz");
    if !plain.exists() && gz.exists() {
        gz
    } else {
        plain
    }
}
