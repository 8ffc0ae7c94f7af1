#!/usr/bin/env bash
# make run: start a local Kubernetes control plane (unless KUBECONFIG names a
# cluster to use), a Prometheus, an Alertmanager and an OCI registry of its own
# (loopback, configuration and data under .berth/; never the system services)
# and the Berth server in the foreground. Ctrl-C stops them all; the data stays
# under .berth/ so the next `make run` resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

berth=bin/berth
run_dir=${RUN_DIR:-.berth}
cluster_dir=$run_dir/cluster
started_cluster=
pids=()

stop() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
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

# Alerting (docs/observability.md): Prometheus scrapes Berth's /metrics and
# loads the rule files Berth writes; Alertmanager's configuration is Berth's.
prom_listen=${BERTH_PROMETHEUS_LISTEN:-127.0.0.1:19090}
am_listen=${BERTH_ALERTMANAGER_LISTEN:-127.0.0.1:19093}
mkdir -p "$run_dir/alerting"
alert_dir=$(cd "$run_dir/alerting" && pwd)
mkdir -p "$alert_dir/rules" "$alert_dir/prometheus" "$alert_dir/alertmanager"
cat >"$alert_dir/prometheus.yml" <<CONFIG
global: {scrape_interval: 15s, evaluation_interval: 15s}
rule_files: ["$alert_dir/rules/*.yml"]
alerting:
  alertmanagers: [{static_configs: [{targets: ["$am_listen"]}]}]
scrape_configs:
- job_name: berth
  static_configs: [{targets: ["$listen"]}]
CONFIG
if [ ! -f "$alert_dir/alertmanager.yml" ]; then
	printf 'route: {receiver: berth-none}\nreceivers: [{name: berth-none}]\n' >"$alert_dir/alertmanager.yml"
fi
/usr/bin/prometheus-alertmanager --config.file="$alert_dir/alertmanager.yml" --storage.path="$alert_dir/alertmanager" \
	--web.listen-address="$am_listen" --cluster.listen-address= --log.level=warn >"$alert_dir/alertmanager.log" 2>&1 &
pids+=($!)
/usr/bin/prometheus --config.file="$alert_dir/prometheus.yml" --storage.tsdb.path="$alert_dir/prometheus" \
	--web.listen-address="$prom_listen" --web.enable-lifecycle --log.level=warn >"$alert_dir/prometheus.log" 2>&1 &
pids+=($!)

# The OCI registry pipelines push to (docs/pipelines.md, examples/pipeline.yaml):
# Debian's docker-registry, storage under .berth/registry.
registry_listen=${BERTH_REGISTRY_LISTEN:-127.0.0.1:5000}
mkdir -p "$run_dir/registry/data"
registry_dir=$(cd "$run_dir/registry" && pwd)
printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' \
	"$registry_dir/data" "$registry_listen" >"$registry_dir/config.yml"
docker-registry serve "$registry_dir/config.yml" >"$registry_dir/registry.log" 2>&1 &
pids+=($!)

echo
echo "Berth:      http://$listen   (API under /api/v1, health /healthz, metrics /metrics)"
echo "Kubeconfig: $kubeconfig"
echo "Prometheus: http://$prom_listen   Alertmanager: http://$am_listen   (logs in $alert_dir)"
echo "Registry:   http://$registry_listen   (pipelines push here; log in $registry_dir)"
echo "CLI:        $berth login --server http://$listen --username admin --password-stdin"
echo
"$berth" server --listen "$listen" --data-dir "$run_dir/data" --kubeconfig "$kubeconfig" \
	--prometheus-url "http://$prom_listen" --prometheus-rules "$alert_dir/rules" \
	--alertmanager-url "http://$am_listen" --alertmanager-config "$alert_dir/alertmanager.yml" --promtool /usr/bin/promtool
