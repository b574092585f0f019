#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x (KRaft, broker and controller in one process) for local runs
# and tests. Jars come from Maven Central once and are cached; data lives under var/kafka.
#
#   kafka.sh fetch    resolve the broker's jars into the cache (offline afterwards)
#   kafka.sh start    start the broker in the background, wait until it answers, print its address
#   kafka.sh stop     stop it cleanly (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT seconds)
#   kafka.sh status   say whether it runs and answers (exit 0) or not (exit 3)
#
# Environment: KAFKA_VERSION (4.1.1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
# KAFKA_HEAP_OPTS (-Xms256m -Xmx1536m), KAFKA_START_TIMEOUT (90), KAFKA_STOP_TIMEOUT (60),
# MAI_CACHE_DIR (~/.cache/mai), MAI_VAR_DIR (var/). When KAFKA_BOOTSTRAP_SERVERS names another
# broker, `start` and `status` only check that broker.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_HOST=127.0.0.1
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1536m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}

LIBS_DIR=$MAI_CACHE_DIR/kafka-$KAFKA_VERSION/libs
STATE_DIR=$MAI_VAR_DIR/kafka
DATA_DIR=$STATE_DIR/data
LOG_DIR=$STATE_DIR/logs
PID_FILE=$STATE_DIR/kafka.pid
CONFIG_FILE=$STATE_DIR/server.properties
LOCAL_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT

# The local broker is ours unless KAFKA_BOOTSTRAP_SERVERS names a different one.
external_bootstrap() {
  [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} && $KAFKA_BOOTSTRAP_SERVERS != "$LOCAL_BOOTSTRAP" ]]
}

# broker_running — the pid file names a live Kafka broker (not a stale pid reused after a reboot).
broker_running() {
  pid_alive "$PID_FILE" || return 1
  local command_line
  # Read whole, not piped into `grep -q`: an early exit of grep would fail the pipe under pipefail.
  command_line=$(tr '\0' ' ' 2>/dev/null <"/proc/$(<"$PID_FILE")/cmdline") || return 1
  [[ $command_line == *kafka.Kafka* ]]
}

probe() {
  python3 "$HERE/lib/kafka_ready.py" "$@"
}

cmd_fetch() {
  if [[ -f $LIBS_DIR/.complete ]]; then
    log kafka "jars for Kafka $KAFKA_VERSION already cached in $LIBS_DIR"
    return 0
  fi
  command -v mvn >/dev/null || die kafka "Maven (mvn) is needed to fetch Kafka: apt-get install maven"
  log kafka "resolving Kafka $KAFKA_VERSION from Maven Central into $LIBS_DIR (first run only)"
  local staging
  staging=$(mktemp -d "$MAI_CACHE_DIR/kafka-$KAFKA_VERSION.XXXXXX" 2>/dev/null) ||
    { mkdir -p "$MAI_CACHE_DIR" && staging=$(mktemp -d "$MAI_CACHE_DIR/kafka-$KAFKA_VERSION.XXXXXX"); }
  if ! mvn -B -q -Dstyle.color=never -f "$HERE/kafka/pom.xml" \
    -Dmaven.repo.local="$MAI_CACHE_DIR/m2" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$staging/libs" >"$staging/mvn.log" 2>&1; then
    cat "$staging/mvn.log" >&2
    rm -rf "$staging"
    die kafka "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  fi
  touch "$staging/libs/.complete"
  mkdir -p "$(dirname "$LIBS_DIR")"
  # Publish the finished directory in one rename so that a half-done fetch is never used.
  rm -rf "$LIBS_DIR"
  mv "$staging/libs" "$LIBS_DIR"
  rm -rf "$staging"
  log kafka "cached $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $LIBS_DIR"
}

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  cat >"$CONFIG_FILE" <<PROPERTIES
# Written by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR

# Topics are declared in contracts/ and created from there, never by a stray producer.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1

# One node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Fast start-up and rebalances for tests.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=104857600
num.network.threads=2
num.io.threads=4
PROPERTIES
}

format_storage() {
  if [[ -f $DATA_DIR/meta.properties ]]; then
    return 0
  fi
  local cluster_id
  cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')
  log kafka "formatting storage in $DATA_DIR (cluster id $cluster_id)"
  java_args kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$CONFIG_FILE"
  "${JAVA_ARGS[@]}" >>"$LOG_DIR/format.log" 2>&1 || die kafka "formatting failed, see $LOG_DIR/format.log"
}

