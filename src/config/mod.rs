//! Configuration: the defaults in `config/default.toml` (compiled in), overlaid by the
//! user's file. Reading is two-phase: [`reader`] walks the TOML and reports every
//! fault with its file, line and key; this module holds the typed, validated result.

pub mod reader;

pub use reader::{ConfigError, ConfigErrors};

use crate::alert::Severity;
use crate::detect::RuleId;
use crate::event::mapping::{FieldFrom, FieldMapping, SourceFormat, SourceMapping, TimeFormat, Zone};
use crate::event::{Action, Field, SubjectType};
use crate::time::{Date, Span, Timestamp, DAY};
use crate::watchlist::{AccountStatus, Relationship, StaffMember};
use compact_str::CompactString;
use reader::{Doc, Section};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The configuration shipped with the code: every parameter with its default.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub input: InputConfig,
    pub justification: JustificationConfig,
    pub rules: RulesConfig,
    /// Source mappings by name.
    pub sources: BTreeMap<String, Arc<SourceMapping>>,
    pub kafka: KafkaConfig,
    pub http: HttpConfig,
    pub live: LiveConfig,
    pub logging: LoggingConfig,
    pub state: StateConfig,
    pub risk: RiskConfig,
    /// The evidence archive (the `[archive]` section).
    pub archive: crate::archive::ArchiveConfig,
    /// The anti-corruption dashboard (the `[dashboard]` section).
    pub dashboard: crate::dashboard::DashboardConfig,
    /// The file this configuration was loaded from, if any: the live engine watches it
    /// and reloads the rules when it changes (or on SIGHUP).
    pub source_path: Option<std::path::PathBuf>,
}

/// Where the live engine reads and writes (the `[kafka]` section).
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    pub group_id: String,
    pub events_topic: String,
    pub alerts_topic: String,
    pub dead_letter_topic: String,
    /// Watch-list topics are this prefix and the table name: `watchlist.custody`.
    pub watchlist_topic_prefix: String,
    /// A source mapping for event messages not in the canonical JSON.
    pub source: Option<String>,
    /// How often processed offsets are stored for commit.
    pub commit_interval: Span,
    /// librdkafka properties passed through as they are (TLS, SASL, tuning). A value
    /// `env:NAME` is read from the environment variable NAME, so secrets can stay out
    /// of the file.
    pub properties: BTreeMap<String, String>,
}

/// The HTTP server (`[http]`): metrics, health, and the dashboard.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub listen: String,
}

/// The live engine's own settings (`[live]`).
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Watch-list files loaded at start-up, before the topics.
    pub watchlists_dir: Option<std::path::PathBuf>,
    /// Also write final alerts to this JSON Lines file.
    pub alerts_file: Option<std::path::PathBuf>,
    /// Recent person accesses kept for retrospective scans when a high-profile entry
    /// is added live (about 0.5 KB each).
    pub history_events: usize,
    /// Events handed from the consumer to the engine at once, at most.
    pub batch_size: usize,
    /// Batches that may wait between consumer and engine before the consumer waits.
    pub queue_batches: usize,
}

/// Logs (`[logging]`).
#[derive(Clone, Debug)]
pub struct LoggingConfig {
    /// `text` or `json`.
    pub json: bool,
    /// A tracing filter such as `info` or `accesswatch=debug`.
    pub level: String,
}

/// Limits on input records.
#[derive(Clone, Debug)]
pub struct InputConfig {
    /// Records longer than this go to the dead-letter output unread.
    pub max_record_bytes: usize,
    /// How much of an over-long record the dead-letter output keeps.
    pub dead_letter_max_bytes: usize,
}

/// The "justified" test of spec/rules.md.
#[derive(Clone, Debug)]
pub struct JustificationConfig {
    /// An incident justifies accesses from this long before it was opened.
    pub before_open: Span,
    /// ... until this long after it was closed.
    pub after_close: Span,
}

/// An exemption from one rule, with an expiry and a reason.
#[derive(Clone, Debug, PartialEq)]
pub struct AllowEntry {
    pub users: Vec<CompactString>,
    pub units: Vec<CompactString>,
    pub roles: Vec<CompactString>,
    /// Upper case.
    pub systems: Vec<CompactString>,
    /// The first instant the entry no longer applies.
    pub expires: Timestamp,
    pub reason: String,
}

impl AllowEntry {
    /// Whether the entry exempts this access: not expired, and every list it gives
    /// names the user, their unit, role or the system.
    pub fn covers(&self, user_id: &str, staff: Option<&StaffMember>, system: &str, at: Timestamp) -> bool {
        fn any(list: &[CompactString], value: Option<&str>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
        }
        at < self.expires
            && any(&self.users, Some(user_id))
            && any(&self.units, staff.and_then(|s| s.unit.as_deref()))
            && any(&self.roles, staff.and_then(|s| s.role.as_deref()))
            && any(&self.systems, Some(system))
    }
}

