#!/usr/bin/env bash
# End-to-end replay throughput: a generated force of about 1,000,000 events replayed
# from its JSON Lines file with every watch-list rule, release build, pinned to one
# core. Prints the best and median of five runs.
#
#   bash benches/replay.sh            # 1M events
#   EVENTS_STAFF=9000 bash benches/replay.sh   # a bigger force
set -euo pipefail
cd "$(dirname "$0")/.."
staff=${EVENTS_STAFF:-3600}
data=target/bench-data/replay-$staff
cargo build --release --quiet
bin=target/release/accesswatch
if [ ! -f "$data/labels.jsonl" ]; then
  "$bin" generate --out "$data" --staff "$staff" --citizens 120000 --days 14 --seed 1
fi
events=$(wc -l < "$data/events.jsonl")
pin=""
command -v taskset >/dev/null && pin="taskset -c 0"
rates=()
for i in 1 2 3 4 5; do
  out=$($pin "$bin" replay --quiet --config "$data/config.toml" --watchlists "$data/watchlists" \
        --alerts "$data/alerts.jsonl" "$data/events.jsonl" 2>&1)
  rate=$(echo "$out" | sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p')
  rates+=("$rate")
done
sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
echo "replay: $events events, one core; events/s over 5 runs: $(echo $sorted | tr '\n' ' ')"
echo "best $(echo "$sorted" | tail -1) events/s, median $(echo "$sorted" | sed -n 3p) events/s"
echo "$out" | sed -n '2,3p'
