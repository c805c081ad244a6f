//! The archive's columns: access events and alerts to Arrow record batches and back.
//!
//! The event columns are the fields of spec/events.md less `system` (a path
//! partition), plus the normalised identity keys the hunt queries filter on, so that
//! a look-up prunes by statistics and bloom filters instead of normalising every name
//! it reads. The schema is documented in docs/archive.md; a change here is a change
//! there.

use crate::alert::Alert;
use crate::event::explained::{Kind, Recorded};
use crate::event::{AccessEvent, Action, PersonName, SubjectType};
use crate::time::{Date, Timestamp};
use arrow::array::{
    Array, ArrayRef, BooleanBuilder, Date32Array, Date32Builder, Int32Builder, Int64Array, Int64Builder, ListBuilder,
    RecordBatch, StringArray, StringBuilder, TimestampMillisecondArray, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use compact_str::CompactString;
use std::sync::{Arc, LazyLock};

/// Where an archived event came from (its Kafka partition and offset, and when it was
/// received, when live) and how the engine explained it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    /// When the engine received it (record time); `None` in a replay of files.
    pub received_at: Option<Timestamp>,
    /// The explanation the engine found (`None`: unexplained, or not judged).
    pub explained: Option<Recorded>,
}

/// One event waiting in the writer, with the identity keys computed once.
#[derive(Clone, Debug)]
pub struct ArchivedEvent {
    pub event: AccessEvent,
    /// Input order within the writer: replays of the archive break timestamp ties by it,
    /// so they see the events in the order the engine did.
    pub seq: i64,
    pub from: Provenance,
    pub surname: Option<CompactString>,
    pub forenames: Option<CompactString>,
    pub vrm_key: Option<CompactString>,
    pub postcode_key: Option<CompactString>,
}

impl ArchivedEvent {
    pub fn new(event: AccessEvent, seq: i64, from: Provenance) -> ArchivedEvent {
        let name = event.subject_name.as_deref().and_then(PersonName::parse);
        let vrm_key = event.vrm_key();
        let postcode_key = event.postcode_key();
        let (surname, forenames) = match name {
            Some(n) => (Some(n.surname), (!n.forenames.is_empty()).then_some(n.forenames)),
            None => (None, None),
        };
        ArchivedEvent { event, seq, from, surname, forenames, vrm_key, postcode_key }
    }
}

/// The columns of `batch` with no value in it, to be written without compression or a
/// dictionary. In the generated force's files about half the event columns are empty
/// (no vehicle in a person look-up, no Kafka position in a replay): their pages hold
/// only the run of null levels, a few bytes no compressor shrinks, and each compressed
/// column costs the Parquet writer a zstd compressor and decompressor of its own, made
/// and filled with zeroed memory for every file.
pub fn empty(batch: &RecordBatch) -> Vec<parquet::schema::types::ColumnPath> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(f, c)| !f.data_type().is_nested() && c.null_count() == c.len())
        .map(|(f, _)| parquet::schema::types::ColumnPath::from(f.name().as_str()))
        .collect()
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The columns of an events file, in file order.
/// The events columns every file of an archive has had, from its first version on:
/// a file among the events without one of them is not the archive's (a query's
/// answer of a few columns copied in was counted as events).
pub const EVENT_COLUMNS_ALWAYS: [&str; 25] = [
    "event_id",
    "ts",
    "user_id",
    "action",
    "subject_type",
    "subject_id",
    "subject_name",
    "subject_dob",
    "subject_postcode",
    "subject_vrm",
    "query",
    "result_count",
    "reason_code",
    "reference",
    "force",
    "terminal",
    "session_id",
    "extra",
    "subject_surname",
    "subject_forenames",
    "vrm_key",
    "postcode_key",
    "ingest_seq",
    "kafka_partition",
    "kafka_offset",
];

