//! The retention: deleting whole dates past `[archive] retention` (`archive prune`).

use super::{keys, parquet_files, partitions};
use crate::time::Date;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What prune deleted.
#[derive(Debug, Default)]
pub struct PruneReport {
    pub files: Vec<PathBuf>,
    /// The size of each file, in bytes.
    pub sizes: Vec<u64>,
    pub bytes: u64,
}

/// Deletes every events and alerts file of a date before `cutoff` (and the emptied
/// date directories), logging each file.
pub fn prune(root: &Path, cutoff: Date) -> io::Result<PruneReport> {
    let mut report = PruneReport::default();
    let delete_dir = |dir: &Path, report: &mut PruneReport| -> io::Result<()> {
        for file in parquet_files(dir)? {
            let bytes = fs::metadata(&file).map_or(0, |m| m.len());
            fs::remove_file(&file)?;
            let _ = fs::remove_file(keys::path_for(&file));
            tracing::info!(file = %file.display(), bytes, "archive file deleted (older than the retention)");
            report.bytes += bytes;
            report.sizes.push(bytes);
            report.files.push(file);
        }
        Ok(())
    };
    for (date, dir) in partitions(&root.join("events"), "date")? {
        if Date::parse(&date).is_ok_and(|d| d < cutoff) && prunable(&dir) {
            for (_, sys) in partitions(&dir, "system")? {
                if prunable(&sys) {
                    delete_dir(&sys, &mut report)?;
                    remove_leftovers(&sys);
                    remove_emptied(&sys);
                }
            }
            remove_emptied(&dir);
        }
    }
    for (date, dir) in partitions(&root.join("alerts"), "date")? {
        if Date::parse(&date).is_ok_and(|d| d < cutoff) && prunable(&dir) {
            delete_dir(&dir, &mut report)?;
            remove_leftovers(&dir);
            remove_emptied(&dir);
        }
    }
    Ok(report)
}

/// Whether the retention may empty `dir`: a directory, or a link to a directory of the
/// same name (a date moved to other storage and linked back). A link to a directory of
/// another name (another archive's date, a shared directory) is left alone, and said.
fn prunable(dir: &Path) -> bool {
    if !dir.is_symlink() {
        return true;
    }
    let same = fs::canonicalize(dir).is_ok_and(|target| target.file_name() == dir.file_name());
    if !same {
        tracing::warn!(dir = %dir.display(), "a link in the archive to a directory of another name is not pruned");
    }
    same
}

/// Removes an emptied directory, or a link and the emptied directory it points to.
fn remove_emptied(dir: &Path) {
    if dir.is_symlink() {
        if let Ok(target) = fs::canonicalize(dir) {
            if fs::remove_dir(&target).is_ok() {
                let _ = fs::remove_file(dir);
            }
        }
    } else {
        let _ = fs::remove_dir(dir);
    }
}

/// Removes the hidden files (key indexes, temporary files of a crashed write) left in a
/// directory whose data files are gone.
fn remove_leftovers(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Refuses a directory that holds no archive (no `events/` or `alerts/`): an
/// unmounted share, or the archive's own `events/` given for it, would be answered
/// with nobody, or maintained as holding nothing.
pub fn written_archive(root: &Path) -> io::Result<()> {
    if root.is_dir() && !root.join("events").is_dir() && !root.join("alerts").is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is not an accesswatch archive (no events/ or alerts/ directory): is it mounted, and is it the archive's top directory?",
                root.display()
            ),
        ));
    }
    Ok(())
}
