//! Damaged files: the Parquet reader's panics on some of them made errors of the file,
//! and files that are not regular files refused before they are opened.

use std::fs::File;
use std::io;
use std::path::Path;

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
