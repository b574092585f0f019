#!/usr/bin/env bash
# What the repository needs from outside itself, checked in one place (docs/prerequisites.md).
#
#   deploy/prerequisites.sh run      what `make run` needs
#   deploy/prerequisites.sh test     what `make test` needs (run's, plus the test tools)
#   deploy/prerequisites.sh images   what `make images` / `make test-images` need
#
# Every missing piece is named with the Debian package that brings it. Run as root on a machine
# with apt-get, the script installs them (MAI_INSTALL_PACKAGES=0 says never); otherwise it prints
# the apt-get line and exits 1 before anything starts. Java, Maven and the PostgreSQL server are
# needed only for local servers: not when KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL name running ones.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
purpose=${1:-test}
case $purpose in run | test | images) ;; *)
  echo "usage: $0 run|test|images" >&2
  exit 2
  ;;
esac

missing_packages=()
reasons=()
need() { # need PACKAGE WHY — record a missing Debian package
  missing_packages+=("$1")
  reasons+=("  $1: $2")
}
have() { command -v "$1" >/dev/null 2>&1; }

if [[ $purpose == images ]]; then
  have podman || need podman "builds and runs the images (deploy/images)"
  have runc || need runc "the container runtime podman is given (crun fails on some cgroup set-ups)"
  [[ -n ${BASE_IMAGE:-} ]] || have mmdebstrap ||
    need mmdebstrap "builds the base image from Debian's packages (deploy/images/base.sh; not with BASE_IMAGE)"
else
  # Both `make run` and `make test`.
  python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    need python3-venv "Python 3.11+ with venv for .venv (and python3 itself)"
  have make || need make "the entry points (Makefile)"
  have flock || need util-linux "flock: runs sharing one broker and database server (deploy/local)"
  if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' || true)
    ((${java_major:-0} >= 17)) || need default-jre-headless "Java 17+ runs the local Kafka broker"
    have mvn || need maven "fetches the Kafka jars from Maven Central on first use (deploy/local/kafka)"
  fi
  if [[ -z ${DATABASE_URL:-} ]]; then
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need postgresql "the local PostgreSQL server"
  fi
  have psql || compgen -G '/usr/lib/postgresql/*/bin/psql' >/dev/null ||
    need postgresql-client "psql creates the services' databases"
  [[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] ||
    need fonts-dejavu-core "record-svc sets its certificates in DejaVu Sans"
fi

if [[ $purpose == test ]]; then
  have pdfsig && have pdftotext && have pdftoppm ||
    need poppler-utils "pdfsig, pdftotext, pdftoppm read the signed certificates in the tests"
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  ((node_major >= 18)) || need nodejs "node 18+: axe-core in the browser tests, the AsyncAPI parser"
  have npm || need npm "installs axe-core (tests/browser) and the AsyncAPI parser (contracts/tests)"
  [[ -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]] || need chromium "the browser tests drive Debian's chromium"
  have promtool || need prometheus "promtool unit-tests the alerting rules (deploy/k8s/tests)"
  # kustomize: the pinned version on PATH or in the cache, else `go install` (deploy/k8s/render.sh).
  kustomize_pinned=$(sed -n 's/^KUSTOMIZE_VERSION="\(.*\)"/\1/p' "$ROOT/deploy/k8s/render.sh")
  kustomize_ok=0
  for candidate in "$(command -v kustomize || true)" "${MAI_CACHE_DIR:-$HOME/.cache/mai}/bin/kustomize"; do
    if [[ -n $candidate && -x $candidate ]] && "$candidate" version 2>/dev/null | grep -q "$kustomize_pinned"; then
      kustomize_ok=1
    fi
  done
  ((kustomize_ok)) || have go || need golang-go "installs kustomize $kustomize_pinned (deploy/k8s/render.sh)"
fi

if ((${#missing_packages[@]})); then
  echo "prerequisites for \`make $purpose\` missing:" >&2
  printf '%s\n' "${reasons[@]}" >&2
  if [[ ${MAI_INSTALL_PACKAGES:-1} != 0 && $(id -u) == 0 ]] && have apt-get; then
    echo "installing: ${missing_packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >&2
  else
    echo "install them with: sudo apt-get install --no-install-recommends ${missing_packages[*]}" >&2
    exit 1
  fi
fi

if [[ $purpose == test && ! -d $ROOT/../shared/crds ]]; then
  # Not a package: the CRD schemas deploy/k8s/tests validate against sit beside the repository.
  echo "warning: $(cd "$ROOT/.." && pwd)/shared/crds is missing: the Kubernetes checks (deploy/k8s/tests)" \
    "will fail; see docs/prerequisites.md" >&2
fi
exit 0
