//! Replay as a user runs it: determinism, bad input, several files, gzip.

use crate::support::{bin, read_jsonl, root, run_ok};
use std::io::Write;
use std::path::Path;

const STAFF: &str = "user_id,surname,forenames,dob,home_postcode,unit\nU1,Bloggs,Joe,1980-01-01,AB1 2CD,Response\n";

fn event(id: &str, ts: &str, extra: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","ts":"{ts}","system":"PNC","user_id":"U1","action":"view","subject_type":"person"{extra}}}"#
    )
}

/// Replays `inputs` against the force in `force` (its config and watch lists).
fn replay_force(
    force: &Path,
    alerts: &Path,
    args: &[&str],
    inputs: &[impl AsRef<std::ffi::OsStr>],
) -> std::process::Output {
    let mut cmd = bin();
    cmd.args(["replay", "--quiet", "--config"]).arg(force.join("config.toml"));
    cmd.arg("--watchlists").arg(force.join("watchlists")).arg("--alerts").arg(alerts);
    run_ok(cmd.args(args).args(inputs))
}

fn replay(dir: &Path, extra_args: &[&str], files: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.current_dir(dir).args(["replay", "--quiet", "--watchlists", "lists", "--alerts", "alerts.jsonl"]);
    cmd.args(extra_args).args(files);
    run_ok(&mut cmd)
}

#[test]
fn replaying_twice_writes_identical_bytes() {
    let case = root().join("tests/golden/high_profile");
    let out = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for i in 0..2 {
        let alerts = out.path().join(format!("a{i}.jsonl"));
        run_ok(
            bin()
                .current_dir(&case)
                .args(["replay", "--quiet", "--watchlists", "watchlists", "--config", "config.toml", "--alerts"])
                .arg(&alerts)
                .arg("input/events.jsonl"),
        );
        outputs.push(std::fs::read(&alerts).unwrap());
    }
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
}

/// What a replay writes is never what it reads: `--alerts` naming its input log (or a
/// hard link to it), or a file of its watch lists, is refused and the file left as it
/// was (it was replaced).
#[test]
fn a_replay_does_not_write_over_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/staff.csv"), STAFF).unwrap();
    let log = event("e1", "2026-11-02T10:00:00Z", "") + "\n";
    std::fs::write(dir.path().join("log.jsonl"), &log).unwrap();
    // A hard link is the log under another name (a probe: the log overwritten, exit 0).
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::hard_link(dir.path().join("log.jsonl"), dir.path().join("out/linked.jsonl")).unwrap();
    let refused = [
        ("--alerts", "log.jsonl", "which this replay reads"),
        ("--alerts", "out/linked.jsonl", "which this replay reads"),
        ("--dead-letters", "out/linked.jsonl", "which this replay reads"),
        ("--alerts", "lists/staff.csv", "which this replay reads"),
        ("--dead-letters", "log.jsonl", "which this replay reads"),
        ("--alerts", "lists/custody.json", "the next load would refuse it"),
    ];
    for (flag, target, says) in refused {
        let mut cmd = bin();
        cmd.current_dir(dir.path()).args(["replay", "--quiet", "--watchlists", "lists"]);
        if flag != "--alerts" {
            cmd.args(["--alerts", "alerts.jsonl"]);
        }
        let out = cmd.args([flag, target, "log.jsonl"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{flag} {target}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap(), log);
    assert_eq!(std::fs::read_to_string(dir.path().join("lists/staff.csv")).unwrap(), STAFF);
}

/// A Windows export in UTF-16 (PowerShell's `>`, SQL Server's "Unicode" text), either
/// byte order, gzipped or not, raises the alerts of its UTF-8 original byte for byte.
#[test]
fn a_utf16_export_replays_as_its_utf8_original() {
    use std::io::Write;
    let case = root().join("tests/golden/high_profile");
    let out = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(case.join("input/events.jsonl")).unwrap().replace('\n', "\r\n");
    let units: Vec<u16> = text.encode_utf16().collect();
    let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(units.iter().flat_map(|u| u.to_le_bytes())).collect();
    let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(units.iter().flat_map(|u| u.to_be_bytes())).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&be).unwrap();
    let inputs = [("utf8.jsonl", text.into_bytes()), ("le.jsonl", le), ("be.jsonl.gz", gz.finish().unwrap())];
    let mut outputs = Vec::new();
    for (name, bytes) in inputs {
        let input = out.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let alerts = out.path().join(format!("{name}.alerts.jsonl"));
        let done = run_ok(
            bin()
                .current_dir(&case)
                .args(["replay", "--quiet", "--watchlists", "watchlists", "--config", "config.toml", "--alerts"])
                .arg(&alerts)
                .arg(&input),
        );
        assert!(String::from_utf8_lossy(&done.stderr).contains("dead letters 0"), "{name}");
        outputs.push(std::fs::read(&alerts).unwrap());
    }
    assert!(!outputs[0].is_empty());
    assert!(outputs.iter().all(|o| *o == outputs[0]), "UTF-16 read otherwise than UTF-8");
}

