//! The command line: one file per command (or group of commands), each with its
//! arguments and a `run` that loads what it needs and calls the library. `anyhow` is
//! used here and nowhere below: the library's errors are typed.
//!
//! | command | file |
//! |---|---|
//! | `run` | [`run`] |
//! | `demo` | [`demo`] |
//! | `replay` | [`replay`] |
//! | `backtest` | [`backtest`] |
//! | `query`, `who-accessed`, `user-activity`, `leak-trace` | [`hunt`] |
//! | `retrospective` | [`retrospective`] |
//! | `evidence` | [`evidence`] |
//! | `archive prune`, `archive index`, `archive compact` | [`archive`] |
//! | `generate`, `evaluate` | [`generate`] |
//! | `risk` | [`risk`] |
//! | `publish-watchlists`, `feed` | [`kafka`] |
//! | `dashboard`, `hash-password`, `report`, `audit verify` | [`dashboard`] |
//! | `check-config`, `health` | [`check`] |

pub mod archive;
pub mod args;
pub mod backtest;
pub mod check;
pub mod dashboard;
pub mod demo;
pub mod evidence;
pub mod generate;
pub mod hunt;
pub mod kafka;
pub mod replay;
pub mod retrospective;
pub mod risk;
pub mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// accesswatch: alerts on police system look-ups made without a policing purpose.
#[derive(Parser, Debug)]
#[command(name = "accesswatch", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Run(run::Args),
    Demo(demo::Args),
    Dashboard(dashboard::DashboardArgs),
    HashPassword(dashboard::HashPasswordArgs),
    Report(dashboard::ReportArgs),
    Audit(dashboard::AuditArgs),
    Replay(replay::Args),
    Query(hunt::QueryArgs),
    WhoAccessed(hunt::WhoAccessedArgs),
    UserActivity(hunt::UserActivityArgs),
    LeakTrace(hunt::LeakTraceArgs),
    Retrospective(retrospective::Args),
    Evidence(evidence::Args),
    /// Look after the archive: delete old dates, write key indexes, merge small files.
    Archive {
        #[command(subcommand)]
        action: archive::Action,
    },
    Generate(generate::GenerateArgs),
    Backtest(backtest::Args),
    Risk(risk::Args),
    Evaluate(generate::EvaluateArgs),
    PublishWatchlists(kafka::PublishArgs),
    Feed(kafka::FeedArgs),
    Health(check::HealthArgs),
    CheckConfig(check::CheckConfigArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` logs as its configuration says, once it has read it; the rest log warnings.
    if !matches!(cli.command, Command::Run(_) | Command::Dashboard(_)) {
        args::init_tracing(false, "warn");
    }
    // A one-shot command whose output is piped into `head` ends quietly when the pipe
    // closes (Rust ignores SIGPIPE, and a print to a closed pipe panicked: a probe's
    // `check-config | head`). The services write to sockets and keep it ignored.
    let serves = matches!(
        cli.command,
        Command::Run(_)
            | Command::Demo(_)
            | Command::Dashboard(_)
            | Command::Feed(_)
            | Command::PublishWatchlists(_)
            | Command::Health(_)
    );
    #[cfg(unix)]
    if !serves {
        // SAFETY: setting a signal's disposition to the default before any thread of
        // ours is started; no handler is installed.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    #[cfg(not(unix))]
    let _ = serves;
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Dashboard(a) => dashboard::serve(a),
        Command::HashPassword(a) => dashboard::hash_password(a),
        Command::Report(a) => dashboard::report(a),
        Command::Audit(a) => dashboard::audit(a),
        Command::Replay(a) => replay::run(a),
        Command::Query(a) => hunt::query(a),
        Command::WhoAccessed(a) => hunt::who_accessed(a),
        Command::UserActivity(a) => hunt::user_activity(a),
        Command::LeakTrace(a) => hunt::leak_trace(a),
        Command::Retrospective(a) => retrospective::run(a),
        Command::Evidence(a) => evidence::run(a),
        Command::Archive { action } => archive::run(action),
        Command::Generate(a) => generate::generate(a),
        Command::Backtest(a) => backtest::run(a),
        Command::Risk(a) => risk::run(a),
        Command::Evaluate(a) => generate::evaluate(a),
        Command::PublishWatchlists(a) => kafka::publish_watchlists(a),
        Command::Feed(a) => kafka::feed(a),
        Command::Health(a) => check::health(a),
        Command::CheckConfig(a) => check::check_config(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", said(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes, each said once: most of our errors already say their
/// cause (`path: No such file or directory`), so a cause the message ends with is not
/// said again (`{:#}` printed `alerts.jsonl: No such file or directory (os error 2): No
/// such file or directory (os error 2)`).
pub fn said(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if out.is_empty() {
            out = cause;
        } else if !out.ends_with(&cause) {
            out = format!("{out}: {cause}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(crate::replay::ReplayError::Io { path: "out/alerts.jsonl".into(), source: io })
            .context("replay failed");
        assert_eq!(super::said(&e), "replay failed: out/alerts.jsonl: No such file or directory (os error 2)");
        assert_eq!(super::said(&anyhow::anyhow!("inner").context("outer")), "outer: inner");
    }
}
