//! Hunt queries over the archive with DataFusion: `accesswatch query "SQL"` and the
//! ready-made questions analysts are asked most (`who-accessed`, `user-activity`,
//! `leak-trace`).
//!
//! Tables: `events` and `alerts` (the archive, with the partition columns `date` and,
//! for events, `system`), and, when a watch-list directory is given, one table per
//! watch-list file found there (`custody`, `high_profile`, `staff`, `associates`,
//! `operations`, `incidents`).
//!
//! A subject is found the way the rules find it (spec/events.md): by record id, by
//! normalised name (and date of birth when both sides have one), or by VRM or postcode
//! without spaces. The archive stores the normalised surname, VRM and postcode, so the
//! query filters on them and Parquet statistics and bloom filters skip the files and
//! row groups that cannot match; forenames and dates of birth are then compared here
//! with the rules' own functions.

pub mod leak;
pub mod output;

use crate::archive::columns::{self, StoredEvent, ALERT_SCHEMA, EVENT_SCHEMA};
use crate::event::{normalise, PersonName};
use crate::time::{Date, Timestamp};
use crate::watchlist::PersonIdentity;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, SessionConfig, SessionContext};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use output::{write_batches, OutputFormat};

/// Why a hunt failed, by the layer that failed: the analyst's request, the SQL engine,
/// the archive's files, or their contents.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// The SQL engine (DataFusion) refused or failed the query: often the SQL itself.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow failed on the query's result (a cast, a write to the output).
    #[error("query result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// An archive file or directory could not be read (or an output file written).
    #[error("archive files: {0}")]
    Io(#[from] std::io::Error),
    /// An archive file does not have the columns of docs/archive.md.
    #[error("archive contents: {0}")]
    Column(#[from] columns::ColumnError),
    /// The request itself: a subject with nothing to look for, an unknown format.
    #[error("{0}")]
    Usage(String),
    /// The answer could not be written where it was asked to go.
    #[error("{0}")]
    Output(String),
    /// The SQL engine stopped on a file it could not read (the Parquet reader panics on
    /// some damaged footers rather than fail).
    #[error("query: the reader stopped on a file of the archive: {0}")]
    Stopped(String),
}

/// The stack of the threads that plan and run a query (reserved, not used, until
/// a query recurses that deep).
const QUERY_STACK: usize = 256 << 20;

/// A query session over one archive (and optionally the watch lists).
pub struct Hunt {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
    archive: PathBuf,
    /// Files the look-ups could not read, left out of their answers.
    unread: crate::archive::lookup::Unread,
}

/// The watch-list tables a directory may hold.
const WATCHLIST_TABLES: [&str; 6] = ["custody", "high_profile", "staff", "associates", "operations", "incidents"];

impl Hunt {
    /// The archive files the look-ups since the last call could not read (each with
    /// why), which their answers left out.
    pub fn unread(&self) -> Vec<(PathBuf, String)> {
        self.unread.take()
    }

    /// [`Hunt::open`] for an analyst's question: an archive with nothing in it yet (an
    /// unmounted share, or the archive's own `events/` given for it) is refused, where
    /// it would answer "nobody". The live engine's own look-ups open an archive that
    /// may not have been written yet.
    pub fn open_written(archive: &Path, watchlists: Option<&Path>) -> Result<Hunt, HuntError> {
        crate::archive::written_archive(archive).map_err(|e| HuntError::Usage(e.to_string()))?;
        Hunt::open(archive, watchlists)
    }

    /// Opens the archive at `archive`; registers the watch-list files in `watchlists`.
    pub fn open(archive: &Path, watchlists: Option<&Path>) -> Result<Hunt, HuntError> {
        if !archive.is_dir() {
            return Err(HuntError::Usage(format!("{}: no such archive directory", archive.display())));
        }

        let runtime =
            tokio::runtime::Builder::new_multi_thread().thread_stack_size(QUERY_STACK).enable_all().build()?;
        // Filters are pushed into the Parquet scan (late materialisation: a look-up
        // decodes the other columns only for matching rows), and a file's footer is
        // read with one 64 KiB read rather than DataFusion's 512 KiB default. Any
        // DATAFUSION_* environment variable overrides these and every other setting,
        // e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS=4.
        let mut config = SessionConfig::from_env().unwrap_or_default();
        for (key, value) in [
            ("datafusion.execution.parquet.pushdown_filters", "true"),
            ("datafusion.execution.parquet.reorder_filters", "true"),
            ("datafusion.execution.parquet.metadata_size_hint", "65536"),
        ] {
            if std::env::var_os(key.replace('.', "_").to_uppercase()).is_none() {
                config = config.set_str(key, value);
            }
        }
        let ctx = SessionContext::new_with_config(config);
        let hunt = Hunt { ctx, runtime, archive: archive.to_path_buf(), unread: Default::default() };
        hunt.register("events", &archive.join("events"), EVENT_SCHEMA.clone(), &["date", "system"])?;
        hunt.register("alerts", &archive.join("alerts"), ALERT_SCHEMA.clone(), &["date"])?;
        if let Some(dir) = watchlists {
            for table in WATCHLIST_TABLES {
                let csv = dir.join(format!("{table}.csv"));
                let jsonl = dir.join(format!("{table}.jsonl"));
                let path = |p: &Path| p.to_string_lossy().into_owned();
                if csv.is_file() {
                    hunt.runtime.block_on(hunt.ctx.register_csv(table, path(&csv), CsvReadOptions::new()))?;
                } else if jsonl.is_file() {
                    let opts = JsonReadOptions::default().file_extension(".jsonl");
                    hunt.runtime.block_on(hunt.ctx.register_json(table, path(&jsonl), opts))?;
                }
            }
        }
        Ok(hunt)
    }

    fn register(&self, name: &str, dir: &Path, schema: SchemaRef, partitions: &[&str]) -> Result<(), HuntError> {
        if !dir.is_dir() {
            // An archive without alerts yet (or events): an empty table of the same shape.
            let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields.extend(partitions.iter().map(|p| Field::new(*p, DataType::Utf8, false)));
            let empty = RecordBatch::new_empty(Arc::new(Schema::new(fields)));
            self.ctx.register_batch(name, empty)?;
            return Ok(());
        }
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(partitions.iter().map(|p| (p.to_string(), DataType::Utf8)).collect());
        let url = format!("{}/", dir.canonicalize()?.display());
        self.runtime.block_on(self.ctx.register_listing_table(name, url, options, Some(schema), None))?;
        Ok(())
    }

    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// Runs one SQL statement and returns its rows.
    ///
    /// Read-only: a statement that would write (`INSERT`, `COPY ... TO`), define or
    /// drop a table (`CREATE EXTERNAL TABLE`, which would read any file) or set an
    /// option is refused. The archive is evidence, written once.
    pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, HuntError> {
        let read_only = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let run = || {
            self.runtime.block_on(async {
                let df = self.ctx.sql_with_options(sql, read_only).await?;
                Ok(df.collect().await?)
            })
        };
        // Planned on a thread of its own with a deep stack, as the runtime's threads
        // run it: a long list of conditions (ids pasted from a spreadsheet) is a tree
        // that deep, and its planning recurses down it.
        std::thread::scope(|scope| {
            let planner = std::thread::Builder::new().name("query".into()).stack_size(QUERY_STACK);
            match planner.spawn_scoped(scope, run) {
                Ok(thread) => thread.join(),
                Err(e) => Ok(Err(HuntError::Io(e))),
            }
        })
        .unwrap_or_else(|panic| Err(HuntError::Stopped(crate::archive::panic_text(&panic))))
    }

    /// Archived events matching `where_` (SQL over the `events` columns), as events,
    /// each once, in time order.
    pub fn events_where(&self, where_: &str) -> Result<Vec<StoredEvent>, HuntError> {
        let batches = self.sql(&format!("SELECT * FROM events WHERE {where_}"))?;
        let mut out = Vec::new();
        for b in &batches {
            out.extend(columns::events_from_batch(b, None)?);
        }
        out.sort_by(|a, b| (a.event.ts, a.seq).cmp(&(b.event.ts, b.seq)));
        let mut seen = HashSet::new();
        out.retain(|e| seen.insert(e.copy_key()));
        Ok(out)
    }

    /// Every archived event in the range whose record id, normalised surname, VRM or
    /// postcode is the subject's: a superset of its accesses, each once, in time order.
    pub fn candidates(&self, subject: &Subject, range: &TimeRange) -> Result<Vec<StoredEvent>, HuntError> {
        let owned = subject.keys();
        let keys: Vec<(&str, &str)> = owned.iter().map(|(c, v)| (*c, v.as_str())).collect();
        if keys.is_empty() {
            return Err(HuntError::Usage("name the subject: --subject ID, --name, --vrm or --postcode".into()));
        }
        // One walk for every key; in each file its key index does not rule out, only
        // the rows carrying the key are decoded.
        let mut found =
            crate::archive::lookup::events_with_any(&self.archive, &keys, range.from, range.to, &self.unread)?;
        found.sort_by(|a, b| (a.event.ts, a.seq).cmp(&(b.event.ts, b.seq)));
        let mut seen = HashSet::new();
        found.retain(|e| seen.insert(e.copy_key()));
        Ok(found)
    }

    /// Everyone who accessed the subject in the range, with how each access matched
    /// (the strongest way), in time order.
    pub fn who_accessed(&self, subject: &Subject, range: &TimeRange) -> Result<Vec<Access>, HuntError> {
        let found = self.candidates(subject, range)?;
        Ok(found
            .into_iter()
            .filter_map(|e| subject.matches(&e).map(|how| Access { stored: e, how, flagged: None }))
            .collect())
    }

    /// One user's accesses in `[from, to)`, in time order. The id is folded as the
    /// engine folds events' (`u10040` is `U10040`); rows archived before it did are
    /// found written as asked, upper-cased or lower-cased.
    pub fn user_activity(&self, user_id: &str, range: &TimeRange) -> Result<Vec<StoredEvent>, HuntError> {
        // As events hold ids (white space and what shows nothing dropped), in the case
        // asked, folded as the engine folds them, and as older rows may hold them.
        let asked = crate::event::identifier(user_id);
        let mut folded = compact_str::CompactString::from(&*asked);
        normalise::user_id(&mut folded);
        let mut forms = vec![asked.to_string(), folded.to_string(), folded.to_ascii_lowercase().to_string()];
        forms.sort();
        forms.dedup();
        let keys: Vec<(&str, &str)> = forms.iter().map(|f| ("user_id", f.as_str())).collect();
        self.events_with(&keys, range)
    }

    /// The archived events with these ids (an alert's evidence), each once, in time
    /// order. The key indexes name the partitions that may hold each id, so a year's
    /// archive is searched by opening a handful of files.
    pub fn events_by_id(&self, ids: &[&str]) -> Result<Vec<StoredEvent>, HuntError> {
        let (parts, of) = crate::archive::partitions_with(&self.archive, "event_id", ids, None, None)?;
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(|id| quote(id)).collect();
        self.events_where(&format!("event_id IN ({}) AND {}", list.join(", "), only_partitions(parts, of)))
    }

    /// Archived events in the range whose column is the value of one of `keys`
    /// (column, value), each once, in time order. The key indexes name the files that
    /// may hold the values; only those are read (`archive::lookup`).
    fn events_with(&self, keys: &[(&str, &str)], range: &TimeRange) -> Result<Vec<StoredEvent>, HuntError> {
        let mut out = crate::archive::lookup::events_with_any(&self.archive, keys, range.from, range.to, &self.unread)?;
        out.sort_by(|a, b| (a.event.ts, a.seq).cmp(&(b.event.ts, b.seq)));
        let mut seen = HashSet::new();
        out.retain(|e| seen.insert(e.copy_key()));
        Ok(out)
    }

    /// Alerts per user among `users`, from the alerts table.
    pub fn alert_counts(&self, users: &[&str]) -> Result<std::collections::HashMap<String, i64>, HuntError> {
        let mut out = std::collections::HashMap::new();
        if users.is_empty() {
            return Ok(out);
        }
        // Each id as the engine folds it, and lower-cased: alerts archived before it
        // folded ids keep the case they were logged in. Counted per folded id.
        let mut forms: Vec<String> =
            users.iter().flat_map(|u| [u.to_ascii_uppercase(), u.to_ascii_lowercase()]).collect();
        forms.sort();
        forms.dedup();
        let list: Vec<String> = forms.iter().map(|u| quote(u)).collect();
        let sql = format!(
            "SELECT user_id, count(DISTINCT alert_id) AS n FROM alerts WHERE user_id IN ({}) GROUP BY user_id",
            list.join(", ")
        );
        for b in self.sql(&sql)? {
            let users = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
            let users = users.as_any().downcast_ref::<arrow::array::StringArray>().expect("utf8");
            let n = b.column(1).as_any().downcast_ref::<arrow::array::Int64Array>().expect("count is Int64");
            for i in 0..b.num_rows() {
                *out.entry(users.value(i).to_ascii_uppercase()).or_default() += n.value(i);
            }
        }
        Ok(out)
    }
}

/// A filter on the partition columns keeping only `parts` (of `of` in the range): none
/// when that is all of them (an archive without key indexes), else per system its
/// dates as one `IN` list, so the expression stays small.
fn only_partitions(parts: Vec<(Date, String)>, of: usize) -> String {
    if parts.len() >= of {
        return "TRUE".into();
    }
    let mut by_system: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for (date, system) in parts {
        by_system.entry(system).or_default().push(format!("'{date}'"));
    }
    let any: Vec<String> = by_system
        .into_iter()
        .map(|(system, dates)| format!("(system = {} AND date IN ({}))", quote(&system), dates.join(", ")))
        .collect();
    format!("({})", any.join(" OR "))
}

/// A string literal for SQL.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A half-open range of event time; either end may be open.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl TimeRange {
    /// The range from `from` up to `to`, refused when it holds no time at all: a range
    /// typed the wrong way round would otherwise answer "nobody" to an investigator.
    pub fn between(from: Option<Timestamp>, to: Option<Timestamp>) -> Result<TimeRange, String> {
        match (from, to) {
            (Some(f), Some(t)) if f >= t => Err(format!("the range is empty: {f} is not before {t}")),
            _ => Ok(TimeRange { from, to }),
        }
    }

    /// The SQL condition, including the `date` partition bounds so that directories
    /// outside the range are never listed.
    pub fn sql(&self) -> String {
        let mut parts = vec!["TRUE".to_string()];
        if let Some(f) = self.from {
            parts.push(format!("date >= '{}'", f.date()));
            parts.push(format!("ts >= '{f}'"));
        }
        if let Some(t) = self.to {
            let last = Timestamp(t.0 - 1).date();
            parts.push(format!("date <= '{last}'"));
            parts.push(format!("ts < '{t}'"));
        }
        parts.join(" AND ")
    }
}

