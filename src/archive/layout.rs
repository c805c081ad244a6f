//! Where the archive's files lie: the `key=value` partition directories and the
//! Parquet files in them, listed as every reader and the retention list them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The Parquet files directly under `dir`, sorted by name.
pub(super) fn parquet_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(parquet_files_and_dirs(dir)?.0)
}

/// The Parquet files directly under `dir`, sorted by name, and the directories beside
/// them (where no reader looks), without a `stat` of each file.
pub(super) fn parquet_files_and_dirs(dir: &Path) -> io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((files, dirs)),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        // A name that is not UTF-8 is still a file of the archive (read, or named as
        // damaged), never passed over.
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if name.ends_with(".parquet") {
            files.push(path);
        } else if entry.file_type()?.is_dir() {
            dirs.push(path);
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

/// The `key=value` subdirectories of `dir`, by value; a symbolic link to a directory
/// counts (an old date moved to other storage and linked back is still the archive's:
/// its hunts find it, and the retention deletes its files).
pub(super) fn partitions(dir: &Path, key: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let prefix = format!("{key}=");
    for entry in entries {
        let entry = entry?;
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
