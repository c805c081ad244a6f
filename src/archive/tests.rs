use super::*;
use crate::event::json;

fn event(line: &str) -> AccessEvent {
    json::decode(line.as_bytes()).unwrap()
}

fn sample() -> Vec<AccessEvent> {
    [
        r#"{"event_id":"e1","ts":"2026-11-01T10:00:00Z","system":"PNC","user_id":"U1","action":"search","subject_type":"person","subject_name":"SMITH, John","subject_dob":"1980-02-03","query":"smith john","result_count":4,"reason_code":"INV","reference":"INC-1","force":"NS","terminal":"T1","session_id":"S1","colour":"blue"}"#,
        r#"{"event_id":"e2","ts":"2026-11-01T10:00:00Z","system":"PNC","user_id":"U2","action":"view","subject_type":"vehicle","subject_vrm":"ab12 cde"}"#,
        r#"{"event_id":"e3","ts":"2026-11-01T09:00:00Z","system":"RMS","user_id":"U1","action":"view","subject_type":"address","subject_postcode":"sw1a1aa"}"#,
        r#"{"event_id":"e4","ts":"2026-11-02T00:00:00.001Z","system":"PNC","user_id":"U3","action":"print","subject_type":"person","subject_id":"12/345678A","subject_name":"Ann Jones"}"#,
        r#"{"event_id":"e5","ts":"2026-11-01T23:59:59.999Z","system":"PNC","user_id":"U2","action":"view","subject_type":"person","subject_name":"ABBOTT, Zoe"}"#,
    ]
    .iter()
    .map(|l| event(l))
    .collect()
}

fn write(root: &Path, events: &[AccessEvent]) -> FlushReport {
    let mut w = EventWriter::new(root, &crate::config::Config::defaults().archive);
    for (i, e) in events.iter().enumerate() {
        w.append(e.clone(), Provenance { partition: Some(1), offset: Some(i as i64), ..Provenance::default() });
    }
    let report = w.flush().unwrap();
    assert_eq!(w.buffered(), 0);
    report
}

#[test]
fn events_read_back_exactly_in_the_order_the_engine_saw_them() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample();
    let report = write(dir.path(), &events);
    assert_eq!(report.rows, 5);
    // One file per date and system, in the Hive layout.
    let mut files: Vec<String> = report
        .files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).unwrap().parent().unwrap().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["events/date=2026-11-01/system=PNC", "events/date=2026-11-01/system=RMS", "events/date=2026-11-02/system=PNC"]
    );
    assert_eq!(
        event_dates(dir.path()).unwrap(),
        vec![Date::parse("2026-11-01").unwrap(), Date::parse("2026-11-02").unwrap()]
    );

    let day1 = read_date(dir.path(), Date::parse("2026-11-01").unwrap()).unwrap();
    let ids: Vec<&str> = day1.iter().map(|s| s.event.event_id.as_str()).collect();
    // Time order; the tie at 10:00 keeps input order (e1 before e2).
    assert_eq!(ids, ["e3", "e1", "e2", "e5"]);
    for s in &day1 {
        let original = events.iter().find(|e| e.event_id == s.event.event_id).unwrap();
        assert_eq!(&s.event, original, "every field, extra fields included, survives");
        assert_eq!(s.from.partition, Some(1));
    }

    // The range reader gives the same events over both dates.
    let mut reader =
        ArchiveEvents::open(dir.path(), None, Some(Timestamp::parse_rfc3339("2026-11-02T00:00:00Z").unwrap())).unwrap();
    let mut all = Vec::new();
    while let Some(day) = reader.next_day() {
        all.extend(day.unwrap().events);
    }
    assert_eq!(all.len(), 4, "e4 is after the end of the range");
}

