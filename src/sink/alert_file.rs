//! Alerts to a JSON Lines file: each alert written once, when it is final (its
//! suppression window has passed, or the input ended), in the order alerts were raised.

use crate::alert::RuleId;
use crate::alert::{Alert, AlertSink, Severity};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Alerts counted by rule and severity.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AlertCounts(pub BTreeMap<(RuleId, Severity), u64>);

impl AlertCounts {
    pub fn add(&mut self, a: &Alert) {
        *self.0.entry((a.rule, a.severity)).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn by_severity(&self, s: Severity) -> u64 {
        self.0.iter().filter(|((_, sev), _)| *sev == s).map(|(_, n)| n).sum()
    }
}

/// A JSON Lines file of final alerts.
pub struct AlertFile {
    out: BufWriter<File>,
    line: String,
    counts: AlertCounts,
    error: Option<io::Error>,
}

impl AlertFile {
    pub fn create(path: &Path) -> io::Result<AlertFile> {
        Ok(AlertFile {
            out: BufWriter::with_capacity(1 << 16, File::create(path)?),
            line: String::new(),
            counts: AlertCounts::default(),
            error: None,
        })
    }

    pub fn counts(&self) -> &AlertCounts {
        &self.counts
    }

    /// Flushes, and reports the first write error met, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl AlertSink for AlertFile {
    fn closed(&mut self, alert: Alert) {
        self.counts.add(&alert);
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        alert.write_json(&mut self.line);
        self.line.push('\n');
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.error = Some(e);
        }
    }
}

/// Reads a JSON Lines file of alerts (as a replay or the live engine's `alerts_file`
/// writes them); a line that is not an alert is an error naming the file and line.
pub fn read(path: &Path) -> io::Result<Vec<Alert>> {
    read_jsonl(path)
}

/// Reads a JSON Lines file of `T`, skipping blank lines.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    use std::io::BufRead;
    let file = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(&line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(value);
    }
    Ok(out)
}
