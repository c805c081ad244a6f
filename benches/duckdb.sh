#!/usr/bin/env bash
# accesswatch against DuckDB on the same file, one core each: what an analyst with
# DuckDB would get from the same JSON Lines and watch lists.
#
# DuckDB (Python package, one thread) loads the events (only the nine fields the joins
# read, typed) and the watch lists, then runs five of the watch-list rules as SQL joins:
# account.status, high_profile.uninvolved, custody.uninvolved (with the "justified"
# test against incidents), opsec.outsider and self.lookup. It counts matching accesses
# and stops there: no explanations, no folding into alerts, no behavioural detectors,
# no alert written. accesswatch runs a full replay with every rule and detector on and
# writes its alerts. DuckDB is timed from the start of its load (watch lists included),
# in-process; accesswatch as the replay reports it, which leaves out loading the watch
# lists (about 0.16 s here, 5% of the replay: the ratio favours accesswatch by that).
# Five runs each, interleaved; the medians and their ratio are printed.
#
#   bash benches/duckdb.sh                     # the 1M-event force of benches/replay.sh
#   EVENTS_STAFF=9000 bash benches/duckdb.sh   # a bigger force
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/force.sh
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install --quiet duckdb
pin=""
command -v taskset >/dev/null && pin="taskset -c 0"

duck() { # -> "seconds counts..."
  $pin python3 - "$data" <<'EOF'
import duckdb, sys, time
d = sys.argv[1]
con = duckdb.connect()
con.execute("SET threads = 1")
started = time.perf_counter()
con.execute(f"""CREATE TABLE events AS SELECT * FROM read_json('{d}/events.jsonl', format='newline_delimited',
  columns={{event_id:'VARCHAR', ts:'TIMESTAMPTZ', user_id:'VARCHAR', action:'VARCHAR', subject_type:'VARCHAR',
  subject_id:'VARCHAR', subject_name:'VARCHAR', subject_dob:'VARCHAR', reference:'VARCHAR'}})""")
for t in ['staff', 'custody', 'high_profile', 'operations', 'incidents']:
    con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{d}/watchlists/{t}.csv', header=true, all_varchar=true)")
# rules.md's "justified": a known incident the user or the user's unit is on, in its window.
justified = """EXISTS (SELECT 1 FROM incidents i WHERE i.reference = e.reference
   AND (list_contains(string_split(i.officers, ';'), e.user_id)
        OR i.unit = (SELECT unit FROM staff s WHERE s.user_id = e.user_id))
   AND e.ts >= i.opened_at::TIMESTAMPTZ - INTERVAL 1 HOUR
   AND (i.closed_at IS NULL OR e.ts <= i.closed_at::TIMESTAMPTZ + INTERVAL 30 DAY))"""
rules = {
  'account.status': """SELECT count(*) FROM events e JOIN staff s ON e.user_id = s.user_id
     WHERE s.status IN ('suspended', 'restricted', 'left')
     AND (s.status_since IS NULL OR e.ts >= s.status_since::TIMESTAMPTZ)""",
  'high_profile.uninvolved': """SELECT count(*) FROM events e JOIN high_profile h ON e.subject_id = h.subject_id
     WHERE e.ts >= h.added_at::TIMESTAMPTZ - INTERVAL 30 DAY
     AND NOT list_contains(string_split(h.case_team, ';'), e.user_id)""",
  'custody.uninvolved': f"""SELECT count(*) FROM events e JOIN custody c ON e.subject_id = c.subject_id
     WHERE e.ts >= c.arrested_at::TIMESTAMPTZ
     AND (c.released_at IS NULL OR e.ts <= c.released_at::TIMESTAMPTZ + INTERVAL 7 DAY)
     AND NOT list_contains(string_split(c.officers, ';'), e.user_id) AND NOT {justified}""",
  'opsec.outsider': """SELECT count(*) FROM events e JOIN operations o ON e.subject_id = o.subject_id
     WHERE e.ts >= o.starts_at::TIMESTAMPTZ AND (o.ends_at IS NULL OR e.ts <= o.ends_at::TIMESTAMPTZ)
     AND NOT list_contains(string_split(o.team, ';'), e.user_id)""",
  'self.lookup': """SELECT count(*) FROM events e JOIN staff s ON e.user_id = s.user_id
     WHERE e.subject_dob = s.dob AND upper(e.subject_name) = upper(s.surname || ', ' || s.forenames)""",
}
counts = [f"{rule}={con.execute(q).fetchone()[0]}" for rule, q in rules.items()]
print(f"{time.perf_counter() - started:.3f}", *counts)
EOF
}

ours() { # -> seconds of one replay
  $pin "$bin" replay --quiet --config "$data/config.toml" --watchlists "$data/watchlists" \
    --alerts "$data/alerts.jsonl" "$data/events.jsonl" 2>&1 | sed -n 's/^events *[0-9]* in \([0-9.]*\)s.*/\1/p'
}
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }

events=$(wc -l < "$data/events.jsonl")
d=(); a=(); counts=""
for i in 1 2 3 4 5; do
  out=$(duck)
  d+=("${out%% *}"); counts=${out#* }
  a+=("$(ours)")
done
md=$(median "${d[@]}"); ma=$(median "${a[@]}")
echo "replay vs DuckDB: $events events, one core each, seconds over 5 runs (median)"
echo "  DuckDB, load + five watch-list joins (counts only): ${d[*]} -> $md s ($(python3 -c "print(round($events/$md))") events/s)"
echo "    its counts of matching accesses: $counts"
echo "  accesswatch replay, every rule and detector, alerts written: ${a[*]} -> $ma s ($(python3 -c "print(round($events/$ma))") events/s)"
echo "  accesswatch / DuckDB speed: $(python3 -c "print(f'{$md/$ma:.2f}x')")"