#[test]
fn files_are_sorted_by_subject_with_identity_keys_and_bloom_filters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sample());
    let file = parquet_files(&events_dir(dir.path(), Date::parse("2026-11-01").unwrap(), "PNC")).unwrap().remove(0);
    let batches = read_file(&file).unwrap();
    let b = &batches[0];
    use arrow::array::Array;
    let col = |name: &str| {
        let a = b.column_by_name(name).unwrap().as_any().downcast_ref::<arrow::array::StringArray>().unwrap().clone();
        (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())).collect::<Vec<_>>()
    };
    // Nulls first, then by surname.
    assert_eq!(col("subject_surname"), [None, Some("ABBOTT".into()), Some("SMITH".into())]);
    assert_eq!(col("vrm_key"), [Some("AB12CDE".into()), None, None]);
    assert_eq!(col("subject_forenames")[2].as_deref(), Some("JOHN"));
    let props = parquet::file::properties::ReaderProperties::builder().set_read_bloom_filter(true).build();
    let options = parquet::file::serialized_reader::ReadOptionsBuilder::new().with_reader_properties(props).build();
    let reader =
        parquet::file::reader::SerializedFileReader::new_with_options(std::fs::File::open(&file).unwrap(), options)
            .unwrap();
    use parquet::file::reader::FileReader;
    let rg = reader.get_row_group(0).unwrap();
    let schema = columns::EVENT_SCHEMA.clone();
    for name in columns::EVENT_BLOOM_COLUMNS {
        assert!(rg.get_column_bloom_filter(schema.index_of(name).unwrap()).is_some(), "{name} has no bloom filter");
    }
    // A column with no value in the file is written plainly: no zstd contexts made for
    // it; the others are compressed.
    let compression = |name: &str| rg.metadata().column(schema.index_of(name).unwrap()).compression();
    for name in ["subject_id", "subject_postcode", "received_at", "explained_by"] {
        assert_eq!(compression(name), parquet::basic::Compression::UNCOMPRESSED, "{name}");
    }
    for name in ["event_id", "subject_surname", "vrm_key", "session_id", "kafka_offset"] {
        assert!(matches!(compression(name), parquet::basic::Compression::ZSTD(_)), "{name}: {:?}", compression(name));
    }
}

#[test]
fn duplicates_from_a_redelivery_are_dropped_and_compaction_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample();
    write(dir.path(), &events);
    // After a crash the engine processes e1 and e2 again and archives them again.
    write(dir.path(), &events[..2]);
    let day = Date::parse("2026-11-01").unwrap();
    assert_eq!(parquet_files(&events_dir(dir.path(), day, "PNC")).unwrap().len(), 2);
    assert_eq!(read_date(dir.path(), day).unwrap().len(), 4);

    let report =
        compact(dir.path(), &crate::config::Config::defaults().archive, Date::parse("2026-11-03").unwrap()).unwrap();
    assert_eq!(report.files.len(), 1, "only PNC on 2026-11-01 had several files");
    let files = parquet_files(&events_dir(dir.path(), day, "PNC")).unwrap();
    assert_eq!(files.len(), 1);
    let rows: usize = read_file(&files[0]).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    let ids: Vec<String> = read_date(dir.path(), day).unwrap().into_iter().map(|s| s.event.event_id.into()).collect();
    assert_eq!(ids, ["e3", "e1", "e2", "e5"]);
}

/// A source that reuses an event id for another access: both accesses are kept by the
/// readers and by compaction (only a copy of the same access is a duplicate).
#[test]
fn an_event_id_reused_for_another_access_keeps_both_and_a_copy_is_still_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample();
    let mut reuse = events[1].clone();
    reuse.user_id = "U9".into();
    // The same user, id and time for another access: the view of what a search found,
    // logged under the search's transaction id.
    let mut viewed = events[1].clone();
    viewed.subject_id = Some("a record of its own".into());
    viewed.action = crate::event::Action::Update;
    write(dir.path(), &events);
    write(dir.path(), &[reuse, events[1].clone(), viewed]);
    let day = Date::parse("2026-11-01").unwrap();
    let users = |root: &Path| -> Vec<String> {
        let mut users: Vec<String> = read_date(root, day)
            .unwrap()
            .iter()
            .filter(|s| s.event.event_id == "e2")
            .map(|s| format!("{} {}", s.event.user_id, s.event.action.as_str()))
            .collect();
        users.sort();
        users
    };
    let mut both = [
        format!("U2 {}", events[1].action.as_str()),
        "U2 update".to_string(),
        format!("U9 {}", events[1].action.as_str()),
    ];
    both.sort();
    assert_eq!(users(dir.path()), both);
    compact(dir.path(), &crate::config::Config::defaults().archive, Date::parse("2026-11-03").unwrap()).unwrap();
    assert_eq!(parquet_files(&events_dir(dir.path(), day, "PNC")).unwrap().len(), 1);
    assert_eq!(users(dir.path()), both, "compaction keeps every access and drops the copy");
}