/// How an access matched the subject asked about, strongest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Match {
    Id,
    /// The custody record the person was held under, opened by its number.
    CustodyRecord,
    NameDob,
    Vrm,
    Postcode,
    Name,
}

impl Match {
    pub fn as_str(self) -> &'static str {
        match self {
            Match::Id => "id",
            Match::CustodyRecord => "custody_record",
            Match::NameDob => "name_dob",
            Match::Vrm => "vrm",
            Match::Postcode => "postcode",
            Match::Name => "name",
        }
    }
}

/// A subject as an analyst names it.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub id: Option<String>,
    pub name: Option<PersonName>,
    pub dob: Option<Date>,
    /// Normalised.
    pub vrm: Option<String>,
    /// Normalised.
    pub postcode: Option<String>,
    /// The surname in words (`OKONKWO BELL`), as archives written before surnames ran
    /// together hold it, when it has more than one.
    pub surname_in_words: Option<String>,
    /// With a date of birth: the other ways the name as asked may be meant (read as
    /// the rules read an event's name: `Mary-Jane De La Cruz` is also `DE LA CRUZ,
    /// Mary-Jane`).
    pub readings: Vec<PersonName>,
    /// The numbers of the custody records the person was held under (from the watch
    /// lists, when given): a record opened by its number alone is an access to them.
    pub custody_refs: Vec<String>,
}

