#!/usr/bin/env bash
# Measures a cold build of the local control plane's components, as on a
# machine that never built them: empty Go build cache, module cache and
# component cache (all in a temporary directory, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
start=$(date +%s)
GOCACHE=$tmp/gocache GOMODCACHE=$tmp/gomodcache BERTH_CACHE_DIR=$tmp/berth \
	build/components/build.sh >/dev/null
echo "cold component build (download + compile, $(nproc) cores): $(( $(date +%s) - start ))s"