/// The alerts columns every alerts file has had (as [`EVENT_COLUMNS_ALWAYS`]).
pub const ALERT_COLUMNS_ALWAYS: [&str; 27] = [
    "alert_id",
    "rule",
    "category",
    "severity",
    "score",
    "event_ts",
    "detected_at",
    "user_id",
    "subject_type",
    "subject_id",
    "subject_name",
    "subject_dob",
    "subject_postcode",
    "subject_vrm",
    "event_ids",
    "watchlist_list",
    "watchlist_key",
    "watchlist_match",
    "reason",
    "retrospective",
    "system",
    "action",
    "unit",
    "proposed_watchlist",
    "allowed_reason",
    "about_user",
    "alert_json",
];

pub static EVENT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        s("event_id", false),
        Field::new("ts", ts_type(), false),
        s("user_id", false),
        s("action", false),
        s("subject_type", false),
        s("subject_id", true),
        s("subject_name", true),
        Field::new("subject_dob", DataType::Date32, true),
        s("subject_postcode", true),
        s("subject_vrm", true),
        s("subject_sex", true),
        s("query", true),
        Field::new("result_count", DataType::Int64, true),
        s("reason_code", true),
        s("reference", true),
        s("force", true),
        s("terminal", true),
        s("session_id", true),
        s("extra", true),
        s("subject_surname", true),
        s("subject_forenames", true),
        s("vrm_key", true),
        s("postcode_key", true),
        Field::new("ingest_seq", DataType::Int64, false),
        Field::new("kafka_partition", DataType::Int32, true),
        Field::new("kafka_offset", DataType::Int64, true),
        Field::new("received_at", ts_type(), true),
        s("explained_by", true),
        s("explanation", true),
    ]))
});

/// The columns written with a bloom filter: the ones look-ups ask for by value.
pub const EVENT_BLOOM_COLUMNS: [&str; 6] =
    ["event_id", "user_id", "subject_id", "subject_surname", "vrm_key", "postcode_key"];

/// The columns with (nearly) one value per row, written without a dictionary.
pub const EVENT_UNIQUE_COLUMNS: [&str; 5] = ["event_id", "ts", "ingest_seq", "kafka_offset", "received_at"];