impl Subject {
    /// From the command line's text, normalised as the rules normalise.
    pub fn parse(
        id: Option<&str>,
        name: Option<&str>,
        dob: Option<&str>,
        vrm: Option<&str>,
        postcode: Option<&str>,
    ) -> Result<Subject, HuntError> {
        if let Some(n) = name.filter(|n| PersonName::parse(n).is_none()) {
            return Err(HuntError::Usage(format!("--name {n:?}: no surname")));
        }
        let dob = dob.map(|d| Date::parse(d).map_err(|e| HuntError::Usage(format!("--dob {d:?}: {e}")))).transpose()?;
        let id = id.map(|s| crate::event::identifier(s).to_string()).filter(|s| !s.is_empty());
        let person = PersonIdentity::new(id.as_deref().map(Into::into), name.map(Into::into), dob);
        Ok(Subject {
            vrm: vrm.and_then(normalise::vrm).map(|v| v.to_string()),
            postcode: postcode.and_then(normalise::postcode).map(|p| p.to_string()),
            ..Subject::of_person(&person)
        })
    }

    /// A watch-list row's person as a subject to look for.
    pub fn of_person(p: &PersonIdentity) -> Subject {
        Subject {
            id: p.subject_id.as_ref().map(|s| s.to_string()),
            name: p.name.clone(),
            dob: p.dob,
            surname_in_words: p.raw_name.as_deref().and_then(PersonName::surname_in_words).map(|s| s.to_string()),
            readings: p.other_readings().into_vec(),
            ..Subject::default()
        }
    }

