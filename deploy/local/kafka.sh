#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x (KRaft, broker and controller in one process) for local runs
# and tests. Jars come from Maven Central once and are cached; data lives under var/kafka.
#
# The broker is secured as in production: its clients' listener speaks TLS (a certificate of a CA
# made for this broker alone, under var/kafka/tls/, ca.crt being the file clients trust), clients
# authenticate with SASL/SCRAM-SHA-512, the StandardAuthorizer allows nothing that no ACL grants,
# and the one super user, `admin`, exists for administration (topics, users, ACLs: `mai-kafka
# provision`). Its password is generated at the first start into var/kafka/admin.password;
# `client-env` prints the client settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CAFILE, KAFKA_SASL_*)
# of that user. Only the controller's listener, which no client uses, stays without TLS (loopback).
#
#   kafka.sh fetch       resolve the broker's jars into the cache (offline afterwards)
#   kafka.sh start       start the broker in the background, wait until it answers, print its address
#   kafka.sh stop        stop it cleanly (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT seconds)
#   kafka.sh status      say whether it runs and answers (exit 0) or not (exit 3)
#   kafka.sh client-env  print the administrator's client settings, one VARIABLE=value a line
#
# Environment: KAFKA_VERSION (4.1.1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
# KAFKA_HEAP_OPTS (-Xms256m -Xmx1536m), KAFKA_START_TIMEOUT (90), KAFKA_STOP_TIMEOUT (60),
# KAFKA_CERT_DAYS (397, validity of the broker's certificate; renewed at a start within 30 days of
# its end), MAI_CACHE_DIR (~/.cache/mai), MAI_VAR_DIR (var/). When KAFKA_BOOTSTRAP_SERVERS names another
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
KAFKA_CERT_DAYS=${KAFKA_CERT_DAYS:-397}

LIBS_DIR=$MAI_CACHE_DIR/kafka-$KAFKA_VERSION/libs
STATE_DIR=$MAI_VAR_DIR/kafka
DATA_DIR=$STATE_DIR/data
LOG_DIR=$STATE_DIR/logs
PID_FILE=$STATE_DIR/kafka.pid
CONFIG_FILE=$STATE_DIR/server.properties
ADMIN_PASSWORD_FILE=$STATE_DIR/admin.password
TLS_DIR=$STATE_DIR/tls
CA_CERT=$TLS_DIR/ca.crt
# Written when this script starts the broker with TLS; a broker started by an earlier version of
# the script (plaintext SASL) has none, and its clients are told so until it is restarted.
TLS_MARKER=$STATE_DIR/listener.tls
LOCAL_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT
ADMIN_USER=admin
SASL_MECHANISM=SCRAM-SHA-512

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

# security_protocol — what the clients' listener of our broker speaks (see TLS_MARKER).
security_protocol() {
  if [[ -f $TLS_MARKER ]]; then echo SASL_SSL; else echo SASL_PLAINTEXT; fi
}

# probe_local ARGS... — probe our broker as its administrator (it answers nobody else).
probe_local() {
  local cafile=""
  [[ -f $TLS_MARKER ]] && cafile=$CA_CERT
  KAFKA_SECURITY_PROTOCOL=$(security_protocol) KAFKA_SSL_CAFILE=$cafile \
    KAFKA_SASL_MECHANISM=$SASL_MECHANISM KAFKA_SASL_USERNAME=$ADMIN_USER \
    KAFKA_SASL_PASSWORD=$(cat "$ADMIN_PASSWORD_FILE" 2>/dev/null) probe "$@"
}

