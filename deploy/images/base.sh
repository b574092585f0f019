#!/usr/bin/env bash
# Build the images' base from Debian's packages, for a machine that reaches Debian's archive but
# no image registry: mmdebstrap makes the root filesystem, `podman import` turns it into an image.
# Prints the image's name. The tarball is cached (MAI_CACHE_DIR, default ~/.cache/mai) under a name
# made of the suite and the package list, so it is built again only when they change.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=${DEBIAN_SUITE:-bookworm}
# Python and its venv module (build and runtime), CA certificates, useradd, the time zones, and
# record-svc's certificate font: every service's runtime needs are in the one base.
packages=python3,python3-venv,ca-certificates,passwd,tzdata,fonts-dejavu-core
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
image=localhost/mai/base:$suite-$key
if "$here/podman.sh" image exists "$image"; then
  echo "$image"
  exit 0
fi
cache=${MAI_CACHE_DIR:-$HOME/.cache/mai}/images
tarball=$cache/base-$suite-$key.tar
if [[ ! -f $tarball || ! -s $tarball ]]; then
  mkdir -p "$cache"
  # A leftover of an interrupted or failed build (a directory, a part) is never imported.
  rm -rf "$tarball" "$tarball.partial"
  echo "building the base image's root filesystem from Debian $suite (mmdebstrap)" >&2
  # --format=tar: mmdebstrap infers the format from the file name, and ".partial" would give a directory.
  mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --aptopt='Acquire::Languages "none"' \
    "$suite" "$tarball.partial" >&2
  mv "$tarball.partial" "$tarball"
fi
"$here/podman.sh" import --quiet --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
echo "$image"