    /// Adds the custody records `lists` hold the person under, found as the rules
    /// find them.
    pub fn add_custody_records(&mut self, lists: &crate::watchlist::WatchLists) {
        let mut found = crate::watchlist::Matches::new();
        let names = self.name.iter().chain(&self.readings).map(|n| Some(n.clone()));
        for (i, name) in names.chain([None]).enumerate() {
            // The id with the name as asked; each other reading with the date of birth.
            let subject_id = if i == 0 { self.id.as_deref().map(Into::into) } else { None };
            let person = PersonIdentity { subject_id, raw_name: None, name, dob: self.dob };
            if !person.is_empty() && (i == 0 || self.dob.is_some()) {
                lists.custody_matches(&person, &person.keys(), &mut found);
            }
        }
        // Only a sure match: a namesake's record (a surname and an initial, or a name
        // where one side has no date of birth) is not theirs (a review: leak-trace
        // ranked a namesake's custody officer first).
        let sure = |s: &crate::watchlist::MatchStrength| {
            matches!(s, crate::watchlist::MatchStrength::Id | crate::watchlist::MatchStrength::NameDob)
        };
        for (id, _) in found.into_iter().filter(|(_, s)| sure(s)) {
            if let Some(r) = lists.custody.get(id) {
                if !self.custody_refs.iter().any(|c| c.eq_ignore_ascii_case(&r.custody_ref)) {
                    self.custody_refs.push(r.custody_ref.to_string());
                }
            }
        }
    }