# java_args MAIN_CLASS ARGS... — sets JAVA_ARGS to the JVM command line for a Kafka main class.
java_args() {
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  JAVA_ARGS=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -Dkafka.logs.dir="$LOG_DIR"
    -cp "$LIBS_DIR/*" "$@")
}

cmd_start() {
  if external_bootstrap; then
    log kafka "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS is set: checking that broker, starting none"
    probe "$KAFKA_BOOTSTRAP_SERVERS" --timeout "$KAFKA_START_TIMEOUT" ||
      die kafka "the broker at $KAFKA_BOOTSTRAP_SERVERS does not answer"
    echo "$KAFKA_BOOTSTRAP_SERVERS"
    return 0
  fi
  if broker_running; then
    log kafka "already running (pid $(<"$PID_FILE"))"
    probe "$LOCAL_BOOTSTRAP" --timeout "$KAFKA_START_TIMEOUT" --pid "$(<"$PID_FILE")" ||
      die kafka "running but not answering, see $LOG_DIR/server.log"
    echo "$LOCAL_BOOTSTRAP"
    return 0
  fi
  command -v java >/dev/null || die kafka "Java 17+ is needed: apt-get install openjdk-17-jre-headless"
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$KAFKA_HOST" "$port"; then
      die kafka "port $KAFKA_HOST:$port is taken by another process; set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
    fi
  done
  cmd_fetch
  write_config
  format_storage
  log kafka "starting Kafka $KAFKA_VERSION on $LOCAL_BOOTSTRAP (controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT, logs in $LOG_DIR)"
  local started=$SECONDS
  java_args kafka.Kafka "$CONFIG_FILE"
  rm -f "$PID_FILE"
  # setsid: the broker outlives this script and is not hit by the caller's Ctrl-C. The JVM's own
  # pid is written from inside, because setsid may fork.
  # shellcheck disable=SC2016  # $$ and $0 belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "${JAVA_ARGS[@]}" \
    </dev/null >>"$LOG_DIR/stdout.log" 2>&1 &
  local tries=0
  until [[ -s $PID_FILE ]]; do
    ((++tries < 50)) || die kafka "the broker process did not start, see $LOG_DIR/stdout.log"
    sleep 0.1
  done
  if ! probe "$LOCAL_BOOTSTRAP" --timeout "$KAFKA_START_TIMEOUT" --pid "$(<"$PID_FILE")"; then
    tail -n 20 "$LOG_DIR/server.log" "$LOG_DIR/stdout.log" >&2 2>/dev/null || true
    cmd_stop
    die kafka "the broker did not come up, see $LOG_DIR/server.log"
  fi
  log kafka "ready in $((SECONDS - started)) s (pid $(<"$PID_FILE"))"
  echo "$LOCAL_BOOTSTRAP"
}

cmd_stop() {
  if ! broker_running; then
    log kafka "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  local pid waited=0
  pid=$(<"$PID_FILE")
  log kafka "stopping (pid $pid)"
  kill -TERM "$pid"
  while process_running "$pid"; do
    if ((waited >= KAFKA_STOP_TIMEOUT * 5)); then
      log kafka "still running after ${KAFKA_STOP_TIMEOUT} s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  log kafka "stopped"
}

cmd_status() {
  if external_bootstrap; then
    if probe "$KAFKA_BOOTSTRAP_SERVERS" --timeout 5; then
      echo "external broker at $KAFKA_BOOTSTRAP_SERVERS answers"
      return 0
    fi
    echo "external broker at $KAFKA_BOOTSTRAP_SERVERS does not answer"
    return 3
  fi
  if ! broker_running; then
    echo "stopped"
    return 3
  fi
  if probe "$LOCAL_BOOTSTRAP" --timeout 5 2>/dev/null; then
    echo "running (pid $(<"$PID_FILE")) at $LOCAL_BOOTSTRAP"
    return 0
  fi
  echo "running (pid $(<"$PID_FILE")) but not answering at $LOCAL_BOOTSTRAP"
  return 3
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {fetch|start|stop|status}" >&2
    exit 2
    ;;
esac
