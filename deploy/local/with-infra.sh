#!/usr/bin/env bash
# Run a command with Kafka and PostgreSQL available, e.g.:  deploy/local/with-infra.sh pytest
#
# What the environment already names (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL) is used as it is
# (with the KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_* the caller sets for that broker); the rest is
# started locally and exported to the command, the local broker with its administrator's settings. On exit, whatever this run had to start
# is stopped again, unless other runs (in the same work tree) still use it. Exits with the command's
# exit code.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/infra_state.sh
source "$HERE/lib/infra_state.sh"

if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

# shellcheck disable=SC2317  # called by the EXIT trap
leave() {
  local rc=$?
  trap - EXIT INT TERM
  infra_lock
  rm -f "$INFRA_STATE_DIR/users/$$"
  if (($(live_users) == 0)); then
    local component
    for component in kafka postgres; do
      if [[ -e $INFRA_STATE_DIR/$component.ephemeral ]]; then
        "$HERE/$component.sh" stop || rc=1
        rm -f "$INFRA_STATE_DIR/$component.ephemeral"
      fi
    done
  else
    log infra "other runs still use the infrastructure: leaving it up"
  fi
  infra_unlock
  exit "$rc"
}

infra_lock
touch "$INFRA_STATE_DIR/users/$$"
trap leave EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
  "$HERE/kafka.sh" status >/dev/null 2>&1 || touch "$INFRA_STATE_DIR/kafka.ephemeral"
  KAFKA_BOOTSTRAP_SERVERS=$("$HERE/kafka.sh" start)
  while IFS='=' read -r name value; do
    export "$name=$value"
  done < <("$HERE/kafka.sh" client-env)
fi
if [[ -z ${DATABASE_URL:-} ]]; then
  "$HERE/postgres.sh" status >/dev/null 2>&1 || touch "$INFRA_STATE_DIR/postgres.ephemeral"
  DATABASE_URL=$("$HERE/postgres.sh" start)
  create_service_databases
fi
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
infra_unlock

log infra "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS DATABASE_URL=$DATABASE_URL"
log infra "running: $*"
set +e
"$@"
rc=$?
set -e
log infra "command exited with $rc"
exit "$rc"
