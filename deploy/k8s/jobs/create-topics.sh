#!/bin/sh
# Create FirstCall's Kafka topics, idempotently, with partitions and retention set explicitly.
# Used by compose (service kafka-init) and by the Kubernetes Job firstcall-create-topics.
# Runs in the apache/kafka image. Every `create` line is checked against the topics the
# workers expect (monitor.streaming.topics.topic_specs) by tests/deploy/test_deploy_compose.py.
#
#   partitions = the most workers (or correlators) that can share the work; key = session_id
#   on class.telemetry and support.*, key = line on firstcall.findings. The workers count
#   watermarks per partition, so FIRSTCALL_PARTITIONS / FIRSTCALL_FINDINGS_PARTITIONS must be
#   the same numbers the workers are given: an existing topic with another count is an error.
set -eu
: "${FIRSTCALL_KAFKA_BOOTSTRAP:?}" "${FIRSTCALL_PARTITIONS:?}" "${FIRSTCALL_FINDINGS_PARTITIONS:?}"
RF="${KAFKA_REPLICATION_FACTOR:-1}"
MIN_ISR="${KAFKA_MIN_INSYNC_REPLICAS:-1}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
DAY=86400000
WEEK=604800000

topics() {
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$FIRSTCALL_KAFKA_BOOTSTRAP" "$@"
}

create() {
  topic=$1
  partitions=$2
  shift 2
  topics --create --if-not-exists --topic "$topic" --partitions "$partitions" \
    --replication-factor "$RF" --config "min.insync.replicas=$MIN_ISR" "$@"
  actual=$(topics --describe --topic "$topic" | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
  if [ "$actual" != "$partitions" ]; then
    echo "topic $topic has $actual partitions, the workers are configured for $partitions" >&2
    exit 1
  fi
  echo "topic $topic: $partitions partitions"
}

# input, keyed by session_id; kept a day so a moved partition can be re-read from the oldest live session
create class.telemetry "$FIRSTCALL_PARTITIONS" --config cleanup.policy=delete --config retention.ms=$DAY
# malformed records, kept a week for the investigation
create class.telemetry.dlq 1 --config cleanup.policy=delete --config retention.ms=$WEEK
# outputs, keyed by session (line incidents by line); kept a week for replays into the case store
create support.incidents "$FIRSTCALL_PARTITIONS" --config cleanup.policy=delete --config retention.ms=$WEEK
create support.outcomes "$FIRSTCALL_PARTITIONS" --config cleanup.policy=delete --config retention.ms=$WEEK
# internal: session findings re-keyed by line, for the line correlator group
create firstcall.findings "$FIRSTCALL_FINDINGS_PARTITIONS" --config cleanup.policy=delete --config retention.ms=$DAY
# internal: line verdicts, read in full by every worker (outreach waits for them)
create firstcall.line-verdicts 1 --config cleanup.policy=delete --config retention.ms=$DAY
# internal: per-partition worker state (live sessions, emitted ids), compacted, co-partitioned with class.telemetry
create firstcall.worker-state "$FIRSTCALL_PARTITIONS" --config cleanup.policy=compact --config retention.ms=-1
