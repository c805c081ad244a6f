//! A hostile corpus: records an outsider (or a broken source) could put in a force's
//! logs, mixed into good traffic. Through a replay with an archive and through the
//! live engine, the run never stops, every bad record is a dead letter with its
//! reason, nothing is written outside the archive, and the good records' alerts are
//! exactly those of a clean run.

use crate::kafka::*;
use crate::support::{bin, read_jsonl, root, run_ok};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What must become of a hostile record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// A dead letter of this kind.
    Dead(&'static str),
    /// A valid event (by a user no watch list knows, on a subject type no rule looks
    /// at, so it raises nothing): accepted, stored exactly, and harmless.
    Accepted,
}

/// One hostile record.
pub struct Hostile {
    pub class: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

/// A valid event by a user of its own, with `fields` (name, JSON value) replacing or
/// adding fields.
fn event_with(n: usize, fields: &[(&str, &str)]) -> String {
    let id = format!("\"hostile-{n}\"");
    let user = format!("\"HOSTILE{n}\"");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("event_id", &id),
        ("ts", "\"2026-11-02T10:00:00Z\""),
        ("system", "\"PNC\""),
        ("user_id", &user),
        ("action", "\"view\""),
        ("subject_type", "\"crime\""),
    ];
    for (k, v) in fields {
        match pairs.iter_mut().find(|(name, _)| name == k) {
            Some(pair) => pair.1 = v,
            None => pairs.push((k, v)),
        }
    }
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

/// Every class of hostile JSON record, at least 30 of them.
pub fn json_corpus() -> Vec<Hostile> {
    use Expect::*;
    let mut c: Vec<Hostile> = Vec::new();
    let mut add = |class: &'static str, bytes: Vec<u8>, expect: Expect| c.push(Hostile { class, bytes, expect });
    let n = |i: usize| 9000 + i;

    // Size.
    add(
        "oversized field of backslashes (900 KB)",
        event_with(n(1), &[("query", &format!("\"{}\"", "\\\\".repeat(450_000)))]).into_bytes(),
        Dead("too_long"),
    );
    add(
        "just over the record limit",
        event_with(n(2), &[("query", &format!("\"{}\"", "x".repeat(65_536)))]).into_bytes(),
        Dead("too_long"),
    );
    // Nesting.
    add(
        "nesting 300 deep in an unknown field",
        event_with(n(42), &[("deep", &format!("{}1{}", "[".repeat(300), "]".repeat(300)))]).into_bytes(),
        Dead("bad_json"),
    );
    add(
        "nested unknown fields kept exactly",
        event_with(n(3), &[("extra", r#"{"a":{"b":1}}"#), ("tags", r#"[{"x":[1,2,{"y":null}]}]"#)]).into_bytes(),
        Accepted,
    );
    // Characters.
    add("NUL in user_id", event_with(n(4), &[("user_id", r#""U\u0000X""#)]).into_bytes(), Dead("bad_value"));
    add("newline in user_id", event_with(n(5), &[("user_id", r#""U1\nU2""#)]).into_bytes(), Dead("bad_value"));
    add("raw control byte in a string", event_with(n(6), &[("query", "\"a\u{1}b\"")]).into_bytes(), Dead("bad_json"));
    add("escape in reference", event_with(n(7), &[("reference", r#""INC\u0007-1""#)]).into_bytes(), Dead("bad_value"));
    add(
        "invalid UTF-8",
        {
            let mut b = event_with(n(8), &[("query", r#""caf~""#)]).into_bytes();
            let i = b.iter().position(|&x| x == b'~').unwrap();
            b[i] = 0xff;
            b
        },
        Dead("bad_utf8"),
    );
    add(
        "overlong UTF-8 encoding of /",
        {
            let mut b = event_with(n(9), &[("query", r#""a~~b""#)]).into_bytes();
            let i = b.iter().position(|&x| x == b'~').unwrap();
            b[i] = 0xc0;
            b[i + 1] = 0xaf;
            b
        },
        Dead("bad_utf8"),
    );
    add("lone surrogate", event_with(n(10), &[("subject_name", r#""\ud800""#)]).into_bytes(), Dead("bad_json"));
    // A UTF-8 byte-order mark before a record is not part of it (a file appended to
    // another; a message from a tool that marks its UTF-8): the record is read.
    add("byte order mark", [&[0xef, 0xbb, 0xbf][..], event_with(n(11), &[]).as_bytes()].concat(), Accepted);
    // Path characters in every key field.
    add(
        "system walks out of the archive",
        event_with(n(12), &[("system", r#""../../../../escaped""#)]).into_bytes(),
        Dead("bad_value"),
    );
    add("system with a slash", event_with(n(13), &[("system", r#""PNC/../../x""#)]).into_bytes(), Dead("bad_value"));
    add(
        "system of 300 characters",
        event_with(n(14), &[("system", &format!("\"{}\"", "S".repeat(300)))]).into_bytes(),
        Dead("bad_value"),
    );
    add(
        "system with a space and an accent",
        event_with(n(15), &[("system", r#""PN Č""#)]).into_bytes(),
        Dead("bad_value"),
    );
    add("system that is a dot", event_with(n(16), &[("system", r#"".""#)]).into_bytes(), Dead("bad_value"));
    add(
        "path characters in event_id are only text",
        event_with(n(17), &[("event_id", r#""../../etc/passwd-hostile""#)]).into_bytes(),
        Accepted,
    );
    add(
        "event_id of 129 characters",
        event_with(n(18), &[("event_id", &format!("\"{}\"", "e".repeat(129)))]).into_bytes(),
        Dead("bad_value"),
    );
    add(
        "user_id of 10,000 characters",
        event_with(n(19), &[("user_id", &format!("\"{}\"", "u".repeat(10_000)))]).into_bytes(),
        Dead("bad_value"),
    );
    add("terminal with a tab", event_with(n(20), &[("terminal", r#""WS\t1""#)]).into_bytes(), Dead("bad_value"));
    add(
        "session_id of 200 characters",
        event_with(n(21), &[("session_id", &format!("\"{}\"", "s".repeat(200)))]).into_bytes(),
        Dead("bad_value"),
    );
    // Times.
    add("year 2101", event_with(n(22), &[("ts", r#""2101-01-01T00:00:00Z""#)]).into_bytes(), Dead("bad_value"));
    add("year 1999", event_with(n(23), &[("ts", r#""1999-12-31T23:59:59Z""#)]).into_bytes(), Dead("bad_value"));
    add("month 13, hour 99", event_with(n(24), &[("ts", r#""2026-13-45T99:99:99Z""#)]).into_bytes(), Dead("bad_value"));
    add(
        "offset +99:99",
        event_with(n(25), &[("ts", r#""2026-11-02T10:00:00+99:99""#)]).into_bytes(),
        Dead("bad_value"),
    );
    add("epoch number as ts", event_with(n(26), &[("ts", r#"1793613600"#)]).into_bytes(), Dead("bad_value"));
    add(
        "a future-dated event (a source with a wrong clock)",
        event_with(n(27), &[("ts", r#""2099-06-01T00:00:00Z""#)]).into_bytes(),
        Accepted,
    );
    add(
        "far too many fraction digits",
        event_with(n(28), &[("ts", r#""2026-11-02T10:00:00.1234567890123456789Z""#)]).into_bytes(),
        Accepted,
    );
    // Types.
    add("number where a string belongs", event_with(n(29), &[("user_id", r#"90029"#)]).into_bytes(), Accepted);
    // A number a JSON reader can only round is refused where it is read, with the field
    // named (docs/contract.md, "Identifiers and bounds").
    add("float where an enum belongs", event_with(n(30), &[("action", r#"1.5"#)]).into_bytes(), Dead("bad_json"));
    add("boolean user_id", event_with(n(31), &[("user_id", r#"true"#)]).into_bytes(), Dead("bad_json"));
    add("object as system", event_with(n(32), &[("system", r#"{"a":"PNC"}"#)]).into_bytes(), Dead("bad_json"));
    add("array as subject_name", event_with(n(33), &[("subject_name", r#"["A","B"]"#)]).into_bytes(), Dead("bad_json"));
    add("negative result_count", event_with(n(34), &[("result_count", r#"-1"#)]).into_bytes(), Dead("bad_value"));
    add(
        "result_count past u64",
        event_with(n(35), &[("result_count", r#"99999999999999999999999"#)]).into_bytes(),
        Dead("bad_json"),
    );
    add("NaN", event_with(n(36), &[("result_count", r#"NaN"#)]).into_bytes(), Dead("bad_json"));
    add("30 February", event_with(n(37), &[("subject_dob", r#""2026-02-30""#)]).into_bytes(), Dead("bad_value"));
    add("unknown action", event_with(n(38), &[("action", r#""rm -rf""#)]).into_bytes(), Dead("unknown_enum"));
    // Shapes.
    add(
        "duplicate user_id",
        event_with(n(39), &[]).replace("}", r#","user_id":"U1"}"#).into_bytes(),
        Dead("bad_value"),
    );
    add("empty object", b"{}".to_vec(), Dead("missing_field"));
    add("array instead of object", b"[1,2,3]".to_vec(), Dead("bad_json"));
    add("bare string", b"\"event\"".to_vec(), Dead("bad_json"));
    add("null", b"null".to_vec(), Dead("bad_json"));
    add("trailing garbage", format!("{} xyz", event_with(n(40), &[])).into_bytes(), Dead("bad_json"));
    add("truncated object", event_with(n(41), &[])[..40].as_bytes().to_vec(), Dead("bad_json"));
    add(
        "missing required fields",
        br#"{"event_id":"hostile-missing","ts":"2026-11-02T10:00:00Z"}"#.to_vec(),
        Dead("missing_field"),
    );
    c
}

/// A generated force small enough for a debug build: (directory, its config).
fn small_force(dir: &Path) -> PathBuf {
    let force = dir.join("force");
    run_ok(bin().args(["generate", "--out"]).arg(&force).args(["--days", "7", "--staff", "150", "--citizens", "4000"]));
    force
}

/// The good lines with the hostile records spread among them, one after every
/// `gap` good lines (so they land in every part of the stream).
fn mix(good: &[u8], hostile: &[Hostile]) -> (Vec<u8>, Vec<u64>) {
    let lines: Vec<&[u8]> = good.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let gap = (lines.len() / (hostile.len() + 1)).max(1);
    let (mut out, mut at) = (Vec::new(), Vec::new());
    let mut h = hostile.iter();
    let mut line_no = 0u64;
    for (i, l) in lines.iter().enumerate() {
        out.extend_from_slice(l);
        out.push(b'\n');
        line_no += 1;
        if (i + 1) % gap == 0 {
            if let Some(x) = h.next() {
                out.extend_from_slice(&x.bytes);
                out.push(b'\n');
                line_no += 1;
                at.push(line_no);
            }
        }
    }
    for x in h {
        out.extend_from_slice(&x.bytes);
        out.push(b'\n');
        line_no += 1;
        at.push(line_no);
    }
    (out, at)
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_corpus_has_thirty_classes_of_each_kind_of_fault() {
    let c = json_corpus();
    assert!(c.len() >= 30, "{} classes", c.len());
    let mut kinds: Vec<&str> =
        c.iter().filter_map(|h| if let Expect::Dead(k) = h.expect { Some(k) } else { None }).collect();
    kinds.sort();
    kinds.dedup();
    assert!(kinds.len() >= 6, "{kinds:?}");
}

#[test]
fn hostile_records_in_a_replay_with_an_archive_are_dead_letters_and_the_rest_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let force = small_force(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let good = std::fs::read(force.join("events.jsonl")).unwrap();
    let corpus = json_corpus();
    let (mixed, lines) = mix(&good, &corpus);
    std::fs::write(work.join("mixed.jsonl"), &mixed).unwrap();
    let replay = |input: &Path, alerts: &Path, archive: Option<&Path>| {
        let mut cmd = bin();
        cmd.args(["replay", "-q", "--config"]).arg(force.join("config.toml"));
        cmd.arg("--watchlists").arg(force.join("watchlists")).arg("--alerts").arg(alerts);
        if let Some(a) = archive {
            cmd.arg("--archive").arg(a);
        }
        run_ok(cmd.arg(input));
    };
    replay(&force.join("events.jsonl"), &dir.path().join("clean.jsonl"), None);
    let archive = work.join("archive");
    replay(&work.join("mixed.jsonl"), &work.join("alerts.jsonl"), Some(&archive));

    // The good records' alerts, byte for byte.
    let clean = std::fs::read(dir.path().join("clean.jsonl")).unwrap();
    let mixed_alerts = std::fs::read(work.join("alerts.jsonl")).unwrap();
    assert!(clean.len() > 1000, "the force raises alerts");
    assert!(clean == mixed_alerts, "the hostile records changed the good records' alerts");

    // Every bad record is a dead letter of its kind, at its line.
    let dead = read_jsonl(&work.join("alerts.dead-letters.jsonl"));
    for (h, line) in corpus.iter().zip(&lines) {
        let letter = dead.iter().find(|d| d["line"] == *line);
        match h.expect {
            Expect::Dead(kind) => {
                let d = letter.unwrap_or_else(|| panic!("{}: no dead letter at line {line}", h.class));
                assert_eq!(d["kind"], kind, "{}: {}", h.class, d["reason"]);
                assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()), "{}", h.class);
                assert!(d.to_string().len() <= 300_000, "{}: the dead letter is bounded", h.class);
            }
            Expect::Accepted => assert!(letter.is_none(), "{}: dead-lettered: {}", h.class, letter.unwrap()["reason"]),
        }
    }
    let rejected = corpus.iter().filter(|h| h.expect != Expect::Accepted).count();
    assert_eq!(dead.len(), rejected);

    // Nothing outside the archive; the accepted records are in it, exactly.
    let expected_outputs = [
        "clean.jsonl",
        "clean.dead-letters.jsonl",
        "clean.summary.json",
        "work/mixed.jsonl",
        "work/alerts.jsonl",
        "work/alerts.dead-letters.jsonl",
        "work/alerts.summary.json",
    ];
    let outside: Vec<PathBuf> = files_under(dir.path())
        .into_iter()
        .filter(|p| !p.starts_with("work/archive") && !p.starts_with("force"))
        .filter(|p| !expected_outputs.iter().any(|f| p == Path::new(f)))
        .collect();
    assert!(outside.is_empty(), "files written outside the archive: {outside:?}");
    let nested = corpus.iter().find(|h| h.class == "nested unknown fields kept exactly").unwrap();
    let original: serde_json::Value = serde_json::from_slice(&nested.bytes).unwrap();
    let out = run_ok(bin().args(["query", "--archive"]).arg(&archive).args([
        "--format",
        "json",
        "SELECT extra FROM events WHERE user_id = 'HOSTILE9003'",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| text.lines().next().map_or(Ok(serde_json::Value::Null), serde_json::from_str))
        .unwrap();
    let stored = if rows.is_array() { rows[0].clone() } else { rows };
    let extra: serde_json::Value =
        serde_json::from_str(stored["extra"].as_str().unwrap_or_else(|| panic!("{text}"))).unwrap();
    assert_eq!(extra["extra"], original["extra"]);
    assert_eq!(extra["tags"], original["tags"]);
}

#[test]
fn hostile_csv_and_cef_records_are_dead_letters_and_the_rest_is_untouched() {
    let case = root().join("tests/golden/formats");
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(case.join("input/events.csv")).unwrap();
    let cef = std::fs::read_to_string(case.join("input/pnc-gateway.cef")).unwrap();
    let csv_bad = [
        ("too few columns", "h-1,2026-11-22T09:00:00Z,PNC\n"),
        ("too many columns", "h-2,2026-11-22T09:00:00Z,PNC,U9,view,crime,,,,,Q,extra,more\n"),
        ("path in system", "h-4,2026-11-22T09:00:00Z,../../escaped,U9,view,crime,,,,,Q\n"),
        ("NUL in user_id", "h-5,2026-11-22T09:00:00Z,PNC,U\u{0}9,view,crime,,,,,Q\n"),
        ("year 2150", "h-6,2150-11-22T09:00:00Z,PNC,U9,view,crime,,,,,Q\n"),
        // Last: an open quote takes the rest of the file into its field.
        ("unterminated quote", "h-3,2026-11-22T09:00:00Z,PNC,U9,view,crime,,\"SMITH, J\n"),
    ];
    let cef_bad = [
        ("dangling escape", "CEF:0|HO|PNC Gateway|5.2|Q01|Nominal enquiry|3|externalId=h-7 rt=1795338000000 suser=U9 act=DISPLAY duser=A\\\n"),
        ("pipes missing", "CEF:0|HO|PNC Gateway\n"),
        ("not CEF", "LEEF:1.0|x|y\n"),
        ("key without value", "CEF:0|HO|PNC Gateway|5.2|Q01|Nominal enquiry|3|externalId= rt= suser=\n"),
        ("user with a newline escape", "CEF:0|HO|PNC Gateway|5.2|Q01|Nominal enquiry|3|externalId=h-8 rt=1795338000000 suser=U9\\nU10 act=DISPLAY\n"),
    ];
    let write = |sub: &str, csv: &str, cef: &str| {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("events.csv"), csv).unwrap();
        std::fs::write(d.join("pnc-gateway.cef"), cef).unwrap();
        d
    };
    let clean = write("clean", &csv, &cef);
    let hostile = write(
        "hostile",
        &format!("{csv}{}", csv_bad.iter().map(|(_, l)| *l).collect::<String>()),
        &format!("{cef}{}", cef_bad.iter().map(|(_, l)| *l).collect::<String>()),
    );
    let replay = |d: &Path| {
        run_ok(
            bin()
                .args(["replay", "-q", "--config"])
                .arg(case.join("config.toml"))
                .arg("--watchlists")
                .arg(case.join("watchlists"))
                .arg("--alerts")
                .arg(d.join("alerts.jsonl"))
                .arg(d.join("events.csv"))
                .arg(d.join("pnc-gateway.cef")),
        );
    };
    replay(&clean);
    replay(&hostile);
    assert_eq!(
        std::fs::read(clean.join("alerts.jsonl")).unwrap(),
        std::fs::read(hostile.join("alerts.jsonl")).unwrap()
    );
    let before = read_jsonl(&clean.join("alerts.dead-letters.jsonl")).len();
    let dead = read_jsonl(&hostile.join("alerts.dead-letters.jsonl"));
    assert_eq!(dead.len() - before, csv_bad.len() + cef_bad.len(), "{dead:#?}");
    assert!(!dir.path().join("escaped").exists());
}

#[test]
fn hostile_messages_on_kafka_are_dead_letters_and_the_engine_keeps_running() {
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::DefaultProducerContext;
    let cluster: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    for (topic, partitions) in topics() {
        cluster.create_topic(&topic, partitions, 1).unwrap();
    }
    let bootstrap = cluster.bootstrap_servers();
    let config = config(&bootstrap, "mock-hostile");
    publish_watchlists(&config);
    let service =
        accesswatch::service::Service::start(std::sync::Arc::new(config.clone()), accesswatch::http::router).unwrap();
    assert!(wait_for(Duration::from_secs(30), || service.status.ready()), "the engine did not become ready");

    let good = event_lines();
    let corpus = json_corpus();
    // Half the good events, then every hostile message (spread over the partitions),
    // then the rest: the engine must carry on past each.
    let (first, rest) = good.split_at(good.len() / 2);
    produce_events(&bootstrap, first);
    let keys: Vec<String> = (0..corpus.len()).map(|i| format!("hostile-{i}")).collect();
    let messages: Vec<(&str, Option<i32>, &[u8], &[u8])> = corpus
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (h, k))| ("access-events", Some(i as i32 % PARTITIONS), k.as_bytes(), h.bytes.as_slice()))
        .collect();
    produce(&bootstrap, &messages);
    produce_events(&bootstrap, rest);

    let expected = replay_expectation(&config, &good);
    let settled = wait_for(Duration::from_secs(60), || latest_alerts(&bootstrap) == expected);
    let rejected = corpus.iter().filter(|h| h.expect != Expect::Accepted).count();
    let dlq_done = wait_for(Duration::from_secs(30), || read_topic_len(&bootstrap, "access-events.dlq") == rejected);
    assert!(service.status.ready(), "the engine stopped: {:?}", service.status.fatal());
    service.stop();
    let summary = service.join().unwrap();
    assert_same_alerts(&expected, &latest_alerts(&bootstrap));
    assert!(settled && dlq_done);
    assert_eq!(summary.dead_letters as usize, rejected);
    assert_eq!(summary.events as usize, good.len() + corpus.len() - rejected);
    for (_, _, key, payload) in read_topic(&bootstrap, "access-events.dlq") {
        assert!(payload.len() <= config.input.dead_letter_max_bytes, "a dead letter of {} bytes", payload.len());
        let d: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let i: usize = String::from_utf8_lossy(&key).trim_start_matches("hostile-").parse().unwrap();
        match corpus[i].expect {
            Expect::Dead(kind) => assert_eq!(d["kind"], kind, "{}", corpus[i].class),
            Expect::Accepted => panic!("{}: dead-lettered: {}", corpus[i].class, d["reason"]),
        }
        if corpus[i].bytes.len() > config.input.dead_letter_max_bytes {
            assert_eq!(d["truncated"], true);
            assert_eq!(d["bytes"], corpus[i].bytes.len());
            assert_eq!(d["sha256"].as_str().unwrap().len(), 64);
        }
    }
    drop(cluster);
}

fn read_topic_len(bootstrap: &str, topic: &str) -> usize {
    read_topic(bootstrap, topic).len()
}

mod arbitrary_bytes {
    //! Every decoder over arbitrary bytes, as the fuzz targets run them (bounded here
    //! to stay within CI's time): no panic, and every accepted event survives its
    //! canonical form.
    use proptest::prelude::*;

    /// Bytes that look like records often enough to reach past the first check.
    fn recordish() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..600),
            "[ -~\n\t\\\\\"{}:,|=;]{0,400}".prop_map(String::into_bytes),
            (
                "[a-zA-Z0-9_ ./\\\\-]{0,40}",
                "[0-9TZ:.+-]{0,30}",
                "[a-z_]{1,12}",
                "[ -~]{0,40}"
            )
                .prop_map(|(user, ts, key, value)| {
                    format!(
                        r#"{{"event_id":"p1","ts":"{ts}","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","{key}":"{value}"}}"#
                    )
                    .into_bytes()
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        #[test]
        fn json_lines(data in recordish()) {
            accesswatch::fuzzing::json(&data);
        }

        #[test]
        fn csv(data in recordish()) {
            let mut with_header = b"event_id,ts,system,user_id,action,subject_type,subject_name,query\n".to_vec();
            with_header.extend_from_slice(&data);
            accesswatch::fuzzing::csv(&with_header);
            accesswatch::fuzzing::csv(&data);
        }

        #[test]
        fn cef(data in recordish()) {
            let mut line = b"CEF:0|HO|PNC Gateway|5.2|Q01|Nominal enquiry|3|externalId=f1 rt=1795338000000 suser=U1 act=QUERY ".to_vec();
            line.extend_from_slice(&data);
            accesswatch::fuzzing::cef(&line);
            accesswatch::fuzzing::cef(&data);
        }

        #[test]
        fn mapped_json(data in recordish()) {
            accesswatch::fuzzing::mapped_json(&data);
        }

        #[test]
        fn watchlist_rows(data in recordish()) {
            accesswatch::fuzzing::watchlist_row(&data);
        }
    }
}

/// Replays `inputs` over a force's lists and config into `alerts`.
fn replay_files(force: &Path, alerts: &Path, inputs: &[PathBuf]) {
    let mut cmd = bin();
    cmd.args(["replay", "-q", "--config"]).arg(force.join("config.toml"));
    cmd.arg("--watchlists").arg(force.join("watchlists")).arg("--alerts").arg(alerts);
    run_ok(cmd.args(inputs));
}

#[test]
fn a_future_dated_event_from_a_staff_member_leaves_every_scenario_caught() {
    let dir = tempfile::tempdir().unwrap();
    let force = dir.path().join("force");
    run_ok(bin().args(["generate", "--out"]).arg(&force).args([
        "--days",
        "10",
        "--staff",
        "400",
        "--citizens",
        "8000",
    ]));
    let text = std::fs::read_to_string(force.join("events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // A real officer's event, a tenth of the way in, from a terminal whose clock says 2099.
    let mut spike: serde_json::Value = serde_json::from_str(lines[lines.len() / 10]).unwrap();
    spike["event_id"] = "clock-fault-1".into();
    spike["ts"] = "2099-06-01T09:00:00Z".into();
    let mut mixed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    mixed.insert(lines.len() / 10 + 1, spike.to_string());
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, mixed.join("\n") + "\n").unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    replay_files(&force, &alerts, &[input.clone()]);
    let eval = accesswatch::evaluate::evaluate_files(&force.join("labels.jsonl"), &alerts, &input).unwrap();
    let missed: Vec<String> =
        eval.scenarios.iter().filter(|s| !s.missed.is_empty()).map(|s| s.scenario.clone()).collect();
    assert!(missed.is_empty(), "scenarios missed after one future-dated event: {missed:?}\n{eval}");
    let (caught, total) = eval.recall();
    assert_eq!(caught, total);
}

#[test]
fn a_spike_in_one_file_does_not_hold_that_file_back_in_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let force = small_force(dir.path());
    let text = std::fs::read_to_string(force.join("events.jsonl")).unwrap();
    // Two sources, each in time order, as two systems' logs would be.
    let (mut a, mut b) = (String::new(), String::new());
    for (i, l) in text.lines().enumerate() {
        let out = if i % 2 == 0 { &mut a } else { &mut b };
        out.push_str(l);
        out.push('\n');
    }
    let (a_path, b_path) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&a_path, &a).unwrap();
    std::fs::write(&b_path, &b).unwrap();
    replay_files(&force, &dir.path().join("clean.jsonl"), &[a_path.clone(), b_path.clone()]);
    // One record dated 2099 a quarter of the way into file a (by a user no list knows,
    // on a record no rule looks at): the rest of file a must not wait for the end.
    let spike = event_with(1, &[("ts", r#""2099-01-01T00:00:00Z""#)]);
    let mut lines: Vec<&str> = a.lines().collect();
    lines.insert(lines.len() / 4, &spike);
    std::fs::write(&a_path, lines.join("\n") + "\n").unwrap();
    replay_files(&force, &dir.path().join("spiked.jsonl"), &[a_path.clone(), b_path.clone()]);
    let clean = std::fs::read(dir.path().join("clean.jsonl")).unwrap();
    assert!(clean == std::fs::read(dir.path().join("spiked.jsonl")).unwrap(), "the spike changed the alerts");
    // Two in a row (a probe: the second became the file's place in the merge, and 26 of
    // a force's 115 alerts were lost), and two an hour ahead of their neighbours (a
    // source writing summer time as UTC for two records: an hour of the file late).
    let at = |line: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        accesswatch::time::Timestamp::parse_rfc3339(v["ts"].as_str().unwrap()).unwrap()
    };
    let hour_ahead = |line: &str| format!("\"{}\"", at(line) + accesswatch::time::Span(accesswatch::time::HOUR));
    let (k, m) = (a.lines().count() / 3, 2 * a.lines().count() / 3);
    let original: Vec<&str> = a.lines().collect();
    let (ahead_k, ahead_m) = (hour_ahead(original[k]), hour_ahead(original[m]));
    let inserted = [
        (k, event_with(2, &[("ts", r#""2099-01-01T00:00:00Z""#)])),
        (k, event_with(3, &[("ts", r#""2099-01-01T00:00:01Z""#)])),
        (m, event_with(4, &[("ts", &ahead_m)])),
        (m, event_with(5, &[("ts", &ahead_m)])),
        (m / 2, event_with(6, &[("ts", &ahead_k)])),
        (m / 2, event_with(7, &[("ts", &ahead_k)])),
    ];
    let mut lines: Vec<String> = original.iter().map(|l| l.to_string()).collect();
    for (at, line) in inserted.iter().rev() {
        lines.insert(*at, line.clone());
    }
    std::fs::write(&a_path, lines.join("\n") + "\n").unwrap();
    replay_files(&force, &dir.path().join("runs.jsonl"), &[a_path.clone(), b_path.clone()]);
    let runs = std::fs::read(dir.path().join("runs.jsonl")).unwrap();
    assert!(clean == runs, "two records in a row dated ahead changed the alerts");
    // Most of the first records of the input dated ahead (a terminal that booted dated
    // 2099): a probe's forty made every later event late and the detectors blind.
    let mut lines: Vec<String> = (0..40).map(|n| event_with(100 + n, &[("ts", r#""2099-01-01T00:00:00Z""#)])).collect();
    lines.extend(text.lines().map(str::to_string));
    let single = dir.path().join("single.jsonl");
    std::fs::write(&single, lines.join("\n") + "\n").unwrap();
    replay_files(&force, &dir.path().join("head.jsonl"), &[single]);
    replay_files(&force, &dir.path().join("whole.jsonl"), &[force.join("events.jsonl")]);
    let whole = std::fs::read(dir.path().join("whole.jsonl")).unwrap();
    let head = std::fs::read(dir.path().join("head.jsonl")).unwrap();
    assert!(!whole.is_empty() && whole == head, "forty records dated ahead at the head changed the alerts");
}
