//! The archive as analysts use it, on a generated force: replay into the archive and
//! back, retrospective checks, the hunt commands with known answers, evidence bundles,
//! output formats and retention.

use crate::support::{bin, read_jsonl, run_ok};
use accesswatch::event::{json, PersonName};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A generated force in a temporary directory.
struct Force {
    dir: tempfile::TempDir,
}

impl Force {
    fn new() -> Force {
        let dir = tempfile::tempdir().unwrap();
        run_ok(
            bin().args(["generate", "--days", "7", "--staff", "200", "--citizens", "4000", "--out"]).arg(dir.path()),
        );
        Force { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `replay` of `inputs` over `watchlists`, with extra arguments; returns the alerts path.
    fn replay(&self, watchlists: &Path, alerts: &str, extra: &[&str], inputs: &[PathBuf]) -> PathBuf {
        let out = self.path(alerts);
        run_ok(
            bin()
                .args(["replay", "--quiet", "--config"])
                .arg(self.path("config.toml"))
                .arg("--watchlists")
                .arg(watchlists)
                .arg("--alerts")
                .arg(&out)
                .args(extra)
                .args(inputs),
        );
        out
    }

    fn events(&self) -> Vec<accesswatch::event::AccessEvent> {
        std::fs::read_to_string(self.path("events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| json::decode(l.as_bytes()).unwrap())
            .collect()
    }

    /// The force replayed into an archive (events.jsonl -> archive/), once.
    fn archived(&self) -> PathBuf {
        let archive = self.path("archive");
        if !archive.exists() {
            let arg = archive.display().to_string();
            self.replay(
                &self.path("watchlists"),
                "archived-alerts.jsonl",
                &["--archive", &arg],
                &[self.path("events.jsonl")],
            );
        }
        archive
    }
}

fn cli(args: &[&str]) -> String {
    String::from_utf8(run_ok(bin().args(args)).stdout).unwrap()
}

#[test]
fn archive_replay_raises_the_same_alerts_as_file_replay_also_over_a_time_range() {
    let force = Force::new();
    let archive = force.archived();
    let from_files = std::fs::read(force.path("archived-alerts.jsonl")).unwrap();
    let from_archive = force.replay(&force.path("watchlists"), "from-archive.jsonl", &[], &[archive.clone()]);
    assert!(from_files.len() > 10_000);
    assert!(std::fs::read(from_archive).unwrap() == from_files, "archive -> replay differs from file -> replay");

    let range = ["--from", "2026-11-03T06:00:00Z", "--to", "2026-11-05"];
    let a = force.replay(&force.path("watchlists"), "range-files.jsonl", &range, &[force.path("events.jsonl")]);
    let b = force.replay(&force.path("watchlists"), "range-archive.jsonl", &range, &[archive.clone()]);
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(!a.is_empty() && a.len() < from_files.len());
    assert!(a == b, "a time range of the archive differs from the same range of the files");
    // The summary adds up to the records read: events judged, dead letters and the
    // events outside the range.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(force.path("range-files.summary.json")).unwrap()).unwrap();
    let counted = ["events", "copies", "dead_letters", "outside_range"].map(|k| summary[k].as_u64().unwrap());
    assert!(counted[3] > 0, "{summary}");
    assert_eq!(counted.iter().sum::<u64>(), force.events().len() as u64, "{summary}");

    // A damaged file costs its own events only: the replay of the archive goes on, and
    // the file is a dead letter naming it.
    let day = std::fs::read_dir(archive.join("events")).unwrap().next().unwrap().unwrap().path();
    let system = std::fs::read_dir(&day).unwrap().next().unwrap().unwrap().path();
    let damaged = system.join("part-damaged.parquet");
    std::fs::write(&damaged, b"PAR1 not a parquet file at all PAR1").unwrap();
    let out = force.replay(&force.path("watchlists"), "damaged.jsonl", &[], &[archive.clone()]);
    assert!(std::fs::read(&out).unwrap() == from_files, "the readable files still give every alert");
    let dead = read_jsonl(&force.path("damaged.dead-letters.jsonl"));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["path"], damaged.display().to_string());
    assert_eq!(dead[0]["kind"], "unreadable");

    // SQL over the archive stops on it, and names it (DataFusion's error does not).
    let query =
        bin().args(["query", "--archive"]).arg(force.path("archive")).arg("SELECT count(*) FROM events").output();
    let query = query.unwrap();
    let stderr = String::from_utf8_lossy(&query.stderr);
    assert!(!query.status.success());
    assert!(stderr.contains("cannot be read") && stderr.contains(&damaged.display().to_string()), "{stderr}");

    // A page damaged on disk, its footer whole: the query fails reading, and names the
    // file (DataFusion's "Data corruption detected" names none).
    std::fs::remove_file(&damaged).unwrap();
    let listed = |dir: &std::path::Path| std::fs::read_dir(dir).unwrap().map(|f| f.unwrap().path()).collect::<Vec<_>>();
    let days = listed(&archive.join("events"));
    let files = days.iter().flat_map(|day| listed(day)).flat_map(|system| listed(&system));
    let spoilt = files.max_by_key(|f| std::fs::metadata(f).unwrap().len()).unwrap();
    spoil_a_page(&spoilt);
    let query = bin().args(["query", "--archive"]).arg(force.path("archive")).arg("SELECT * FROM events").output();
    let query = query.unwrap();
    let stderr = String::from_utf8_lossy(&query.stderr);
    assert!(!query.status.success());
    assert!(stderr.contains("cannot be read") && stderr.contains(&spoilt.display().to_string()), "{stderr}");
}

/// Overwrites the middle of the largest compressed column chunk of a Parquet file,
/// leaving its footer as it was.
fn spoil_a_page(file: &std::path::Path) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let chunks = reader.metadata().row_groups().iter().flat_map(|rg| rg.columns().iter());
    let chunk = chunks.filter(|c| c.compression() != parquet::basic::Compression::UNCOMPRESSED);
    let largest = chunk.max_by_key(|c| c.compressed_size()).expect("a compressed column");
    let (start, len) = largest.byte_range();
    assert!(len > 256, "a chunk large enough to spoil its data, not its page header: {len} in {}", file.display());
    let mut bytes = std::fs::read(file).unwrap();
    let middle = (start + len / 2) as usize;
    bytes[middle..middle + 64].fill(0xA5);
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn a_celebrity_added_after_the_fact_raises_what_a_replay_with_the_entry_would_and_no_duplicates() {
    let force = Force::new();
    // The replay with the entry present from the start.
    let full = read_jsonl(&force.replay(&force.path("watchlists"), "full.jsonl", &[], &[force.path("events.jsonl")]));
    let csv = std::fs::read_to_string(force.path("watchlists/high_profile.csv")).unwrap();
    let celebrity =
        csv.lines().find(|l| l.contains(",celebrity,")).expect("a celebrity entry").split(',').next().unwrap();
    let strip = |mut a: serde_json::Value| {
        a.as_object_mut().unwrap().remove("user_risk");
        a
    };
    let expected: BTreeMap<String, serde_json::Value> = full
        .into_iter()
        .filter(|a| a["watchlist"]["key"] == celebrity)
        .map(|a| (a["alert_id"].as_str().unwrap().to_string(), strip(a)))
        .collect();
    assert!(expected.len() >= 5 && expected.values().any(|a| a["retrospective"] == true));

    // The archive is written while the celebrity is not on the list.
    let without = force.path("without");
    std::fs::create_dir(&without).unwrap();
    for f in std::fs::read_dir(force.path("watchlists")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, without.join(f.file_name().unwrap())).unwrap();
    }
    let kept: Vec<&str> = csv.lines().filter(|l| !l.starts_with(&format!("{celebrity},"))).collect();
    std::fs::write(without.join("high_profile.csv"), kept.join("\n") + "\n").unwrap();
    let archive = force.path("archive-without");
    let arg = archive.display().to_string();
    let before =
        read_jsonl(&force.replay(&without, "without.jsonl", &["--archive", &arg], &[force.path("events.jsonl")]));
    assert!(before.iter().all(|a| a["watchlist"]["key"] != celebrity));

    // The entry is added: the retrospective check finds exactly the replay's alerts.
    let retro = |name: &str| {
        let out = force.path(name);
        let mut cmd = bin();
        cmd.args(["retrospective", "--archive", &arg, "--config"]).arg(force.path("config.toml"));
        cmd.arg("--watchlists").arg(force.path("watchlists")).arg("--alerts").arg(&out);
        run_ok(&mut cmd);
        read_jsonl(&out)
    };
    let got: BTreeMap<String, serde_json::Value> =
        retro("retro.jsonl").into_iter().map(|a| (a["alert_id"].as_str().unwrap().to_string(), strip(a))).collect();
    assert_eq!(got, expected);
    // Checked again, nothing new: they are in the archive's alerts now.
    assert!(retro("retro-again.jsonl").is_empty());
}

/// The event ids an independent scan of events.jsonl finds for the subject.
fn scan(
    events: &[accesswatch::event::AccessEvent],
    keep: impl Fn(&accesswatch::event::AccessEvent) -> bool,
) -> BTreeSet<String> {
    events.iter().filter(|e| keep(e)).map(|e| e.event_id.to_string()).collect()
}

fn column(rows: &[serde_json::Value], name: &str) -> BTreeSet<String> {
    rows.iter().map(|r| r[name].as_str().unwrap().to_string()).collect()
}

fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn who_accessed_and_user_activity_give_the_known_answers() {
    let force = Force::new();
    let archive = force.archived();
    let arch = archive.display().to_string();
    let events = force.events();

    // The most looked-up person with a date of birth, under every written form of the name.
    let mut counts: BTreeMap<(String, String, accesswatch::time::Date), usize> = BTreeMap::new();
    for e in &events {
        if let (Some(n), Some(d)) = (e.subject_name.as_deref().and_then(PersonName::parse), e.subject_dob) {
            *counts.entry((n.surname.to_string(), n.forenames.to_string(), d)).or_default() += 1;
        }
    }
    let ((surname, forenames, dob), _) =
        counts.into_iter().filter(|((_, f, _), _)| !f.is_empty()).max_by_key(|(_, n)| *n).unwrap();
    let want = PersonName { surname: surname.as_str().into(), forenames: forenames.as_str().into() };
    let expected = scan(&events, |e| {
        e.subject_name.as_deref().and_then(PersonName::parse).is_some_and(|n| n.matches(&want))
            && e.subject_dob.is_none_or(|d| d == dob)
    });
    assert!(expected.len() >= 5);
    let variants = [
        format!("{surname}, {forenames}"),
        format!("{} {}", forenames.to_lowercase(), surname.to_lowercase()),
        format!("{}/{}", surname.to_lowercase(), &forenames[..1]),
    ];
    let dob = dob.to_string();
    for name in &variants {
        let out = cli(&["who-accessed", "--archive", &arch, "--name", name, "--dob", &dob, "--format", "json"]);
        let rows = jsonl(&out);
        let expected: BTreeSet<String> = if name.contains('/') {
            // An initial matches every forename starting with it, as the rules match it.
            let initial = PersonName { surname: surname.as_str().into(), forenames: forenames[..1].into() };
            scan(&events, |e| {
                e.subject_name.as_deref().and_then(PersonName::parse).is_some_and(|n| n.matches(&initial))
                    && e.subject_dob.is_none_or(|d| d.to_string() == dob)
            })
        } else {
            expected.clone()
        };
        assert_eq!(column(&rows, "event_id"), expected, "{name}");
        assert!(rows.iter().all(|r| ["name_dob", "name", "initial"].contains(&r["match"].as_str().unwrap())));
    }

    // A VRM, spaced and cased differently from how it was logged.
    let vrm = events.iter().find_map(|e| e.subject_vrm.clone()).unwrap();
    let key = accesswatch::event::normalise::vrm(&vrm).unwrap();
    let odd: String = key.chars().flat_map(|c| [c.to_ascii_lowercase(), ' ']).collect();
    let out = cli(&["who-accessed", "--archive", &arch, "--vrm", &odd, "--format", "json"]);
    let expected =
        scan(&events, |e| e.subject_vrm.as_deref().and_then(accesswatch::event::normalise::vrm) == Some(key.clone()));
    assert_eq!(column(&jsonl(&out), "event_id"), expected);

    // One user over three days.
    let user = events[events.len() / 2].user_id.to_string();
    let (from, to) = ("2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z");
    let out =
        cli(&["user-activity", "--archive", &arch, "--user", &user, "--from", from, "--to", to, "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let ids: Vec<String> =
        reader.deserialize::<BTreeMap<String, String>>().map(|r| r.unwrap()["event_id"].clone()).collect();
    let (f, t) = (
        accesswatch::time::Timestamp::parse_rfc3339(from).unwrap(),
        accesswatch::time::Timestamp::parse_rfc3339(to).unwrap(),
    );
    let expected: Vec<String> =
        events.iter().filter(|e| e.user_id == user && e.ts >= f && e.ts < t).map(|e| e.event_id.to_string()).collect();
    assert!(!expected.is_empty());
    assert_eq!(ids, expected, "in time order");
}

#[test]
fn who_accessed_as_of_answers_with_what_was_known_then() {
    let force = Force::new();
    let archive = force.archived();
    let arch = archive.display().to_string();
    let lists = force.path("watchlists").display().to_string();
    // The celebrity: on the high-profile list from its added_at, looked up before and after.
    let text = std::fs::read_to_string(force.path("watchlists/high_profile.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let entry = reader
        .deserialize::<BTreeMap<String, String>>()
        .map(|r| r.unwrap())
        .find(|r| r["category"] == "celebrity")
        .unwrap();
    let added = accesswatch::time::Timestamp::parse_rfc3339(&entry["added_at"]).unwrap();
    let who = |as_of: accesswatch::time::Timestamp| {
        jsonl(&cli(&[
            "who-accessed",
            "--archive",
            &arch,
            "--name",
            &entry["subject_name"],
            "--dob",
            &entry["subject_dob"],
            "--watchlists",
            &lists,
            "--as-of",
            &as_of.to_string(),
            "--format",
            "json",
        ]))
    };
    let ts = |r: &serde_json::Value| accesswatch::time::Timestamp::parse_rfc3339(r["ts"].as_str().unwrap()).unwrap();
    let flag = format!("high_profile:{}", entry["entry_id"]);

    let before = who(added - accesswatch::time::Span::hours(1));
    assert!(!before.is_empty(), "the fans looked before the story broke");
    assert!(before.iter().all(|r| ts(r) <= added), "only what had been received by then");
    let has_flag = |r: &serde_json::Value| r["flagged_as_of"].as_str().unwrap().split(';').any(|f| f == flag);
    assert!(before.iter().all(|r| !has_flag(r)), "nobody knew yet: {before:?}");

    let later = who(accesswatch::time::Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap());
    assert!(later.len() > before.len());
    for r in &later {
        assert_eq!(has_flag(r), ts(r) >= added, "flagged only for accesses made once the entry was on the list: {r}");
    }
    // Each access carries what explained it when the engine judged it: the case team's
    // look-ups, named on the custody record, by it (taken before their reference).
    let by_record = |r: &serde_json::Value| r["explained_by"] == "custody" && !r["reference"].is_null();
    assert!(later.iter().any(by_record), "{later:?}");
    assert!(later.iter().any(|r| r["explained_by"].is_null() || r["explained_by"] == ""), "the fans' were not");
}

#[test]
fn leak_trace_puts_the_labelled_snoopers_above_everyone_with_a_reason() {
    let force = Force::new();
    let archive = force.archived().display().to_string();
    let mut r = csv::Reader::from_path(force.path("watchlists/high_profile.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let row = r.records().map(Result::unwrap).find(|row| row.iter().any(|c| c == "celebrity")).unwrap();
    let cell = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
    let (id, name, dob, added_at) =
        (&cell("subject_id"), &cell("subject_name"), &cell("subject_dob"), &cell("added_at"));
    // The story breaks a day after the entry was added.
    let published = accesswatch::time::Timestamp::parse_rfc3339(added_at).unwrap() + accesswatch::time::Span::days(1);
    let out = cli(&[
        "leak-trace",
        "--archive",
        &archive,
        "--subject",
        id,
        "--name",
        name,
        "--dob",
        dob,
        "--published",
        &published.to_string(),
        "--window",
        "14d",
        "--watchlists",
        &force.path("watchlists").display().to_string(),
        "--config",
        &force.path("config.toml").display().to_string(),
        "--format",
        "json",
    ]);
    let rows = jsonl(&out);
    let snoopers: BTreeSet<String> = read_jsonl(&force.path("labels.jsonl"))
        .into_iter()
        .filter(|l| l["rule"] == "high_profile.uninvolved" && l["subjects"].to_string().contains(id.as_str()))
        .filter(|l| {
            l["event_ids"].as_array().unwrap().iter().any(|e| {
                let e = e.as_str().unwrap();
                force.events().iter().any(|x| x.event_id == e && x.ts < published)
            })
        })
        .map(|l| l["user_id"].as_str().unwrap().to_string())
        .collect();
    assert!(snoopers.len() >= 2, "{snoopers:?}");
    let rank = |u: &str| rows.iter().position(|r| r["user_id"] == u);
    let first_justified = rows.iter().position(|r| r["unjustified"] == 0).unwrap_or(rows.len());
    for s in &snoopers {
        let at = rank(s).unwrap_or_else(|| panic!("{s} is not in the leak trace"));
        assert!(at < first_justified, "{s} ranks below a justified user");
    }
    // Ranks are 1.. in order, and unjustified users are ordered by time to publication.
    let leads: Vec<i64> = rows[..first_justified]
        .iter()
        .map(|r| {
            published.0 - accesswatch::time::Timestamp::parse_rfc3339(r["last_access"].as_str().unwrap()).unwrap().0
        })
        .collect();
    assert!(leads.windows(2).all(|w| w[0] <= w[1]), "{leads:?}");
    assert!(rows.iter().enumerate().all(|(i, r)| r["rank"] == i as i64 + 1));
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn evidence_bundle_holds_the_alert_its_events_rows_and_config_with_hashes_that_verify() {
    let force = Force::new();
    let archive = force.archived().display().to_string();
    let alerts = read_jsonl(&force.path("archived-alerts.jsonl"));
    let alert = alerts
        .iter()
        .filter(|a| a["watchlist"]["list"] == "high_profile")
        .max_by_key(|a| a["event_ids"].as_array().unwrap().len())
        .unwrap();
    let id = alert["alert_id"].as_str().unwrap();
    let out = force.path("bundle");
    let mut cmd = bin();
    cmd.args(["evidence", "--archive", &archive, "--alert", id, "--out"]).arg(&out);
    cmd.arg("--watchlists").arg(force.path("watchlists")).arg("--config").arg(force.path("config.toml"));
    let printed = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();

    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 6);
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(sha256_hex(&std::fs::read(out.join(name)).unwrap()), hash, "{name}");
    }
    let bundle = sha256_hex(sums.as_bytes());
    assert!(std::fs::read_to_string(out.join("BUNDLE.sha256")).unwrap().starts_with(&bundle));
    assert!(printed.contains(&bundle));

    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("alert.json")).unwrap()).unwrap();
    assert_eq!(&stored, alert);
    let events = read_jsonl(&out.join("events.jsonl"));
    let wanted: BTreeSet<String> =
        alert["event_ids"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().into()).collect();
    assert_eq!(column(&events, "event_id"), wanted);
    let rows = read_jsonl(&out.join("watchlist-rows.jsonl"));
    assert!(rows.iter().any(|r| r["table"] == "high_profile" && r["entry_id"] == alert["watchlist"]["key"]));
    assert!(rows.iter().any(|r| r["table"] == "staff" && r["user_id"] == alert["user_id"]));
    assert_eq!(std::fs::read(out.join("config.toml")).unwrap(), std::fs::read(force.path("config.toml")).unwrap());

    // An unknown alert is a clear error, and no bundle is written.
    let mut cmd = bin();
    cmd.args(["evidence", "--archive", &archive, "--alert", "no-such-alert", "--out"]).arg(force.path("nothing"));
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no alert \"no-such-alert\""));
    assert!(!force.path("nothing").exists());
}

#[test]
fn query_writes_tables_csv_json_and_parquet_and_reports_bad_sql() {
    let force = Force::new();
    let archive = force.archived().display().to_string();
    let events = force.events();
    let sql = "SELECT system, count(*) AS n FROM events GROUP BY system ORDER BY system";
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for e in &events {
        *expected.entry(e.system.to_string()).or_default() += 1;
    }

    let table = cli(&["query", "--archive", &archive, sql]);
    assert!(table.contains("| system") && table.contains(&format!("{} rows", expected.len())), "{table}");
    let csv_out = cli(&["query", "--archive", &archive, "--format", "csv", sql]);
    let mut r = csv::Reader::from_reader(csv_out.as_bytes());
    let got: BTreeMap<String, i64> = r.deserialize::<(String, i64)>().map(|x| x.unwrap()).collect();
    assert_eq!(got, expected);
    let json_out = cli(&["query", "--archive", &archive, "--format", "json", sql]);
    let got: BTreeMap<String, i64> =
        jsonl(&json_out).iter().map(|r| (r["system"].as_str().unwrap().into(), r["n"].as_i64().unwrap())).collect();
    assert_eq!(got, expected);
    let file = force.path("out.parquet");
    cli(&["query", "--archive", &archive, "--format", "parquet", "--out", &file.display().to_string(), sql]);
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, expected.len());

    // Alerts and watch lists join events.
    let joined = cli(&[
        "query",
        "--archive",
        &archive,
        "--watchlists",
        &force.path("watchlists").display().to_string(),
        "--format",
        "json",
        "SELECT a.rule, count(*) AS n FROM alerts a JOIN staff s ON a.user_id = s.user_id WHERE a.severity = 'red' GROUP BY a.rule",
    ]);
    let reds = read_jsonl(&force.path("archived-alerts.jsonl")).into_iter().filter(|a| a["severity"] == "red").count();
    let n: i64 = jsonl(&joined).iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(n as usize, reds);

    let out = bin().args(["query", "--archive", &archive, "SELECT nope FROM events"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"), "{}", String::from_utf8_lossy(&out.stderr));

    // The archive is evidence: an answer is not written into it (a Parquet answer there
    // replaced a file of events, or was read as events), nor an archive replayed into
    // itself (every event twice).
    let files_before = walk(Path::new(&archive));
    let first = files_before.iter().next().unwrap().display().to_string();
    let inside = format!("{archive}/events/answer.parquet");
    for out in [first.as_str(), inside.as_str()] {
        let refused = bin().args(["query", "--archive", &archive, "--format", "parquet", "--out", out, sql]).output();
        let refused = refused.unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && stderr.contains("inside the archive"), "{out}: {stderr}");
    }
    // Nor over the watch lists it reads (a hunt's rows written over staff.csv), nor
    // an evidence bundle into the archive.
    let lists = force.path("watchlists").display().to_string();
    let staff = format!("{lists}/staff.csv");
    let staff_before = std::fs::read(&staff).unwrap();
    let refused = bin()
        .args(["query", "--archive", &archive, "--watchlists", &lists, "--format", "csv", "--out", &staff, sql])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("inside the watch-list directory"), "{stderr}");
    assert_eq!(std::fs::read(&staff).unwrap(), staff_before);
    let bundle = format!("{archive}/events/bundle");
    let refused = bin().args(["evidence", "--archive", &archive, "--alert", "x", "--out", &bundle]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("inside the archive"), "{stderr}");
    // A query's answer copied in among the events would be counted as events: no
    // answer, the file named (a hostile probe).
    // Every column of the events (a review: an answer with `event_id` passed), or an
    // aggregate.
    let few = "SELECT event_id, ts, user_id, action, subject_type FROM events";
    for (n, answer_sql) in ["SELECT * FROM events LIMIT 5", few, sql].into_iter().enumerate() {
        let answer = force.path(&format!("answer{n}.parquet"));
        cli(&[
            "query",
            "--archive",
            &archive,
            "--format",
            "parquet",
            "--out",
            &answer.display().to_string(),
            answer_sql,
        ]);
        let events_file = files_before.iter().find(|f| f.to_string_lossy().contains("/events/")).unwrap();
        let stray = events_file.with_file_name("stray.parquet");
        std::fs::copy(&answer, &stray).unwrap();
        let refused = bin().args(["query", "--archive", &archive, sql]).output().unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            refused.status.code() == Some(3) && stderr.contains("stray.parquet") && stderr.contains("not its own"),
            "{answer_sql}: {stderr}"
        );
        std::fs::remove_file(&stray).unwrap();
    }
    let into_itself = bin()
        .args(["replay", "--watchlists"])
        .arg(force.path("watchlists"))
        .args(["--alerts", &force.path("again.jsonl").display().to_string(), "--archive", &archive, &archive])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&into_itself.stderr);
    assert!(!into_itself.status.success() && stderr.contains("same archive"), "{stderr}");
    assert_eq!(walk(Path::new(&archive)), files_before, "the archive is as it was");