/// Settings every rule has.
#[derive(Clone, Debug)]
pub struct RuleSettings {
    pub enabled: bool,
    pub severity: Severity,
    /// At most one alert per (rule, user, subject) per this window.
    pub suppression: Span,
    pub allow: Vec<AllowEntry>,
    /// For rules that match people: the most an alert can be when the person was
    /// matched by name alone (no date of birth to confirm it). `None`: no cap.
    pub name_only_severity: Option<Severity>,
}

impl RuleSettings {
    /// The severity of a finding given how its person was matched.
    pub fn severity_for(&self, severity: Severity, strength: Option<crate::watchlist::MatchStrength>) -> Severity {
        match (strength, self.name_only_severity) {
            (Some(crate::watchlist::MatchStrength::Name), Some(cap)) => severity.min(cap),
            _ => severity,
        }
    }
}

/// What a non-police organisation or a role may use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entitlement {
    /// Upper case; empty means any system.
    pub systems: Vec<CompactString>,
    /// Empty means any action.
    pub actions: Vec<Action>,
}

impl Entitlement {
    pub fn allows(&self, system: &str, action: Action) -> bool {
        (self.systems.is_empty() || self.systems.iter().any(|s| s == system))
            && (self.actions.is_empty() || self.actions.contains(&action))
    }
}

/// Every rule's settings and parameters.
#[derive(Clone, Debug)]
pub struct RulesConfig {
    settings: Vec<RuleSettings>,
    /// high_profile.uninvolved: how far before `added_at` an entry reaches back.
    pub high_profile_lookback: Span,
    /// custody.uninvolved: how long after release a person still counts.
    pub custody_after_release: Span,
    /// custody.uninvolved: severity when the access gave no reference at all.
    pub custody_no_reference_severity: Severity,
    /// associate.lookup: severity by relationship, overriding the rule's severity.
    pub associate_severity: BTreeMap<Relationship, Severity>,
    /// associate.lookup: also treat a person sharing the user's surname and home
    /// postcode as family.
    pub associate_family_at_home: bool,
    /// neighbour.lookup: also alert on the postcode sector, at `neighbour_sector_severity`.
    pub neighbour_sector: bool,
    pub neighbour_sector_severity: Severity,
    /// purpose.missing and neighbour.lookup: the subject types they look at.
    pub purpose_subject_types: Vec<SubjectType>,
    /// account.status: statuses that make any access an alert.
    pub account_statuses: Vec<AccountStatus>,
    /// account.status: also alert on accounts missing from the staff list.
    pub account_unknown_users: bool,
    /// scope.unentitled: per non-police organisation.
    pub scope_orgs: BTreeMap<String, Entitlement>,
    /// scope.unentitled: per role.
    pub scope_roles: BTreeMap<String, Entitlement>,
    /// scope.unentitled: alert on non-police organisations that have no entitlement.
    pub scope_unlisted_orgs: bool,
    /// The stateful detectors (`behaviour.*`, the peer comparison of purpose.missing).
    pub behaviour: BehaviourSettings,
}

/// Parameters of the behavioural detectors ([`crate::behaviour`]); each is documented
/// in `config/default.toml`.
#[derive(Clone, Debug)]
pub struct BehaviourSettings {
    pub volume_window: Span,
    pub volume_min_events: u32,
    pub volume_z: f32,
    /// The baseline's span, in active hours.
    pub baseline_hours: u32,
    /// Active hours of baseline before the z-score is trusted (before: twice the floor).
    pub min_baseline_hours: u32,
    pub timezone: crate::behaviour::Zone,
    pub out_of_hours_grace: Span,
    pub learn_min_events: u32,
    pub usual_share: f32,
    pub fishing_window: Span,
    pub fishing_zero_results: u32,
    pub fishing_distinct_people: u32,
    pub export_window: Span,
    pub spike_window: Span,
    pub spike_min_users: u32,
    pub spike_multiple: f32,
    /// Whether purpose.missing compares users with their unit at all.
    pub peer_comparison: bool,
    pub peer_severity: Severity,
    pub peer_ratio: f32,
    pub peer_min_difference: f32,
    pub peer_min_accesses: u32,
    pub peer_half_life: Span,
    /// Per-user and per-subject state idle this long is forgotten.
    pub idle_after: Span,
}

