#!/bin/bash
# Creates accesswatch's topics on a fresh cluster (idempotent: existing topics are kept).
#
#   EVENT_PARTITIONS  partitions of access-events, access-subjects and access-alerts
#                     (default 12); they must match: partition p of the alerts carries
#                     the alerts of the events, and of the repartitioned accesses, of
#                     partition p.
#   REPLICATION       replication factor (default 1 for a single broker)
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
PARTITIONS=${EVENT_PARTITIONS:-12}
REPLICATION=${REPLICATION:-1}
TOPICS=/opt/kafka/bin/kafka-topics.sh

create() {
  local name=$1; shift
  "$TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$name" \
    --replication-factor "$REPLICATION" "$@"
}

# Access events, keyed by user_id; a week's retention covers a long outage.
create access-events --partitions "$PARTITIONS" --config retention.ms=604800000
# Alerts: a consumer keeps the latest message per alert_id; a year's retention (the
# engine restores open alerts from it; the archive keeps history beyond that).
create access-alerts --partitions "$PARTITIONS" --config retention.ms=31536000000
# The repartition stage (internal to accesswatch): accesses keyed by person and by
# unit for the cross-user detectors; a day covers any catch-up.
create access-subjects --partitions "$PARTITIONS" --config retention.ms=86400000
# The behavioural state (internal to accesswatch), partition by partition of the two
# topics above, so it moves with a partition to another instance: compacted, twice
# their partitions.
create access-state --partitions "$((2 * PARTITIONS))" --config cleanup.policy=compact \
  --config min.compaction.lag.ms=600000
# Dead letters: kept a month for the information security team to fix the source.
create access-events.dlq --partitions 1 --config retention.ms=2592000000
# Watch lists: compacted, one partition each, kept for ever (latest row per key).
for table in custody high_profile staff associates operations incidents; do
  create "watchlist.$table" --partitions 1 --config cleanup.policy=compact \
    --config min.compaction.lag.ms=60000
done
"$TOPICS" --bootstrap-server "$BOOTSTRAP" --list