/// Builds an events record batch from rows in the order given.
pub fn events_batch<'a>(rows: impl ExactSizeIterator<Item = &'a ArchivedEvent>) -> RecordBatch {
    let n = rows.len();
    let strings = || StringBuilder::with_capacity(n, n * 8);
    let (mut event_id, mut user_id, mut action, mut subject_type) = (strings(), strings(), strings(), strings());
    let (mut subject_id, mut subject_name, mut postcode, mut vrm) = (strings(), strings(), strings(), strings());
    let (mut query, mut reason_code, mut reference, mut force) = (strings(), strings(), strings(), strings());
    let mut sex = strings();
    let (mut terminal, mut session_id, mut extra) = (strings(), strings(), strings());
    let (mut surname, mut forenames, mut vrm_key, mut postcode_key) = (strings(), strings(), strings(), strings());
    let mut ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut dob = Date32Builder::with_capacity(n);
    let mut result_count = Int64Builder::with_capacity(n);
    let mut seq = Int64Builder::with_capacity(n);
    let mut partition = Int32Builder::with_capacity(n);
    let mut offset = Int64Builder::with_capacity(n);
    let mut received = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let (mut explained_by, mut explanation) = (strings(), strings());
    for r in rows {
        let e = &r.event;
        event_id.append_value(&e.event_id);
        ts.append_value(e.ts.0);
        user_id.append_value(&e.user_id);
        action.append_value(e.action.as_str());
        subject_type.append_value(e.subject_type.as_str());
        subject_id.append_option(e.subject_id.as_deref());
        subject_name.append_option(e.subject_name.as_deref());
        dob.append_option(e.subject_dob.map(|d| d.0));
        postcode.append_option(e.subject_postcode.as_deref());
        vrm.append_option(e.subject_vrm.as_deref());
        sex.append_option(e.subject_sex.map(|x| x.as_str()));
        query.append_option(e.query.as_deref());
        result_count.append_option(e.result_count.map(|c| c.min(i64::MAX as u64) as i64));
        reason_code.append_option(e.reason_code.as_deref());
        reference.append_option(e.reference.as_deref());
        force.append_option(e.force.as_deref());
        terminal.append_option(e.terminal.as_deref());
        session_id.append_option(e.session_id.as_deref());
        extra.append_option(e.extra.as_deref());
        surname.append_option(r.surname.as_deref());
        forenames.append_option(r.forenames.as_deref());
        vrm_key.append_option(r.vrm_key.as_deref());
        postcode_key.append_option(r.postcode_key.as_deref());
        seq.append_value(r.seq);
        partition.append_option(r.from.partition);
        offset.append_option(r.from.offset);
        received.append_option(r.from.received_at.map(|t| t.0));
        let by = r.from.explained.as_ref().map(|x| match x.of {
            Some(of) => format!("{}:{}", x.kind.as_str(), of.as_str()),
            None => x.kind.as_str().to_string(),
        });
        explained_by.append_option(by);
        explanation.append_option(r.from.explained.as_ref().map(|x| x.detail.as_str()));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(event_id.finish()),
        Arc::new(ts.finish()),
        Arc::new(user_id.finish()),
        Arc::new(action.finish()),
        Arc::new(subject_type.finish()),
        Arc::new(subject_id.finish()),
        Arc::new(subject_name.finish()),
        Arc::new(dob.finish()),
        Arc::new(postcode.finish()),
        Arc::new(vrm.finish()),
        Arc::new(sex.finish()),
        Arc::new(query.finish()),
        Arc::new(result_count.finish()),
        Arc::new(reason_code.finish()),
        Arc::new(reference.finish()),
        Arc::new(force.finish()),
        Arc::new(terminal.finish()),
        Arc::new(session_id.finish()),
        Arc::new(extra.finish()),
        Arc::new(surname.finish()),
        Arc::new(forenames.finish()),
        Arc::new(vrm_key.finish()),
        Arc::new(postcode_key.finish()),
        Arc::new(seq.finish()),
        Arc::new(partition.finish()),
        Arc::new(offset.finish()),
        Arc::new(received.finish()),
        Arc::new(explained_by.finish()),
        Arc::new(explanation.finish()),
    ];
    RecordBatch::try_new(EVENT_SCHEMA.clone(), columns).expect("columns match EVENT_SCHEMA")
}

/// Why archived rows could not be read back as events.
#[derive(Debug, thiserror::Error)]
#[error("archive column {column}: {why}")]
pub struct ColumnError {
    pub column: String,
    pub why: String,
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, ColumnError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ColumnError { column: name.into(), why: "missing".into() })?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| ColumnError { column: name.into(), why: "unexpected type".into() })
}

/// Reads a string column as either plain or dictionary-encoded text.
struct Text(ArrayRef);

impl Text {
    fn of(batch: &RecordBatch, name: &str) -> Result<Option<Text>, ColumnError> {
        let Some(col) = batch.column_by_name(name) else { return Ok(None) };
        let col = match col.data_type() {
            DataType::Utf8 => col.clone(),
            DataType::Dictionary(_, _) | DataType::Utf8View | DataType::LargeUtf8 => {
                arrow::compute::cast(col, &DataType::Utf8)
                    .map_err(|e| ColumnError { column: name.into(), why: e.to_string() })?
            }
            other => return Err(ColumnError { column: name.into(), why: format!("expected text, found {other}") }),
        };
        Ok(Some(Text(col)))
    }

    fn required(batch: &RecordBatch, name: &str) -> Result<Text, ColumnError> {
        Text::of(batch, name)?.ok_or_else(|| ColumnError { column: name.into(), why: "missing".into() })
    }

    fn get(&self, i: usize) -> Option<&str> {
        let a = self.0.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        a.is_valid(i).then(|| a.value(i))
    }
}

