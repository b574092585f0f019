#!/usr/bin/env bash
# Publish a release: build every image of services.conf, push it to REGISTRY, and pin the prod
# overlay to what was pushed, by registry and digest (a tag can be moved; a digest cannot).
#   BASE_IMAGE=python:3.11-slim deploy/images/release.sh registry.example.org/mai 1.2.0
# Then commit deploy/k8s/overlays/prod/kustomization.yaml: prod runs exactly those images.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
(($# == 2)) || { echo "usage: $0 REGISTRY TAG" >&2; exit 2; }
registry=${1%/} tag=$2

IMAGE_TAG=$tag "$here/build.sh"
digests=$(mktemp -d)
trap 'rm -rf "$digests"' EXIT
while read -r name _; do
  [[ -z $name || $name == \#* ]] && continue
  "$here/podman.sh" push --digestfile "$digests/$name" "localhost/mai/$name:$tag" "docker://$registry/$name:$tag"
  digest=$(<"$digests/$name")
  [[ $digest == sha256:* ]] || { echo "no digest for $name" >&2; exit 1; }
  python3 "$here/pin.py" "mai/$name" "$registry/$name" "$digest"
  echo "pinned mai/$name to $registry/$name@$digest"
done <"$here/services.conf"
