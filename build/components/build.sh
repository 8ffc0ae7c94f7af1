#!/usr/bin/env bash
# Builds the local control plane's components (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, kwok) from the Go module proxy
# and prints the directory that holds them.
#
# The result is cached by a hash of the component modules, so the ~10 minute
# build is paid once per machine; a fresh machine builds them by itself.
# Concurrent callers (parallel test packages, make run) wait on one lock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here"/kube/go.mod "$here"/kube/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum \
	"$here"/etcd/main.go "$here"/kwok/go.mod "$here"/kwok/go.sum | sha256sum | cut -c1-16)
kube_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit } $1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' "$here/kube/go.mod")
case $kube_version in
v[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "build.sh: cannot read the k8s.io/kubernetes version from kube/go.mod (got '$kube_version')" >&2; exit 1 ;;
esac
cache=${BERTH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}
dir=$cache/components/$kube_version-$key

if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache/components"
exec 9>"$cache/components/.lock"
flock 9
if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

echo "building Kubernetes $kube_version components into $dir (about 10 minutes, once per machine)" >&2
tmp=$(mktemp -d "$cache/components/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

minor=${kube_version#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"
start=$SECONDS
(cd "$here/etcd" && go build -ldflags="-s -w" -o "$tmp/etcd" .)
echo "  etcd built ($((SECONDS - start))s)" >&2
(cd "$here/kwok" && go build -ldflags="-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
echo "  kwok built ($((SECONDS - start))s)" >&2
(cd "$here/kube" && go build -ldflags="$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler \
	k8s.io/kubernetes/cmd/kubectl)
echo "  kube-apiserver, kube-controller-manager, kube-scheduler, kubectl built ($((SECONDS - start))s)" >&2

echo "$((SECONDS - start))" > "$tmp/.build-seconds"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