# make_certificates — a CA of this broker alone and the broker's certificate signed by it (for
# 127.0.0.1 and localhost), made once; the broker's is renewed when it nears its end. The CA's
# private key never leaves var/kafka/tls (mode 600); clients trust ca.crt.
make_certificates() {
  command -v openssl >/dev/null || die kafka "OpenSSL is needed for the broker's TLS certificate: apt-get install openssl"
  mkdir -p "$TLS_DIR"
  chmod 755 "$TLS_DIR"  # ca.crt is for every client to read; the keys are mode 600
  if [[ ! -s $CA_CERT || ! -s $TLS_DIR/ca.key ]] || ! openssl x509 -checkend $((30 * 86400)) -noout -in "$CA_CERT" >/dev/null; then
    log kafka "making the local broker's certificate authority in $TLS_DIR"
    (
      umask 077
      openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
        -subj "/O=MAI e-services (local)/CN=Local Kafka CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$TLS_DIR/ca.key.tmp" -out "$CA_CERT.tmp" 2>>"$TLS_DIR/openssl.log"
    ) || die kafka "could not make the CA, see $TLS_DIR/openssl.log"
    chmod 644 "$CA_CERT.tmp"
    mv "$TLS_DIR/ca.key.tmp" "$TLS_DIR/ca.key"
    mv "$CA_CERT.tmp" "$CA_CERT"
    rm -f "$TLS_DIR/broker.pem"  # signed by the CA replaced
  fi
  if [[ -s $TLS_DIR/broker.pem ]] &&
    openssl verify -CAfile "$CA_CERT" "$TLS_DIR/broker.crt" >/dev/null 2>&1 &&
    openssl x509 -checkend $((30 * 86400)) -noout -in "$TLS_DIR/broker.crt" >/dev/null; then
    return 0
  fi
  log kafka "making the broker's certificate for $KAFKA_HOST (valid $KAFKA_CERT_DAYS days)"
  (
    umask 077
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
      -subj "/O=MAI e-services (local)/CN=$KAFKA_HOST" -keyout "$TLS_DIR/broker.key" -out "$TLS_DIR/broker.csr" \
      2>>"$TLS_DIR/openssl.log" &&
      printf '%s\n' "subjectAltName=IP:$KAFKA_HOST,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" >"$TLS_DIR/broker.ext" &&
      openssl x509 -req -in "$TLS_DIR/broker.csr" -CA "$CA_CERT" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
        -sha256 -days "$KAFKA_CERT_DAYS" -extfile "$TLS_DIR/broker.ext" -out "$TLS_DIR/broker.crt" \
        2>>"$TLS_DIR/openssl.log" &&
      # Kafka reads a PEM key store: the unencrypted PKCS#8 key, then the chain up to the CA.
      cat "$TLS_DIR/broker.key" "$TLS_DIR/broker.crt" "$CA_CERT" >"$TLS_DIR/broker.pem.tmp"
  ) || die kafka "could not make the broker's certificate, see $TLS_DIR/openssl.log"
  mv "$TLS_DIR/broker.pem.tmp" "$TLS_DIR/broker.pem"
  rm -f "$TLS_DIR/broker.csr" "$TLS_DIR/broker.ext"
}

# admin_password — the super user's password, generated once (never a default in a file we ship).
admin_password() {
  if [[ ! -s $ADMIN_PASSWORD_FILE ]]; then
    mkdir -p "$STATE_DIR"
    (
      umask 077
      python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$ADMIN_PASSWORD_FILE.tmp"
    )
    mv "$ADMIN_PASSWORD_FILE.tmp" "$ADMIN_PASSWORD_FILE"
  fi
  cat "$ADMIN_PASSWORD_FILE"
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
  local password
  password=$(admin_password)
  (
    umask 077
    cat >"$CONFIG_FILE" <<PROPERTIES
# Written by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=BROKER://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=BROKER://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=BROKER:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=BROKER
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR

# TLS on the clients' listener (server authentication only: clients prove who they are with
# SCRAM). The broker trusts its own CA, being its own client on that listener.
listener.name.broker.ssl.keystore.type=PEM
listener.name.broker.ssl.keystore.location=$TLS_DIR/broker.pem
listener.name.broker.ssl.truststore.type=PEM
listener.name.broker.ssl.truststore.location=$CA_CERT
listener.name.broker.ssl.client.auth=none
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.endpoint.identification.algorithm=https

# Every client authenticates: SCRAM-SHA-512 on the clients' listener (users and their credentials
# live in the cluster metadata, created by \`mai-kafka provision\`). The controller listener cannot
# use SCRAM (the credentials it would check are in the metadata it serves), so the broker talks to
# its controller with PLAIN as the administrator, a user known only to this file.
sasl.enabled.mechanisms=$SASL_MECHANISM
sasl.mechanism.inter.broker.protocol=$SASL_MECHANISM
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$password";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$ADMIN_USER" password="$password" user_$ADMIN_USER="$password";

# Authorisation: what no ACL allows is denied; the administrator is the only super user.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$ADMIN_USER

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
  )
}

