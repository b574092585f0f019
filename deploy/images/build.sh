#!/usr/bin/env bash
# `make images`: build every image of services.conf (or only those named) from the one Dockerfile.
#   deploy/images/build.sh [NAME...]
# BASE_IMAGE: the base to build on; default: one built here from Debian's packages (base.sh), for a
#   machine without an image registry (elsewhere, set it, e.g. BASE_IMAGE=python:3.11-slim).
# IMAGE_TAG: the tag of the images built (default dev): localhost/mai/<name>:<tag>.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${IMAGE_TAG:-dev}
base=${BASE_IMAGE:-$("$here/base.sh")}
secret=()
# A build machine whose HTTPS goes through an inspecting proxy: its CA bundle, for pip in the build.
[[ -s /etc/ssl/certs/ca-certificates.crt ]] && secret=(--secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt)

wanted=("$@")
while read -r name directory arguments; do
  [[ -z $name || $name == \#* ]] && continue
  if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $name "* ]]; then continue; fi
  build_args=(--build-arg "SERVICE=$name" --build-arg "SERVICE_DIR=$directory" --build-arg "BASE_IMAGE=$base")
  for argument in $arguments; do build_args+=(--build-arg "$argument"); done
  started=$SECONDS
  "$here/podman.sh" build --quiet --network host --layers "${secret[@]}" "${build_args[@]}" \
    --tag "localhost/mai/$name:$tag" --file "$root/Dockerfile" "$root" >/dev/null
  echo "built localhost/mai/$name:$tag ($((SECONDS - started)) s)"
done <"$here/services.conf"
