//! Damaged files: the Parquet reader's panics on some of them made errors of the file,
//! and files that are not regular files refused before they are opened.

use arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// `read()`, with a panic of the Parquet reader (it panics on some damaged files rather
/// than fail) made an error of the file: one damaged file must not stop, or silently cut
/// short, a replay or a look-up.
pub fn unpanicked<T>(file: &Path, read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        Err(io::Error::other(format!("{}: the Parquet reader stopped: {}", file.display(), panic_text(&panic))))
    })
}

/// Opens an archive file, refused unless it is a regular file: a FIFO or a device under
/// a `.parquet` name would hang the read or never end it.
pub fn open_regular(path: &Path) -> io::Result<File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::other(format!("{}: not a regular file", path.display())));
    }
    File::open(path)
}

/// What a caught panic said.
pub fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
    text.unwrap_or_else(|| "a panic without a message".into())
}

/// Why a file that reads is no file of the archive's, as [`unreadable`] says it.
const FOREIGN: &str = "not a file of this archive";

/// Whether [`unreadable`]'s reason is that the file is not the archive's own (it reads,
/// and a query would count its rows).
pub fn is_foreign(why: &str) -> bool {
    why.ends_with(FOREIGN)
}

/// How far [`unreadable`] reads each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The footer, as a reader is built from it: quick, and what a query passes over.
    Footer,
    /// Every page too: a page damaged on disk fails a query while its footer reads.
    Pages,
}

/// The files among `files` that cannot be read as far as `check` goes (as a replay
/// reads them: a reader built from the footer, then its batches), or that are not of
/// `schema`: without one of the columns every such file of the archive has had
/// (`always`, the id first), or with a column it never had (a query's answer copied
/// in among the events was counted as events), each with why.
pub fn unreadable(
    files: impl Iterator<Item = PathBuf>,
    check: Check,
    schema: &Schema,
    always: &[&str],
) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for file in files {
        let read = unpanicked(&file, || {
            let reader = ParquetRecordBatchReaderBuilder::try_new(open_regular(&file)?).map_err(io::Error::other)?;
            let own = reader.schema();
            if let Some(missing) = always.iter().find(|c| own.column_with_name(c).is_none()) {
                return Err(io::Error::other(format!(
                    "no `{missing}` column, which every such file of the archive has: {FOREIGN}"
                )));
            }
            if let Some(other) = own.fields().iter().find(|f| schema.column_with_name(f.name()).is_none()) {
                return Err(io::Error::other(format!(
                    "a column `{}`, which no such file of the archive has: {FOREIGN}",
                    other.name()
                )));
            }
            if check == Check::Pages {
                for batch in reader.build().map_err(io::Error::other)? {
                    batch.map_err(io::Error::other)?;
                }
            }
            Ok(())
        });
        if let Err(why) = read {
            out.push((file, why.to_string()));
        }
    }
    out
}
