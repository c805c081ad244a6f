//! The dead-letter output: every record that could not become an event, with the
//! original bytes, where it came from and the reason. Nothing read is lost.

use crate::event::DecodeError;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
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
    /// SHA-256 of the whole record, when only its head is in `raw`.
    pub raw_sha256: Option<[u8; 32]>,
}

/// The smallest dead letter: room for where it came from, why, and a hash, whatever
/// the configured bound.
pub const MIN_DEAD_LETTER_BYTES: usize = 4_096;

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
    /// SHA-256 of the whole record, when `raw` holds only its head.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

impl DeadLetter {
    /// A dead letter of a record held whole in memory (a Kafka message): at most `keep`
    /// bytes of it are kept, with the whole record's SHA-256 when it is cut.
    pub fn of_record(origin: Origin, reason: DecodeError, record: &[u8], keep: usize) -> DeadLetter {
        let cut = record.len() > keep;
        DeadLetter {
            origin,
            reason,
            raw: record[..record.len().min(keep)].to_vec(),
            raw_len: record.len(),
            raw_sha256: cut.then(|| Sha256::digest(record).into()),
        }
    }

    /// One JSON object of at most `limit` bytes (never less than
    /// [`MIN_DEAD_LETTER_BYTES`]): where the record came from, why it was refused, and
    /// as much of it as fits (its escaping can take six bytes for one), with its length
    /// and, when cut, the SHA-256 of the whole. So a dead letter always fits its topic.
    pub fn to_json(&self, limit: usize) -> String {
        let limit = limit.max(MIN_DEAD_LETTER_BYTES);
        let reason = reason_within(&self.reason.to_string(), 1_000);
        let mut keep = self.raw.len();
        loop {
            let mut head = &self.raw[..keep];
            // A head that ends inside a character (cut here, or by the reader's bound on
            // a record) is the text of the whole characters before the cut.
            if let Err(e) = std::str::from_utf8(head) {
                if e.error_len().is_none() && head.len() < self.raw_len {
                    head = &head[..e.valid_up_to()];
                }
            }
            let exact = std::str::from_utf8(head).is_ok();
            let truncated = self.raw_len > head.len();
            let sha256 = match (truncated, self.raw_sha256) {
                (false, _) => None,
                (true, Some(whole)) => Some(hex::encode(whole)),
                // Cut here, so `raw` is the whole record.
                (true, None) => Some(hex::encode(Sha256::digest(&self.raw))),
            };
            let line = Line {
                origin: &self.origin,
                kind: self.reason.kind(),
                reason: reason.clone(),
                raw: String::from_utf8_lossy(head),
                raw_base64: (!exact).then(|| base64::engine::general_purpose::STANDARD.encode(head)),
                bytes: self.raw_len,
                truncated,
                sha256,
            };
            let json = serde_json::to_string(&line).expect("dead letter serialises");
            if json.len() <= limit || keep == 0 {
                return json;
            }
            // Shrink the head in proportion to how far over the line is: escaping may
            // take six bytes for one, so taking off only the excess could leave nothing.
            let scaled = (keep as u128 * limit as u128 * 15 / 16 / json.len() as u128) as usize;
            keep = scaled.min(keep - 1);
        }
    }
}

/// A reason cut so that its JSON text (escapes included: six bytes for a control
/// character a reason may quote) takes at most `max` bytes, marked `…` when cut.
fn reason_within(reason: &str, max: usize) -> String {
    let escaped = |c: char| match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    };
    let mut taken = 0;
    for (i, c) in reason.char_indices() {
        taken += escaped(c);
        if taken > max {
            return format!("{}…", &reason[..i]);
        }
    }
    reason.to_string()
}

/// Dead letters written to a JSON Lines file, counted by kind.
pub struct DeadLetterFile {
    path: PathBuf,
    out: BufWriter<File>,
    counts: BTreeMap<&'static str, u64>,
    /// The most bytes one dead letter takes.
    limit: usize,
}

impl DeadLetterFile {
    pub fn create(path: &Path, limit: usize) -> io::Result<DeadLetterFile> {
        Ok(DeadLetterFile {
            path: path.to_path_buf(),
            out: BufWriter::new(File::create(path)?),
            counts: BTreeMap::new(),
            limit,
        })
    }

