#!/usr/bin/env bash
# Start or stop the local infrastructure: a Kafka broker and a PostgreSQL server.
#
#   infra.sh up     start both (or check the ones named by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL),
#                   create the service databases, write var/infra.env (with the local broker's
#                   administrator settings, KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_*)
#   infra.sh down   stop both, remove var/infra.env
#
# Use the written variables with:  set -a; source var/infra.env; set +a
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/infra_state.sh
source "$HERE/lib/infra_state.sh"

INFRA_ENV_FILE=$MAI_VAR_DIR/infra.env

cmd_up() {
  infra_lock
  local bootstrap database_url
  bootstrap=$("$HERE/kafka.sh" start)
  database_url=$("$HERE/postgres.sh" start)
  DATABASE_URL=$database_url create_service_databases
  # Started by hand now: no test run may stop them on its way out.
  rm -f "$INFRA_STATE_DIR/kafka.ephemeral" "$INFRA_STATE_DIR/postgres.ephemeral"
  (
    umask 077
    printf 'KAFKA_BOOTSTRAP_SERVERS=%s\nDATABASE_URL=%s\n' "$bootstrap" "$database_url" >"$INFRA_ENV_FILE.tmp"
    # A broker named from outside brings its own credentials (in the caller's environment).
    if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
      "$HERE/kafka.sh" client-env >>"$INFRA_ENV_FILE.tmp"
    fi
  )
  mv "$INFRA_ENV_FILE.tmp" "$INFRA_ENV_FILE"
  infra_unlock
  log infra "up; variables written to $INFRA_ENV_FILE:"
  sed 's/^\(KAFKA_SASL_PASSWORD\)=.*/\1=(hidden)/' "$INFRA_ENV_FILE"
}

cmd_down() {
  infra_lock
  local users
  users=$(live_users)
  if ((users > 0)); then
    log infra "warning: $users test run(s) under with-infra.sh still use the infrastructure"
  fi
  "$HERE/kafka.sh" stop
  "$HERE/postgres.sh" stop
  rm -f "$INFRA_ENV_FILE" "$INFRA_STATE_DIR/kafka.ephemeral" "$INFRA_STATE_DIR/postgres.ephemeral"
  infra_unlock
  log infra "down"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  *)
    echo "usage: $0 {up|down}" >&2
    exit 2
    ;;
esac
