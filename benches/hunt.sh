#!/usr/bin/env bash
# Hunt queries over a year of a large force: about 100 million generated events
# written straight into an archive (no JSON on the way), then, warm (each query run
# once before it is timed):
#   who-accessed  one high-profile subject (by record id, name and date of birth) over the whole year
#   user-activity one busy user over one month
# Each is timed 5 times (median), and the same questions in DuckDB over the same
# files are timed beside them as the reference.
#
#   bash benches/hunt.sh                  # ~100M events (14,000 staff, 365 days)
#   HUNT_STAFF=1400 bash benches/hunt.sh  # ~10M, for a quick look
#
# The archive is kept in target/bench-data/ for later runs (about 3 GB at 100M).
set -euo pipefail
cd "$(dirname "$0")/.."
staff=${HUNT_STAFF:-14000}
days=${HUNT_DAYS:-365}
data=target/bench-data/hunt-$staff-$days
cargo build --release --quiet
bin=$PWD/target/release/accesswatch
if [ ! -f "$data/labels.jsonl" ]; then
  rm -rf "$data"
  /usr/bin/time -f "generated and archived in %es (max RSS %M KB)" "$bin" generate --out "$data" \
    --staff "$staff" --citizens $((staff * 30)) --days "$days" --start 2025-11-01 --seed 7 --archive "$data/archive"
fi
python3 -c "import duckdb, pytz" 2>/dev/null || pip install --quiet duckdb pytz
archive=$data/archive
files=$(find "$archive/events" -name '*.parquet' | wc -l)
size=$(du -sh "$archive/events" | cut -f1)
events=$("$bin" query --archive "$archive" --format csv "SELECT count(*) AS n FROM events" | tail -1)

# The subject: the celebrity of the high-profile list; the user: the busiest in the month.
IFS=, read -r id name dob < <(python3 - "$data/watchlists/high_profile.csv" <<'PY'
import csv, sys
row = next(r for r in csv.DictReader(open(sys.argv[1])) if r["category"] == "celebrity")
print(row["subject_id"], row["subject_name"].replace(",", ""), row["subject_dob"], sep=",")
PY
)
month_from=2026-03-01; month_to=2026-04-01
user=$("$bin" query --archive "$archive" --format csv \
  "SELECT user_id FROM events WHERE date >= '2026-03-01' AND date < '2026-04-01' AND system = 'PNC' GROUP BY user_id ORDER BY count(*) DESC LIMIT 1" | tail -1)

median() { sort -n | sed -n 3p; }
time_ms() { # command... -> median wall ms of 5 warm runs
  "$@" > /dev/null
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
  done | median
}
rows() { "$@" --format csv | tail -n +2 | wc -l; }

who=("$bin" who-accessed --archive "$archive" --subject "$id" --name "$name" --dob "$dob")
act=("$bin" user-activity --archive "$archive" --user "$user" --from $month_from --to $month_to)
who_ms=$(time_ms "${who[@]}"); who_rows=$(rows "${who[@]}")
act_ms=$(time_ms "${act[@]}"); act_rows=$(rows "${act[@]}")

# DuckDB: the same questions, as SQL over the same files (the name by its surname key,
# as who-accessed filters before comparing forenames).
surname=$(echo "$name" | awk '{print toupper($1)}' | tr -cd 'A-Z')  # the normalised key: VANCE-HOLLOWAY -> VANCEHOLLOWAY
duck() {
  python3 - "$archive" "$1" <<'PY'
import duckdb, sys, time
archive, sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{archive}/events/*/*/*.parquet', hive_partitioning=true)")
con.execute(sql).fetchall()
times = []
for _ in range(5):
    s = time.perf_counter(); n = len(con.execute(sql).fetchall()); times.append((time.perf_counter() - s) * 1000)
print(f"{sorted(times)[2]:.0f} {n}")
PY
}
# One scan per key, as accesswatch does (DuckDB's OR across the two columns took 8.6 s).
read -r duck_who duck_who_rows < <(duck "SELECT * FROM events WHERE subject_id = '$id' UNION SELECT * FROM events WHERE subject_surname = '$surname' ORDER BY ts")
read -r duck_act duck_act_rows < <(duck "SELECT * FROM events WHERE user_id = '$user' AND date >= '$month_from' AND date < '$month_to' ORDER BY ts")

echo "archive: $events events, $files files, $size ($days days from 2025-11-01, $staff staff)"
echo "who-accessed  $id ($name, $dob), whole year: ${who_ms} ms, $who_rows accesses   | DuckDB ${duck_who} ms ($duck_who_rows rows before forename matching, query only, in-process)"
echo "user-activity $user, $month_from..$month_to: ${act_ms} ms, $act_rows accesses  | DuckDB ${duck_act} ms ($duck_act_rows rows, query only, in-process)"
echo "(accesswatch figures are whole commands: process start, opening the archive, the query, printing)"
