//! Decoding one record into an event, for each input format.

use crate::event::csv::{CsvLayout, CsvSplitter};
use crate::event::mapping::{SourceFormat, SourceMapping};
use crate::event::{json, AccessEvent, DecodeError};
use compact_str::CompactString;
use std::path::Path;
use std::sync::Arc;

/// The format of an input.
#[derive(Clone, Debug)]
pub enum InputFormat {
    /// Canonical JSON Lines (spec/events.md).
    JsonLines,
    /// Canonical CSV with a header of spec field names.
    Csv,
    /// A configured source mapping (other field names, other formats, CEF).
    Mapped(Arc<SourceMapping>),
}

impl InputFormat {
    /// The format for a file: the mapping if one is given; else the configured mapping
    /// whose `files` patterns match the file name (two matching it is refused: which is
    /// meant is not known); else by extension (`.jsonl`, `.ndjson`, `.json`, `.csv`,
    /// optionally followed by `.gz`).
    pub fn for_path<'a>(
        path: &Path,
        mapping: Option<Arc<SourceMapping>>,
        configured: impl IntoIterator<Item = &'a Arc<SourceMapping>>,
    ) -> Result<InputFormat, String> {
        if let Some(m) = mapping {
            return Ok(InputFormat::Mapped(m));
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let matching: Vec<&Arc<SourceMapping>> =
            configured.into_iter().filter(|m| m.matches_file(&file_name)).collect();
        match matching.as_slice() {
            [] => {}
            [m] => return Ok(InputFormat::Mapped((*m).clone())),
            [a, b, ..] => {
                return Err(format!(
                "{}: the `files` patterns of sources `{}` and `{}` both match it; narrow them, or give --source NAME",
                path.display(),
                a.name,
                b.name
            ))
            }
        }
        let name = file_name.to_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            Ok(InputFormat::JsonLines)
        } else if name.ends_with(".csv") {
            Ok(InputFormat::Csv)
        } else {
            Err(format!(
                "{}: cannot tell the format from the name; use .jsonl or .csv, give a source mapping with --source NAME, or list the file name under `files` in a [sources.NAME] section",
                path.display()
            ))
        }
    }

    /// Whether records are CSV (newlines inside quotes continue a record).
    pub fn is_csv(&self) -> bool {
        self.csv_delimiter().is_some()
    }

    /// The field delimiter of a CSV format.
    pub fn csv_delimiter(&self) -> Option<u8> {
        match self {
            InputFormat::Csv => Some(b','),
            InputFormat::Mapped(m) => match m.format {
                SourceFormat::Csv { delimiter } => Some(delimiter),
                _ => None,
            },
            InputFormat::JsonLines => None,
        }
    }
}

/// What one record turned out to be.
#[derive(Debug)]
pub enum Decoded {
    /// Boxed: an event is a few hundred bytes, and it passes through several hands
    /// (decoder, merge, engine) that would otherwise each copy it.
    Event(Box<AccessEvent>),
    /// A CSV header row, read and remembered.
    Header,
    Rejected(DecodeError),
}

enum Header {
    NotCsv,
    Pending,
    Canonical(CsvLayout),
    Mapped(Vec<CompactString>),
    Rejected(String),
}

/// Decodes the records of one input, remembering its CSV header.
pub struct Decoder {
    format: InputFormat,
    splitter: CsvSplitter,
    header: Header,
}

impl Decoder {
    pub fn new(format: InputFormat) -> Decoder {
        let delimiter = match &format {
            InputFormat::Mapped(m) => match m.format {
                SourceFormat::Csv { delimiter } => delimiter,
                _ => b',',
            },
            _ => b',',
        };
        let header = if format.is_csv() { Header::Pending } else { Header::NotCsv };
        Decoder { format, splitter: CsvSplitter::new(delimiter), header }
    }

