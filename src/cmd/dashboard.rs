//! The dashboard's commands: `accesswatch hash-password` for an account's password,
//! and `accesswatch report` for the daily briefing as a page.

use super::args::{load_config, parse_span};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the anti-corruption dashboard as a service of its own, fed by the alert topic:
/// one replica beside any number of engines (`accesswatch run` with the dashboard
/// disabled). Serves the dashboard, `/metrics`, `/healthz` and `/readyz` on
/// `[http] listen` until SIGINT or SIGTERM.
#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// Configuration: [kafka] (the alert topic), [dashboard] (accounts, database), [http].
    #[arg(long)]
    config: PathBuf,
}

pub fn serve(a: DashboardArgs) -> Result<ExitCode> {
    let config = std::sync::Arc::new(load_config(Some(&a.config))?);
    super::args::init_tracing(config.logging.json, &config.logging.level);
    let service = crate::dashboard::serve(config)?;
    eprintln!("dashboard on http://{}/", service.http_addr);
    service.join()?;
    Ok(ExitCode::SUCCESS)
}

/// Print the argon2 hash of a password read from standard input, for a dashboard
/// account's `password` in the configuration.
#[derive(clap::Args, Debug)]
pub struct HashPasswordArgs {}

pub fn hash_password(_: HashPasswordArgs) -> Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    println!("{}", crate::dashboard::auth::hash_password(password));
    Ok(ExitCode::SUCCESS)
}

/// Write the daily briefing (red alerts, users newly at high risk, retrospective
/// hits, open triage) from the dashboard's database as a printable HTML page.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Configuration holding [dashboard] db.
    #[arg(long)]
    config: PathBuf,
    /// How far back: e.g. 24h, 3d.
    #[arg(long, default_value = "24h")]
    since: String,
    /// The HTML file to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn report(a: ReportArgs) -> Result<ExitCode> {
    let config = load_config(Some(&a.config))?;
    let span = parse_span("--since", &a.since)?;
    let hours = (span.0 / crate::time::HOUR).max(1) as u32;
    let store = crate::dashboard::store::Store::open(&config.dashboard.db)
        .with_context(|| format!("dashboard database {}", config.dashboard.db.display()))?;
    // The report is for the ACU's lead: everything, by name.
    let everything = crate::dashboard::scope::Scope { operations: true, ..Default::default() };
    let b = crate::dashboard::briefing::Briefing::from_store(
        &store,
        &everything,
        config.risk.half_life,
        hours,
        &|a| a,
        &|u| u.to_string(),
    )?;
    std::fs::write(&a.out, b.html()).with_context(|| a.out.display().to_string())?;
    println!(
        "briefing of the last {hours} hours -> {}: {} red, {} users newly at high risk, {} retrospective, {} open",
        a.out.display(),
        b.red.len(),
        b.high_risk.len(),
        b.retrospective.len(),
        b.open.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Check the dashboard's audit trail: every row must link to the one before and
/// match its hash. Names the first broken row; prints the head to keep elsewhere.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: AuditAction,
}

#[derive(clap::Subcommand, Debug)]
enum AuditAction {
    /// Verify the chain of the audit trail in [dashboard] db.
    Verify {
        #[arg(long)]
        config: PathBuf,
    },
}

pub fn audit(a: AuditArgs) -> Result<ExitCode> {
    let AuditAction::Verify { config } = a.action;
    let config = load_config(Some(&config))?;
    let db = &config.dashboard.db;
    if !db.exists() {
        bail!("no dashboard database at {}", db.display());
    }
    let store =
        crate::dashboard::store::Store::open(db).with_context(|| format!("dashboard database {}", db.display()))?;
    match store.verify_audit()? {
        crate::dashboard::store::audit::Verdict::Intact { rows, head, unchained } => {
            println!("audit trail intact: {rows} rows chained, head {head}");
            if unchained > 0 {
                println!("({unchained} earlier rows were written before the chain began)");
            }
            Ok(ExitCode::SUCCESS)
        }
        crate::dashboard::store::audit::Verdict::Broken { id, rows_checked, why } => {
            eprintln!("audit trail BROKEN at row {id}: {why} ({rows_checked} rows before it are intact)");
            Ok(ExitCode::FAILURE)
        }
    }
}
