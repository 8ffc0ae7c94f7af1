#!/usr/bin/env bash
# Builds the Tekton Pipelines controller (cmd/controller of the version this
# module pins) and lays its CustomResourceDefinitions beside it, then prints
# the directory that holds them: controller, crds/*.yaml.
#
# Berth's Tekton executor is tested against this controller, run out of
# cluster beside the local control plane (internal/localcluster/tekton). The
# result is cached by a hash of this module, apart from the Kubernetes
# components' cache, so neither build redoes the other; a fresh machine
# builds it by itself.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here"/go.mod "$here"/go.sum "$here"/build.sh | sha256sum | cut -c1-16)
version=$(awk '$1 == "github.com/tektoncd/pipeline" { print $2; exit }' "$here/go.mod")
case $version in
v[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "tekton/build.sh: cannot read the github.com/tektoncd/pipeline version from go.mod (got '$version')" >&2; exit 1 ;;
esac
cache=${BERTH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}
dir=$cache/tekton/$version-$key

if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache/tekton"
exec 9>"$cache/tekton/.lock"
flock 9
if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

echo "building the Tekton Pipelines $version controller into $dir (several minutes on 2 cores, once per machine)" >&2
tmp=$(mktemp -d "$cache/tekton/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"
start=$SECONDS
(cd "$here" && go build -ldflags="-s -w" -o "$tmp/controller" github.com/tektoncd/pipeline/cmd/controller)
# The CRDs ship in the module itself (config/300-crds): the same version's.
src=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/tektoncd/pipeline)
mkdir "$tmp/crds"
cp "$src"/config/300-crds/*.yaml "$tmp/crds/"
chmod -R u+w "$tmp/crds"
echo "  controller built ($((SECONDS - start))s)" >&2

echo "$((SECONDS - start))" > "$tmp/.build-seconds"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
