//! What several commands take: the configuration and watch lists, times and ranges,
//! a subject as an analyst knows it, and where a hunt's output goes.

use crate::config::Config;
use crate::time::{Date, Timestamp, DAY};
use crate::watchlist::{load_dir, WatchLists};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Loads the configuration: the file over the defaults, or the defaults.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        None => Ok(Config::defaults()),
        Some(p) => Config::load(p).map_err(|errors| anyhow::anyhow!("configuration has errors:\n{errors}")),
    }
}

/// Loads a watch-list directory, reporting every fault.
pub fn load_watchlists(dir: &Path) -> Result<WatchLists> {
    let (lists, report) = load_dir(dir)?;
    tracing::info!(%report, "watch lists loaded");
    let missing = report.missing();
    if !missing.is_empty() {
        // Not a fault (a force may keep no operations table), but never silent: an
        // unmounted share reads as an empty directory.
        tracing::warn!(
            dir = %dir.display(),
            "no {} table among the watch lists: the rules that read it will not fire",
            missing.join(", ")
        );
    }
    lists.warn_of_shared_units(&mut Default::default());
    Ok(lists)
}

/// A time given on the command line: RFC 3339, or a date for its midnight UTC.
pub fn parse_time(flag: &str, text: &str) -> Result<Timestamp> {
    if let Ok(d) = Date::parse(text) {
        return Ok(Timestamp(d.0 as i64 * DAY));
    }
    Timestamp::parse_rfc3339(text).map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))
}

/// A duration given on the command line: `24h`, `30d`, ...
pub fn parse_span(flag: &str, text: &str) -> Result<crate::time::Span> {
    crate::time::Span::parse(text).map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))
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

impl OutputArgs {
    /// Refuses an `--out` inside the archive or the watch lists the hunt reads.
    pub fn outside(&self, archive: &Path, watchlists: Option<&Path>) -> Result<()> {
        match &self.out {
            Some(out) => outside_inputs("--out", out, archive, watchlists),
            None => Ok(()),
        }
    }
}

/// Refuses an output `path` inside the archive a command reads (the answer would be
/// written among the evidence: a Parquet answer there is read as events, or replaces
/// a file of them) or inside its watch-list directory (a hunt's rows written over
/// `staff.csv` stopped every later load of the lists).
pub fn outside_inputs(flag: &str, path: &Path, archive: &Path, watchlists: Option<&Path>) -> Result<()> {
    if within(path, archive) {
        anyhow::bail!(
            "{flag} {} is inside the archive {}: an answer must not be written among the evidence it was read from; write it elsewhere",
            path.display(),
            archive.display()
        );
    }
    if let Some(lists) = watchlists.filter(|l| within(path, l)) {
        anyhow::bail!(
            "{flag} {} is inside the watch-list directory {}: it would be read as a watch list (or replace one); write it elsewhere",
            path.display(),
            lists.display()
        );
    }
    Ok(())
}

/// Whether `path` (which need not exist yet) is `dir` or lies under it: as written
/// (a date linked to other storage is still the archive's) or with links followed
/// (the archive reached through a link), whichever says so.
pub fn within(path: &Path, dir: &Path) -> bool {
    let lexical = |p: &Path| -> Option<PathBuf> {
        let mut out = PathBuf::new();
        for part in std::path::absolute(p).ok()?.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        Some(out)
    };
    // Links followed from the nearest ancestor that exists.
    let resolved = |p: &Path| -> Option<PathBuf> {
        let (mut at, mut rest) = (lexical(p)?, Vec::new());
        loop {
            if let Ok(real) = at.canonicalize() {
                return Some(rest.iter().rev().fold(real, |path, part| path.join(part)));
            }
            rest.push(at.file_name()?.to_owned());
            at = at.parent()?.to_path_buf();
        }
    };
    let under = |a: Option<PathBuf>, b: Option<PathBuf>| a.zip(b).is_some_and(|(a, b)| a.starts_with(b));
    under(lexical(path), lexical(dir)) || under(resolved(path), resolved(dir))
}

/// Whether `a` and `b` are one file on disk under two names (a hard link: no spelling
/// of the path says so). Both must exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
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
    pub fn subject(&self) -> Result<crate::hunt::Subject> {
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

impl RangeArgs {
    pub fn range(&self) -> Result<crate::hunt::TimeRange> {
        let from = self.from.as_deref().map(|t| parse_time("--from", t)).transpose()?;
        let to = self.to.as_deref().map(|t| parse_time("--to", t)).transpose()?;
        crate::hunt::TimeRange::between(from, to).map_err(|e| anyhow::anyhow!("--from and --to: {e}"))
    }
}

/// Logs to stderr; `ACCESSWATCH_LOG` overrides the level (a tracing filter).
pub fn init_tracing(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACCESSWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

#[cfg(test)]
mod tests {
    use super::within;

    #[cfg(unix)]
    #[test]
    fn a_path_is_within_a_directory_as_written_or_through_links() {
        let root = tempfile::tempdir().unwrap();
        let archive = root.path().join("archive");
        let cold = root.path().join("cold");
        std::fs::create_dir_all(archive.join("events")).unwrap();
        std::fs::create_dir_all(cold.join("date=2026-11-01")).unwrap();
        // A date moved to other storage and linked back is still the archive's.
        std::os::unix::fs::symlink(cold.join("date=2026-11-01"), archive.join("events/date=2026-11-01")).unwrap();
        assert!(within(&archive.join("events/date=2026-11-01/system=PNC/answer.parquet"), &archive));
        // Not yet written, under directories not made yet.
        assert!(within(&archive.join("events/new/deeper/answer.csv"), &archive));
        assert!(within(&archive.join("events/../events/x.parquet"), &archive));
        // The archive reached through a link.
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&archive, &link).unwrap();
        assert!(within(&link.join("events/x.parquet"), &archive));
        assert!(within(&archive.join("x"), &link));
        // Beside it, or climbing out of it, is not.
        assert!(!within(&root.path().join("answer.csv"), &archive));
        assert!(!within(&archive.join("../answer.csv"), &archive));
        assert!(!within(&root.path().join("archive-2/x"), &archive));
    }
}
