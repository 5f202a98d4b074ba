#!/usr/bin/env bash
# Builds the real servers of the conformance tier (and helm, which its manifest tests render the chart
# with) from their Go modules, once: the binaries are cached
# under ~/.cache/credbroker/real-servers/<name>-<hash of go.mod and go.sum>/, so a warm run costs seconds.
# Prints one line per server: "<name> <path of the binary>". Usage: build.sh [name...] (default: all).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${CREDBROKER_SERVER_CACHE:-$HOME/.cache/credbroker/real-servers}"

# name, module folder, package to build, version it reports
servers=(
  "kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver v1.34.4"
  "etcd etcd . v3.6.16"
  "vault vault . v1.21.0"
  "helm helm helm.sh/helm/v4/cmd/helm v4.3.2"
)

# Linker flags per server: Kubernetes reads its version from ldflags; Vault embeds its own VERSION file;
# helm's Makefile sets its version the same way (without it helm reports "v4.3").
ldflags_for() {
  case "$1" in
    vault) echo "-s" ;;
    helm) echo "-s -w -X helm.sh/helm/v4/internal/version.version=$2" ;;
    *) echo "-s -X k8s.io/component-base/version.gitVersion=$2 -X k8s.io/component-base/version.gitMajor=${2:1:1} -X k8s.io/component-base/version.gitMinor=$(echo "$2" | cut -d. -f2)" ;;
  esac
}

want=("$@")
for entry in "${servers[@]}"; do
  read -r name dir pkg version <<<"$entry"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  key=$( (cat "$here/$dir/go.mod" "$here/$dir/go.sum"; echo "$version") | sha256sum | cut -c1-16)
  out="$cache_root/$name-$key"
  if [ ! -x "$out/bin/$name" ]; then
    echo "building $name (cold: several minutes) into $out" >&2
    started=$(date +%s)
    mkdir -p "$out/bin"
    # Build into a temporary name and rename, so an interrupted build never leaves a half binary.
    (cd "$here/$dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
      -ldflags="$(ldflags_for "$name" "$version")" \
      -o "$out/bin/$name.partial" "$pkg")
    mv "$out/bin/$name.partial" "$out/bin/$name"
    echo "built $name in $(( $(date +%s) - started )) s" >&2
  fi
  echo "$name $out/bin/$name"
done
