#!/usr/bin/env bash
# A local PostgreSQL server for development and tests, or a check of the one named by DATABASE_URL.
#
#   postgres.sh start          create the cluster once (var/pg), start it, wait, print the admin URL
#   postgres.sh stop           stop it (fast shutdown)
#   postgres.sh status         say whether it accepts connections (exit 0) or not (exit 3)
#   postgres.sh createdb NAME  create database NAME if it does not exist yet
#
# Environment: PGPORT_LOCAL (55432), MAI_VAR_DIR (var/), PG_START_TIMEOUT (60). When DATABASE_URL
# names another server, that server is used as it is: nothing is started or stopped.
# The cluster trusts loopback connections and runs with fsync=off: for development and tests only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"

PG_HOST=127.0.0.1
PG_PORT=${PGPORT_LOCAL:-55432}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}
PG_DIR=$MAI_VAR_DIR/pg
LOCAL_URL=postgresql://postgres@$PG_HOST:$PG_PORT/postgres
# The server refuses to run as root, so as root it runs as this system user.
PG_OS_USER=postgres

external_server() {
  [[ -n ${DATABASE_URL:-} && $DATABASE_URL != "$LOCAL_URL" ]]
}

admin_url() {
  if external_server; then echo "$DATABASE_URL"; else echo "$LOCAL_URL"; fi
}

server_bin_dir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' -printf '%h\n' 2>/dev/null |
    sort -V | tail -n 1)
  [[ -n $dir ]] && echo "$dir"
}

ensure_server_installed() {
  if server_bin_dir >/dev/null; then
    return 0
  fi
  is_root || die postgres "no PostgreSQL server found in /usr/lib/postgresql: install Debian's postgresql package"
  log postgres "no PostgreSQL server found: installing Debian's postgresql package"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  server_bin_dir >/dev/null || die postgres "the postgresql package installed no server binary"
}

psql_bin() {
  if command -v psql >/dev/null; then
    command -v psql
  else
    echo "$(server_bin_dir)/psql"
  fi
}