    /// The archive's (column, value) keys of every row that may be an access to the
    /// subject: a superset [`Subject::matches`] then decides. Ids in the case asked,
    /// upper-cased and lower-cased (the rules compare them whatever the case); the
    /// surname of each reading; and, with a date of birth, the surnames an event's
    /// name read first as the spec reads it would carry when another reading is the
    /// subject (`FEATHERSTONEHAUGH RUPERT` files under `RUPERT`, `Rupert Featherstone
    /// Haugh` under `HAUGH`, `Rupert Featherstonehaugh Jr` under `JR`).
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        let mut keys: Vec<(&'static str, String)> = Vec::new();
        let mut push = |column: &'static str, value: &str| {
            if !value.is_empty() && !keys.iter().any(|(c, v)| *c == column && v == value) {
                keys.push((column, value.to_string()));
            }
        };
        for id in self.id.iter().chain(&self.custody_refs) {
            // As typed and as the ASCII it shows, each in its case, upper and lower
            // case (the archive's lookup adds any other form a file may hold it in).
            let shown = normalise::record_id(id.as_str().into());
            for id in [id.as_str(), shown.as_str()] {
                for form in [id.to_string(), id.to_ascii_uppercase(), id.to_ascii_lowercase()] {
                    push("subject_id", &form);
                }
            }
        }
        let names: Vec<&PersonName> = self.name.iter().chain(&self.readings).collect();
        for name in &names {
            push("subject_surname", &name.surname);
        }
        if let Some(words) = &self.surname_in_words {
            push("subject_surname", words);
        }
        if self.dob.is_some() {
            // Bounded as real names are (the readings take at most three words): a name
            // of thousands of letters or words, typed into the dashboard's subject
            // search, would otherwise ask the archive for thousands of keys.
            for name in &names {
                for word in name.forenames.split(' ').take(4) {
                    push("subject_surname", word);
                }
                let s = name.surname.as_str();
                if s.len() <= 48 {
                    for at in (1..s.len().saturating_sub(1)).filter(|at| s.is_char_boundary(*at)) {
                        push("subject_surname", &s[at..]);
                    }
                }
            }
            for suffix in crate::watchlist::NAME_SUFFIXES {
                push("subject_surname", suffix);
            }
        }
        if let Some(vrm) = &self.vrm {
            // A vehicle record given by its key alone holds the VRM as its id (in
            // `vrm_key` too since the rules read it so; not in files written before).
            push("vrm_key", vrm);
            push("subject_id", vrm);
        }
        if let Some(pc) = &self.postcode {
            push("postcode_key", pc);
        }
        keys
    }

    /// How `e` matches this subject, if it does: as the rules would match it to a
    /// watch-list row holding the subject.
    pub fn matches(&self, e: &StoredEvent) -> Option<Match> {
        let e = &e.event;
        // Ids compared as the rules compare them: the ASCII a full-width form shows,
        // whatever the case.
        let got_id = e.subject_id.clone().map(normalise::record_id);
        if let (Some(want), Some(got)) = (&self.id, &got_id) {
            if normalise::record_id(want.as_str().into()).eq_ignore_ascii_case(got) {
                return Some(Match::Id);
            }
        }
        if let Some(got) = got_id.as_deref().filter(|_| e.subject_type == crate::event::SubjectType::Custody) {
            // Unless the log names someone else born another day.
            let other = matches!((self.dob, e.subject_dob), (Some(a), Some(b)) if a != b);
            // The number with other separators too, as the rules find the record.
            let key = crate::watchlist::reference_key(e.subject_id.as_deref().unwrap_or(got));
            let same = |c: &String| c.eq_ignore_ascii_case(got) || crate::watchlist::reference_key(c) == key;
            if !other && self.custody_refs.iter().any(same) {
                return Some(Match::CustodyRecord);
            }
        }
        if let Some(want) = &self.name {
            if let Some(got) = e.subject_name.as_deref().and_then(PersonName::parse) {
                if want.matches(&got) {
                    match (self.dob, e.subject_dob) {
                        (Some(a), Some(b)) if a == b => return Some(Match::NameDob),
                        (Some(_), Some(_)) => {}
                        _ => return Some(Match::Name),
                    }
                }
                // The other readings, of either name, count with one date of birth on
                // both sides, as the rules count them.
                if self.dob.is_some() && e.subject_dob == self.dob {
                    let theirs = PersonIdentity::new(None, e.subject_name.clone(), e.subject_dob).other_readings();
                    let ours = || std::iter::once(want).chain(&self.readings);
                    // Forenames typed in part too (`JACKSON/JOH`), as the rules read them.
                    if ours().any(|w| got.matches_born_alike(w) || theirs.iter().any(|r| r.matches_born_alike(w))) {
                        return Some(Match::NameDob);
                    }
                }
            }
        }
        if self.vrm.is_some() && e.vrm_key().as_deref() == self.vrm.as_deref() {
            return Some(Match::Vrm);
        }
        if self.postcode.is_some() && e.postcode_key().as_deref() == self.postcode.as_deref() {
            return Some(Match::Postcode);
        }
        None
    }
}

