//! Parsing throughput per input format: canonical JSON Lines, canonical CSV, and a
//! mapped CEF feed. Set-up (generating and converting the lines) is outside the timing.

use accesswatch::config::Config;
use accesswatch::event::json;
use accesswatch::source::{Decoded, Decoder, InputFormat};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "fixture.rs"]
mod fixture;

const N: usize = 50_000;

fn to_csv(lines: &[String]) -> Vec<String> {
    let fields = [
        "event_id",
        "ts",
        "system",
        "user_id",
        "action",
        "subject_type",
        "subject_id",
        "subject_name",
        "subject_dob",
        "subject_postcode",
        "subject_vrm",
        "result_count",
        "reference",
    ];
    let mut out = vec![fields.join(",")];
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let row: Vec<String> = fields
            .iter()
            .map(|f| match &v[*f] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) if s.contains(',') => format!("\"{s}\""),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        out.push(row.join(","));
    }
    out
}

fn to_cef(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ts = accesswatch::time::Timestamp::parse_rfc3339(v["ts"].as_str().unwrap()).unwrap();
            let mut s = format!(
                "CEF:0|Home Office|PNC Gateway|5.2|Q01|Enquiry|3|externalId={} rt={} suser={} act={} cs2Label=EntityKind cs2={}",
                v["event_id"].as_str().unwrap(),
                ts.0,
                v["user_id"].as_str().unwrap(),
                v["action"].as_str().unwrap().to_uppercase(),
                v["subject_type"].as_str().unwrap()
            );
            if let Some(n) = v["subject_name"].as_str() {
                s.push_str(&format!(" duser={n}"));
            }
            if let Some(r) = v["reference"].as_str() {
                s.push_str(&format!(" cs1Label=Reference cs1={r}"));
            }
            s
        })
        .collect()
}

const CEF_CONFIG: &str = r#"
[sources.pnc]
format = "cef"
[sources.pnc.fields]
event_id = "externalId"
ts = { from = "rt", format = "epoch_ms" }
system = { value = "PNC" }
user_id = "suser"
action = "act"
subject_type = "EntityKind"
subject_name = "duser"
reference = "Reference"
"#;

fn parse(c: &mut Criterion) {
    let lines = fixture::event_lines(N);
    let csv = to_csv(&lines);
    let cef = to_cef(&lines);
    let config = Config::from_toml("bench", CEF_CONFIG).unwrap();
    let mapping = config.sources["pnc"].clone();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("json_lines", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(json::decode(l.as_bytes()).unwrap());
            }
        })
    });
    g.bench_function("csv", |b| {
        b.iter(|| {
            let mut d = Decoder::new(InputFormat::Csv);
            for l in &csv {
                if let Decoded::Rejected(e) = black_box(d.decode(l.as_bytes())) {
                    panic!("{e}");
                }
            }
        })
    });
    g.bench_function("cef_mapped", |b| {
        b.iter(|| {
            let mut d = Decoder::new(InputFormat::Mapped(mapping.clone()));
            for l in &cef {
                if let Decoded::Rejected(e) = black_box(d.decode(l.as_bytes())) {
                    panic!("{e}");
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
