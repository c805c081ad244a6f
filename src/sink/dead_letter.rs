//! The dead-letter output: every record that could not become an event, with the
//! original bytes, where it came from and the reason. Nothing read is lost.

use crate::event::DecodeError;
use base64::Engine as _;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Where a dead record came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    File { path: String, line: u64 },
    Kafka { topic: String, partition: i32, offset: i64 },
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub origin: Origin,
    pub reason: DecodeError,
    /// The original bytes (for an over-long record, the first part of them).
    pub raw: Vec<u8>,
    /// The record's full length.
    pub raw_len: usize,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    origin: &'a Origin,
    kind: &'static str,
    reason: String,
    /// The record as text (invalid UTF-8 replaced); `raw_base64` holds the exact bytes
    /// when the text is not valid UTF-8.
    raw: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    bytes: usize,
    truncated: bool,
}

impl DeadLetter {
    /// One JSON object per dead letter.
    pub fn to_json(&self) -> String {
        let exact = std::str::from_utf8(&self.raw).is_ok();
        let line = Line {
            origin: &self.origin,
            kind: self.reason.kind(),
            reason: self.reason.to_string(),
            raw: String::from_utf8_lossy(&self.raw),
            raw_base64: (!exact).then(|| base64::engine::general_purpose::STANDARD.encode(&self.raw)),
            bytes: self.raw_len,
            truncated: self.raw_len > self.raw.len(),
        };
        serde_json::to_string(&line).expect("dead letter serialises")
    }
}

/// Dead letters written to a JSON Lines file, counted by kind.
pub struct DeadLetterFile {
    path: PathBuf,
    out: BufWriter<File>,
    counts: BTreeMap<&'static str, u64>,
}

impl DeadLetterFile {
    pub fn create(path: &Path) -> io::Result<DeadLetterFile> {
        Ok(DeadLetterFile {
            path: path.to_path_buf(),
            out: BufWriter::new(File::create(path)?),
            counts: BTreeMap::new(),
        })
    }

    pub fn write(&mut self, d: &DeadLetter) -> io::Result<()> {
        *self.counts.entry(d.reason.kind()).or_default() += 1;
        writeln!(self.out, "{}", d.to_json())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn counts(&self) -> &BTreeMap<&'static str, u64> {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exact_bytes_of_bad_utf8() {
        let d = DeadLetter {
            origin: Origin::File { path: "a.jsonl".into(), line: 7 },
            reason: DecodeError::BadUtf8(3),
            raw: vec![b'{', b'"', b'a', 0xff, b'}'],
            raw_len: 5,
        };
        let v: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(v["origin"], "file");
        assert_eq!(v["path"], "a.jsonl");
        assert_eq!(v["line"], 7);
        assert_eq!(v["kind"], "bad_utf8");
        let bytes = base64::engine::general_purpose::STANDARD.decode(v["raw_base64"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, d.raw);
    }
}