impl Default for BehaviourSettings {
    fn default() -> Self {
        BehaviourSettings {
            volume_window: Span::hours(1),
            volume_min_events: 40,
            volume_z: 4.0,
            baseline_hours: 40,
            min_baseline_hours: 8,
            timezone: crate::behaviour::Zone::EuropeLondon,
            out_of_hours_grace: Span::hours(1),
            learn_min_events: 200,
            usual_share: 0.01,
            fishing_window: Span::minutes(30),
            fishing_zero_results: 12,
            fishing_distinct_people: 30,
            export_window: Span::hours(1),
            spike_window: Span::hours(2),
            spike_min_users: 8,
            spike_multiple: 4.0,
            peer_comparison: true,
            peer_severity: Severity::Amber,
            peer_ratio: 3.0,
            peer_min_difference: 0.3,
            peer_min_accesses: 50,
            peer_half_life: Span::days(7),
            idle_after: Span::days(14),
        }
    }
}

/// The live engine's event-time bookkeeping (the `[state]` section).
#[derive(Clone, Debug)]
pub struct StateConfig {
    /// Events older than the newest seen by more than this are late: the stateless
    /// rules still judge them; the behavioural detectors skip them.
    pub allowed_lateness: Span,
    /// Where the live engine keeps its state snapshot; `None`: no snapshots.
    pub dir: Option<std::path::PathBuf>,
    pub snapshot_interval: Span,
}

/// The per-user risk score (the `[risk]` section).
#[derive(Clone, Debug)]
pub struct RiskConfig {
    pub half_life: Span,
}

impl RulesConfig {
    pub fn settings(&self, rule: RuleId) -> &RuleSettings {
        &self.settings[rule as usize]
    }

    pub fn enabled(&self, rule: RuleId) -> bool {
        self.settings[rule as usize].enabled
    }

    /// Whether any stateful detector is on (if none, the engine keeps no behaviour state).
    pub fn any_behaviour(&self) -> bool {
        RuleId::ALL.iter().any(|r| r.category() == crate::alert::Category::Behaviour && self.enabled(*r))
            || (self.enabled(RuleId::PurposeMissing) && self.behaviour.peer_comparison)
    }
}

impl Config {
    /// The shipped defaults.
    pub fn defaults() -> Config {
        let mut config = Config::empty();
        // The defaults are part of the program; a fault in them is our bug, and the
        // `defaults_are_valid` test keeps it from shipping.
        config.overlay("config/default.toml", DEFAULT_TOML).expect("config/default.toml is valid");
        config
    }

