//! The analyst's questions of the archive: `query`, `who-accessed`, `user-activity`
//! and `leak-trace`.

use super::args::{load_config, load_watchlists, parse_span, parse_time, OutputArgs, RangeArgs, SubjectArgs};
use crate::archive::Check;
use crate::hunt::{output, write_batches, Hunt};
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
    a.output.outside(&a.archive, a.watchlists.as_deref())?;
    use crate::hunt::HuntError;
    let hunt = Hunt::open_written(&a.archive, a.watchlists.as_deref())?;
    let result = hunt.sql(&a.sql);
    // DataFusion passes over some files it cannot read (an empty one) and names none it
    // stops on: every file of the archive whose footer cannot be read is named, and an
    // answer without them exits 3, as a look-up's does. A query that failed reading
    // may have met a damaged page, whose footer reads: then every page of every file is
    // read to name it (slow on a large archive, and only on that failure).
    let check = match &result {
        Ok(_) | Err(HuntError::Stopped(_)) => Some(Check::Footer),
        Err(HuntError::Query(e)) if failed_reading(e) => Some(Check::Pages),
        Err(_) => None,
    };
    let damaged = match check {
        Some(check) => crate::archive::damaged_files(&a.archive, check)?,
        None => Vec::new(),
    };
    let named: Vec<String> = damaged.iter().map(|(f, why)| shown(&format!("{}: {why}", f.display()))).collect();
    // A file that reads but is not the archive's (a query's answer copied in among
    // the events) would be counted in the answer: no answer is given.
    let foreign: Vec<&String> =
        named.iter().zip(&damaged).filter(|(_, (_, why))| crate::archive::is_foreign(why)).map(|(n, _)| n).collect();
    if !foreign.is_empty() {
        let listed: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
        eprintln!(
            "error: the archive holds files that are not its own, which the query would count (move them aside):\n  {}",
            listed.join("\n  ")
        );
        return Ok(ExitCode::from(3));
    }
    match result {
        Err(e) if !named.is_empty() => {
            anyhow::bail!(
                "{e}\nthe archive holds files that cannot be read (move them aside):\n  {}",
                named.join("\n  ")
            )
        }
        Err(e) => Err(e.into()),
        Ok(rows) => {
            write_batches(&rows, a.output.format, a.output.out.as_deref())?;
            for file in &named {
                eprintln!("warning: {file} (this file cannot be read and is left out of this answer)");
            }
            match named.is_empty() {
                true => Ok(ExitCode::SUCCESS),
                false => {
                    eprintln!("warning: the answer above is incomplete: {} archive file(s) left out", named.len());
                    Ok(ExitCode::from(3))
                }
            }
        }
    }
}

/// Whether a query failed reading the archive's files rather than on its SQL.
fn failed_reading(e: &datafusion::error::DataFusionError) -> bool {
    use arrow::error::ArrowError as A;
    use datafusion::error::DataFusionError as E;
    match e.find_root() {
        E::ParquetError(_) | E::IoError(_) | E::External(_) => true,
        E::ArrowError(a, _) => matches!(**a, A::ParquetError(_) | A::IoError(..) | A::ExternalError(_)),
        _ => e.to_string().contains("Parquet error"),
    }
}

/// Text for the terminal: a file name or an error may hold control characters.
fn shown(text: &str) -> String {
    crate::hunt::output::escape_controls(text)
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
    a.output.outside(&a.archive, a.watchlists.as_deref())?;
    let hunt = Hunt::open_written(&a.archive, None)?;
    let as_of = a.as_of.as_deref().map(|t| parse_time("--as-of", t)).transpose()?;
    let lists = a.watchlists.as_deref().map(load_watchlists).transpose()?;
    let mut subject = a.subject.subject()?;
    if let Some(lists) = &lists {
        subject.add_custody_records(lists);
    }
    let mut found = hunt.who_accessed(&subject, &a.range.range()?)?;
    if let Some(t) = as_of {
        found.retain(|x| crate::hunt::received_by(&x.stored, t));
    }
    if let Some(lists) = &lists {
        let t = as_of.unwrap_or_else(crate::time::Timestamp::now);
        let config = crate::config::Config::defaults().explanation;
        for x in &mut found {
            x.flagged = Some(crate::hunt::flagged_as_of(lists, &x.stored.event, t, &config));
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
    a.output.outside(&a.archive, None)?;
    let hunt = Hunt::open_written(&a.archive, None)?;
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
    /// Watch lists, for the justification test (incidents) and staff names; without
    /// them, each access is judged as the engine judged it when it archived it.
    #[arg(long)]
    watchlists: Option<PathBuf>,
    /// Configuration (justification settings); default: the built-in defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn leak_trace(a: LeakTraceArgs) -> Result<ExitCode> {
    a.output.outside(&a.archive, a.watchlists.as_deref())?;
    let config = load_config(a.config.as_deref())?;
    let lists = a.watchlists.as_deref().map(load_watchlists).transpose()?;
    if lists.is_none() {
        eprintln!(
            "note: without --watchlists, each access is justified or not as the engine found when it archived it"
        );
    }
    let published = parse_time("--published", &a.published)?;
    let window = parse_span("--window", &a.window)?;
    let hunt = Hunt::open_written(&a.archive, None)?;
    let mut subject = a.subject.subject()?;
    if let Some(lists) = &lists {
        subject.add_custody_records(lists);
    }
    let suspects =
        crate::hunt::leak::leak_trace(&hunt, &subject, published, window, lists.as_ref(), &config.explanation)?;
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
        let file = shown(&file.display().to_string());
        eprintln!("warning: {file} could not be read and is left out of this answer: {}", shown(why));
    }
    match unread.is_empty() {
        true => ExitCode::SUCCESS,
        false => {
            eprintln!("warning: the answer above is incomplete: {} archive file(s) left out", unread.len());
            ExitCode::from(3)
        }
    }
}
