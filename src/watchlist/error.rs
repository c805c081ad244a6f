//! Faults in watch-list data, one type wherever the rows come from: a file
//! (`custody.csv` line 12), a topic message, or a single row being read.

use std::fmt;
use std::path::PathBuf;

/// One fault: where it is (when known), which column, and what is wrong. The message
/// may quote the cell's value, which can be a person's details: log it only at debug
/// level, and [`WatchlistError::column`] (safe) above that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistError {
    /// The file the row came from; `None` for a row read on its own (a topic message).
    pub file: Option<PathBuf>,
    /// 1-based line; 0 when the fault is about the whole file or has no line.
    pub line: u64,
    /// The column at fault, when the fault is in one.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl WatchlistError {
    /// A fault in one cell of a row.
    pub fn cell(column: &str, message: impl Into<String>) -> WatchlistError {
        WatchlistError { file: None, line: 0, column: Some(column.to_string()), message: message.into() }
    }

    /// A fault of a file, or of one of its lines (`line` 0: the whole file).
    pub fn file(file: impl Into<PathBuf>, line: u64, message: impl Into<String>) -> WatchlistError {
        WatchlistError { file: Some(file.into()), line, column: None, message: message.into() }
    }
}

impl fmt::Display for WatchlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if self.line > 0 {
                write!(f, ":{}", self.line)?;
            }
            sep = ": ";
        }
        if let Some(c) = &self.column {
            write!(f, "{sep}column `{c}`")?;
            sep = ": ";
        }
        write!(f, "{sep}{}", self.message)
    }
}

/// Every fault found in a load, reported all at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchlistErrors(pub Vec<WatchlistError>);

impl WatchlistErrors {
    /// The columns at fault, for a log line that must not quote personal data.
    pub fn columns(&self) -> Vec<&str> {
        self.0.iter().filter_map(|e| e.column.as_deref()).collect()
    }
}

impl fmt::Display for WatchlistErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch lists have errors:")?;
        for e in &self.0 {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WatchlistErrors {}

impl From<Vec<WatchlistError>> for WatchlistErrors {
    fn from(v: Vec<WatchlistError>) -> Self {
        WatchlistErrors(v)
    }
}
