#!/usr/bin/env bash
# Generator throughput: writes a synthetic force of about 10,000,000 events and
# reports the time (target: under a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=target/bench-data/generate-10m
rm -rf "$out"
/usr/bin/time -f "wall %es, max RSS %M KB" target/release/accesswatch generate \
  --out "$out" --staff 17000 --citizens 400000 --days 30 --seed 1
wc -l < "$out/events.jsonl" | xargs echo "events:"
du -sh "$out/events.jsonl"
rm -rf "$out"