    // A directory that is not an archive (an unmounted share) is refused, not answered
    // with nobody; a failed write names where it was writing.
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().display().to_string();
    let refused = bin().args(["user-activity", "--archive", &empty, "--user", "U1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("not an accesswatch archive"), "{stderr}");
    let unwritable = force.path("no-such-dir/answer.csv").display().to_string();
    let failed = bin().args(["query", "--archive", &archive, "--format", "csv", "--out", &unwritable, sql]).output();
    let failed = failed.unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success() && stderr.contains(&format!("cannot write --out {unwritable}")), "{stderr}");
}

/// Every Parquet file under `dir`.
fn walk(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.insert(path);
        }
    }
    out
}

#[test]
fn prune_deletes_the_dates_past_retention_and_lists_them() {
    let force = Force::new();
    let archive = force.archived();
    let arch = archive.display().to_string();
    let dates = |kind: &str| std::fs::read_dir(archive.join(kind)).map_or(0, |d| d.count());
    // The generated week from 2026-11-01 (and the night shift into the 8th).
    let days = dates("events");
    assert!((7..=8).contains(&days), "{days}");
    // Today minus 10 years keeps it all.
    let kept = cli(&["archive", "prune", "--archive", &arch, "--older-than", "3650d"]);
    assert!(kept.contains("deleted 0 files"), "{kept}");
    assert_eq!(dates("events"), days);
    // A dry run lists the dates it would delete; an age under a day is refused (it
    // would delete every date before today).
    let dry = cli(&["archive", "prune", "--archive", &arch, "--older-than", "1d", "--dry-run"]);
    assert_eq!(dry.lines().filter(|l| l.starts_with("would delete date 2026-11-")).count(), days, "{dry}");
    let zero = bin().args(["archive", "prune", "--archive", &arch, "--older-than", "0d"]).output().unwrap();
    assert!(!zero.status.success() && String::from_utf8_lossy(&zero.stderr).contains("at least 1d"));
    assert_eq!(dates("events"), days);
    // A date directory whose name is no date is not the retention's to delete: it is
    // named, and the prune exits 3.
    let stray = archive.join("events/date=2026-11-1.bak");
    std::fs::create_dir(&stray).unwrap();
    let named = bin().args(["archive", "prune", "--archive", &arch, "--older-than", "1d", "--dry-run"]).output();
    let named = named.unwrap();
    assert_eq!(named.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&named.stderr).contains("date=2026-11-1.bak"));
    std::fs::remove_dir(&stray).unwrap();
    // Retention from the configuration: everything older than a day goes.
    let config = force.path("retention.toml");
    std::fs::write(&config, "[archive]\nretention = \"1d\"\n").unwrap();
    let files = walk(&archive);
    let out = run_ok(bin().args(["archive", "prune", "--archive", &arch, "--config"]).arg(&config));
    let text = String::from_utf8(out.stdout).unwrap();
    // Each file deleted is named, then the total.
    let named: BTreeSet<PathBuf> = text
        .lines()
        .filter(|l| l.ends_with(" bytes)"))
        .filter_map(|l| l.strip_prefix("deleted ")?.split(" (").next())
        .map(PathBuf::from)
        .collect();
    assert_eq!(named, files, "{text}");
    assert!(text.lines().last().unwrap().starts_with(&format!("deleted {} files", files.len())), "{text}");
    assert_eq!(dates("events"), 0);
    assert_eq!(dates("alerts"), 0);
    // A bad retention in the file is reported with the key.
    std::fs::write(&config, "[archive]\nretention = \"soon\"\n").unwrap();
    let out = bin().args(["archive", "prune", "--archive", &arch, "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention"));
}