/// One access found by `who-accessed`.
#[derive(Clone, Debug)]
pub struct Access {
    pub stored: StoredEvent,
    pub how: Match,
    /// The watch-list rows that held the subject at the time of the access, as known
    /// at the `--as-of` time (`custody:CUS-1`, `high_profile:HP-2`), when asked.
    pub flagged: Option<Vec<String>>,
}

/// What was known at `as_of`: an access the archive had received by then (a replay
/// of files records no receipt time; its accesses count as received when made).
pub fn received_by(e: &StoredEvent, as_of: Timestamp) -> bool {
    e.from.received_at.unwrap_or(e.event.ts) <= as_of
}

/// The rows of `lists` that held the access's subject at the time of the access and
/// had been recorded by `as_of` (a row without a record time counts from when it
/// took effect: arrest, entry added, operation start). The subject is found as the
/// rules find it (a custody record opened by its number is the person held).
pub fn flagged_as_of(
    lists: &crate::watchlist::WatchLists,
    e: &crate::event::AccessEvent,
    as_of: Timestamp,
    config: &crate::config::ExplanationConfig,
) -> Vec<String> {
    use crate::watchlist::TableName;
    let m = crate::enrich::enrich(e, lists, config).matches;
    let known = |recorded: Option<Timestamp>, from: Timestamp| recorded.unwrap_or(from) <= as_of;
    let mut out = Vec::new();
    for &(id, _) in &m.custody {
        if let Some(r) = lists.custody.get(id) {
            let held = e.ts >= r.arrested_at && r.released_at.is_none_or(|x| e.ts <= x);
            if held && known(r.recorded_at, r.arrested_at) {
                out.push(format!("{}:{}", TableName::Custody, r.custody_ref));
            }
        }
    }
    for &(id, _) in &m.high_profile {
        if let Some(h) = lists.high_profile.get(id) {
            let listed = h.added_at <= e.ts && h.expires_at.is_none_or(|x| e.ts < x);
            if listed && known(h.recorded_at, h.added_at) {
                out.push(format!("{}:{}", TableName::HighProfile, h.entry_id));
            }
        }
    }
    for &(id, _) in &m.operations {
        if let Some(o) = lists.operations.get(id) {
            if o.is_live_at(e.ts) && known(o.recorded_at, o.starts_at) {
                out.push(format!("{}:{}", TableName::Operations, lists.operations.key_of(id).unwrap_or_default()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
