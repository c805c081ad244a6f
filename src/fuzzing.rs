//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and the property tests that
//! run the same decoders over arbitrary bytes in CI: each takes any bytes, decodes
//! them as a source or a watch list would, and panics only on a broken promise (an
//! accepted event that does not survive its own canonical form).

use crate::config::Config;
use crate::event::{json, AccessEvent};
use crate::source::records::RecordReader;
use crate::source::{Decoded, Decoder, InputFormat};
use crate::watchlist::TableName;
use std::sync::{Arc, OnceLock};

/// Records are cut at this size, as a source with the default limit cuts them.
const KEEP: usize = 65_536;

/// The promise every decoder keeps: an event it accepts, written in canonical JSON,
/// reads back as itself (nothing is lost or corrupted on the way to the archive).
fn round_trip(e: &AccessEvent) {
    let mut line = String::new();
    e.write_json(&mut line);
    match json::decode(line.as_bytes()) {
        Ok(again) => assert_eq!(&again, e, "the canonical form of an accepted event reads back differently: {line}"),
        Err(why) => panic!("the canonical form of an accepted event is rejected ({why}): {line}"),
    }
}

/// Splits `data` into records as a file source does and decodes each.
fn decode_records(data: &[u8], format: InputFormat) {
    let csv = format.csv_delimiter();
    let mut decoder = Decoder::new(format);
    let mut records = RecordReader::new(data, KEEP, csv);
    while let Ok(Some(record)) = records.next_record() {
        if record.is_truncated() {
            continue;
        }
        if let Decoded::Event(e) = decoder.decode(record.bytes) {
            round_trip(&e);
        }
    }
}

/// Canonical JSON Lines.
pub fn json(data: &[u8]) {
    if let Ok(e) = json::decode(data) {
        round_trip(&e);
    }
    decode_records(data, InputFormat::JsonLines);
}

/// Canonical CSV: a header, then records.
pub fn csv(data: &[u8]) {
    decode_records(data, InputFormat::Csv);
}

/// The source mappings the mapped targets use: a CEF gateway and a JSON export with
/// nested fields, value translations and a local-time pattern.
fn mappings() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_toml(
            "fuzz",
            r#"
[sources.cef]
format = "cef"
[sources.cef.fields]
event_id = "externalId"
ts = { from = "rt", format = "epoch_ms" }
system = { value = "PNC" }
user_id = "suser"
action = { from = "act", values = { QUERY = "search", DISPLAY = "view" } }
subject_type = { from = "EntityKind", values = { NOMINAL = "person", VEHICLE = "vehicle" }, default = "other" }
subject_name = "duser"
subject_dob = { from = "Date of Birth", format = "%d/%m/%Y" }
reference = "Reference"

[sources.export]
format = "json"
[sources.export.fields]
event_id = "audit.id"
ts = { from = "audit.when", format = "%d/%m/%Y %H:%M:%S", timezone = "Europe/London" }
system = "audit.system"
user_id = "who.user"
action = { from = "what", values = { QRY = "search", DSP = "view" } }
subject_type = { from = "entity.kind", default = "other" }
subject_name = "entity.name"
reference = "why"
"#,
        )
        .expect("the fuzz mappings are valid")
    })
}

fn mapped(name: &str) -> InputFormat {
    InputFormat::Mapped(Arc::clone(&mappings().sources[name]))
}

/// CEF through a source mapping.
pub fn cef(data: &[u8]) {
    decode_records(data, mapped("cef"));
}

/// JSON through a source mapping.
pub fn mapped_json(data: &[u8]) {
    decode_records(data, mapped("export"));
}

/// A watch-list row as a topic message of every table, and the bytes as each
/// table's CSV file.
pub fn watchlist_row(data: &[u8]) {
    for table in TableName::ALL {
        let _ = crate::live::lists::decode(table, Some(b"key"), Some(data), None);
        if let Ok(text) = std::str::from_utf8(data) {
            let mut lists = crate::watchlist::WatchLists::default();
            let _ = crate::watchlist::load::load_text(table, std::path::Path::new("fuzz.csv"), text, &mut lists);
        }
    }
}
