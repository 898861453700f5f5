#!/bin/bash
# Writes server.properties from defaults + KAFKA_* variables, formats the storage once, runs the broker as PID 1.
# Defaults: one KRaft node (broker + controller), PLAINTEXT on :9092 advertised as localhost:9092, controller on
# :9093, topics not auto-created, replication factors 1, and the dev-sized storage of deploy/local.
set -euo pipefail
state=${KAFKA_STATE_DIR:-/var/lib/kafka}
conf="$state/server.properties"
cluster_id=${CLUSTER_ID:-${KAFKA_CLUSTER_ID:-MkU3OEVBNTcwNTJENDM2Qk}}

declare -A props=(
  [node.id]=1
  [process.roles]=broker,controller
  [listeners]=PLAINTEXT://:9092,CONTROLLER://:9093
  [advertised.listeners]=PLAINTEXT://localhost:9092
  [listener.security.protocol.map]=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
  [controller.listener.names]=CONTROLLER
  [inter.broker.listener.name]=PLAINTEXT
  [controller.quorum.voters]=1@localhost:9093
  [log.dirs]="$state/data"
  [auto.create.topics.enable]=false
  [num.partitions]=3
  [default.replication.factor]=1
  [min.insync.replicas]=1
  [offsets.topic.replication.factor]=1
  [offsets.topic.num.partitions]=10
  [transaction.state.log.replication.factor]=1
  [transaction.state.log.min.isr]=1
  [transaction.state.log.num.partitions]=5
  [share.coordinator.state.topic.replication.factor]=1
  [share.coordinator.state.topic.min.isr]=1
  [group.initial.rebalance.delay.ms]=0
  [log.segment.bytes]=16777216
  [log.retention.hours]=72
  [log.retention.bytes]=268435456
  [num.network.threads]=2
  [num.io.threads]=4
)
# KAFKA_FOO_BAR -> foo.bar, "__" -> "_", "___" -> "-" (the apache/kafka image's convention)
while IFS= read -r name; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_STATE_DIR | KAFKA_CLUSTER_ID | KAFKA_VERSION) continue ;;
  esac
  key=${name#KAFKA_}
  key=${key//___/-}
  key=${key//__/$'\x01'}
  key=${key//_/.}
  key=${key//$'\x01'/_}
  props[${key,,}]=${!name}
done < <(compgen -e | grep '^KAFKA_' || true)
# a broker without a controller role needs no voters default that points at itself
[[ ${props[process.roles]} == *controller* ]] || { [[ -n ${KAFKA_CONTROLLER_QUORUM_VOTERS:-} ]] || unset 'props[controller.quorum.voters]'; }

mkdir -p "${props[log.dirs]%%,*}"
{
  echo "# written by lsg-kafka-start at container start"
  for key in "${!props[@]}"; do printf '%s=%s\n' "$key" "${props[$key]}"; done | sort
} >"$conf"

java_opts=(-Djava.awt.headless=true -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties
           -Dkafka.logs.dir="$state/logs" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
           -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent)
if [[ ! -f "${props[log.dirs]%%,*}/meta.properties" ]]; then
  # shellcheck disable=SC2086
  java -Xmx256m ${KAFKA_OPTS:-} "${java_opts[@]}" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
    --cluster-id "$cluster_id" --config "$conf" --ignore-formatted >/dev/null
fi
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} "${java_opts[@]}" \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$conf"
