//! Configuration: the defaults in `config/default.toml` (compiled in), overlaid by the
//! user's file. Reading is two-phase: [`reader`] walks the TOML and reports every
//! fault with its file, line and key; each section's typed, validated values and their
//! reader live in a file of their own below. `config/default.toml` is the one place a
//! default is written: it is read as a complete document, where a missing key is a
//! fault (the `defaults_give_every_key` test), so the structs hold no defaults of
//! their own.
//!
//! | file | sections |
//! |---|---|
//! | [`engine`] | `[input]`, `[state]`, `[risk]` |
//! | [`explain`] | `[justification]`, `[explanation]`: what counts as a policing purpose on record |
//! | [`rules`] | `[rules.<group>.<name>]`: every rule's settings and parameters |
//! | [`sources`] | `[sources.<name>]`: source mappings |
//! | [`service`] | `[kafka]`, `[http]`, `[live]`, `[logging]` |
//! | [`archive`] | `[archive]` |
//! | [`dashboard`] | `[dashboard]`: accounts, roles, clearance |
//! | [`redact`] | a configuration file with its secrets and password hashes redacted (evidence bundles) |

pub mod archive;
pub mod dashboard;
pub mod engine;
pub mod explain;
pub mod reader;
pub mod redact;
pub mod rules;
pub mod service;
mod sources;

pub use archive::ArchiveConfig;
pub use dashboard::{Account, DashboardConfig, Role};
pub use engine::{InputConfig, RiskConfig, StateConfig};
pub use explain::{ExplanationConfig, Routine};
pub use reader::{ConfigError, ConfigErrors};
pub use rules::{AllowEntry, BehaviourSettings, Entitlement, RuleSettings, RulesConfig};
pub use service::{HttpConfig, KafkaConfig, LiveConfig, LoggingConfig};

use crate::event::mapping::SourceMapping;
use reader::{Doc, Section};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The configuration shipped with the code: every parameter with its default.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The sections every complete document (the defaults) must have.
const SECTIONS: [&str; 12] = [
    "input",
    "justification",
    "explanation",
    "rules",
    "kafka",
    "http",
    "live",
    "state",
    "archive",
    "dashboard",
    "risk",
    "logging",
];

/// The validated configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub input: InputConfig,
    /// `[justification]` and `[explanation]`: what explains an access.
    pub explanation: ExplanationConfig,
    pub rules: RulesConfig,
    /// Source mappings by name.
    pub sources: BTreeMap<String, Arc<SourceMapping>>,
    pub kafka: KafkaConfig,
    pub http: HttpConfig,
    pub live: LiveConfig,
    pub logging: LoggingConfig,
    pub state: StateConfig,
    pub risk: RiskConfig,
    pub archive: ArchiveConfig,
    pub dashboard: DashboardConfig,
    /// The file this configuration was loaded from, if any: the live engine watches it
    /// and reloads the rules when it changes (or on SIGHUP).
    pub source_path: Option<std::path::PathBuf>,
}

impl Config {
    /// The shipped defaults.
    pub fn defaults() -> Config {
        let mut config = Config::default();
        // The defaults are part of the program; a fault in them is our bug, and the
        // `defaults_give_every_key` test keeps it from shipping.
        let doc = Doc::complete("config/default.toml", DEFAULT_TOML);
        config.overlay(doc).expect("config/default.toml is complete and valid");
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
        if self.kafka != new.kafka {
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
        if self.live != new.live {
            out.push("live");
        }
        if self.input != new.input || self.sources != new.sources {
            out.push("input/sources");
        }
        out
    }

    /// Reads configuration text over the defaults; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Config, ConfigErrors> {
        let mut config = Config::defaults();
        config.overlay(Doc::new(file, text))?;
        Ok(config)
    }

