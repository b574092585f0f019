#!/usr/bin/env bash
# Installs the AsyncAPI parser (npm) into a cache directory, once; prints the directory it lives in.
#
# The AsyncAPI test validates contracts/asyncapi.yaml with this independent validator. Nothing
# installed by hand survives on CI, so the test calls this script; a second run finds the cache
# and returns at once. Needs node >= 18 and npm.
set -euo pipefail

PARSER_VERSION="3.6.3"
cache_root="${MAI_CACHE_DIR:-$HOME/.cache/mai}/node"
target="$cache_root/asyncapi-parser-$PARSER_VERSION"
marker="$target/node_modules/@asyncapi/parser/package.json"

if [[ -f "$marker" ]]; then
    echo "$target"
    exit 0
fi

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "asyncapi validator: '$tool' is not installed (node >= 18 and npm are needed)" >&2; exit 3; }
done

mkdir -p "$cache_root"
# One installer at a time; the others wait and then find the cache.
exec 9>"$cache_root/.asyncapi-parser.lock"
flock -w 600 9 || { echo "asyncapi validator: timed out waiting for another install" >&2; exit 4; }
if [[ -f "$marker" ]]; then
    echo "$target"
    exit 0
fi

staging="$(mktemp -d "$cache_root/.install-XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$(date +%s)
echo '{"name": "mai-asyncapi-validator", "private": true}' >"$staging/package.json"
npm install --prefix "$staging" --no-audit --no-fund --loglevel=error --omit=dev \
    "@asyncapi/parser@$PARSER_VERSION" >&2
rm -rf "$target"
mv "$staging" "$target"
trap - EXIT
echo "asyncapi validator: installed @asyncapi/parser@$PARSER_VERSION in $(( $(date +%s) - started ))s into $target" >&2
echo "$target"