/// Alerts written twice (a second replay into the same archive) are each one alert
/// again after compaction (the archive probe: a query's count of red alerts doubled).
#[test]
fn compaction_keeps_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/high_profile/expected_alerts.jsonl"),
    )
    .unwrap();
    let golden: Vec<Alert> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for _ in 0..2 {
        let mut alerts = AlertWriter::new(dir.path(), &crate::config::Config::defaults().archive);
        golden.iter().for_each(|a| alerts.append(a.clone()));
        alerts.flush().unwrap();
    }
    // Rows on disk, as `query` counts them.
    let rows = || -> usize {
        let dates = partitions(&dir.path().join("alerts"), "date").unwrap();
        let files = dates.iter().flat_map(|(_, d)| parquet_files(d).unwrap());
        files.flat_map(|f| read_file(&f).unwrap()).map(|b| b.num_rows()).sum()
    };
    assert_eq!(rows(), 2 * golden.len());
    compact(dir.path(), &crate::config::Config::defaults().archive, Date::parse("2999-01-01").unwrap()).unwrap();
    assert_eq!(rows(), golden.len());
    let mut back = read_alerts(dir.path(), None, None).unwrap();
    back.sort_by(|a, b| a.alert_id.cmp(&b.alert_id));
    let mut want = golden.clone();
    want.sort_by(|a, b| a.alert_id.cmp(&b.alert_id));
    assert_eq!(back, want);
}

#[test]
fn prune_deletes_only_dates_before_the_cutoff_and_says_what() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sample());
    let mut alerts = AlertWriter::new(dir.path(), &crate::config::Config::defaults().archive);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/high_profile/expected_alerts.jsonl"),
    )
    .unwrap();
    let golden: Vec<Alert> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for a in &golden {
        alerts.append(a.clone());
    }
    alerts.flush().unwrap();
    let back = read_alerts(dir.path(), None, None).unwrap();
    assert_eq!(back.len(), golden.len());
    for a in &golden {
        assert_eq!(back.iter().find(|b| b.alert_id == a.alert_id), Some(a), "alerts read back exactly");
    }

    let cutoff = Date::parse("2026-11-02").unwrap();
    let old_alert_dates: HashSet<Date> = golden.iter().map(|a| a.event_ts.date()).filter(|d| *d < cutoff).collect();
    assert!(!old_alert_dates.is_empty());
    let report = prune(dir.path(), cutoff).unwrap();
    // Two events files (PNC and RMS of 2026-11-01) and one alerts file per old date.
    assert_eq!(report.files.len(), 2 + old_alert_dates.len());
    assert!(report.bytes > 0);
    assert_eq!(event_dates(dir.path()).unwrap(), vec![Date::parse("2026-11-02").unwrap()]);
    assert!(!dir.path().join("events/date=2026-11-01").exists());
    assert!(read_alerts(dir.path(), None, None)
        .unwrap()
        .iter()
        .all(|a| a.event_ts.date() >= Date::parse("2026-11-02").unwrap()));
}

#[test]
fn settled_flush_writes_past_dates_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let config = ArchiveConfig { flush_rows: 3, ..crate::config::Config::defaults().archive };
    let mut w = EventWriter::new(dir.path(), &config);
    for e in sample() {
        w.append(e, Provenance::default());
    }
    let r = w.flush_settled().unwrap();
    assert_eq!(r.rows, 4, "2026-11-01 is written");
    assert_eq!(w.buffered(), 1, "2026-11-02 waits: more of it may come");
}