format_storage() {
  if [[ -f $DATA_DIR/meta.properties && -f $STATE_DIR/secured ]]; then
    return 0
  fi
  if [[ -f $DATA_DIR/meta.properties ]]; then
    # Formatted by an earlier, unsecured version of this script: its metadata has no administrator.
    local aside
    aside=$STATE_DIR/data.unsecured.$(date +%Y%m%d%H%M%S)
    log kafka "storage in $DATA_DIR has no SCRAM users: moved to $aside, formatting anew"
    mv "$DATA_DIR" "$aside"
    mkdir -p "$DATA_DIR"
  fi
  local cluster_id
  cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())')
  log kafka "formatting storage in $DATA_DIR (cluster id $cluster_id, SCRAM user $ADMIN_USER)"
  # The administrator's SCRAM credential is written into the first metadata, so that the broker
  # can authenticate to itself before anyone could create users.
  java_args kafka.tools.StorageTool format --cluster-id="$cluster_id" --config "$CONFIG_FILE" \
    --add-scram "$SASL_MECHANISM=[name=$ADMIN_USER,password=$(admin_password)]"
  "${JAVA_ARGS[@]}" >>"$LOG_DIR/format.log" 2>&1 || die kafka "formatting failed, see $LOG_DIR/format.log"
  touch "$STATE_DIR/secured"
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
  if broker_running && [[ ! -f $STATE_DIR/secured ]]; then
    die kafka "the running broker (pid $(<"$PID_FILE")) was started unsecured by an earlier version of this script: stop it (kafka.sh stop, or infra.sh down) and start again"
  fi
  if broker_running; then
    log kafka "already running (pid $(<"$PID_FILE"))"
    probe_local "$LOCAL_BOOTSTRAP" --timeout "$KAFKA_START_TIMEOUT" --pid "$(<"$PID_FILE")" ||
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
  make_certificates
  write_config
  format_storage
  touch "$TLS_MARKER"
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
  if ! probe_local "$LOCAL_BOOTSTRAP" --timeout "$KAFKA_START_TIMEOUT" --pid "$(<"$PID_FILE")"; then
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
    rm -f "$PID_FILE" "$TLS_MARKER"
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
  rm -f "$PID_FILE" "$TLS_MARKER"
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
  if probe_local "$LOCAL_BOOTSTRAP" --timeout 5 2>/dev/null; then
    echo "running (pid $(<"$PID_FILE")) at $LOCAL_BOOTSTRAP"
    return 0
  fi
  echo "running (pid $(<"$PID_FILE")) but not answering at $LOCAL_BOOTSTRAP"
  return 3
}

# The administrator's client settings, as the chassis reads them (mai_chassis.kafka).
cmd_client_env() {
  if external_bootstrap; then
    die kafka "KAFKA_BOOTSTRAP_SERVERS names another broker: its credentials are not ours to print"
  fi
  printf 'KAFKA_SECURITY_PROTOCOL=%s\n' "$(security_protocol)"
  if [[ -f $TLS_MARKER ]]; then
    printf 'KAFKA_SSL_CAFILE=%s\n' "$CA_CERT"
  fi
  printf 'KAFKA_SASL_MECHANISM=%s\nKAFKA_SASL_USERNAME=%s\nKAFKA_SASL_PASSWORD=%s\n' \
    "$SASL_MECHANISM" "$ADMIN_USER" "$(admin_password)"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  client-env) cmd_client_env ;;
  *)
    echo "usage: $0 {fetch|start|stop|status|client-env}" >&2
    exit 2
    ;;
esac
