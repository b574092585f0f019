# Shared state of infra.sh and with-infra.sh (sourced, not executed).
#
# Several test runs may share one work tree and so one broker and one database server. A run of
# with-infra.sh registers itself under var/infra/users; what a run had to start is marked
# "ephemeral" and stopped by the last registered run to leave. `infra.sh up` removes the marks:
# what a person started stays up until `infra.sh down`.
# shellcheck shell=bash

INFRA_STATE_DIR=$MAI_VAR_DIR/infra
# MAI_DATABASES, the database of each service (DESIGN.md: every service owns its data), written
# from deploy/services.yaml.
# shellcheck source=../services.sh
source "$(dirname "${BASH_SOURCE[0]}")/../services.sh"

infra_lock() {
  mkdir -p "$INFRA_STATE_DIR/users"
  exec 9>"$INFRA_STATE_DIR/lock"
  flock 9
}

infra_unlock() {
  flock -u 9
  exec 9>&-
}

# live_users — how many registered runs are still alive; forgets the dead ones.
live_users() {
  local file count=0
  for file in "$INFRA_STATE_DIR"/users/*; do
    [[ -e $file ]] || continue
    if kill -0 "$(basename "$file")" 2>/dev/null; then
      count=$((count + 1))
    else
      rm -f "$file"
    fi
  done
  echo "$count"
}

create_service_databases() {
  local db
  for db in $MAI_DATABASES; do
    "$HERE/postgres.sh" createdb "$db"
  done
}