/// An event read back from the archive, with its replay order.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub event: AccessEvent,
    pub seq: i64,
    pub from: Provenance,
}

impl StoredEvent {
    /// What two archived copies of one access share, as the engine tells copies
    /// ([`AccessEvent::copy_hash`]): a redelivery archives the access again with the
    /// same; a source that reuses an event id for another access (the spec forbids
    /// it, sources do it: a search and its view under one transaction id) differs, and
    /// both accesses are kept.
    pub fn copy_key(&self) -> u64 {
        self.event.copy_hash()
    }
}

/// Reads events back from archived rows, user ids folded as the engine folds them (rows
/// written before it did keep the case they were logged in). `system` names the
/// partition the rows came from when the batch has no `system` column (a file read
/// directly); a query over the `events` table carries the column.
pub fn events_from_batch(batch: &RecordBatch, system: Option<&str>) -> Result<Vec<StoredEvent>, ColumnError> {
    read_events(batch, system, true)
}

/// [`events_from_batch`] with every value as stored: what a file's key index and a
/// compaction's rewrite must hold, so that a look-up finds the rows the file has.
pub fn events_as_stored(batch: &RecordBatch, system: Option<&str>) -> Result<Vec<StoredEvent>, ColumnError> {
    read_events(batch, system, false)
}

fn read_events(batch: &RecordBatch, system: Option<&str>, fold: bool) -> Result<Vec<StoredEvent>, ColumnError> {
    let req = |name| Text::required(batch, name);
    let opt = |name| Text::of(batch, name);
    let (event_id, user_id, action, subject_type) =
        (req("event_id")?, req("user_id")?, req("action")?, req("subject_type")?);
    let systems = opt("system")?;
    let (subject_id, subject_name, postcode, vrm) =
        (opt("subject_id")?, opt("subject_name")?, opt("subject_postcode")?, opt("subject_vrm")?);
    let (query, reason_code, reference, force) = (opt("query")?, opt("reason_code")?, opt("reference")?, opt("force")?);
    let (terminal, session_id, extra) = (opt("terminal")?, opt("session_id")?, opt("extra")?);
    let sex = opt("subject_sex")?;
    let ts = column::<TimestampMillisecondArray>(batch, "ts")?;
    let dob = batch.column_by_name("subject_dob").and_then(|c| c.as_any().downcast_ref::<Date32Array>());
    let result_count = batch.column_by_name("result_count").and_then(|c| c.as_any().downcast_ref::<Int64Array>());
    let seq = batch.column_by_name("ingest_seq").and_then(|c| c.as_any().downcast_ref::<Int64Array>());
    let partition =
        batch.column_by_name("kafka_partition").and_then(|c| c.as_any().downcast_ref::<arrow::array::Int32Array>());
    let offset = batch.column_by_name("kafka_offset").and_then(|c| c.as_any().downcast_ref::<Int64Array>());
    let received =
        batch.column_by_name("received_at").and_then(|c| c.as_any().downcast_ref::<TimestampMillisecondArray>());
    let (explained_by, explanation) = (opt("explained_by")?, opt("explanation")?);
    let get = |t: &Option<Text>, i: usize| t.as_ref().and_then(|t| t.get(i)).map(CompactString::from);
    let bad = |column: &str, i: usize, v: &str| ColumnError { column: column.into(), why: format!("row {i}: {v:?}") };

    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let action_text = action.get(i).unwrap_or_default();
        let type_text = subject_type.get(i).unwrap_or_default();
        let system = match (&systems, system) {
            (Some(col), _) => col.get(i).unwrap_or_default(),
            (None, Some(s)) => s,
            (None, None) => return Err(ColumnError { column: "system".into(), why: "missing".into() }),
        };
        let event = AccessEvent {
            event_id: event_id.get(i).unwrap_or_default().into(),
            ts: Timestamp(ts.value(i)),
            system: system.into(),
            user_id: {
                let mut id = CompactString::from(user_id.get(i).unwrap_or_default());
                if fold {
                    crate::event::normalise::user_id(&mut id);
                }
                id
            },
            action: Action::parse(action_text).ok_or_else(|| bad("action", i, action_text))?,
            subject_type: SubjectType::parse(type_text).ok_or_else(|| bad("subject_type", i, type_text))?,
            subject_id: get(&subject_id, i),
            subject_name: get(&subject_name, i),
            subject_dob: dob.filter(|d| d.is_valid(i)).map(|d| Date(d.value(i))),
            subject_postcode: get(&postcode, i),
            subject_vrm: get(&vrm, i),
            subject_sex: sex.as_ref().and_then(|t| t.get(i)).and_then(|v| crate::event::Sex::parse(v).ok().flatten()),
            query: get(&query, i),
            result_count: result_count.filter(|c| c.is_valid(i)).map(|c| c.value(i).max(0) as u64),
            reason_code: get(&reason_code, i),
            reference: get(&reference, i),
            force: get(&force, i),
            terminal: get(&terminal, i),
            session_id: get(&session_id, i),
            extra: extra.as_ref().and_then(|t| t.get(i)).map(Into::into),
        };
        out.push(StoredEvent {
            event,
            seq: seq.map_or(i as i64, |s| s.value(i)),
            from: Provenance {
                partition: partition.filter(|p| p.is_valid(i)).map(|p| p.value(i)),
                offset: offset.filter(|o| o.is_valid(i)).map(|o| o.value(i)),
                received_at: received.filter(|r| r.is_valid(i)).map(|r| Timestamp(r.value(i))),
                explained: explained_by.as_ref().and_then(|t| t.get(i)).and_then(|by| {
                    let (kind, of) = match by.split_once(':') {
                        Some((k, o)) => (Kind::parse(k)?, Kind::parse(o)),
                        None => (Kind::parse(by)?, None),
                    };
                    let detail = explanation.as_ref().and_then(|t| t.get(i)).unwrap_or_default().into();
                    Some(Recorded { kind, of, detail })
                }),
            },
        });
    }
    Ok(out)
}

