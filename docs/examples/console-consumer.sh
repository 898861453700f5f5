#!/usr/bin/env bash
# Read the suite's events with Kafka's own console consumer, from the local broker's jars (no Python, no SDK):
# every CloudEvents attribute is a ce_* record header, the value is the event data as JSON.
#
#   docs/examples/console-consumer.sh                       # lsg.alerts.events.v1 from the beginning, 10 records
#   LSG_TOPIC=lsg.reporting.indicators.v1 LSG_MAX_EVENTS=50 docs/examples/console-consumer.sh
#
# Env: LSG_KAFKA_BOOTSTRAP (127.0.0.1:29092), LSG_TOPIC (lsg.alerts.events.v1), LSG_MAX_EVENTS (10),
# LSG_TIMEOUT_MS (10000: exit after that long without a record), LSG_GROUP_ID (none: read from the beginning
# without committing; with a group: resume from its committed offsets). Any other Kafka installation works
# the same way: bin/kafka-console-consumer.sh takes the same options.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lib="${LSG_KAFKA_LIB:-$root/deploy/local/kafka/target/lib}"
[[ -d "$lib" ]] || { echo "no Kafka jars in $lib: run 'make infra' first" >&2; exit 2; }

args=(
  --bootstrap-server "${LSG_KAFKA_BOOTSTRAP:-127.0.0.1:29092}"
  --topic "${LSG_TOPIC:-lsg.alerts.events.v1}"
  --max-messages "${LSG_MAX_EVENTS:-10}"
  --timeout-ms "${LSG_TIMEOUT_MS:-10000}"
  --formatter-property print.headers=true
  --formatter-property print.key=true
  --formatter-property print.partition=true
  --formatter-property print.offset=true
  --formatter-property headers.separator=' | '
)
if [[ -n "${LSG_GROUP_ID:-}" ]]; then
  args+=(--group "$LSG_GROUP_ID")
else
  args+=(--from-beginning)
fi

# Kafka 4.x: the console consumer lives in kafka-tools (org.apache.kafka.tools.consumer.ConsoleConsumer).
exec java -Xmx256m -cp "$lib/*" org.apache.kafka.tools.consumer.ConsoleConsumer "${args[@]}"
