# Sourced by the replay benches: builds the binary and generates the bench force once
# (EVENTS_STAFF staff, 14 days). Sets `bin` and `data`; run from the root.
# PROFILE=production measures the build to deploy (link-time optimised, Cargo.toml's
# [profile.production]; a cold build of it takes about 22 minutes here).
staff=${EVENTS_STAFF:-3600}
data=target/bench-data/replay-$staff
profile=${PROFILE:-release}
cargo build --profile "$profile" --quiet --bin accesswatch
bin=target/$profile/accesswatch
if [ ! -f "$data/labels.jsonl" ]; then
  "$bin" generate --out "$data" --staff "$staff" --citizens 120000 --days 14 --seed 1
fi
