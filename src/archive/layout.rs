//! Where the archive's files lie: the `key=value` partition directories and the
//! Parquet files in them, listed as every reader and the retention list them, and
//! what lies where none of them looks ([`strays`]).

use crate::time::Date;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The Parquet files directly under `dir`, sorted by name.
pub(super) fn parquet_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(parquet_files_and_dirs(dir)?.0)
}

/// The entries of `dir` with their names, hidden ones (a writer's temporary files, key
/// indexes) left out; none when `dir` does not exist. A name that is not UTF-8 is
/// still an entry (read, or named as damaged), never passed over.
/// The entries of `dir`; none when it does not exist.
fn entries_of(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn visible_entries(dir: &Path) -> io::Result<Vec<(fs::DirEntry, String)>> {
    let entries = entries_of(dir)?;
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            out.push((entry, name));
        }
    }
    Ok(out)
}

/// The Parquet files directly under `dir` (a system's directory), sorted by name, and
/// what lies beside them where no reader looks, with why: a directory, a file not
/// named `*.parquet` (`.PARQUET`, `.parquet.bak`: a copy or a backup tool renamed it),
/// and a write's temporary file older than [`LEFT_OVER`] (an interrupted replay or
/// engine left it; its events are not in the archive). Without a `stat` of each
/// Parquet file.
pub(super) fn parquet_files_and_dirs(dir: &Path) -> io::Result<(Vec<PathBuf>, Vec<(PathBuf, &'static str)>)> {
    let (mut files, mut others) = (Vec::new(), Vec::new());
    let entries = entries_of(dir)?;
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') {
            // The writer's own: key indexes, and a file being written.
            let old =
                || entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|a| a > LEFT_OVER));
            if name.ends_with(".tmp") && old() {
                others.push((path, INTERRUPTED));
            }
        } else if name.ends_with(".parquet") {
            files.push(path);
        } else if entry.file_type()?.is_dir() {
            others.push((path, NESTED));
        } else {
            others.push((path, NOT_PARQUET));
        }
    }
    files.sort();
    others.sort();
    Ok((files, others))
}

/// A write's temporary file this old is a leftover: every write renames its file
/// within seconds.
const LEFT_OVER: std::time::Duration = std::time::Duration::from_secs(3_600);
const INTERRUPTED: &str =
    "a file an interrupted write left (the process stopped before it was finished): its events are not in the archive; replay their input again";
const NOT_PARQUET: &str =
    "not named *.parquet, so not read (or deleted by the retention): rename it if it is the archive's";

/// The `key=value` subdirectories of `dir`, by value; a symbolic link to a directory
/// counts (an old date moved to other storage and linked back is still the archive's:
/// its hunts find it, and the retention deletes its files).
pub(super) fn partitions(dir: &Path, key: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let entries = entries_of(dir)?;
    let prefix = format!("{key}=");
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(value) = name.strip_prefix(&prefix) {
            if entry.path().is_dir() {
                out.push((value.to_string(), entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// How deep [`strays`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// `events/` and its date directories (a look-up finds the rest as it reads).
    Dates,
    /// Into each system directory too.
    Systems,
}

pub(super) const NESTED: &str = "a directory inside a system's, so not read";

/// What lies in the archive's `events/` where no reader looks, for the dates in
/// `[first, last]` (any date when open): a `date=` directory whose name is not a date
/// (`date=2026-11-5`, a copy named `date=2026-11-05.bak`), a partition that is a link
/// whose target cannot be reached (storage not mounted), a directory or `.parquet`
/// file outside a `date=`/`system=` directory, and (with [`Depth::Systems`]) a
/// directory inside a system's. Each is named with why, so that an answer without its
/// events says so.
pub fn strays(
    root: &Path,
    first: Option<Date>,
    last: Option<Date>,
    depth: Depth,
) -> io::Result<Vec<(PathBuf, String)>> {
    let outside = "not in a date=YYYY-MM-DD/system=NAME directory, so not read: move it into one";
    let unreachable = "a link whose target cannot be reached (storage not mounted?), so not read";
    // What under `dir` is not a `key=` partition a reader would enter, with why.
    let others = |dir: &Path, key: &str| -> io::Result<Vec<(PathBuf, String)>> {
        let mut out = Vec::new();
        for (entry, name) in visible_entries(dir)? {
            let path = entry.path();
            // A link is what it points to; one pointing nowhere is named.
            let kind = entry.file_type()?;
            let dangling = kind.is_symlink() && std::fs::metadata(&path).is_err();
            let is_dir = kind.is_dir() || (kind.is_symlink() && path.is_dir());
            let partition = name.starts_with(&format!("{key}=")) && is_dir;
            if dangling {
                out.push((path, unreachable.to_string()));
            } else if !partition && (is_dir || name.ends_with(".parquet")) {
                out.push((path, outside.to_string()));
            }
        }
        out.sort();
        Ok(out)
    };
    let mut out = unfinished_replays(root)?;
    let events = root.join("events");
    out.extend(others(&events, "date")?);
    for (date, dir) in partitions(&events, "date")? {
        let Ok(d) = Date::parse(&date) else {
            out.push((dir, "not a date (date=YYYY-MM-DD), so its files are not read: rename it".into()));
            continue;
        };
        if first.is_some_and(|f| d < f) || last.is_some_and(|l| d > l) {
            continue;
        }
        out.extend(others(&dir, "system")?);
        if depth == Depth::Systems {
            for (_, sys) in partitions(&dir, "system")? {
                out.extend(parquet_files_and_dirs(&sys)?.1.into_iter().map(|(p, why)| (p, why.to_string())));
            }
        }
    }
    Ok(out)
}

/// The mark a replay leaves in the archive's root while it writes to it, removed when
/// it has written everything: one left behind is a replay stopped part way (a probe's
/// `kill -9` left 11 of 40 dates, and the look-ups answered from them unsaid).
pub struct ReplayMark(PathBuf);

impl ReplayMark {
    pub fn set(root: &Path, inputs: &[PathBuf]) -> io::Result<ReplayMark> {
        fs::create_dir_all(root)?;
        let started = crate::time::Timestamp::now();
        let path = root.join(format!(".replay-{}-{}.writing", std::process::id(), started.0));
        let what: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        fs::write(&path, format!("replay started {started} of {}\n", what.join(", ")))?;
        Ok(ReplayMark(path))
    }

    /// Everything is written: the mark goes.
    pub fn done(self) -> io::Result<()> {
        fs::remove_file(&self.0)
    }
}

/// The marks of replays into `root` that have not finished, with why.
fn unfinished_replays(root: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let entries = entries_of(root)?;
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".replay-") && name.ends_with(".writing") {
            let said = fs::read_to_string(entry.path()).unwrap_or_default();
            let said = said.lines().next().unwrap_or("a replay").to_string();
            out.push((
                entry.path(),
                format!("{said}: it has not finished (still running, or stopped part way), so what it had still to write is missing; when it is not running, replay its input again and delete this file"),
            ));
        }
    }
    out.sort();
    Ok(out)
}