/// An export sorted by user rather than by time: read as it comes, most events are
/// late and the behavioural detectors miss what they would catch, and the summary says
/// to sort; with `--sort` it raises the alerts of the time-ordered file byte for byte,
/// on one thread or two.
#[test]
fn an_export_sorted_by_user_replays_with_sort_as_the_time_ordered_one() {
    use std::io::Read;
    let force = root().join("examples/force");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(force.join("events.jsonl.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<(String, &str)> = text
        .lines()
        .map(|l| (serde_json::from_str::<serde_json::Value>(l).unwrap()["user_id"].as_str().unwrap().to_string(), l))
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let out = tempfile::tempdir().unwrap();
    let by_user = out.path().join("by-user.jsonl");
    std::fs::write(&by_user, lines.iter().map(|(_, l)| format!("{l}\n")).collect::<String>()).unwrap();
    let ordered = out.path().join("ordered.alerts.jsonl");
    replay_force(&force, &ordered, &[], &[force.join("events.jsonl.gz")]);
    let unsorted = out.path().join("unsorted.alerts.jsonl");
    let done = replay_force(&force, &unsorted, &[], &[&by_user]);
    let summary = String::from_utf8_lossy(&done.stderr);
    assert!(summary.contains("replay with --sort"), "{summary}");
    let behaviour =
        |p: &Path| read_jsonl(p).iter().filter(|a| a["rule"].as_str().unwrap().starts_with("behaviour.")).count();
    assert!(behaviour(&unsorted) < behaviour(&ordered), "the detectors missed nothing out of order?");
    for threads in ["1", "2"] {
        let sorted = out.path().join(format!("sorted-{threads}.alerts.jsonl"));
        let done = replay_force(&force, &sorted, &["--sort", "--threads", threads], &[&by_user]);
        assert!(!String::from_utf8_lossy(&done.stderr).contains("--sort"), "threads {threads}");
        assert_eq!(std::fs::read(&sorted).unwrap(), std::fs::read(&ordered).unwrap(), "threads {threads}");
    }
}

/// `--sort` with a temporary directory it cannot write fails before it reads or writes
/// anything, and names the temporary directory, not the input (a probe: the input was
/// blamed and the outputs left half written).
#[test]
fn sort_without_a_writable_temporary_directory_fails_first_and_says_why() {
    let force = root().join("examples/force");
    let out = tempfile::tempdir().unwrap();
    let alerts = out.path().join("alerts.jsonl");
    let mut cmd = bin();
    cmd.env("TMPDIR", out.path().join("missing")).args(["replay", "--quiet", "--sort", "--config"]);
    cmd.arg(force.join("config.toml")).arg("--watchlists").arg(force.join("watchlists"));
    let done = cmd.arg("--alerts").arg(&alerts).arg(force.join("events.jsonl.gz")).output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(!done.status.success(), "{err}");
    assert!(err.contains("missing: --sort keeps its sorted runs here"), "{err}");
    assert!(!err.contains("events.jsonl.gz"), "{err}");
    assert!(!alerts.exists() && !out.path().join("alerts.dead-letters.jsonl").exists(), "outputs written");
}

#[test]
fn every_class_of_bad_line_is_dead_lettered_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/staff.csv"), STAFF).unwrap();
    std::fs::write(dir.path().join("small.toml"), "[input]\nmax_record_bytes = 400\n").unwrap();
    let own = r#","subject_name":"BLOGGS, Joe","subject_dob":"1980-01-01""#;
    let mut f = std::fs::File::create(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<Vec<u8>> = vec![
        event("ok-1", "2026-11-22T09:00:00Z", own).into_bytes(),
        b"{\"event_id\": \"broken\", \"ts\": ".to_vec(), // 2: bad JSON
        {
            let mut l = event("utf8", "2026-11-22T09:00:01Z", "").into_bytes();
            l.insert(20, 0xff); // 3: bad UTF-8
            l
        },
        br#"{"ts":"2026-11-22T09:00:02Z","system":"PNC","user_id":"U1","action":"view","subject_type":"person"}"#
            .to_vec(), // 4: missing event_id
        event("badts", "22/11/2026 09:00", "").into_bytes(), // 5: bad timestamp
        event("enum", "2026-11-22T09:00:03Z", "").replace("\"view\"", "\"peek\"").into_bytes(), // 6: unknown enum
        event("long", "2026-11-22T09:00:04Z", &format!(r#","query":"{}""#, "x".repeat(1000))).into_bytes(), // 7: over-long
        b"[1,2,3]".to_vec(), // 8: not an object
        event("dob", "2026-11-22T09:00:05Z", r#","subject_dob":"1980-02-30""#).into_bytes(), // 9: bad value
        event("ok-2", "2026-11-23T10:00:00Z", own).into_bytes(), // 10
    ];
    for l in &lines {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    drop(f);
    let out = replay(dir.path(), &["--config", "small.toml", "--dead-letters", "dead.jsonl"], &["events.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dead letters 8"), "{stderr}");

    let dead = read_jsonl(&dir.path().join("dead.jsonl"));
    let got: Vec<(u64, &str)> =
        dead.iter().map(|d| (d["line"].as_u64().unwrap(), d["kind"].as_str().unwrap())).collect();
    assert_eq!(
        got,
        vec![
            (2, "bad_json"),
            (3, "bad_utf8"),
            (4, "missing_field"),
            (5, "bad_value"),
            (6, "unknown_enum"),
            (7, "too_long"),
            (8, "bad_json"),
            (9, "bad_value"),
        ]
    );
    for d in &dead {
        assert_eq!(d["path"], "events.jsonl");
        assert!(!d["reason"].as_str().unwrap().is_empty());
    }
    // The original bytes are kept: exactly, for the line that is not UTF-8.
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(dead[1]["raw_base64"].as_str().unwrap()).unwrap();
    assert_eq!(raw, lines[2]);
    assert_eq!(dead[0]["raw"], String::from_utf8_lossy(&lines[1]).as_ref());
    assert_eq!(dead[5]["bytes"].as_u64().unwrap() as usize, lines[6].len());
    assert!(dead[3]["reason"].as_str().unwrap().contains("ts"), "{}", dead[3]);
    assert!(dead[4]["reason"].as_str().unwrap().contains("peek"), "{}", dead[4]);

    // The good events on either side were processed: two self-look-up alerts.
    let alerts = read_jsonl(&dir.path().join("alerts.jsonl"));
    let selfs: Vec<&str> =
        alerts.iter().filter(|a| a["rule"] == "self.lookup").map(|a| a["event_ids"][0].as_str().unwrap()).collect();
    assert_eq!(selfs, ["ok-1", "ok-2"]);
}

#[test]
fn bad_csv_rows_and_headers_are_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(
        dir.path().join("good.csv"),
        "event_id,ts,system,user_id,action,subject_type\nc1,2026-11-22T09:00:00Z,PNC,U1,view,crime\nc2,2026-11-22T09:00:00Z,PNC\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("nohead.csv"), "event_id,when\nx,y\n").unwrap();
    let out = replay(dir.path(), &[], &["good.csv", "nohead.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      1 "), "{stderr}");
    let dead = read_jsonl(&dir.path().join("alerts.dead-letters.jsonl"));
    let kinds: Vec<(&str, u64)> =
        dead.iter().map(|d| (d["path"].as_str().unwrap(), d["line"].as_u64().unwrap())).collect();
    assert!(kinds.contains(&("good.csv", 3)), "{dead:?}");
    assert!(kinds.contains(&("nohead.csv", 1)), "{dead:?}");
    assert!(kinds.contains(&("nohead.csv", 2)), "{dead:?}");
    assert!(dead.iter().all(|d| d["kind"] == "bad_csv"), "{dead:?}");
}

/// A quote left open at the end of a CSV row (an exporter that wrote free text as it
/// was) costs that row alone: the rows it ran into are read as rows. Before, up to 63
/// rows after it went into one dead letter, and their accesses were never judged.
#[test]
fn an_unclosed_quote_costs_its_own_csv_row_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    let mut text = String::from("event_id,ts,system,user_id,action,subject_type,query\n");
    for i in 0..40 {
        if i == 10 {
            text.push_str("bad,2026-11-22T09:00:10Z,PNC,U1,search,person,\"SMITH,,,\n");
        }
        text.push_str(&format!("c{i},2026-11-22T09:{:02}:00Z,PNC,U1,view,crime,\n", i));
    }
    std::fs::write(dir.path().join("events.csv"), text).unwrap();
    let out = replay(dir.path(), &[], &["events.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      40 "), "{stderr}");
    let dead = read_jsonl(&dir.path().join("alerts.dead-letters.jsonl"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["line"], 12);
    assert!(dead[0]["raw"].as_str().unwrap().starts_with("bad,"), "{dead:?}");
    assert!(dead[0]["reason"].as_str().unwrap().contains("not closed"), "{dead:?}");
}

/// A quote left open that closes in the next row (its own quoted name): the record
/// the two rows make has more fields than the header, so the row after the first is
/// read again as its own and raises its alert; a field quoted as it should be with a
/// line break in it stays one record.
#[test]
fn a_quote_that_closes_in_the_next_row_costs_its_own_row_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(
        dir.path().join("events.csv"),
        "event_id,ts,system,user_id,action,subject_type,subject_name,query\n\
         Q1,2026-11-03T10:00:01Z,PNC,U1,view,person,\"SMITH, John,\n\
         Q2,2026-11-03T10:00:02Z,PNC,U2,view,person,\"FEATHERSTONEHAUGH, Rupert\",\n\
         Q3,2026-11-03T10:00:03Z,PNC,U3,search,person,,\"two\nlines, one field\"\n\
         Q4,2026-11-03T10:00:04Z,PNC,U4,view,person,\"SMITH, John\",\n",
    )
    .unwrap();
    let out = replay(dir.path(), &[], &["events.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      3 "), "Q2, Q3 and Q4 judged: {stderr}");
    let dead = read_jsonl(&dir.path().join("alerts.dead-letters.jsonl"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!((dead[0]["line"].as_u64(), dead[0]["raw"].as_str().unwrap().starts_with("Q1,")), (Some(2), true));

    // A lone quote on a line of its own takes the next row's first fields into one
    // record of fewer fields than the header: the row is read again all the same (a
    // hostile probe: it was lost inside the dead letter).
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(
        dir.path().join("lone.csv"),
        "event_id,ts,system,user_id,action,subject_type,subject_name,query\n\
         L1,2026-11-03T10:00:01Z,PNC,U1,view,person,\"SMITH, John\",\n\
         \"\n\
         L2,2026-11-03T10:00:02Z,PNC,U2,view,person,\"IDOL, Pop\",\n\
         L3,2026-11-03T10:00:03Z,PNC,U3,view,person,,\n",
    )
    .unwrap();
    let out = replay(dir.path(), &[], &["lone.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      3 "), "L1, L2 and L3 judged: {stderr}");
    let dead = read_jsonl(&dir.path().join("alerts.dead-letters.jsonl"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["line"].as_u64(), Some(3), "{dead:?}");
}

/// Two CSV exports joined into one file, the second with its columns in another
/// order: its header row is taken as the header of the rows after it. Before, it was a
/// dead letter and the rows after it were read by the first header (names as user ids).
#[test]
fn a_header_in_the_middle_of_a_csv_file_reads_the_rows_after_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    let text = "event_id,ts,system,user_id,action,subject_type,subject_name\n\
                a1,2026-11-22T09:00:00Z,PNC,U1,view,person,\"SMITH, Jo\"\n\
                subject_name,user_id,event_id,ts,system,action,subject_type\n\
                \"JONES, Al\",U2,b1,2026-11-22T09:01:00Z,PNC,view,person\n\
                \"BROWN, Cy\",U3,b2,2026-11-22T09:02:00Z,PNC,view,person\n";
    std::fs::write(dir.path().join("events.csv"), text).unwrap();
    let out = replay(dir.path(), &["--archive", "archive"], &["events.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      3 ") && stderr.contains("dead letters 0"), "{stderr}");
    let query = run_ok(bin().current_dir(dir.path()).args([
        "query",
        "--archive",
        "archive",
        "--format",
        "csv",
        "SELECT event_id, user_id FROM events ORDER BY event_id",
    ]));
    let rows = String::from_utf8_lossy(&query.stdout).into_owned();
    assert!(rows.contains("b1,U2") && rows.contains("b2,U3") && rows.contains("a1,U1"), "{rows}");

    // The second header in other cases, and a mapped source's export joined the same
    // way (a hostile probe: both read the rows after it by the first header, the
    // user id a name, the terminal or the subject's).
    let text = "event_id,ts,system,user_id,action,subject_type,terminal\n\
                a1,2026-11-22T09:00:00Z,PNC,U1,view,person,WS-1\n\
                Terminal,User_ID,Event_ID,TS,System,Action,Subject_Type\n\
                WS-9,U2,b1,2026-11-22T09:01:00Z,PNC,view,person\n";
    std::fs::write(dir.path().join("cased.csv"), text).unwrap();
    std::fs::write(
        dir.path().join("rms.toml"),
        "[sources.rms]\nformat = \"csv\"\nfiles = [\"rms-*.csv\"]\n[sources.rms.fields]\n\
         event_id = \"AuditID\"\nts = \"When\"\nsystem = { value = \"RMS\" }\nuser_id = \"UserCode\"\n\
         action = { value = \"view\" }\nsubject_type = { value = \"person\" }\nsubject_name = \"EntityName\"\n",
    )
    .unwrap();
    let text = "AuditID,When,UserCode,EntityName\n\
                m1,2026-11-22T09:00:00Z,U1,\"STAR, Famous\"\n\
                AuditID,When,EntityName,UserCode\n\
                m2,2026-11-22T09:05:00Z,\"IDOL, Pop\",U4\n";
    std::fs::write(dir.path().join("rms-1.csv"), text).unwrap();
    let out = replay(dir.path(), &["--config", "rms.toml", "--archive", "archive2"], &["cased.csv", "rms-1.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events      4 ") && stderr.contains("dead letters 0"), "{stderr}");
    let query = run_ok(bin().current_dir(dir.path()).args([
        "query",
        "--archive",
        "archive2",
        "--format",
        "csv",
        "SELECT event_id, user_id FROM events ORDER BY event_id",
    ]));
    let rows = String::from_utf8_lossy(&query.stdout).into_owned();
    assert!(rows.contains("b1,U2") && rows.contains("m2,U4") && rows.contains("m1,U1"), "{rows}");
}

#[test]
fn files_merge_in_event_time_order_and_gzip_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/staff.csv"), STAFF).unwrap();
    let own = r#","subject_name":"BLOGGS, Joe","subject_dob":"1980-01-01""#;
    // Two systems' logs whose events interleave in time.
    let a = [event("a1", "2026-11-22T09:00:00Z", own), event("a2", "2026-11-22T09:20:00Z", own)].join("\n");
    let b = [event("b1", "2026-11-22T09:10:00Z", own), event("b2", "2026-11-23T12:00:00Z", own)].join("\n");
    std::fs::write(dir.path().join("a.jsonl"), a).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("b.jsonl.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b.as_bytes()).unwrap();
    gz.finish().unwrap();
    replay(dir.path(), &[], &["b.jsonl.gz", "a.jsonl"]);
    let alerts = read_jsonl(&dir.path().join("alerts.jsonl"));
    let evidence: Vec<Vec<&str>> = alerts
        .iter()
        .filter(|a| a["rule"] == "self.lookup")
        .map(|a| a["event_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect())
        .collect();
    assert_eq!(evidence, vec![vec!["a1", "b1", "a2"], vec!["b2"]]);
}

/// The files read and decoded on a thread of their own (the default with more than one
/// CPU; `--threads 2` asks for it on any machine) give the same alerts, dead letters and
/// summary as one thread doing everything.
#[test]
fn reading_ahead_on_another_thread_changes_no_byte_of_the_results() {
    let force = root().join("examples/force");
    let out = tempfile::tempdir().unwrap();
    // A second file with bad lines among good ones, merged with the force's by time.
    let extra = out.path().join("extra.jsonl");
    let mut f = std::fs::File::create(&extra).unwrap();
    for i in 0..3_000 {
        if i % 100 == 0 {
            writeln!(f, "{{\"event_id\": \"broken-{i}\"").unwrap();
        }
        let ts = format!("2026-11-0{}T{:02}:{:02}:00Z", 2 + i % 5, i / 60 % 24, i % 60);
        writeln!(f, "{}", event(&format!("x{i}"), &ts, r#","subject_id":"P1""#)).unwrap();
    }
    drop(f);
    let mut results = Vec::new();
    for mode in [&["--threads", "2"][..], &["--threads", "1"][..]] {
        let alerts = out.path().join(format!("alerts{}.jsonl", mode[1]));
        let inputs = [force.join("events.jsonl.gz"), extra.clone()];
        let output = replay_force(&force, &alerts, mode, &inputs);
        let read = |suffix: &str| std::fs::read(alerts.with_extension(suffix)).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        results.push((read("jsonl"), read("dead-letters.jsonl"), read("summary.json"), stderr));
    }
    let (alerts, dead, summary, stderr) = &results[0];
    assert!(alerts.len() > 10_000 && dead.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() >= 30, "{stderr}");
    assert_eq!(results[1].0, *alerts);
    assert_eq!(results[1].1, *dead);
    assert_eq!(results[1].2, *summary);
}

/// Two exports that overlap (the first 60% and the last 60% of a week), replayed
/// together: the events they share are judged once, so the alerts are those of the
/// week replayed whole, and the summary counts the copies.
#[test]
fn overlapping_exports_raise_the_alerts_of_the_whole_once() {
    use std::io::Read;
    let force = root().join("examples/force");
    let out = tempfile::tempdir().unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(force.join("events.jsonl.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let whole = out.path().join("whole.jsonl");
    std::fs::write(&whole, &text).unwrap();
    let first = out.path().join("first.jsonl");
    std::fs::write(&first, lines[..n * 6 / 10].join("\n")).unwrap();
    let last = out.path().join("last.jsonl");
    std::fs::write(&last, lines[n * 4 / 10..].join("\n")).unwrap();
    let replay = |alerts: &str, inputs: &[&Path]| {
        let alerts = out.path().join(alerts);
        let output = replay_force(&force, &alerts, &[], inputs);
        (std::fs::read(&alerts).unwrap(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (once, _) = replay("once.jsonl", &[&whole]);
    let (overlapping, stderr) = replay("overlapping.jsonl", &[&first, &last]);
    assert!(!once.is_empty());
    assert!(overlapping == once, "the overlap changed the alerts: {stderr}");
    let shared = n * 6 / 10 - n * 4 / 10;
    assert!(stderr.contains(&format!("copies      {shared} events given again")), "{stderr}");
}
