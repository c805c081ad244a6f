//! The command line: parses arguments, loads configuration and watch lists, and calls
//! the library. Each subcommand is a short function; the work lives in the modules.

use crate::config::Config;
use crate::replay::{replay, ReplayOptions};
use crate::watchlist::{load_dir, WatchLists};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// accesswatch: alerts on police system look-ups made without a policing purpose.
#[derive(Parser, Debug)]
#[command(name = "accesswatch", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the live engine on Kafka (consumer group, alerts, dead letters, live watch
    /// lists, metrics) until SIGINT or SIGTERM.
    Run {
        /// Configuration file, read over the built-in defaults.
        #[arg(long)]
        config: PathBuf,
    },
    /// The live engine against an in-process Kafka fed with a synthetic force: no
    /// outside service needed.
    Demo {
        /// Events per second fed to Kafka (0: as fast as possible).
        #[arg(long, default_value_t = 5000)]
        rate: u32,
        #[arg(long, default_value_t = 400)]
        staff: u32,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to serve metrics and health.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: String,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
        /// Password of the dashboard's demo accounts (default: a random one, printed).
        #[arg(long)]
        dashboard_password: Option<String>,
    },
    /// Print the argon2 hash of a password read from standard input, for a dashboard
    /// account's `password` in the configuration.
    HashPassword,
    /// Write the daily briefing (red alerts, users newly at high risk, retrospective
    /// hits, open triage) from the dashboard's database as a printable HTML page.
    Report {
        /// Configuration holding [dashboard] db.
        #[arg(long)]
        config: PathBuf,
        /// How far back: e.g. 24h, 3d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replay access-log files through the rules and write the alerts.
    Replay {
        /// Directory of watch-list files (custody.csv, high_profile.csv, ...).
        #[arg(long)]
        watchlists: PathBuf,
        /// Where to write the alerts (JSON Lines).
        #[arg(long)]
        alerts: PathBuf,
        /// Configuration file, read over the built-in defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A source mapping from the configuration, for inputs not in the canonical format.
        #[arg(long)]
        source: Option<String>,
        /// Where to write unreadable records (default: beside the alerts).
        #[arg(long)]
        dead_letters: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Only events at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Only events before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Also write every event and final alert to this archive directory.
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Event files: .jsonl or .csv (optionally .gz), merged in event-time order; or
        /// one archive directory, read day by day.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run SQL over the archive: tables `events`, `alerts` and, with --watchlists, the
    /// watch lists (docs/archive.md has the columns).
    Query {
        #[arg(long)]
        archive: PathBuf,
        /// Watch-list directory to query as tables (custody, high_profile, staff, ...).
        #[arg(long)]
        watchlists: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
        /// One SQL statement, e.g. "SELECT user_id, count(*) FROM events GROUP BY user_id".
        sql: String,
    },
    /// Everyone who accessed a subject (by record id, name and date of birth, VRM or
    /// postcode, normalised as the rules normalise them) between two times.
    WhoAccessed {
        #[arg(long)]
        archive: PathBuf,
        #[command(flatten)]
        subject: SubjectArgs,
        #[command(flatten)]
        range: RangeArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Everything one user accessed between two times.
    UserActivity {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        user: String,
        #[command(flatten)]
        range: RangeArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Everyone who accessed a subject in the window before a story was published,
    /// ranked: unjustified accesses first, then the closest to publication, then the
    /// users with the most other alerts.
    LeakTrace {
        #[arg(long)]
        archive: PathBuf,
        #[command(flatten)]
        subject: SubjectArgs,
        /// When the story appeared (RFC 3339).
        #[arg(long)]
        published: String,
        /// How far back before publication to look.
        #[arg(long, default_value = "30d")]
        window: String,
        /// Watch lists, for the justification test (incidents) and staff names.
        #[arg(long)]
        watchlists: Option<PathBuf>,
        /// Configuration (justification settings); default: the built-in defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Raise the alerts that high-profile entries and operation subjects in the watch
    /// lists would have raised over the archived accesses their look-back covers, less
    /// those already raised; the new alerts are written to --alerts and archived.
    Retrospective {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        watchlists: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where to write the new alerts (JSON Lines).
        #[arg(long)]
        alerts: PathBuf,
        /// Only these entries (high_profile entry_id, or operations row key); default: all.
        #[arg(long)]
        entry: Vec<String>,
    },
    /// Write an evidence bundle for one alert: the alert, its events, the watch-list
    /// rows and the configuration, with SHA-256 of each file and of the bundle.
    Evidence {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        alert: String,
        /// Bundle directory (created; must be empty).
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        watchlists: Option<PathBuf>,
        /// The configuration in force when the alert was raised.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Look after the archive: delete old dates, merge small files.
    Archive {
        #[command(subcommand)]
        action: ArchiveAction,
    },
    /// Write a synthetic force: events, watch lists, labelled misuse, config.
    Generate {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 14)]
        days: u32,
        #[arg(long, default_value_t = 1200)]
        staff: u32,
        #[arg(long, default_value_t = 40000)]
        citizens: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long, default_value = "2026-11-01")]
        start: String,
        /// Scenarios to inject (comma-separated); all by default.
        #[arg(long, value_delimiter = ',')]
        scenarios: Vec<String>,
        /// Write the events into this archive directory instead of events.jsonl.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Replay history under a candidate configuration and a baseline, and print per
    /// rule the alerts added, removed and re-graded, with examples.
    Backtest {
        /// The configuration being considered.
        #[arg(long)]
        config: PathBuf,
        /// The configuration in force (default: the built-in defaults).
        #[arg(long)]
        baseline: Option<PathBuf>,
        #[arg(long)]
        watchlists: PathBuf,
        /// Event files, as for replay.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rank users by risk (their alerts' scores, halving every risk.half_life) from an
    /// alert stream, with the alerts behind each score.
    Risk {
        /// Alerts (JSON Lines, as replay and the live engine's alerts_file write them).
        #[arg(long)]
        alerts: PathBuf,
        /// For risk.half_life (default: the built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// How many users to show.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Score as at this time (RFC 3339; default: the newest alert).
        #[arg(long)]
        at: Option<String>,
    },
    /// Score alerts against a generated force's labels: recall per scenario, false
    /// alerts per rule.
    Evaluate {
        #[arg(long)]
        labels: PathBuf,
        #[arg(long)]
        alerts: PathBuf,
        /// The events replayed (to count them); default: events.jsonl (or .gz) beside the labels.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Publish a directory of watch-list CSV files onto the watch-list topics
    /// (`[kafka] watchlist_topic_prefix` + table), keyed by row key.
    PublishWatchlists {
        #[arg(long)]
        config: PathBuf,
        /// Directory of watch-list CSV files.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Feed a generated force onto Kafka (watch-list topics and `access-events`) at a
    /// steady rate, as a source system would: demo traffic for a deployed engine.
    Feed {
        #[arg(long)]
        config: PathBuf,
        /// A directory written by `accesswatch generate`.
        #[arg(long)]
        force: PathBuf,
        /// Events per second (0: as fast as the broker takes them).
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Start again from the first event when the force is done, until stopped.
        #[arg(long)]
        repeat: bool,
    },
    /// Exit 0 if the engine at ADDR answers /healthz with 200 (a container health
    /// check that needs no curl).
    Health {
        /// host:port of the engine's HTTP listener.
        #[arg(long, default_value = "127.0.0.1:9464")]
        addr: String,
        /// Ask /readyz instead.
        #[arg(long)]
        ready: bool,
    },
    /// Check a configuration file (and optionally a watch-list directory) and report
    /// every fault with its file, line and key.
    CheckConfig {
        /// Configuration file; without it the built-in defaults are checked.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also load and check this watch-list directory.
        #[arg(long)]
        watchlists: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ArchiveAction {
    /// Delete every file of the dates older than the retention, logging each.
    Prune {
        #[arg(long)]
        archive: PathBuf,
        /// Age beyond which dates are deleted, e.g. 400d (default: [archive] retention).
        #[arg(long)]
        older_than: Option<String>,
        /// Configuration holding [archive] retention.
        #[arg(long)]
        config: Option<PathBuf>,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the key index of every events file that lacks one or whose index lacks a
    /// look-up column (an archive written by an earlier version), so look-ups skip the
    /// files without the value.
    Index {
        #[arg(long)]
        archive: PathBuf,
    },
    /// Rewrite each past date and system written as several files (a live engine writes
    /// one per flush) as one sorted file, dropping duplicate events.
    Compact {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Output of a hunt.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::hunt::OutputFormat,
    /// Write to this file instead of standard output (needed for parquet).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A subject as the analyst knows it; at least one of these.
#[derive(clap::Args, Debug)]
pub struct SubjectArgs {
    /// Record id in the source system (a PNC ID for a person on PNC).
    #[arg(long)]
    pub subject: Option<String>,
    /// Name in any written form: "SMITH, John", "John Smith", "smith/john".
    #[arg(long)]
    pub name: Option<String>,
    /// Date of birth, YYYY-MM-DD (with --name).
    #[arg(long)]
    pub dob: Option<String>,
    /// Vehicle registration mark, any case or spacing.
    #[arg(long)]
    pub vrm: Option<String>,
    /// Postcode, any case or spacing.
    #[arg(long)]
    pub postcode: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Result<crate::hunt::Subject> {
        Ok(crate::hunt::Subject::parse(
            self.subject.as_deref(),
            self.name.as_deref(),
            self.dob.as_deref(),
            self.vrm.as_deref(),
            self.postcode.as_deref(),
        )?)
    }
}

/// A time range; either end may be left open.
#[derive(clap::Args, Debug)]
pub struct RangeArgs {
    /// From this time (RFC 3339, or a date YYYY-MM-DD for its midnight UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Up to (not including) this time.
    #[arg(long)]
    pub to: Option<String>,
}

/// A time given on the command line: RFC 3339, or a date for its midnight UTC.
fn parse_time(flag: &str, text: &str) -> Result<crate::time::Timestamp> {
    if let Ok(d) = crate::time::Date::parse(text) {
        return Ok(crate::time::Timestamp(d.0 as i64 * crate::time::DAY));
    }
    crate::time::Timestamp::parse_rfc3339(text).map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))
}

impl RangeArgs {
    fn range(&self) -> Result<crate::hunt::TimeRange> {
        Ok(crate::hunt::TimeRange {
            from: self.from.as_deref().map(|t| parse_time("--from", t)).transpose()?,
            to: self.to.as_deref().map(|t| parse_time("--to", t)).transpose()?,
        })
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run { config } => match Config::load(config) {
            Ok(c) => init_tracing(c.logging.json, &c.logging.level),
            Err(errors) => {
                eprintln!("error: configuration has errors:\n{errors}");
                return ExitCode::FAILURE;
            }
        },
        Command::Demo { .. } => init_tracing(false, "warn"),
        _ => init_tracing(false, "warn"),
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `ACCESSWATCH_LOG` overrides the level (a tracing filter).
fn init_tracing(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACCESSWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Loads the configuration: the file over the defaults, or the defaults.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        None => Ok(Config::defaults()),
        Some(p) => Config::load(p).map_err(|errors| anyhow::anyhow!("configuration has errors:\n{errors}")),
    }
}

/// Loads a watch-list directory, reporting every fault.
pub fn load_watchlists(dir: &Path) -> Result<WatchLists> {
    match load_dir(dir) {
        Ok((lists, report)) => {
            tracing::info!(%report, "watch lists loaded");
            Ok(lists)
        }
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            bail!("watch lists have errors:\n{}", text.join("\n"))
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run { config } => {
            let config = Arc::new(load_config(Some(&config))?);
            let routes = config.clone();
            let service =
                crate::service::Service::start_with(config, move |h| crate::dashboard::with_dashboard(&routes, h))
                    .map_err(anyhow::Error::msg)?;
            let summary = service.join().map_err(anyhow::Error::msg)?;
            eprintln!(
                "stopped after {} events ({} dead letters, {} open alerts restored)",
                summary.events, summary.dead_letters, summary.restored_alerts
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { rate, staff, days, seed, listen, seconds, dashboard_password } => {
            crate::demo::run(crate::demo::DemoOptions {
                rate,
                staff,
                days,
                seed,
                listen,
                max_seconds: seconds,
                dashboard_password,
            })
            .map_err(anyhow::Error::msg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::HashPassword => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("no password on standard input");
            }
            println!("{}", crate::dashboard::auth::hash_password(password));
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { config, since, out } => {
            let config = load_config(Some(&config))?;
            let span = crate::time::Span::parse(&since).map_err(|e| anyhow::anyhow!("--since {since:?}: {e}"))?;
            let hours = (span.0 / crate::time::HOUR).max(1) as u32;
            let store = crate::dashboard::store::Store::open(&config.dashboard.db)
                .with_context(|| format!("dashboard database {}", config.dashboard.db.display()))?;
            let b = crate::dashboard::briefing::Briefing::gather(&store, config.risk.half_life, hours, true)?;
            std::fs::write(&out, b.html()).with_context(|| out.display().to_string())?;
            println!(
                "briefing of the last {hours} hours -> {}: {} red, {} users newly at high risk, {} retrospective, {} open",
                out.display(),
                b.red.len(),
                b.high_risk.len(),
                b.retrospective.len(),
                b.open.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { watchlists, alerts, config, source, dead_letters, quiet, from, to, archive, files } => {
            let config = Arc::new(load_config(config.as_deref())?);
            let lists = load_watchlists(&watchlists)?;
            let opts = ReplayOptions {
                inputs: files,
                source,
                alerts,
                dead_letters,
                progress: !quiet,
                from: from.as_deref().map(|t| parse_time("--from", t)).transpose()?,
                to: to.as_deref().map(|t| parse_time("--to", t)).transpose()?,
                archive,
            };
            let summary = replay(config, lists, &opts).context("replay failed")?;
            eprint!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { out, seed, days, staff, citizens, start, scenarios, archive } => {
            let start = crate::time::Date::parse(&start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
            let scenarios = if scenarios.is_empty() {
                crate::generate::Scenario::ALL.to_vec()
            } else {
                scenarios
                    .iter()
                    .map(|s| {
                        crate::generate::Scenario::parse(s).ok_or_else(|| {
                            let all: Vec<&str> = crate::generate::Scenario::ALL.iter().map(|s| s.name()).collect();
                            anyhow::anyhow!("unknown scenario {s:?}; known: {}", all.join(", "))
                        })
                    })
                    .collect::<Result<_>>()?
            };
            let opts = crate::generate::Options { seed, days, staff, citizens, start, scenarios, archive };
            let summary =
                crate::generate::generate(&opts, &out).with_context(|| format!("generating into {}", out.display()))?;
            eprintln!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backtest { config, baseline, watchlists, files } => {
            let candidate = Arc::new(load_config(Some(&config))?);
            let base = Arc::new(load_config(baseline.as_deref())?);
            let work = std::env::temp_dir().join(format!("accesswatch-backtest-{}", std::process::id()));
            std::fs::create_dir_all(&work)?;
            let base_name = baseline.as_ref().map_or("built-in defaults".into(), |p| p.display().to_string());
            let result = (|| {
                let (old, events) =
                    crate::backtest::run_side("baseline", base, load_watchlists(&watchlists)?, &files, &work)
                        .map_err(anyhow::Error::msg)?;
                let (new, _) =
                    crate::backtest::run_side("candidate", candidate, load_watchlists(&watchlists)?, &files, &work)
                        .map_err(anyhow::Error::msg)?;
                let old = crate::backtest::Side { name: base_name, ..old };
                let new = crate::backtest::Side { name: config.display().to_string(), ..new };
                print!("{}", crate::backtest::compare(events, &old, &new));
                Ok::<_, anyhow::Error>(())
            })();
            let _ = std::fs::remove_dir_all(&work);
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Risk { alerts, config, top, at } => {
            let config = load_config(config.as_deref())?;
            let at = at
                .map(|t| crate::time::Timestamp::parse_rfc3339(&t).map_err(|e| anyhow::anyhow!("--at: {e}")))
                .transpose()?;
            let text = std::fs::read_to_string(&alerts).with_context(|| format!("reading {}", alerts.display()))?;
            let mut list = Vec::new();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let a: crate::alert::Alert = serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: not an alert", alerts.display(), i + 1))?;
                list.push(a);
            }
            let ranked = crate::risk::rank(&list, at, config.risk.half_life);
            println!(
                "{} users with alerts; risk halves every {}; top {}:\n",
                ranked.len(),
                config.risk.half_life.human(),
                top.min(ranked.len())
            );
            for u in ranked.iter().take(top) {
                print!("{u}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { labels, alerts, events } => {
            let events = events.unwrap_or_else(|| {
                let plain = labels.with_file_name("events.jsonl");
                let gz = labels.with_file_name("events.jsonl.gz");
                if !plain.exists() && gz.exists() {
                    gz
                } else {
                    plain
                }
            });
            let eval = crate::evaluate::evaluate_files(&labels, &alerts, &events)?;
            println!("{eval}");
            Ok(ExitCode::SUCCESS)
        }
        Command::PublishWatchlists { config, dir } => {
            let config = load_config(Some(&config))?;
            // Check the rows first: nothing is published from a directory with faults.
            load_watchlists(&dir)?;
            let n = crate::live::lists::publish_dir(&config.kafka, &dir).map_err(anyhow::Error::msg)?;
            println!("published {n} rows to {}*", config.kafka.watchlist_topic_prefix);
            Ok(ExitCode::SUCCESS)
        }
        Command::Feed { config, force, rate, repeat } => {
            let config = load_config(Some(&config))?;
            let shutdown = crate::live::Shutdown::new();
            crate::service::on_signal(shutdown.clone());
            let fed = std::sync::atomic::AtomicU64::new(0);
            let f = crate::live::feed::Feed {
                force: &force,
                events_topic: &config.kafka.events_topic,
                watchlist_prefix: &config.kafka.watchlist_topic_prefix,
                rate,
                malformed_every: None,
            };
            loop {
                let client = crate::live::kafka::client_config(&config.kafka).map_err(anyhow::Error::msg)?;
                let sent = crate::live::feed::feed(client, &f, &fed, &shutdown).map_err(anyhow::Error::msg)?;
                eprintln!("fed {sent} events from {} to {}", force.display(), config.kafka.events_topic);
                if !repeat || shutdown.is_triggered() {
                    break;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { addr, ready } => {
            let path = if ready { "/readyz" } else { "/healthz" };
            match crate::http::get_status(&addr, path) {
                Ok(200) => Ok(ExitCode::SUCCESS),
                Ok(code) => {
                    eprintln!("{addr}{path} answered {code}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => {
                    eprintln!("{addr}{path}: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Query { archive, watchlists, output, sql } => {
            let hunt = crate::hunt::Hunt::open(&archive, watchlists.as_deref())?;
            let rows = hunt.sql(&sql)?;
            crate::hunt::write_batches(&rows, output.format, output.out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::WhoAccessed { archive, subject, range, output } => {
            let hunt = crate::hunt::Hunt::open(&archive, None)?;
            let found = hunt.who_accessed(&subject.subject()?, &range.range()?)?;
            let batch = crate::hunt::output::access_batch(found.iter().map(|a| (&a.stored, Some(a))));
            crate::hunt::write_batches(&[batch], output.format, output.out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::UserActivity { archive, user, range, output } => {
            let hunt = crate::hunt::Hunt::open(&archive, None)?;
            let found = hunt.user_activity(&user, &range.range()?)?;
            let batch = crate::hunt::output::access_batch(found.iter().map(|e| (e, None)));
            crate::hunt::write_batches(&[batch], output.format, output.out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::LeakTrace { archive, subject, published, window, watchlists, config, output } => {
            let config = load_config(config.as_deref())?;
            let lists = match &watchlists {
                Some(dir) => load_watchlists(dir)?,
                None => WatchLists::default(),
            };
            let published = parse_time("--published", &published)?;
            let window = crate::time::Span::parse(&window).map_err(|e| anyhow::anyhow!("--window {window:?}: {e}"))?;
            let hunt = crate::hunt::Hunt::open(&archive, None)?;
            let suspects = crate::hunt::leak::leak_trace(
                &hunt,
                &subject.subject()?,
                published,
                window,
                &lists,
                &config.justification,
            )?;
            let batch = crate::hunt::leak::suspects_batch(&suspects);
            crate::hunt::write_batches(&[batch], output.format, output.out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Retrospective { archive, watchlists, config, alerts, entry } => {
            let config = Arc::new(load_config(config.as_deref())?);
            let lists = load_watchlists(&watchlists)?;
            let mut entries: Vec<(crate::watchlist::TableName, String)> = Vec::new();
            for (_, key, _) in lists.high_profile.iter() {
                entries.push((crate::watchlist::TableName::HighProfile, key.into()));
            }
            for (_, key, _) in lists.operations.iter() {
                entries.push((crate::watchlist::TableName::Operations, key.into()));
            }
            if !entry.is_empty() {
                let unknown: Vec<&String> = entry.iter().filter(|e| !entries.iter().any(|(_, k)| k == *e)).collect();
                if !unknown.is_empty() {
                    bail!("no high_profile entry or operations row with key {unknown:?} in {}", watchlists.display());
                }
                entries.retain(|(_, k)| entry.contains(k));
            }
            let engine = crate::engine::Engine::new(config.clone(), lists, crate::alert::book::DetectClock::EventTime);
            let hunt = crate::hunt::Hunt::open(&archive, None)?;
            let mut file = crate::sink::AlertFile::create(&alerts).with_context(|| alerts.display().to_string())?;
            let mut writer = crate::archive::AlertWriter::new(&archive, &config.archive);
            let none = std::collections::HashSet::new();
            for (table, key) in &entries {
                let found = crate::retro::scan(&hunt, &engine, *table, key, &none)?;
                if !found.is_empty() {
                    eprintln!("{table} {key}: {} retrospective alerts", found.len());
                }
                for a in found {
                    use crate::alert::AlertSink;
                    writer.append(a.clone());
                    file.closed(a);
                }
            }
            file.finish()?;
            let written = writer.flush()?;
            eprintln!(
                "{} entries checked; {} new alerts -> {} (and archived)",
                entries.len(),
                written.rows,
                alerts.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Evidence { archive, alert, out, watchlists, config } => {
            let config = load_config(config.as_deref())?;
            let hunt = crate::hunt::Hunt::open(&archive, None)?;
            let b = crate::evidence::bundle(&hunt, &alert, watchlists.as_deref(), &config, &out)?;
            for (name, sha) in &b.files {
                println!("{sha}  {name}");
            }
            if !b.missing_events.is_empty() {
                eprintln!("warning: evidence events not in the archive: {}", b.missing_events.join(", "));
            }
            println!("bundle {} ({} events): SHA-256 {}", b.dir.display(), b.events, b.sha256);
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive { action: ArchiveAction::Prune { archive, older_than, config, dry_run } } => {
            let config = load_config(config.as_deref())?;
            let age = match older_than {
                Some(t) => crate::time::Span::parse(&t).map_err(|e| anyhow::anyhow!("--older-than {t:?}: {e}"))?,
                None => config.archive.retention.ok_or_else(|| {
                    anyhow::anyhow!("no retention: give --older-than, or set [archive] retention in --config")
                })?,
            };
            let cutoff = (crate::time::Timestamp::now() - age).date();
            if dry_run {
                let old: Vec<_> = crate::archive::event_dates(&archive)?.into_iter().filter(|d| *d < cutoff).collect();
                println!("would delete {} dates before {cutoff}", old.len());
                return Ok(ExitCode::SUCCESS);
            }
            let report = crate::archive::prune(&archive, cutoff)?;
            for (file, bytes) in report.files.iter().zip(&report.sizes) {
                println!("deleted {} ({bytes} bytes)", file.display());
            }
            println!(
                "deleted {} files ({:.1} MB) of dates before {cutoff} from {}",
                report.files.len(),
                report.bytes as f64 / 1e6,
                archive.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive { action: ArchiveAction::Index { archive } } => {
            let n = crate::archive::index(&archive)?;
            println!("wrote {n} key indexes in {}", archive.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive { action: ArchiveAction::Compact { archive, config } } => {
            let config = load_config(config.as_deref())?;
            let today = crate::time::Timestamp::now().date();
            let report = crate::archive::compact(&archive, &config.archive, today)?;
            println!("compacted into {} files ({} events)", report.files.len(), report.rows);
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config, watchlists } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e:#}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let enabled = crate::detect::RuleId::ALL.iter().filter(|r| cfg.rules.enabled(**r)).count();
            let name = config.as_deref().map_or("built-in defaults".to_string(), |p| p.display().to_string());
            println!("{name}: OK ({enabled} rules enabled, {} source mappings)", cfg.sources.len());
            if let Some(dir) = watchlists {
                match load_dir(&dir) {
                    Ok((_, report)) => println!("{}: OK ({report})", dir.display()),
                    Err(errors) => {
                        for e in errors {
                            eprintln!("{e}");
                        }
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
