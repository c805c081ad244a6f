//! Damaged files: which of the archive's files cannot be read, and the Parquet reader's
//! panics on some of them made errors of the file.

use super::{parquet_files, partitions};
use parquet::file::metadata::ParquetMetaDataReader;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The archive's files (events and alerts) whose Parquet footer cannot be read, each
/// with why: what a query that stopped on a damaged file names for the analyst.
pub fn damaged_files(root: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let mut dirs = Vec::new();
    for (_, day) in partitions(&root.join("events"), "date")? {
        dirs.extend(partitions(&day, "system")?.into_iter().map(|(_, dir)| dir));
    }
    dirs.extend(partitions(&root.join("alerts"), "date")?.into_iter().map(|(_, dir)| dir));
    let mut out = Vec::new();
    for file in dirs.iter().map(|d| parquet_files(d)).collect::<io::Result<Vec<_>>>()?.into_iter().flatten() {
        let footer = unpanicked(&file, || {
            let f = File::open(&file)?;
            ParquetMetaDataReader::new().parse_and_finish(&f).map_err(io::Error::other)
        });
        if let Err(why) = footer {
            out.push((file, why.to_string()));
        }
    }
    Ok(out)
}

/// `read()`, with a panic of the Parquet reader (it panics on some damaged files rather
/// than fail) made an error of the file: one damaged file must not stop, or silently cut
/// short, a replay or a look-up.
pub fn unpanicked<T>(file: &Path, read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        Err(io::Error::other(format!("{}: the Parquet reader stopped: {}", file.display(), panic_text(&panic))))
    })
}

/// What a caught panic said.
pub fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
    text.unwrap_or_else(|| "a panic without a message".into())
}
