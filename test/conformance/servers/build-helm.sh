#!/usr/bin/env bash
# Builds helm (the manifest tests of the conformance tier render the chart with it) from its Go module,
# once: cached under ~/.cache/credbroker/real-servers/helm-<hash of go.mod, go.sum and version>/, the
# same scheme as build.sh, so a warm run costs seconds. Prints "helm <path of the binary>".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${CREDBROKER_SERVER_CACHE:-$HOME/.cache/credbroker/real-servers}"
version=v4.3.2

key=$( (cat "$here/helm/go.mod" "$here/helm/go.sum"; echo "$version") | sha256sum | cut -c1-16)
out="$cache_root/helm-$key"
if [ ! -x "$out/bin/helm" ]; then
  echo "building helm $version (cold: a few minutes) into $out" >&2
  started=$(date +%s)
  mkdir -p "$out/bin"
  # Build into a temporary name and rename, so an interrupted build never leaves a half binary.
  # The version goes in through ldflags as helm's own Makefile does; without it helm reports "v4.3".
  (cd "$here/helm" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
    -o "$out/bin/helm.partial" helm.sh/helm/v4/cmd/helm)
  mv "$out/bin/helm.partial" "$out/bin/helm"
  echo "built helm in $(( $(date +%s) - started )) s" >&2
fi
echo "helm $out/bin/helm"
