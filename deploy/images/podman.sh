#!/usr/bin/env bash
# podman as this project runs it: as root, with runc (crun fails on this machine's cgroup setup)
# and no default ulimits (the container runtime may not raise them here), through a
# containers.conf of our own passed in CONTAINERS_CONF. Usage: deploy/images/podman.sh ARGS...
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
conf=$root/var/images/containers.conf
if [[ ! -s $conf ]]; then
  mkdir -p "${conf%/*}"
  cat >"$conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
fi
export CONTAINERS_CONF=$conf
exec podman "$@"