#[test]
fn instances_writing_the_same_date_at_the_same_moment_never_collide_and_compaction_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample();
    let config = crate::config::Config::defaults().archive;
    // Three engines, each with its own partitions' events, flushing the same date and
    // system with the same first timestamp.
    let mut writers: Vec<EventWriter> = (0..3).map(|_| EventWriter::new(dir.path(), &config)).collect();
    for (n, w) in writers.iter_mut().enumerate() {
        let mut e = events[0].clone();
        e.event_id = format!("from-{n}").into();
        w.append(e, Provenance::default());
    }
    for w in &mut writers {
        w.flush().unwrap();
    }
    let day = Date::parse("2026-11-01").unwrap();
    let files = parquet_files(&events_dir(dir.path(), day, "PNC")).unwrap();
    assert_eq!(files.len(), 3, "one file per instance: {files:?}");
    compact(dir.path(), &config, Date::parse("2026-11-03").unwrap()).unwrap();
    let mut ids: Vec<String> =
        read_date(dir.path(), day).unwrap().into_iter().map(|s| s.event.event_id.into()).collect();
    ids.sort();
    assert_eq!(ids, ["from-0", "from-1", "from-2"]);
    assert_eq!(parquet_files(&events_dir(dir.path(), day, "PNC")).unwrap().len(), 1);
}

#[test]
fn a_hunt_over_many_row_groups_finds_every_access_of_its_key_and_no_other() {
    // One file of 6,000 accesses in row groups of 250: the hunts' reader prunes row
    // groups and pages by statistics and bloom filters, and must still find every row.
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::Config::defaults().archive;
    config.row_group_rows = 250;
    let surnames = ["ABBOTT", "SMITH", "SMITHSON", "SMYTH", "JONES", "O'BRIEN", "VAN DER BERG", "ZED", "Ó SÉ"];
    let events: Vec<AccessEvent> = (0..6_000u32)
        .map(|i| {
            let (secs, s) = (i * 7, (i as usize * 7_919) % (surnames.len() + 1));
            let name = match surnames.get(s) {
                Some(surname) => format!(r#","subject_name":"{surname}, Ann""#),
                None => String::new(), // no name: a null surname
            };
            event(&format!(
                r#"{{"event_id":"e{i}","ts":"2026-11-01T{:02}:{:02}:{:02}Z","system":"PNC","user_id":"U{}","action":"view","subject_type":"person","subject_id":"ID{}"{name}}}"#,
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                i % 97,
                (i * 31) % 500,
            ))
        })
        .collect();
    let mut w = EventWriter::new(dir.path(), &config);
    for e in &events {
        w.append(e.clone(), Provenance::default());
    }
    assert_eq!(w.flush().unwrap().files.len(), 1);
    let surname = |e: &AccessEvent| {
        e.subject_name.as_deref().and_then(crate::event::PersonName::parse).map(|n| n.surname.to_string())
    };
    let mut keys: Vec<(&str, String)> = Vec::new();
    for s in surnames.iter().filter_map(|s| crate::event::PersonName::parse(&format!("{s}, Ann"))) {
        keys.push(("subject_surname", s.surname.to_string()));
    }
    keys.extend(["ID0", "ID31", "ID499", "ID250", "ID7"].map(|v| ("subject_id", v.to_string())));
    keys.extend(["U0", "U96", "U50"].map(|v| ("user_id", v.to_string())));
    keys.extend(["SMIT", "SMITHSONS", "AAA", "ZZZ", "ID500"].map(|v| ("subject_surname", v.to_string())));
    for (column, value) in &keys {
        let mut got: Vec<String> = lookup::events_with(dir.path(), column, value, None, None, &Default::default())
            .unwrap()
            .into_iter()
            .map(|s| s.event.event_id.to_string())
            .collect();
        let mut want: Vec<String> = events
            .iter()
            .filter(|e| match *column {
                "subject_surname" => surname(e).as_deref() == Some(value.as_str()),
                "subject_id" => e.subject_id.as_deref() == Some(value.as_str()),
                _ => e.user_id == value.as_str(),
            })
            .map(|e| e.event_id.to_string())
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{column} = {value}");
    }
}

/// An old date moved to other storage and linked back (a common move) stays part of
/// the archive: read by hunts and replays, and deleted by the retention.
#[cfg(unix)]
#[test]
fn a_date_linked_from_other_storage_is_read_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    write(dir.path(), &sample());
    let date = dir.path().join("events/date=2026-11-01");
    let moved = elsewhere.path().join("date=2026-11-01");
    std::fs::rename(&date, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &date).unwrap();
    let day = Date::parse("2026-11-01").unwrap();
    assert_eq!(event_dates(dir.path()).unwrap(), vec![day, Date::parse("2026-11-02").unwrap()]);
    assert_eq!(read_date(dir.path(), day).unwrap().len(), 4, "the linked date's events are read");
    // A link to a directory of another name (another archive's date) is not pruned.
    let other = elsewhere.path().join("shared");
    std::fs::create_dir_all(other.join("system=PNC")).unwrap();
    std::fs::write(other.join("system=PNC/part-0.parquet"), b"theirs").unwrap();
    std::os::unix::fs::symlink(&other, dir.path().join("events/date=2026-10-01")).unwrap();
    let report = prune(dir.path(), Date::parse("2026-11-02").unwrap()).unwrap();
    assert_eq!(report.files.len(), 2, "its PNC and RMS files are deleted, and nothing else");
    assert!(read_date(dir.path(), day).unwrap().is_empty());
    assert!(!date.exists() && !moved.exists(), "the link and the emptied date it pointed to are gone");
    assert!(other.join("system=PNC/part-0.parquet").exists(), "a link to a directory of another name is left alone");
}

