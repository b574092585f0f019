# Shared helpers for the local infrastructure scripts (sourced, not executed).
# Progress goes to stderr with a timestamp; stdout is kept for the one value a command returns
# (a bootstrap address, a database URL) so that callers can capture it.
# shellcheck shell=bash

MAI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
MAI_VAR_DIR=${MAI_VAR_DIR:-$MAI_ROOT/var}
MAI_CACHE_DIR=${MAI_CACHE_DIR:-${HOME:-/root}/.cache/mai}
export MAI_ROOT MAI_VAR_DIR MAI_CACHE_DIR

# log COMPONENT MESSAGE... — one timestamped progress line on stderr.
log() {
  local component=$1
  shift
  printf '%s [%s] %s\n' "$(date '+%H:%M:%S')" "$component" "$*" >&2
}

# die COMPONENT MESSAGE... — report an error and exit non-zero.
die() {
  log "$1" "ERROR: ${*:2}"
  exit 1
}

is_root() {
  [[ $(id -u) -eq 0 ]]
}

# process_running PID — true while the process exists and is not a zombie (an exited child that
# nobody has reaped yet, as happens under a container init that does not reap).
process_running() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 0
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# pid_alive PIDFILE — true when the file names a running process.
pid_alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && process_running "$pid"
}

# port_open HOST PORT — true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
