# Sourced by the replay benches: builds the release binary and generates the bench
# force once (EVENTS_STAFF staff, 14 days). Sets `bin` and `data`; run from the root.
staff=${EVENTS_STAFF:-3600}
data=target/bench-data/replay-$staff
cargo build --release --quiet
bin=target/release/accesswatch
if [ ! -f "$data/labels.jsonl" ]; then
  "$bin" generate --out "$data" --staff "$staff" --citizens 120000 --days 14 --seed 1
fi