    /// Applies one TOML document on top of the current values: each section to its
    /// reader, then the checks across sections.
    fn overlay(&mut self, doc: Doc) -> Result<(), ConfigErrors> {
        let parsed = match toml_edit::Document::parse(doc.text().to_string()) {
            Ok(p) => p,
            Err(e) => {
                // The parser's message names no key ("duplicate key", "integer number
                // overflowed"): the line it stopped on does.
                let text = doc.text();
                let mut at = e.span().map_or(0, |r| r.start.min(text.len()));
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line = text[start..].lines().next().unwrap_or("").trim();
                // The key, not its value: the value may be a secret (a password, a token)
                // that this message would put in the logs.
                let line = match line.split_once('=') {
                    Some((key, _)) => format!("{} = ...", key.trim()),
                    None => line.to_string(),
                };
                let shown: String = line.chars().filter(|c| !c.is_control()).take(80).collect();
                let cut = if line.chars().count() > 80 { "..." } else { "" };
                let message = e.message().trim_end_matches('\n');
                doc.error_at(e.span(), "", format!("not valid TOML: {message} (in `{shown}{cut}`)"));
                return doc.into_result();
            }
        };
        let root = Section::root(&doc, parsed.as_table());
        if root.is_complete() {
            for name in SECTIONS.iter().filter(|s| !root.has(s)) {
                root.error(name, "missing: every section has its defaults in config/default.toml");
            }
        }
        let read = |name: &str, f: &mut dyn FnMut(&Section)| {
            if let Some(s) = root.table(name) {
                f(&s);
                s.finish();
            }
        };
        read("input", &mut |s| self.input.read(s));
        read("justification", &mut |s| self.explanation.read_justification(s));
        read("explanation", &mut |s| self.explanation.read(s));
        read("rules", &mut |s| self.rules.read(s));
        // Rostered shifts are read in one zone, the out-of-hours detector's.
        self.explanation.timezone = self.rules.behaviour.timezone;
        read("kafka", &mut |s| self.kafka.read(s));
        read("http", &mut |s| self.http.read(s));
        read("live", &mut |s| self.live.read(s));
        read("state", &mut |s| self.state.read(s, &mut self.rules.behaviour.idle_after));
        self.rules.behaviour.allowed_lateness = self.state.allowed_lateness;
        read("archive", &mut |s| self.archive.read(s));
        read("dashboard", &mut |s| self.dashboard.read(s));
        read("risk", &mut |s| self.risk.read(s));
        read("logging", &mut |s| self.logging.read(s));
        if let Some(sources) = root.table("sources") {
            for name in sources.keys() {
                if let Some(s) = sources.table(&name) {
                    if let Some(mapping) = sources::read_source(&name, &s) {
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
        drop(root);
        doc.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{RuleId, Severity};
    use crate::event::mapping::SourceFormat;
    use crate::time::Span;
    use crate::watchlist::Relationship;

    /// A file that cannot be read is named without a line (there is none to name).
    #[test]
    fn an_unreadable_file_is_named_without_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = Config::load(dir.path()).unwrap_err().to_string();
        assert!(text.starts_with(&format!("{}: cannot read:", dir.path().display())), "{text}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[rules]\nfoo = \n").unwrap();
        let text = Config::load(&bad).unwrap_err().to_string();
        assert!(text.starts_with(&format!("{}:2: ", bad.display())), "{text}");
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::defaults();
        assert_eq!(c.rules.settings(RuleId::HighProfileUninvolved).severity, Severity::Red);
        assert_eq!(c.rules.high_profile_lookback, Span::days(30));
        assert_eq!(c.rules.associate_severity.get(&Relationship::Journalist), Some(&Severity::Red));
    }

    /// A logging level that is a valid filter for nothing (`warning`: the services
    /// then logged nothing at all) is a fault naming the key.
    #[test]
    fn a_logging_level_that_names_no_level_is_a_fault() {
        for bad in ["warning", "info,accesswatch=verbose", "=info"] {
            let text = format!("[logging]\nlevel = {bad:?}\n");
            let errs = Config::from_toml("a.toml", &text).unwrap_err().to_string();
            assert!(errs.contains("a.toml:2") && errs.contains("logging.level"), "{bad}: {errs}");
        }
        for good in ["warn", "INFO", "info,accesswatch=debug", "off", "accesswatch", "accesswatch::live=2"] {
            let c = Config::from_toml("a.toml", &format!("[logging]\nlevel = {good:?}\n")).unwrap();
            assert_eq!(c.logging.level, good);
        }
    }

    /// Values Kafka or the reader would refuse only later (a topic name it rejects,
    /// one topic for two roles, a CSV delimiter that quotes or ends records), values
    /// that would quietly switch an enabled rule off (an empty list of what it judges,
    /// state forgotten within the hour, a system name no event can carry), two
    /// routines of one name, and a TOML fault whose message names no key: each is a
    /// fault at start, naming the key or the line's text.
    #[test]
    fn values_that_would_fail_later_are_faults_now() {
        let faults = [
            ("[kafka]\nevents_topic = \"\"\n", "kafka.events_topic"),
            ("[kafka]\nalerts_topic = \"alerts topic\"\n", "kafka.alerts_topic"),
            ("[kafka]\nalerts_topic = \"access-events\"\n", "kafka.alerts_topic"),
            ("[kafka]\nwatchlist_topic_prefix = \"watch/\"\n", "kafka.watchlist_topic_prefix"),
            ("[sources.x]\nformat = \"csv\"\ndelimiter = \"\\\"\"\n", "sources.x.delimiter"),
            ("[sources.x]\nformat = \"csv\"\ndelimiter = \"\\n\"\n", "sources.x.delimiter"),
            (
                "[[explanation.routines]]\nname = \"Briefing\"\nunits = [\"A\"]\n\
                 [[explanation.routines]]\nname = \"briefing\"\nunits = [\"B\"]\n",
                "explanation.routines",
            ),
            ("[rules.account.status]\nstatuses = []\n", "rules.account.status.statuses"),
            ("[rules.purpose.missing]\nsubject_types = []\n", "rules.purpose.missing.subject_types"),
            ("[state]\nidle_after = \"0s\"\n", "state.idle_after"),
            ("[archive]\nretention = \"23h\"\n", "archive.retention"),
            ("[dashboard]\nlogin_lockout = \"0s\"\n", "dashboard.login_lockout"),
            ("[dashboard]\ntrusted_proxies = [\"0.0.0.0/0\"]\n", "dashboard.trusted_proxies"),
            ("[explanation]\ncustody_work_systems = [\"P N C\"]\n", "explanation.custody_work_systems"),
            (
                "[rules.scope.unentitled.roles.PCSO]\nsystems = [\"P N C\"]\n",
                "rules.scope.unentitled.roles.PCSO.systems",
            ),
            (
                "[input]\nmax_record_bytes = 1\nmax_record_bytes = 2\n",
                "a.toml:3: not valid TOML: duplicate key (in `max_record_bytes = ...`)",
            ),
            (
                "[input]\nmax_record_bytes = 99999999999999999999\n",
                "a.toml:2: not valid TOML: integer number overflowed (in `max_record_bytes = ...`)",
            ),
        ];
        for (text, named) in faults {
            let errs = Config::from_toml("a.toml", text).unwrap_err().to_string();
            assert!(errs.contains(named), "{text}: {errs}");
        }
        // The line's key is named, not its value, which may be a secret (a review).
        let errs = Config::from_toml("a.toml", "[kafka.properties]\n\"sasl.password\" = \"Sup3rS3cret!\n").unwrap_err();
        assert!(errs.to_string().contains("\"sasl.password\" = ...") && !errs.to_string().contains("Sup3r"), "{errs}");
        // A rule switched off may keep an empty list.
        Config::from_toml("a.toml", "[rules.account.status]\nenabled = false\nstatuses = []\n").unwrap();
        let ok =
            "[kafka]\nsubjects_topic = \"\"\nstate_topic = \"\"\n[sources.x]\nformat = \"csv\"\ndelimiter = \"|\"\n";
        let ok = format!("{ok}[sources.x.fields]\n");
        // Only the fields' own faults (none mapped): not the delimiter, not the topics.
        let errs = Config::from_toml("a.toml", &ok).unwrap_err().to_string();
        assert!(!errs.contains("delimiter") && !errs.contains("topic"), "{errs}");
    }

    #[test]
    fn defaults_give_every_key() {
        // Read as a complete document, the defaults fail on any key a reader asks for
        // that config/default.toml does not give; so every default is written there.
        let mut c = Config::default();
        c.overlay(Doc::complete("config/default.toml", DEFAULT_TOML)).unwrap();
        let without = DEFAULT_TOML.replace("zstd_level = 1\n", "");
        let errs = Config::default().overlay(Doc::complete("d.toml", &without)).unwrap_err().to_string();
        assert!(errs.contains("archive.zstd_level: missing"), "{errs}");
        let without = DEFAULT_TOML.replace("[rules.self.lookup]", "[rules.self.lookup_x]");
        let errs = Config::default().overlay(Doc::complete("d.toml", &without)).unwrap_err().to_string();
        assert!(errs.contains("self.lookup: missing"), "{errs}");
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

    /// A detector's window or a half-life of zero would switch it off without a word.
    #[test]
    fn a_window_or_half_life_of_zero_is_an_error() {
        let text = "[rules.behaviour.volume]\nwindow = \"0s\"\n\n[risk]\nhalf_life = \"0s\"\n";
        let errs = Config::from_toml("z.toml", text).unwrap_err();
        let lines: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert!(lines.iter().any(|l| l.starts_with("z.toml:2: rules.behaviour.volume.window: must be more than 0s")));
        assert!(lines.iter().any(|l| l.starts_with("z.toml:5: risk.half_life: must be more than 0s")), "{lines:?}");
        assert!(Config::from_toml("z.toml", "[rules.behaviour.volume]\nwindow = \"30m\"\n").is_ok());
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
        // A mapping that could never give a valid event is refused where it is written:
        // before, every record it read was a dead letter, or read wrongly.
        let clean = text.replace("colour = \"x\"\n", "");
        for (from, to, key) in [
            ("%d/%m/%Y %H:%M:%S\"", "%d/%m/%Q\"", "fields.ts.format"),
            ("%d/%m/%Y %H:%M:%S\"", "%Y\"", "fields.ts.format"),
            (", timezone = \"Europe/London\"", "", "fields.ts.timezone"),
            ("{ value = \"RMS\" }", "{ value = \"R M S\" }", "fields.system.value"),
            ("DSP = \"view\"", "DSP = \"veiw\"", "values.DSP"),
            ("DSP = \"view\"", "qry = \"export\"", "values.qry"),
            ("{ value = \"person\" }", "{ from = \"T\", default = \"persn\" }", "subject_type.default"),
            ("{ value = \"person\" }", "{ value = \" \" }", "subject_type.value"),
            ("%d/%m/%Y %H:%M:%S\"", "%d/%m/%Y %H:%M:%S %Z\"", "fields.ts.format"),
            // A zone beside RFC 3339 times is never used (a probe: every local time
            // without an offset went to dead letters).
            (", format = \"%d/%m/%Y %H:%M:%S\"", "", "fields.ts.timezone"),
            ("{ value = \"RMS\" }", "{ value = \"RMS\", strip_domain = true }", "fields.system.strip_domain"),
        ] {
            let errs = Config::from_toml("s.toml", &clean.replace(from, to)).unwrap_err().to_string();
            assert!(errs.contains(key), "{to}: {errs}");
        }
        // A constant translated by `values` is read as translated; an offset in the
        // pattern places each value, and needs no `timezone`.
        let translated = clean.replace("{ value = \"person\" }", "{ value = \"P\", values = { P = \"person\" } }");
        assert!(Config::from_toml("s.toml", &translated).is_ok());
        let offset = clean.replace("%d/%m/%Y %H:%M:%S\", timezone = \"Europe/London\"", "%d/%m/%Y %H:%M:%S %z\"");
        assert!(Config::from_toml("s.toml", &offset).is_ok(), "{:?}", Config::from_toml("s.toml", &offset).err());
        let dob = clean
            .replace("colour", "x")
            .replace("user_id = \"User\"", "user_id = \"User\"\nsubject_dob = { from = \"DOB\", format = \"%H:%M\" }");
        let errs = Config::from_toml("s.toml", &dob).unwrap_err().to_string();
        assert!(errs.contains("subject_dob.format") && errs.contains("does not hold a date"), "{errs}");
    }
}