/// The columns of an alerts file: the fields of spec/alerts.md flattened for SQL,
/// and the alert's JSON as written to the alert topic (`alert_json`), so that it reads
/// back exactly.
pub static ALERT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        s("alert_id", false),
        s("rule", false),
        s("category", false),
        s("severity", false),
        Field::new("score", DataType::Int32, false),
        Field::new("event_ts", ts_type(), false),
        Field::new("detected_at", ts_type(), false),
        s("user_id", false),
        s("subject_type", false),
        s("subject_id", true),
        s("subject_name", true),
        Field::new("subject_dob", DataType::Date32, true),
        s("subject_postcode", true),
        s("subject_vrm", true),
        Field::new("event_ids", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false),
        s("watchlist_list", true),
        s("watchlist_key", true),
        s("watchlist_match", true),
        s("reason", false),
        Field::new("retrospective", DataType::Boolean, false),
        s("system", false),
        s("action", false),
        s("unit", true),
        s("proposed_watchlist", true),
        s("allowed_reason", true),
        Field::new("about_user", DataType::Boolean, false),
        Field::new("user_risk", DataType::Int64, true),
        s("alert_json", false),
    ]))
});

/// Builds an alerts record batch.
pub fn alerts_batch(alerts: &[Alert]) -> RecordBatch {
    let n = alerts.len();
    let strings = || StringBuilder::with_capacity(n, n * 16);
    let (mut id, mut rule, mut category, mut severity) = (strings(), strings(), strings(), strings());
    let (mut user, mut stype, mut sid, mut sname) = (strings(), strings(), strings(), strings());
    let (mut postcode, mut vrm, mut wl_list, mut wl_key) = (strings(), strings(), strings(), strings());
    let (mut wl_match, mut reason, mut system, mut action) = (strings(), strings(), strings(), strings());
    let (mut unit, mut proposed, mut allowed, mut json) = (strings(), strings(), strings(), strings());
    let mut score = Int32Builder::with_capacity(n);
    let mut event_ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut detected = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut dob = Date32Builder::with_capacity(n);
    let mut event_ids = ListBuilder::new(StringBuilder::new());
    let (mut retro, mut about) = (BooleanBuilder::with_capacity(n), BooleanBuilder::with_capacity(n));
    let mut risk = Int64Builder::with_capacity(n);
    let mut text = String::new();
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    for a in alerts {
        id.append_value(&a.alert_id);
        rule.append_value(a.rule.as_str());
        category.append_value(name(serde_json::to_value(a.category).unwrap_or_default()));
        severity.append_value(a.severity.as_str());
        score.append_value(a.score as i32);
        event_ts.append_value(a.event_ts.0);
        detected.append_value(a.detected_at.0);
        user.append_value(&a.user_id);
        stype.append_value(a.subject.subject_type.as_str());
        sid.append_option(a.subject.subject_id.as_deref());
        sname.append_option(a.subject.subject_name.as_deref());
        dob.append_option(a.subject.subject_dob.map(|d| d.0));
        postcode.append_option(a.subject.subject_postcode.as_deref());
        vrm.append_option(a.subject.subject_vrm.as_deref());
        for e in &a.event_ids {
            event_ids.values().append_value(e);
        }
        event_ids.append(true);
        wl_list.append_option(a.watchlist.as_ref().map(|w| w.list.as_str()));
        wl_key.append_option(a.watchlist.as_ref().map(|w| w.key.as_str()));
        wl_match.append_option(a.watchlist.as_ref().map(|w| w.strength.as_str()));
        reason.append_value(&a.reason);
        retro.append_value(a.retrospective);
        system.append_value(&a.system);
        action.append_value(a.action.as_str());
        unit.append_option(a.unit.as_deref());
        proposed.append_option(a.proposed_watchlist.map(|t| t.as_str()));
        allowed.append_option(a.allowed.as_ref().map(|x| x.reason.as_str()));
        about.append_value(a.about_user);
        risk.append_option(a.user_risk.map(i64::from));
        text.clear();
        a.write_json(&mut text);
        json.append_value(&text);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(rule.finish()),
        Arc::new(category.finish()),
        Arc::new(severity.finish()),
        Arc::new(score.finish()),
        Arc::new(event_ts.finish()),
        Arc::new(detected.finish()),
        Arc::new(user.finish()),
        Arc::new(stype.finish()),
        Arc::new(sid.finish()),
        Arc::new(sname.finish()),
        Arc::new(dob.finish()),
        Arc::new(postcode.finish()),
        Arc::new(vrm.finish()),
        Arc::new(event_ids.finish()),
        Arc::new(wl_list.finish()),
        Arc::new(wl_key.finish()),
        Arc::new(wl_match.finish()),
        Arc::new(reason.finish()),
        Arc::new(retro.finish()),
        Arc::new(system.finish()),
        Arc::new(action.finish()),
        Arc::new(unit.finish()),
        Arc::new(proposed.finish()),
        Arc::new(allowed.finish()),
        Arc::new(about.finish()),
        Arc::new(risk.finish()),
        Arc::new(json.finish()),
    ];
    RecordBatch::try_new(ALERT_SCHEMA.clone(), columns).expect("columns match ALERT_SCHEMA")
}

/// Reads alerts back from their `alert_json` column.
pub fn alerts_from_batch(batch: &RecordBatch) -> Result<Vec<Alert>, ColumnError> {
    let json = Text::required(batch, "alert_json")?;
    (0..batch.num_rows())
        .map(|i| {
            serde_json::from_str(json.get(i).unwrap_or_default())
                .map_err(|e| ColumnError { column: "alert_json".into(), why: format!("row {i}: {e}") })
        })
        .collect()
}