    /// Decodes one record. A UTF-8 byte-order mark before it is not part of it (a Kafka
    /// message as a line of a file: written by a tool that marks its UTF-8).
    pub fn decode(&mut self, bytes: &[u8]) -> Decoded {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => return Decoded::Rejected(DecodeError::BadUtf8(e.valid_up_to())),
        };
        let result = match &self.format {
            InputFormat::JsonLines => json::decode_boxed(text),
            InputFormat::Mapped(m) => match m.format {
                SourceFormat::Json => m.decode_json(bytes).map(Box::new),
                SourceFormat::Cef => m.decode_cef(text).map(Box::new),
                SourceFormat::Csv { .. } => return self.decode_csv(bytes),
            },
            InputFormat::Csv => return self.decode_csv(bytes),
        };
        match result {
            Ok(e) => Decoded::Event(e),
            Err(e) => Decoded::Rejected(e),
        }
    }

    /// Whether `line` would be read as an event on its own by the CSV header in force,
    /// the header left as it is: a line inside a quoted field that is a row of its own
    /// (a stray quote closed by another rows later swallowed the rows between them).
    pub fn reads_as_event(&mut self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if std::str::from_utf8(line).is_err() {
            return false;
        }
        let Ok(fields) = self.splitter.split(line) else { return false };
        match (&self.header, &self.format) {
            (Header::Canonical(layout), _) => layout.decode(&fields).is_ok(),
            (Header::Mapped(header), InputFormat::Mapped(m)) => m.decode_csv(header, &fields).is_ok(),
            _ => false,
        }
    }

    fn decode_csv(&mut self, bytes: &[u8]) -> Decoded {
        let fields = match self.splitter.split(bytes) {
            Ok(f) => f,
            Err(e) => return Decoded::Rejected(e),
        };
        let result = match &self.header {
            Header::Pending => {
                self.header = match &self.format {
                    InputFormat::Mapped(m) => {
                        let header: Vec<CompactString> = fields.iter().map(|f| CompactString::from(f.trim())).collect();
                        match m.check_csv_header(&header) {
                            Ok(missing) => {
                                if !missing.is_empty() {
                                    let missing = missing.join(", ");
                                    tracing::warn!(source = %m.name, %missing, "a CSV header lacks mapped columns: those fields are empty in every row of the file");
                                }
                                Header::Mapped(header)
                            }
                            Err(e) => {
                                self.header = Header::Rejected(e.to_string());
                                return Decoded::Rejected(e);
                            }
                        }
                    }
                    _ => match CsvLayout::from_header(&fields) {
                        Ok(layout) => Header::Canonical(layout),
                        Err(e) => {
                            let reason = e.to_string();
                            self.header = Header::Rejected(reason);
                            return Decoded::Rejected(e);
                        }
                    },
                };
                return Decoded::Header;
            }
            Header::Canonical(layout) => match layout.decode(&fields) {
                // A row that cannot be an event and is a header: files joined into one
                // (exports concatenated), whose columns may come in another order.
                // Its rows are read by it, not by the first file's header.
                Err(e) => match CsvLayout::from_header(&fields) {
                    Ok(next)
                        if fields
                            .iter()
                            .any(|f| crate::event::Field::from_key(f) == Some(crate::event::Field::EventId)) =>
                    {
                        tracing::info!("a header row in the middle of a CSV file: the rows after it are read by it");
                        self.header = Header::Canonical(next);
                        return Decoded::Header;
                    }
                    _ => Err(e),
                },
                ok => ok,
            },
            Header::Mapped(header) => match &self.format {
                InputFormat::Mapped(m) => match m.decode_csv(header, &fields) {
                    // As for canonical CSV: a header in the middle of the file, naming
                    // every mapped column the first one named, in any order or case.
                    Err(e) => {
                        let row: Vec<CompactString> = fields.iter().map(|f| CompactString::from(f.trim())).collect();
                        if !m.is_csv_header_like(&row, header) {
                            return Decoded::Rejected(e);
                        }
                        tracing::info!(source = %m.name, "a header row in the middle of a CSV file: the rows after it are read by it");
                        self.header = Header::Mapped(row);
                        return Decoded::Header;
                    }
                    ok => ok.map(Box::new),
                },
                _ => unreachable!("a mapped header only exists for a mapped format"),
            },
            Header::Rejected(why) => Err(DecodeError::BadCsv(format!("the file's header was rejected: {why}"))),
            Header::NotCsv => unreachable!("decode_csv is only called for CSV formats"),
        };
        match result {
            Ok(e) => Decoded::Event(e),
            Err(e) => Decoded::Rejected(e),
        }
    }
}
