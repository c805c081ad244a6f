//! The analyst's questions of the archive: `query`, `who-accessed`, `user-activity`
//! and `leak-trace`.

use super::args::{load_config, load_watchlists, parse_span, parse_time, OutputArgs, RangeArgs, SubjectArgs};
use crate::hunt::{output, write_batches, Hunt};
use crate::watchlist::WatchLists;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run SQL over the archive: tables `events`, `alerts` and, with --watchlists, the
/// watch lists (docs/archive.md has the columns).
#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    #[arg(long)]
    archive: PathBuf,
    /// Watch-list directory to query as tables (custody, high_profile, staff, ...).
    #[arg(long)]
    watchlists: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    /// One SQL statement, e.g. "SELECT user_id, count(*) FROM events GROUP BY user_id".
    sql: String,
}

pub fn query(a: QueryArgs) -> Result<ExitCode> {
    use crate::hunt::HuntError;
    let hunt = Hunt::open(&a.archive, a.watchlists.as_deref())?;
    let on_a_file = |e: &HuntError| match e {
        HuntError::Stopped(_) => true,
        HuntError::Query(_) => e.to_string().contains("Parquet error"),
        _ => false,
    };
    let rows = match hunt.sql(&a.sql) {
        Ok(rows) => rows,
        Err(e) if on_a_file(&e) => {
            // DataFusion's error names no file: name the damaged ones, if that is why.
            let damaged = crate::archive::damaged_files(&a.archive).unwrap_or_default();
            let list: Vec<String> = damaged.iter().map(|(f, why)| format!("\n  {}: {why}", f.display())).collect();
            match list.is_empty() {
                true => return Err(e.into()),
                false => anyhow::bail!(
                    "{e}\nthe archive holds files that cannot be read (move them aside):{}",
                    list.concat()
                ),
            }
        }
        Err(e) => return Err(e.into()),
    };
    write_batches(&rows, a.output.format, a.output.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Everyone who accessed a subject (by record id, name and date of birth, VRM or
/// postcode, normalised as the rules normalise them) between two times, with what
/// explained each access when the engine archived it.
#[derive(clap::Args, Debug)]
pub struct WhoAccessedArgs {
    #[arg(long)]
    archive: PathBuf,
    #[command(flatten)]
    subject: SubjectArgs,
    #[command(flatten)]
    range: RangeArgs,
    /// Answer with what was known at this time (RFC 3339 or a date): only accesses
    /// received by then, and (with --watchlists) the watch-list rows recorded by then.
    #[arg(long)]
    as_of: Option<String>,
    /// Watch lists: add `flagged_as_of`, the rows that held the subject at the time of
    /// each access and had been recorded by the --as-of time (default: now).
    #[arg(long)]
    watchlists: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn who_accessed(a: WhoAccessedArgs) -> Result<ExitCode> {
    let hunt = Hunt::open(&a.archive, None)?;
    let as_of = a.as_of.as_deref().map(|t| parse_time("--as-of", t)).transpose()?;
    let mut found = hunt.who_accessed(&a.subject.subject()?, &a.range.range()?)?;
    if let Some(t) = as_of {
        found.retain(|x| crate::hunt::received_by(&x.stored, t));
    }
    if let Some(dir) = &a.watchlists {
        let lists = load_watchlists(dir)?;
        let t = as_of.unwrap_or_else(crate::time::Timestamp::now);
        for x in &mut found {
            x.flagged = Some(crate::hunt::flagged_as_of(&lists, &x.stored.event, t));
        }
    }
    let batch = output::access_batch(found.iter().map(|a| (&a.stored, Some(a))));
    write_batches(&[batch], a.output.format, a.output.out.as_deref())?;
    Ok(answered(&hunt))
}

/// Everything one user accessed between two times.
#[derive(clap::Args, Debug)]
pub struct UserActivityArgs {
    #[arg(long)]
    archive: PathBuf,
    #[arg(long)]
    user: String,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn user_activity(a: UserActivityArgs) -> Result<ExitCode> {
    let hunt = Hunt::open(&a.archive, None)?;
    let found = hunt.user_activity(&a.user, &a.range.range()?)?;
    let batch = output::access_batch(found.iter().map(|e| (e, None)));
    write_batches(&[batch], a.output.format, a.output.out.as_deref())?;
    Ok(answered(&hunt))
}

/// Everyone who accessed a subject in the window before a story was published,
/// ranked: unjustified accesses first, then the closest to publication, then the
/// users with the most other alerts.
#[derive(clap::Args, Debug)]
pub struct LeakTraceArgs {
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
}

pub fn leak_trace(a: LeakTraceArgs) -> Result<ExitCode> {
    let config = load_config(a.config.as_deref())?;
    let lists = match &a.watchlists {
        Some(dir) => load_watchlists(dir)?,
        None => WatchLists::default(),
    };
    let published = parse_time("--published", &a.published)?;
    let window = parse_span("--window", &a.window)?;
    let hunt = Hunt::open(&a.archive, None)?;
    let subject = a.subject.subject()?;
    let suspects = crate::hunt::leak::leak_trace(&hunt, &subject, published, window, &lists, &config.explanation)?;
    let batch = crate::hunt::leak::suspects_batch(&suspects);
    write_batches(&[batch], a.output.format, a.output.out.as_deref())?;
    Ok(answered(&hunt))
}

/// The exit status of a look-up that has printed its answer: 0, or 3 when archive files
/// it could not read (a stray or damaged `.parquet` file) were left out of it, each
/// named on standard error.
pub fn answered(hunt: &Hunt) -> ExitCode {
    let unread = hunt.unread();
    for (file, why) in &unread {
        eprintln!("warning: {} could not be read and is left out of this answer: {why}", file.display());
    }
    match unread.is_empty() {
        true => ExitCode::SUCCESS,
        false => {
            eprintln!("warning: the answer above is incomplete: {} archive file(s) left out", unread.len());
            ExitCode::from(3)
        }
    }
}