    pub fn write(&mut self, d: &DeadLetter) -> io::Result<()> {
        *self.counts.entry(d.reason.kind()).or_default() += 1;
        writeln!(self.out, "{}", d.to_json(self.limit))
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
            raw_sha256: None,
        };
        let v: serde_json::Value = serde_json::from_str(&d.to_json(1 << 20)).unwrap();
        assert_eq!(v["origin"], "file");
        assert_eq!(v["path"], "a.jsonl");
        assert_eq!(v["line"], 7);
        assert_eq!(v["kind"], "bad_utf8");
        let bytes = base64::engine::general_purpose::STANDARD.decode(v["raw_base64"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, d.raw);
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn a_letter_always_fits_its_bound_and_names_the_whole_record() {
        // 900 KB of backslashes: each takes two bytes escaped.
        let record = format!("{{\"query\":\"{}\"}}", "\\\\".repeat(450_000));
        let d = DeadLetter::of_record(
            Origin::Kafka { topic: "access-events".into(), partition: 1, offset: 7 },
            DecodeError::TooLong { len: record.len(), limit: 65_536 },
            record.as_bytes(),
            1 << 20,
        );
        for limit in [8_192, 65_536, 262_144] {
            let json = d.to_json(limit);
            assert!(json.len() <= limit, "{} > {limit}", json.len());
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["bytes"], record.len());
            assert_eq!(v["truncated"], true);
            assert_eq!(v["sha256"], hex::encode(Sha256::digest(record.as_bytes())));
            assert!(record.starts_with(v["raw"].as_str().unwrap()), "the head is kept");
        }
        // Control characters escape to six bytes each; invalid UTF-8 goes to base64.
        let controls = DeadLetter::of_record(d.origin.clone(), DecodeError::BadUtf8(0), &[1u8; 100_000], 1 << 20);
        assert!(controls.to_json(10_000).len() <= 10_000);
        let binary = DeadLetter::of_record(d.origin.clone(), DecodeError::BadUtf8(0), &[0xffu8; 100_000], 1 << 20);
        assert!(binary.to_json(10_000).len() <= 10_000);
        // However much escaping takes, as much of the head is kept as fits: at least
        // a third of the bound here (six bytes a control character, four and a third a
        // byte of invalid UTF-8 as text and base64).
        for (record, per_byte) in [(vec![0u8; 65_000], 6), (vec![1u8; 60_000], 6), (vec![0xffu8; 300_000], 5)] {
            let d = DeadLetter::of_record(d.origin.clone(), DecodeError::BadUtf8(0), &record, 1 << 20);
            let json = d.to_json(65_536);
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            let kept = v["raw"].as_str().unwrap().chars().count();
            assert!(json.len() <= 65_536 && kept * per_byte > 65_536 / 3, "{kept} bytes kept of {}", record.len());
        }
        // A record cut inside a character by the reader's bound: the whole characters
        // before the cut are kept as text, with no base64.
        let accents = "é".repeat(1_000);
        let cut = DeadLetter::of_record(d.origin.clone(), DecodeError::BadUtf8(0), accents.as_bytes(), 1_001);
        let v: serde_json::Value = serde_json::from_str(&cut.to_json(10_000)).unwrap();
        assert_eq!(v["raw"].as_str(), Some("é".repeat(500).as_str()));
        assert_eq!((v.get("raw_base64"), v["truncated"].as_bool()), (None, Some(true)));
        // A record held whole that ends inside a character keeps every byte, in base64.
        let ends_cut = DeadLetter::of_record(
            d.origin.clone(),
            DecodeError::BadUtf8(17),
            b"{\"event_id\":\"e1\"}\xE2\x82",
            1 << 20,
        );
        let v: serde_json::Value = serde_json::from_str(&ends_cut.to_json(10_000)).unwrap();
        assert_eq!(
            v["raw_base64"].as_str(),
            Some(base64::engine::general_purpose::STANDARD.encode(b"{\"event_id\":\"e1\"}\xE2\x82").as_str())
        );
        assert_eq!(v["truncated"].as_bool(), Some(false));
        // A reason that quotes control characters escapes to six bytes each: the bound
        // holds at the smallest limit.
        let controls = "\u{1}".repeat(2_000);
        let loud = DeadLetter::of_record(
            d.origin.clone(),
            DecodeError::BadJson(controls.clone()),
            controls.as_bytes(),
            1 << 20,
        );
        assert!(loud.to_json(MIN_DEAD_LETTER_BYTES).len() <= MIN_DEAD_LETTER_BYTES);
        // A short record is whole, with no hash.
        let short = DeadLetter::of_record(d.origin.clone(), DecodeError::BadUtf8(0), b"{}", 1 << 20);
        let v: serde_json::Value = serde_json::from_str(&short.to_json(10_000)).unwrap();
        assert_eq!((v["raw"].as_str(), v["truncated"].as_bool(), v.get("sha256")), (Some("{}"), Some(false), None));
    }
}
