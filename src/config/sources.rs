//! The `[sources.<name>]` sections: source mappings that onboard a log source whose
//! field names or format differ from spec/events.md (see `config/example.toml`).

use super::reader::Section;
use crate::event::mapping::{
    has_offset, pattern_problem, value_problem, FieldFrom, FieldMapping, SourceFormat, SourceMapping, TimeFormat,
};
use crate::event::Field;
use crate::time::Zone;
use std::collections::HashMap;

pub(super) fn read_source(name: &str, s: &Section) -> Option<SourceMapping> {
    let mut format = String::from("json");
    s.string("format", &mut format);
    let mut delimiter = String::from(",");
    s.string("delimiter", &mut delimiter);
    let format = match format.as_str() {
        "json" => SourceFormat::Json,
        "csv" => {
            if delimiter.len() != 1 {
                s.error("delimiter", "expected one character, e.g. \",\" or \";\"");
            } else if matches!(delimiter.as_bytes()[0], b'"' | b'\n' | b'\r') {
                // A quote or a line ending cannot also separate fields: every record
                // would be one field, or every line a dead letter.
                s.error("delimiter", format!("{delimiter:?} cannot separate fields (it quotes or ends records)"));
            }
            SourceFormat::Csv { delimiter: delimiter.bytes().next().unwrap_or(b',') }
        }
        "cef" => SourceFormat::Cef,
        other => {
            s.error("format", format!("unknown format {other:?} (expected json, csv or cef)"));
            return None;
        }
    };
    let mut keep_unmapped = true;
    s.bool("keep_unmapped", &mut keep_unmapped);
    let mut files = Vec::new();
    s.strings("files", &mut files);
    let mut fields = Vec::new();
    match s.table("fields") {
        Some(f) => {
            for key in f.keys() {
                let Some(field) = Field::from_name(&key) else {
                    f.error(&key, "not a field of spec/events.md");
                    continue;
                };
                if let Some(m) = read_field_mapping(field, &f, &key) {
                    fields.push(m);
                }
            }
            for required in Field::ALL.into_iter().filter(|f| f.is_required()) {
                if !fields.iter().any(|m: &FieldMapping| m.field == required) {
                    f.error(required.name(), format!("source `{name}` has no mapping for required field"));
                }
            }
            f.finish();
        }
        None => s.error("fields", format!("source `{name}` needs a [sources.{name}.fields] table")),
    }
    Some(SourceMapping { name: name.to_string(), format, fields, keep_unmapped, files })
}

fn read_field_mapping(field: Field, parent: &Section, key: &str) -> Option<FieldMapping> {
    let mut m = FieldMapping {
        field,
        from: FieldFrom::Source(String::new()),
        values: HashMap::new(),
        time: None,
        default: None,
        strip_domain: None,
    };
    if let Some(toml_edit::Item::Value(v)) = parent.raw(key) {
        if let Some(src) = v.as_str() {
            m.from = FieldFrom::Source(src.to_string());
            if field == Field::Ts {
                m.time = Some(TimeFormat::Rfc3339);
            }
            return Some(m);
        }
    }
    let t = parent.table(key)?;
    let (mut from, mut value) = (None, None);
    t.opt_string("from", &mut from);
    t.opt_string("value", &mut value);
    m.from = match (from, value) {
        (Some(f), None) => FieldFrom::Source(f),
        (None, Some(v)) => FieldFrom::Constant(v),
        _ => {
            t.error("from", "give exactly one of `from` (a source field) or `value` (a constant)");
            return None;
        }
    };
    t.opt_string("default", &mut m.default);
    // `true` (any domain) or the force's own domains.
    match t.raw("strip_domain") {
        None => {}
        Some(item) if item.as_bool().is_some() => {
            let mut any = false;
            t.bool("strip_domain", &mut any);
            m.strip_domain = any.then(Vec::new);
        }
        Some(_) => {
            let mut only = Vec::new();
            t.strings("strip_domain", &mut only);
            if only.is_empty() {
                t.error("strip_domain", "true, or the domains to strip ([\"WMP\", \"wmp.police.uk\"])");
            }
            m.strip_domain = Some(only);
        }
    }
    if m.strip_domain.is_some() && field != Field::UserId {
        t.error("strip_domain", "only `user_id` is an account with a domain");
    }
    if let Some(values) = t.table("values") {
        for k in values.keys() {
            let mut v = String::new();
            values.string(&k, &mut v);
            if let Some(problem) = value_problem(field, &v) {
                values.error(&k, problem);
            }
            // Keys are compared without case: two that differ only in it are one.
            if m.values.get(&k.to_uppercase()).is_some_and(|earlier| *earlier != v) {
                values.error(&k, "given twice with other values (keys are compared without case)");
            }
            m.values.insert(k.to_uppercase(), v);
        }
    }
    // A constant or default is translated by `values` as a read value is, then read.
    let translated = |v: &str| m.values.get(&v.trim().to_uppercase()).cloned().unwrap_or_else(|| v.to_string());
    // Empty is absent: for a required field, every record would lack it.
    let problem = |v: &str| match translated(v) {
        t if t.trim().is_empty() && field.is_required() => Some(format!("`{}` is required: not empty", field.name())),
        t => value_problem(field, &t),
    };
    if let Some(problem) = match &m.from {
        FieldFrom::Constant(v) => problem(v),
        FieldFrom::Source(_) => None,
    } {
        t.error("value", problem);
    }
    if let Some(problem) = m.default.as_deref().and_then(problem) {
        t.error("default", problem);
    }
    let mut format = None;
    t.opt_string("format", &mut format);
    let mut zone = None;
    t.opt_string("timezone", &mut zone);
    let zone_given = zone.is_some();
    let zone = match zone.as_deref().map(Zone::parse) {
        None => Zone::Utc,
        Some(Ok(z)) => z,
        Some(Err(e)) => {
            t.error("timezone", e);
            Zone::Utc
        }
    };
    m.time = match (field, format.as_deref()) {
        // RFC 3339 and epoch times carry their zone: one given would be ignored, and
        // local times without an offset are dead letters ("missing time zone").
        (Field::Ts, None | Some("rfc3339" | "epoch_ms" | "epoch_s")) if zone_given => {
            t.error(
                "timezone",
                "this time format carries its own offset, so a zone here is never used: for local times without one give their `format` (\"%Y-%m-%dT%H:%M:%S\")",
            );
            None
        }
        (Field::Ts, None | Some("rfc3339")) => Some(TimeFormat::Rfc3339),
        (Field::Ts, Some("epoch_ms")) => Some(TimeFormat::EpochMillis),
        (Field::Ts, Some("epoch_s")) => Some(TimeFormat::EpochSeconds),
        (Field::Ts | Field::SubjectDob, Some(p)) => {
            if let Some(problem) = pattern_problem(field, p) {
                t.error("format", problem);
            }
            // A pattern reads a local time: in which zone must be said (British Summer
            // Time read as UTC puts every event an hour out).
            if field == Field::Ts && !zone_given && !has_offset(p) {
                t.error(
                    "timezone",
                    "a time `format` reads local times: give the zone they are in (\"Europe/London\", or \"UTC\")",
                );
            }
            Some(TimeFormat::Pattern { pattern: p.to_string(), zone })
        }
        (_, None) => None,
        (_, Some(_)) => {
            t.error("format", "only `ts` and `subject_dob` take a format");
            None
        }
    };
    t.finish();
    Some(m)
}