/// A file under a name that is not UTF-8 is read, not passed over; a FIFO under a
/// `.parquet` name is named as damaged, not waited on.
#[cfg(unix)]
#[test]
fn every_file_of_a_date_is_read_or_named_whatever_its_name_or_kind() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let report = write(dir.path(), &sample());
    let day = Date::parse("2026-11-01").unwrap();
    let pnc = report.files.iter().find(|f| f.to_string_lossy().contains("date=2026-11-01/system=PNC")).unwrap();
    let renamed = pnc.with_file_name(std::ffi::OsStr::from_bytes(b"part-\xff.parquet"));
    std::fs::rename(pnc, &renamed).unwrap();
    let fifo = renamed.with_file_name("part-fifo.parquet");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut damaged = Vec::new();
    let events = read_date_leaving_out(dir.path(), day, &mut damaged).unwrap();
    assert_eq!(events.len(), 4, "the renamed file's three events and RMS's one");
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert_eq!(damaged[0].0, fifo);
    assert!(damaged[0].1.contains("not a regular file"), "{}", damaged[0].1);
    let named = damaged_files(dir.path(), Check::Footer).unwrap();
    assert_eq!(named.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(), vec![fifo]);
}

/// What lies where no reader looks (a date directory whose name is not a date, a file
/// outside a date and system directory, a directory inside a system's) is named by a
/// look-up and by a replay of the archive, not passed over (a look-up answered without
/// a day's events, exit 0).
#[test]
fn what_lies_where_no_reader_looks_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let report = write(dir.path(), &sample());
    let events = dir.path().join("events");
    std::fs::rename(events.join("date=2026-11-02"), events.join("date=2026-11-2")).unwrap();
    let pnc = report.files.iter().find(|f| f.to_string_lossy().contains("date=2026-11-01/system=PNC")).unwrap();
    std::fs::copy(pnc, events.join("loose.parquet")).unwrap();
    std::fs::create_dir(pnc.parent().unwrap().join("old")).unwrap();
    // A file a copy renamed (a probe: 3,540 events left out of every answer, and kept
    // past the retention, unsaid), and a write's temporary file an interrupted replay
    // left hours ago; one being written now is not named.
    let sys = pnc.parent().unwrap();
    std::fs::copy(pnc, sys.join("part-copy.PARQUET")).unwrap();
    let left = sys.join(".part-9.parquet.7311.1.tmp");
    std::fs::write(&left, b"PAR1").unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7_200);
    std::fs::File::options().write(true).open(&left).unwrap().set_modified(hours_ago).unwrap();
    std::fs::write(sys.join(".part-10.parquet.7311.2.tmp"), b"PAR1").unwrap();
    let named: Vec<PathBuf> =
        strays(dir.path(), None, None, Depth::Systems).unwrap().into_iter().map(|(p, _)| p).collect();
    let want = [
        events.join("date=2026-11-2"),
        events.join("loose.parquet"),
        sys.join("old"),
        sys.join("part-copy.PARQUET"),
        left.clone(),
    ];
    assert_eq!(
        named.iter().collect::<std::collections::BTreeSet<_>>(),
        want.iter().collect::<std::collections::BTreeSet<_>>()
    );
    // A look-up leaves them out and says so.
    let unread = lookup::Unread::default();
    lookup::events_with_any(dir.path(), &[("user_id", "U1")], None, None, &unread).unwrap();
    assert_eq!(unread.take().len(), 5);
    // A replay of the archive names them with its first day.
    let mut days = ArchiveEvents::open(dir.path(), None, None).unwrap();
    let first = days.next_day().unwrap().unwrap();
    assert_eq!(first.damaged.len(), 5, "{:?}", first.damaged);
}

