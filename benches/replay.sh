#!/usr/bin/env bash
# End-to-end replay throughput: a generated force of about 1,000,000 events replayed
# from its JSON Lines file, release build, pinned to one core. Five runs with every
# rule and detector on, and five with the behavioural detectors off (the stateless
# watch-list rules only), interleaved; prints the median of each and their ratio.
#
#   bash benches/replay.sh                     # 1M events
#   EVENTS_STAFF=9000 bash benches/replay.sh   # a bigger force
#   PROFILE=production bash benches/replay.sh  # the link-time optimised build to deploy
#   OPERATIONS=200 bash benches/replay.sh      # 200 more operation names (QZAAA, ...)
#                                              # in the operations table, named by no
#                                              # reference: the same alerts
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/force.sh
lists=$data/watchlists
if [ -n "${OPERATIONS:-}" ]; then
  lists=$data/watchlists-ops$OPERATIONS
  rm -rf "$lists" && cp -r "$data/watchlists" "$lists"
  awk -v n="$OPERATIONS" 'BEGIN {
    for (i = 0; i < n; i++) {
      name = sprintf("QZ%c%c%c", 65 + int(i / 676) % 26, 65 + int(i / 26) % 26, 65 + i % 26)
      printf "%s,2026-10-01T00:00:00.000Z,99/%dZ,\"ZZTEST, Person%d\",1970-01-01,,,,,\n", name, 7000000 + i, i
    }
  }' >> "$lists/operations.csv"
fi
# The stateless configuration: the force's, with every stateful detector off.
stateless=$data/config-stateless.toml
{
  cat "$data/config.toml"
  for rule in volume out_of_hours fishing export_after_sensitive subject_spike targeting; do
    printf '\n[rules.behaviour.%s]\nenabled = false\n' "$rule"
  done
  printf '\n[rules.purpose.missing]\npeer_comparison = false\n'
} > "$stateless"
events=$(wc -l < "$data/events.jsonl")
pin=""
command -v taskset >/dev/null && pin="taskset -c 0"

run() { # config -> events/s of one replay
  $pin "$bin" replay --quiet --config "$1" --watchlists "$lists" \
    --alerts "$data/alerts.jsonl" "$data/events.jsonl" 2>&1 | sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p'
}
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }

all=(); plain=()
for i in 1 2 3 4 5; do
  plain+=("$(run "$stateless")")
  all+=("$(run "$data/config.toml")")
done
m_all=$(median "${all[@]}"); m_plain=$(median "${plain[@]}")
echo "replay: $events events, one core, events/s over 5 runs each"
echo "  watch-list rules only:     $(printf '%s ' $(printf '%s\n' "${plain[@]}" | sort -n)) median $m_plain"
echo "  with behavioural detectors: $(printf '%s ' $(printf '%s\n' "${all[@]}" | sort -n)) median $m_all"
echo "  ratio $(( 100 * m_all / m_plain ))%"
$pin "$bin" replay --quiet --config "$data/config.toml" --watchlists "$lists" \
  --alerts "$data/alerts.jsonl" "$data/events.jsonl" 2>&1 | sed -n '2,3p'
