#!/usr/bin/env bash
# make run: start a local Kubernetes control plane (unless KUBECONFIG names a
# cluster to use) and the Berth server in the foreground. Ctrl-C stops both;
# the data stays under .berth/ so the next `make run` resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

berth=bin/berth
run_dir=${RUN_DIR:-.berth}
cluster_dir=$run_dir/cluster
started_cluster=

stop() {
	if [ -n "$started_cluster" ]; then
		"$berth" cluster down --dir "$cluster_dir" || true
	fi
}
trap stop EXIT

if [ -n "${KUBECONFIG:-}" ]; then
	kubeconfig=${KUBECONFIG%%:*}
	echo "Using the cluster of KUBECONFIG=$kubeconfig"
else
	components=$(build/components/build.sh)
	"$berth" cluster up --dir "$cluster_dir" --components "$components"
	started_cluster=yes
	kubeconfig=$(cd "$cluster_dir" && pwd)/kubeconfig
fi

listen=${BERTH_LISTEN:-127.0.0.1:8080}
echo
echo "Berth:      http://$listen   (API under /api/v1, health /healthz, metrics /metrics)"
echo "Kubeconfig: $kubeconfig"
echo "CLI:        $berth login --server http://$listen --username admin --password-stdin"
echo
"$berth" server --listen "$listen" --data-dir "$run_dir/data" --kubeconfig "$kubeconfig"