/// A replay's mark in the archive's root is named while it is there (a replay running,
/// or stopped part way: a probe's `kill -9` left 11 of 40 dates, answered from unsaid),
/// and goes when the replay is done.
#[test]
fn a_replay_that_has_not_finished_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sample());
    let mark = ReplayMark::set(dir.path(), &[PathBuf::from("events-2026.jsonl")]).unwrap();
    let named = strays(dir.path(), None, None, Depth::Dates).unwrap();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(named[0].1.contains("events-2026.jsonl: it has not finished"), "{}", named[0].1);
    let unread = lookup::Unread::default();
    lookup::events_with_any(dir.path(), &[("user_id", "U1")], None, None, &unread).unwrap();
    assert_eq!(unread.take().len(), 1);
    mark.done().unwrap();
    assert!(strays(dir.path(), None, None, Depth::Dates).unwrap().is_empty());
}

/// A Parquet file without the event's own identifiers (another tool's file dropped
/// among the archive's) is named by a look-up, not read as holding nobody.
#[test]
fn a_foreign_file_is_named_by_a_look_up() {
    use arrow::array::{ArrayRef, Int64Array};
    let dir = tempfile::tempdir().unwrap();
    let report = write(dir.path(), &sample());
    let pnc = report.files.iter().find(|f| f.to_string_lossy().contains("date=2026-11-01/system=PNC")).unwrap();
    let foreign = pnc.with_file_name("part-foreign.parquet");
    let column: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![1]));
    let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&foreign).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    // Whatever the look-up's column (a key column an old file may lack included).
    for key in [("user_id", "U1"), ("subject_surname", "SMITH")] {
        let unread = lookup::Unread::default();
        lookup::events_with_any(dir.path(), &[key], None, None, &unread).unwrap();
        let named = unread.take();
        assert_eq!(named.len(), 1, "{key:?}: {named:?}");
        assert!(named[0].0 == foreign && named[0].1.contains("no `event_id` column"), "{named:?}");
    }
    let unread = lookup::Unread::default();
    let found = lookup::events_with_any(dir.path(), &[("user_id", "U1")], None, None, &unread).unwrap();
    assert!(!found.is_empty(), "the archive's own files are read");
}

/// A date linked to other storage that is not mounted is named, not passed over.
#[cfg(unix)]
#[test]
fn a_date_linked_to_storage_not_mounted_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sample());
    let link = dir.path().join("events/date=2026-10-01");
    std::os::unix::fs::symlink(dir.path().join("unmounted/date=2026-10-01"), &link).unwrap();
    let named = strays(dir.path(), None, None, Depth::Dates).unwrap();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(named[0].0 == link && named[0].1.contains("cannot be reached"), "{named:?}");
}