    /// Reads `path` over the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.display().to_string(),
                line: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        let mut config = Config::from_toml(&path.display().to_string(), &text)?;
        config.source_path = Some(path.to_path_buf());
        Ok(config)
    }

    /// What a hot reload cannot change: the sections read once at start-up. Returns
    /// the names of those that differ.
    pub fn restart_needed(&self, new: &Config) -> Vec<&'static str> {
        let mut out = Vec::new();
        if format!("{:?}", self.kafka) != format!("{:?}", new.kafka) {
            out.push("kafka");
        }
        if self.http.listen != new.http.listen {
            out.push("http");
        }
        if self.archive != new.archive {
            out.push("archive");
        }
        if self.dashboard != new.dashboard {
            out.push("dashboard");
        }
        if format!("{:?}", self.live) != format!("{:?}", new.live) {
            out.push("live");
        }
        if format!("{:?}", self.input) != format!("{:?}", new.input) || self.sources.len() != new.sources.len() {
            out.push("input/sources");
        }
        out
    }

    /// Reads configuration text over the defaults; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Config, ConfigErrors> {
        let mut config = Config::defaults();
        config.overlay(file, text)?;
        Ok(config)
    }

    fn empty() -> Config {
        let setting = |r: RuleId| RuleSettings {
            enabled: true,
            severity: r.default_severity(),
            suppression: Span::hours(24),
            allow: Vec::new(),
            name_only_severity: None,
        };
        Config {
            input: InputConfig { max_record_bytes: 65_536, dead_letter_max_bytes: 1 << 20 },
            justification: JustificationConfig { before_open: Span::hours(1), after_close: Span::days(30) },
            rules: RulesConfig {
                settings: RuleId::ALL.into_iter().map(setting).collect(),
                high_profile_lookback: Span::days(30),
                custody_after_release: Span::days(7),
                custody_no_reference_severity: Severity::Red,
                associate_severity: BTreeMap::new(),
                associate_family_at_home: true,
                neighbour_sector: true,
                neighbour_sector_severity: Severity::Green,
                purpose_subject_types: vec![SubjectType::Person, SubjectType::Vehicle, SubjectType::Address],
                account_statuses: vec![AccountStatus::Suspended, AccountStatus::Restricted, AccountStatus::Left],
                account_unknown_users: false,
                scope_orgs: BTreeMap::new(),
                scope_roles: BTreeMap::new(),
                scope_unlisted_orgs: true,
                behaviour: BehaviourSettings::default(),
            },
            sources: BTreeMap::new(),
            kafka: KafkaConfig {
                bootstrap_servers: "127.0.0.1:9092".into(),
                group_id: "accesswatch".into(),
                events_topic: "access-events".into(),
                alerts_topic: "access-alerts".into(),
                dead_letter_topic: "access-events.dlq".into(),
                watchlist_topic_prefix: "watchlist.".into(),
                source: None,
                commit_interval: Span(1_000),
                properties: BTreeMap::new(),
            },
            http: HttpConfig { listen: "127.0.0.1:9464".into() },
            live: LiveConfig {
                watchlists_dir: None,
                alerts_file: None,
                history_events: 500_000,
                batch_size: 1_024,
                queue_batches: 64,
            },
            logging: LoggingConfig { json: false, level: "info".into() },
            state: StateConfig { allowed_lateness: Span::minutes(10), dir: None, snapshot_interval: Span(30_000) },
            risk: RiskConfig { half_life: Span::days(7) },
            archive: crate::archive::ArchiveConfig::default(),
            dashboard: crate::dashboard::DashboardConfig::default(),
            source_path: None,
        }
    }

    /// Applies one TOML document on top of the current values.
    fn overlay(&mut self, file: &str, text: &str) -> Result<(), ConfigErrors> {
        let doc = Doc::new(file, text);
        let parsed = match toml_edit::Document::parse(text.to_string()) {
            Ok(p) => p,
            Err(e) => {
                doc.error_at(e.span(), "", format!("not valid TOML: {}", e.message()));
                return doc.into_result();
            }
        };
        let root = Section::root(&doc, parsed.as_table());
        if let Some(s) = root.table("input") {
            let mut n = self.input.max_record_bytes as i64;
            s.int("max_record_bytes", 64..=(64 << 20), &mut n);
            self.input.max_record_bytes = n as usize;
            let mut n = self.input.dead_letter_max_bytes as i64;
            s.int("dead_letter_max_bytes", 64..=(256 << 20), &mut n);
            self.input.dead_letter_max_bytes = n as usize;
            s.finish();
        }
        if let Some(s) = root.table("justification") {
            s.span("before_open", &mut self.justification.before_open);
            s.span("after_close", &mut self.justification.after_close);
            s.finish();
        }
        if let Some(rules) = root.table("rules") {
            for group in rules.keys() {
                let Some(g) = rules.table(&group) else { continue };
                for name in g.keys() {
                    let id = format!("{group}.{name}");
                    match (RuleId::parse(&id), g.table(&name)) {
                        (Some(rule), Some(section)) => {
                            self.read_rule(rule, &section);
                            section.finish();
                        }
                        (None, _) => g.error(&name, format!("unknown rule `{id}`")),
                        (Some(_), None) => {}
                    }
                }
            }
        }
        if let Some(s) = root.table("kafka") {
            let k = &mut self.kafka;
            s.string("bootstrap_servers", &mut k.bootstrap_servers);
            s.string("group_id", &mut k.group_id);
            s.string("events_topic", &mut k.events_topic);
            s.string("alerts_topic", &mut k.alerts_topic);
            s.string("dead_letter_topic", &mut k.dead_letter_topic);
            s.string("watchlist_topic_prefix", &mut k.watchlist_topic_prefix);
            s.opt_string("source", &mut k.source);
            s.span("commit_interval", &mut k.commit_interval);
            if let Some(p) = s.table("properties") {
                for key in p.keys() {
                    let mut v = String::new();
                    p.string(&key, &mut v);
                    k.properties.insert(key.clone(), v);
                }
            }
            s.finish();
        }
        if let Some(s) = root.table("http") {
            s.string("listen", &mut self.http.listen);
            if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
                s.error("listen", format!("expected an address like 127.0.0.1:9464, got {:?}", self.http.listen));
            }
            s.finish();
        }
        if let Some(s) = root.table("live") {
            let l = &mut self.live;
            let mut dir = None;
            s.opt_string("watchlists_dir", &mut dir);
            l.watchlists_dir = dir.map(Into::into);
            let mut file = None;
            s.opt_string("alerts_file", &mut file);
            l.alerts_file = file.map(Into::into);
            let mut n = l.history_events as i64;
            s.int("history_events", 0..=100_000_000, &mut n);
            l.history_events = n as usize;
            let mut n = l.batch_size as i64;
            s.int("batch_size", 1..=1_000_000, &mut n);
            l.batch_size = n as usize;
            let mut n = l.queue_batches as i64;
            s.int("queue_batches", 1..=100_000, &mut n);
            l.queue_batches = n as usize;
            s.finish();
        }
        if let Some(s) = root.table("state") {
            s.span("allowed_lateness", &mut self.state.allowed_lateness);
            let mut dir = None;
            s.opt_string("dir", &mut dir);
            self.state.dir = dir.map(Into::into);
            s.span("snapshot_interval", &mut self.state.snapshot_interval);
            s.span("idle_after", &mut self.rules.behaviour.idle_after);
            s.finish();
        }
        if let Some(s) = root.table("archive") {
            let a = &mut self.archive;
            let mut dir = a.dir.as_ref().map(|d| d.display().to_string());
            s.opt_string("dir", &mut dir);
            a.dir = dir.map(Into::into);
            let mut n = a.row_group_rows as i64;
            s.int("row_group_rows", 1_024..=10_000_000, &mut n);
            a.row_group_rows = n as usize;
            let mut n = a.flush_rows as i64;
            s.int("flush_rows", 1..=100_000_000, &mut n);
            a.flush_rows = n as usize;
            s.span("flush_interval", &mut a.flush_interval);
            s.parsed("retention", &mut a.retention, |t| match t {
                "" => Ok(None),
                t => Span::parse(t).map(Some).map_err(|e| format!("{e} (got {t:?}; \"\" keeps everything)")),
            });
            s.bool("bloom_filters", &mut a.bloom_filters);
            let mut n = a.zstd_level as i64;
            s.int("zstd_level", 1..=22, &mut n);
            a.zstd_level = n as i32;
            s.finish();
        }
        if let Some(s) = root.table("dashboard") {
            let d = &mut self.dashboard;
            s.bool("enabled", &mut d.enabled);
            let mut db = d.db.display().to_string();
            s.string("db", &mut db);
            d.db = db.into();
            s.opt_string("proxy_header", &mut d.proxy_header);
            s.bool("secure_cookies", &mut d.secure_cookies);
            let mut lists = d.watchlists_dir.as_ref().map(|p| p.display().to_string());
            s.opt_string("watchlists_dir", &mut lists);
            d.watchlists_dir = lists.map(Into::into);
            if let Some(users) = s.table("users") {
                for name in users.keys() {
                    let Some(u) = users.table(&name) else {
                        users.error(&name, "expected a table: password, role, operations");
                        continue;
                    };
                    let mut password = None;
                    u.opt_string("password", &mut password);
                    if let Some(p) = &password {
                        if argon2::PasswordHash::new(p).is_err() {
                            u.error("password", "expected an argon2 hash (make one with `accesswatch hash-password`)");
                        }
                    }
                    let mut role = String::from("analyst");
                    u.string("role", &mut role);
                    let parsed = crate::dashboard::auth::Role::parse(&role);
                    if parsed.is_none() {
                        u.error("role", format!("expected analyst, supervisor, auditor or admin, got {role:?}"));
                    }
                    let mut operations = false;
                    u.bool("operations", &mut operations);
                    u.finish();
                    if let Some(role) = parsed {
                        d.users.insert(name.clone(), crate::dashboard::auth::Account { password, role, operations });
                    }
                }
                users.finish();
            }
            s.finish();
        }
        if let Some(s) = root.table("risk") {
            s.span("half_life", &mut self.risk.half_life);
            s.finish();
        }
        if let Some(s) = root.table("logging") {
            let mut format = if self.logging.json { "json" } else { "text" }.to_string();
            s.string("format", &mut format);
            match format.as_str() {
                "json" => self.logging.json = true,
                "text" => self.logging.json = false,
                other => s.error("format", format!("expected \"text\" or \"json\", got {other:?}")),
            }
            s.string("level", &mut self.logging.level);
            s.finish();
        }
        if let Some(sources) = root.table("sources") {
            for name in sources.keys() {
                if let Some(s) = sources.table(&name) {
                    if let Some(mapping) = read_source(&name, &s) {
                        self.sources.insert(name.clone(), Arc::new(mapping));
                    }
                    s.finish();
                }
            }
        }
        if let Some(name) = &self.kafka.source {
            if !self.sources.contains_key(name) {
                root.error("kafka", format!("kafka.source names {name:?}, which is not a [sources.{name}] section"));
            }
        }
        root.finish();
        doc.into_result()
    }

    fn read_rule(&mut self, rule: RuleId, s: &Section) {
        let r = &mut self.rules;
        {
            let set = &mut r.settings[rule as usize];
            s.bool("enabled", &mut set.enabled);
            s.parsed("severity", &mut set.severity, parse_severity);
            s.span("suppression", &mut set.suppression);
            if s.has("allow") {
                set.allow = s.tables("allow").iter().filter_map(read_allow).collect();
            } else {
                s.raw("allow");
            }
        }
        if matches!(
            rule,
            RuleId::HighProfileUninvolved | RuleId::CustodyUninvolved | RuleId::AssociateLookup | RuleId::OpsecOutsider
        ) {
            let set = &mut r.settings[rule as usize];
            if s.has("name_only_severity") {
                let mut text = String::new();
                s.string("name_only_severity", &mut text);
                set.name_only_severity = match text.as_str() {
                    "" | "none" => None,
                    other => match parse_severity(other) {
                        Ok(sev) => Some(sev),
                        Err(e) => {
                            s.error("name_only_severity", format!("{e}, or \"none\""));
                            None
                        }
                    },
                };
            }
        }
        match rule {
            RuleId::HighProfileUninvolved => s.span("lookback", &mut r.high_profile_lookback),
            RuleId::CustodyUninvolved => {
                s.span("after_release", &mut r.custody_after_release);
                s.parsed("severity_no_reference", &mut r.custody_no_reference_severity, parse_severity);
            }
            RuleId::AssociateLookup => {
                s.bool("family_at_home", &mut r.associate_family_at_home);
                if let Some(t) = s.table("severity_by_relationship") {
                    for key in t.keys() {
                        match Relationship::parse(&key) {
                            Some(rel) => {
                                let mut sev = Severity::Amber;
                                t.parsed(&key, &mut sev, parse_severity);
                                r.associate_severity.insert(rel, sev);
                            }
                            None => t.error(
                                &key,
                                "unknown relationship (expected family, partner, ex_partner, friend, neighbour, journalist, criminal_associate, other)",
                            ),
                        }
                    }
                }
            }
            RuleId::NeighbourLookup => {
                s.bool("sector", &mut r.neighbour_sector);
                s.parsed("sector_severity", &mut r.neighbour_sector_severity, parse_severity);
            }
            RuleId::PurposeMissing => {
                s.parsed_list("subject_types", &mut r.purpose_subject_types, |t| {
                    SubjectType::parse(t).ok_or_else(|| format!("unknown subject type {t:?}"))
                });
                let b = &mut r.behaviour;
                s.bool("peer_comparison", &mut b.peer_comparison);
                s.parsed("peer_severity", &mut b.peer_severity, parse_severity);
                float32(s, "peer_ratio", 1.0..=100.0, &mut b.peer_ratio);
                float32(s, "peer_min_difference", 0.0..=1.0, &mut b.peer_min_difference);
                int32(s, "peer_min_accesses", 1..=1_000_000, &mut b.peer_min_accesses);
                s.span("peer_half_life", &mut b.peer_half_life);
            }
            RuleId::BehaviourVolume => {
                let b = &mut r.behaviour;
                s.span("window", &mut b.volume_window);
                int32(s, "min_events", 1..=100_000, &mut b.volume_min_events);
                float32(s, "z", 0.0..=100.0, &mut b.volume_z);
                int32(s, "baseline_hours", 1..=10_000, &mut b.baseline_hours);
                int32(s, "min_baseline_hours", 0..=10_000, &mut b.min_baseline_hours);
            }
            RuleId::BehaviourOutOfHours => {
                let b = &mut r.behaviour;
                s.parsed("timezone", &mut b.timezone, |t| {
                    crate::behaviour::Zone::parse(t)
                        .ok_or_else(|| format!("expected \"Europe/London\" or \"UTC\", got {t:?}"))
                });
                s.span("grace", &mut b.out_of_hours_grace);
                int32(s, "learn_min_events", 1..=10_000_000, &mut b.learn_min_events);
                float32(s, "usual_share", 0.0..=1.0, &mut b.usual_share);
            }
            RuleId::BehaviourFishing => {
                let b = &mut r.behaviour;
                s.span("window", &mut b.fishing_window);
                int32(s, "zero_results", 1..=100_000, &mut b.fishing_zero_results);
                int32(s, "distinct_people", 1..=100_000, &mut b.fishing_distinct_people);
            }
            RuleId::BehaviourExportAfterSensitive => s.span("window", &mut r.behaviour.export_window),
            RuleId::BehaviourSubjectSpike => {
                let b = &mut r.behaviour;
                s.span("window", &mut b.spike_window);
                int32(s, "min_users", 2..=100_000, &mut b.spike_min_users);
                float32(s, "baseline_multiple", 1.0..=1000.0, &mut b.spike_multiple);
            }
            RuleId::AccountStatus => {
                s.parsed_list("statuses", &mut r.account_statuses, |t| {
                    AccountStatus::parse(t)
                        .ok_or_else(|| format!("unknown status {t:?} (expected suspended, restricted, left, active)"))
                });
                s.bool("unknown_users", &mut r.account_unknown_users);
            }
            RuleId::ScopeUnentitled => {
                s.bool("unlisted_orgs", &mut r.scope_unlisted_orgs);
                for (key, map) in [("orgs", &mut r.scope_orgs), ("roles", &mut r.scope_roles)] {
                    if let Some(t) = s.table(key) {
                        map.clear();
                        for name in t.keys() {
                            if let Some(e) = t.table(&name) {
                                let mut ent = Entitlement::default();
                                let mut systems = Vec::new();
                                e.strings("systems", &mut systems);
                                ent.systems = systems.iter().map(|s| CompactString::from(s.to_uppercase())).collect();
                                e.parsed_list("actions", &mut ent.actions, |a| {
                                    Action::parse(a).ok_or_else(|| format!("unknown action {a:?}"))
                                });
                                e.finish();
                                map.insert(name.clone(), ent);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn float32(s: &Section, key: &str, range: std::ops::RangeInclusive<f64>, into: &mut f32) {
    let mut v = *into as f64;
    s.float(key, range, &mut v);
    *into = v as f32;
}

fn int32(s: &Section, key: &str, range: std::ops::RangeInclusive<i64>, into: &mut u32) {
    let mut v = *into as i64;
    s.int(key, range, &mut v);
    *into = v as u32;
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("expected red, amber or green, got {s:?}"))
}

fn read_allow(s: &Section) -> Option<AllowEntry> {
    let list = |key: &str| {
        let mut v = Vec::new();
        s.strings(key, &mut v);
        v.into_iter().map(CompactString::from).collect::<Vec<_>>()
    };
    let users = list("users");
    let units = list("units");
    let roles = list("roles");
    let systems: Vec<CompactString> = list("systems").into_iter().map(|s| s.to_uppercase().into()).collect();
    let mut reason = String::new();
    s.string("reason", &mut reason);
    let mut expires = None;
    s.parsed("expires", &mut expires, |t| {
        // A date means the whole of that day.
        Date::parse(t)
            .map(|d| Timestamp(d.0 as i64 * DAY + DAY))
            .or_else(|_| Timestamp::parse_rfc3339(t))
            .map(Some)
            .map_err(|_| format!("expected a date (YYYY-MM-DD) or an RFC 3339 time, got {t:?}"))
    });
    let mut ok = true;
    if users.is_empty() && units.is_empty() && roles.is_empty() && systems.is_empty() {
        s.error("users", "an allow entry must name users, units, roles or systems");
        ok = false;
    }
    if reason.trim().is_empty() {
        s.error("reason", "an allow entry needs a reason");
        ok = false;
    }
    if expires.is_none() && !s.has("expires") {
        s.error("expires", "an allow entry needs an expiry date (expires = \"YYYY-MM-DD\")");
        ok = false;
    }
    s.finish();
    let expires = expires?;
    ok.then_some(AllowEntry { users, units, roles, systems, expires, reason })
}

fn read_source(name: &str, s: &Section) -> Option<SourceMapping> {
    let mut format = String::from("json");
    s.string("format", &mut format);
    let mut delimiter = String::from(",");
    s.string("delimiter", &mut delimiter);
    let format = match format.as_str() {
        "json" => SourceFormat::Json,
        "csv" => {
            if delimiter.len() != 1 {
                s.error("delimiter", "expected one character, e.g. \",\" or \";\"");
            }
            SourceFormat::Csv { delimiter: delimiter.bytes().next().unwrap_or(b',') }
        }
        "cef" => SourceFormat::Cef,
        other => {
            s.error("format", format!("unknown format {other:?} (expected json, csv or cef)"));
            return None;
        }
    };
    let mut keep_unmapped = true;
    s.bool("keep_unmapped", &mut keep_unmapped);
    let mut files = Vec::new();
    s.strings("files", &mut files);
    let mut fields = Vec::new();
    match s.table("fields") {
        Some(f) => {
            for key in f.keys() {
                let Some(field) = Field::from_name(&key) else {
                    f.error(&key, "not a field of spec/events.md");
                    continue;
                };
                if let Some(m) = read_field_mapping(field, &f, &key) {
                    fields.push(m);
                }
            }
            for required in Field::ALL.into_iter().filter(|f| f.is_required()) {
                if !fields.iter().any(|m: &FieldMapping| m.field == required) {
                    f.error(required.name(), format!("source `{name}` has no mapping for required field"));
                }
            }
            f.finish();
        }
        None => s.error("fields", format!("source `{name}` needs a [sources.{name}.fields] table")),
    }
    Some(SourceMapping { name: name.to_string(), format, fields, keep_unmapped, files })
}

fn read_field_mapping(field: Field, parent: &Section, key: &str) -> Option<FieldMapping> {
    let mut m = FieldMapping {
        field,
        from: FieldFrom::Source(String::new()),
        values: HashMap::new(),
        time: None,
        default: None,
    };
    if let Some(toml_edit::Item::Value(v)) = parent.raw(key) {
        if let Some(src) = v.as_str() {
            m.from = FieldFrom::Source(src.to_string());
            if field == Field::Ts {
                m.time = Some(TimeFormat::Rfc3339);
            }
            return Some(m);
        }
    }
    let t = parent.table(key)?;
    let (mut from, mut value) = (None, None);
    t.opt_string("from", &mut from);
    t.opt_string("value", &mut value);
    m.from = match (from, value) {
        (Some(f), None) => FieldFrom::Source(f),
        (None, Some(v)) => FieldFrom::Constant(v),
        _ => {
            t.error("from", "give exactly one of `from` (a source field) or `value` (a constant)");
            return None;
        }
    };
    t.opt_string("default", &mut m.default);
    if let Some(values) = t.table("values") {
        for k in values.keys() {
            let mut v = String::new();
            values.string(&k, &mut v);
            m.values.insert(k.to_uppercase(), v);
        }
    }
    let mut format = None;
    t.opt_string("format", &mut format);
    let mut zone = None;
    t.opt_string("timezone", &mut zone);
    let zone = match zone.as_deref().map(Zone::parse) {
        None => Zone::Utc,
        Some(Ok(z)) => z,
        Some(Err(e)) => {
            t.error("timezone", e);
            Zone::Utc
        }
    };
    m.time = match (field, format.as_deref()) {
        (Field::Ts, None | Some("rfc3339")) => Some(TimeFormat::Rfc3339),
        (Field::Ts, Some("epoch_ms")) => Some(TimeFormat::EpochMillis),
        (Field::Ts, Some("epoch_s")) => Some(TimeFormat::EpochSeconds),
        (Field::Ts | Field::SubjectDob, Some(p)) => Some(TimeFormat::Pattern { pattern: p.to_string(), zone }),
        (_, None) => None,
        (_, Some(_)) => {
            t.error("format", "only `ts` and `subject_dob` take a format");
            None
        }
    };
    t.finish();
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::defaults();
        assert_eq!(c.rules.settings(RuleId::HighProfileUninvolved).severity, Severity::Red);
        assert_eq!(c.rules.high_profile_lookback, Span::days(30));
        assert_eq!(c.rules.associate_severity.get(&Relationship::Journalist), Some(&Severity::Red));
    }

    #[test]
    fn every_error_is_reported_with_file_line_and_key() {
        let text = "\
[rules.custody.uninvolved]
severity = \"orange\"
after_relase = \"7d\"

[rules.nosuch.rule]
enabled = true

[justification]
after_close = \"a month\"
";
        let errs = Config::from_toml("my.toml", text).unwrap_err();
        let lines: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert!(lines.iter().any(|l| l.starts_with("my.toml:2: rules.custody.uninvolved.severity:")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l.starts_with("my.toml:3: rules.custody.uninvolved.after_relase: unknown key")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("unknown rule `nosuch.rule`")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("my.toml:9: justification.after_close:")), "{lines:?}");
        assert_eq!(lines.len(), 4, "{lines:?}");
    }

    #[test]
    fn allow_entries_need_reason_and_expiry() {
        let text = "[[rules.purpose.missing.allow]]\nunits = [\"Traffic\"]\n";
        let errs = Config::from_toml("a.toml", text).unwrap_err().to_string();
        assert!(errs.contains("reason"), "{errs}");
        assert!(errs.contains("expiry"), "{errs}");
        let ok = "[[rules.purpose.missing.allow]]\nunits = [\"Traffic\"]\nreason = \"ANPR patrol checks\"\nexpires = \"2027-01-31\"\n";
        let c = Config::from_toml("a.toml", ok).unwrap();
        let entry = &c.rules.settings(RuleId::PurposeMissing).allow[0];
        assert_eq!(entry.expires.to_string(), "2027-02-01T00:00:00.000Z");
    }

    #[test]
    fn source_mapping_is_read_and_checked() {
        let text = r#"
[sources.niche]
format = "csv"
delimiter = ";"
[sources.niche.fields]
event_id = "AuditID"
ts = { from = "When", format = "%d/%m/%Y %H:%M:%S", timezone = "Europe/London" }
system = { value = "RMS" }
user_id = "User"
action = { from = "Op", values = { QRY = "search", DSP = "view" } }
subject_type = { value = "person" }
colour = "x"
"#;
        let errs = Config::from_toml("s.toml", text).unwrap_err().to_string();
        assert!(errs.contains("sources.niche.fields.colour: not a field"), "{errs}");
        let c = Config::from_toml("s.toml", &text.replace("colour = \"x\"\n", "")).unwrap();
        let m = &c.sources["niche"];
        assert_eq!(m.format, SourceFormat::Csv { delimiter: b';' });
        assert_eq!(m.fields.len(), 6);
        let missing =
            Config::from_toml("s.toml", &text.replace("user_id = \"User\"\n", "").replace("colour = \"x\"\n", ""))
                .unwrap_err()
                .to_string();
        assert!(missing.contains("user_id") && missing.contains("required"), "{missing}");
    }
}
