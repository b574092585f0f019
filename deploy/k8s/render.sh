#!/usr/bin/env bash
# Print the rendered manifests of one overlay: deploy/k8s/render.sh dev|prod
#
# Uses kustomize from PATH when it is the pinned version, else the copy in the cache directory,
# installing it there with `go install` (through the Go module proxy) when missing.
set -euo pipefail

KUSTOMIZE_VERSION="v5.7.1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_bin="${MAI_CACHE_DIR:-$HOME/.cache/mai}/bin"

usage() {
  echo "usage: $0 OVERLAY   (one of: $(ls "$here/overlays" | tr '\n' ' '))" >&2
  exit 2
}

[[ $# -eq 1 ]] || usage
overlay_dir="$here/overlays/$1"
[[ -f "$overlay_dir/kustomization.yaml" ]] || usage

version_of() { "$1" version 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -n1; }

find_kustomize() {
  local candidate
  for candidate in "$(command -v kustomize || true)" "$cache_bin/kustomize"; do
    if [[ -n "$candidate" && -x "$candidate" && "$(version_of "$candidate")" == "$KUSTOMIZE_VERSION" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! kustomize="$(find_kustomize)"; then
  command -v go >/dev/null || { echo "render.sh: kustomize $KUSTOMIZE_VERSION is missing and so is go to install it" >&2; exit 1; }
  echo "render.sh: installing kustomize $KUSTOMIZE_VERSION into $cache_bin (about 30 s on first run)" >&2
  mkdir -p "$cache_bin"
  GOBIN="$cache_bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  kustomize="$(find_kustomize)" || { echo "render.sh: kustomize install failed" >&2; exit 1; }
fi

# LoadRestrictionsNone is not needed: every file an overlay reads lies under deploy/k8s.
exec "$kustomize" build "$overlay_dir"