# as_server_user CMD... — run a server command as the user that owns the cluster.
as_server_user() {
  if is_root; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

# As root, the cluster must be reachable by the postgres user. When the work tree is not (a clone
# under /root, say), the cluster lives in a private directory under /var/tmp and var/pg links to it.
prepare_cluster_dir() {
  mkdir -p "$MAI_VAR_DIR"
  if is_root; then
    id "$PG_OS_USER" >/dev/null 2>&1 ||
      useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
    if [[ ! -e $PG_DIR ]]; then
      mkdir -p "$PG_DIR"
      chown "$PG_OS_USER:" "$PG_DIR"
      if ! runuser -u "$PG_OS_USER" -- test -w "$PG_DIR"; then
        local outside
        outside=/var/tmp/mai-pg-$(printf '%s' "$MAI_VAR_DIR" | md5sum | cut -c1-12)
        log postgres "$PG_DIR is not reachable by the $PG_OS_USER user: keeping the cluster in $outside"
        rmdir "$PG_DIR"
        mkdir -p "$outside"
        ln -s "$outside" "$PG_DIR"
      fi
    fi
  fi
  resolve_dirs
  mkdir -p "$(dirname "$LOG_FILE")" "$SOCKET_DIR"
  if is_root; then
    chown -R "$PG_OS_USER:" "$(dirname "$DATA_DIR")"
  fi
}

# Paths given to the server are the resolved ones: var/pg may be a link (see prepare_cluster_dir).
resolve_dirs() {
  local real=$PG_DIR
  [[ -e $PG_DIR ]] && real=$(readlink -f "$PG_DIR")
  DATA_DIR=$real/data
  SOCKET_DIR=$real/run
  LOG_FILE=$real/log/postgres.log
}
resolve_dirs

init_cluster() {
  local bin=$1
  if [[ -f $DATA_DIR/PG_VERSION ]]; then
    return 0
  fi
  log postgres "creating a cluster in $DATA_DIR with $bin/initdb"
  as_server_user "$bin/initdb" --pgdata="$DATA_DIR" --username=postgres --auth=trust \
    --encoding=UTF8 --no-locale --no-instructions >"$(dirname "$LOG_FILE")/initdb.log" 2>&1 ||
    { cat "$(dirname "$LOG_FILE")/initdb.log" >&2; die postgres "initdb failed"; }
  printf "\ninclude_if_exists = 'mai-dev.conf'\n" | as_server_user tee -a "$DATA_DIR/postgresql.conf" >/dev/null
}

write_settings() {
  # Rewritten on every start so that the port and tuning follow the environment.
  as_server_user tee "$DATA_DIR/mai-dev.conf" >/dev/null <<CONF
# Written by deploy/local/postgres.sh; a development and test cluster only.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 300
shared_buffers = 128MB
# Durability is traded for speed: this cluster holds nothing that cannot be recreated.
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_timezone = 'UTC'
timezone = 'UTC'
CONF
}

accepts_connections() {
  "$(dirname "$(psql_bin)")/pg_isready" -q -d "$1" 2>/dev/null ||
    "$(psql_bin)" "$1" -qAtX -c 'select 1' >/dev/null 2>&1
}

cmd_start() {
  if external_server; then
    log postgres "DATABASE_URL is set: checking that server, starting none"
    wait_ready "$DATABASE_URL" || die postgres "the server named by DATABASE_URL does not accept connections"
    echo "$DATABASE_URL"
    return 0
  fi
  ensure_server_installed
  local bin
  bin=$(server_bin_dir)
  prepare_cluster_dir
  init_cluster "$bin"
  write_settings
  if as_server_user "$bin/pg_ctl" status --pgdata="$DATA_DIR" >/dev/null 2>&1; then
    log postgres "already running on $PG_HOST:$PG_PORT"
  else
    if port_open "$PG_HOST" "$PG_PORT"; then
      die postgres "port $PG_HOST:$PG_PORT is taken by another process; set PGPORT_LOCAL"
    fi
    log postgres "starting PostgreSQL $(basename "$(dirname "$bin")") on $PG_HOST:$PG_PORT (log $LOG_FILE)"
    as_server_user "$bin/pg_ctl" start --pgdata="$DATA_DIR" --log="$LOG_FILE" --wait \
      --timeout="$PG_START_TIMEOUT" --silent >&2 ||
      { tail -n 20 "$LOG_FILE" >&2; die postgres "the server did not start, see $LOG_FILE"; }
  fi
  wait_ready "$LOCAL_URL" || die postgres "the server does not accept connections, see $LOG_FILE"
  log postgres "ready: $LOCAL_URL"
  echo "$LOCAL_URL"
}

wait_ready() {
  local url=$1 deadline=$((SECONDS + PG_START_TIMEOUT))
  until accepts_connections "$url"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

cmd_stop() {
  if external_server; then
    log postgres "DATABASE_URL names another server: nothing to stop"
    return 0
  fi
  local bin
  if ! bin=$(server_bin_dir) || [[ ! -f $DATA_DIR/PG_VERSION ]]; then
    log postgres "no local cluster"
    return 0
  fi
  if ! as_server_user "$bin/pg_ctl" status --pgdata="$DATA_DIR" >/dev/null 2>&1; then
    log postgres "not running"
    return 0
  fi
  log postgres "stopping the server on $PG_HOST:$PG_PORT"
  as_server_user "$bin/pg_ctl" stop --pgdata="$DATA_DIR" --mode=fast --wait --silent >&2
  log postgres "stopped"
}

cmd_status() {
  local url
  url=$(admin_url)
  if accepts_connections "$url"; then
    echo "accepting connections: $url"
    return 0
  fi
  echo "not accepting connections: $url"
  return 3
}

cmd_createdb() {
  local name=${1:-}
  [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die postgres "database name must match [a-z_][a-z0-9_]*: '$name'"
  local url psql
  url=$(admin_url)
  psql=$(psql_bin)
  if [[ $("$psql" "$url" -qAtX -c "select 1 from pg_database where datname = '$name'") == 1 ]]; then
    log postgres "database $name exists"
    return 0
  fi
  # Another process may create it at the same moment: check again before calling that a failure.
  if "$psql" "$url" -qAtX -c "create database \"$name\"" >/dev/null 2>&1 ||
    [[ $("$psql" "$url" -qAtX -c "select 1 from pg_database where datname = '$name'") == 1 ]]; then
    log postgres "database $name created"
  else
    die postgres "could not create database $name"
  fi
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  createdb) cmd_createdb "${2:-}" ;;
  *)
    echo "usage: $0 {start|stop|status|createdb NAME}" >&2
    exit 2
    ;;
esac
