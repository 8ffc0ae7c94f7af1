#!/usr/bin/env bash
# Gray release: latency from a gray plan change sent to the API to the Berth
# gateway routing by it. Real processes: `berth server` on a local cluster
# (pods on this machine's own address, see internal/cli/e2e/grayrelease),
# `berth gateway` following the server's configuration stream, two backend
# versions. Each iteration moves the running plan between two steps and
# polls the gateway until a branch-0101 request reaches the new side.
#   bench/gray/run.sh               # 200 changes
#   N=1000 bench/gray/run.sh
# Needs the Kubernetes components (build/components/build.sh; BERTH_COMPONENTS_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -count=1 -run '^$' -bench BenchmarkAPIChangeToGatewayRouting -benchtime "${N}x" ./internal/cli/e2e/grayrelease 2>&1 |
	grep -E '^Benchmark' | awk '{for (i=1;i<=NF;i++) if ($i ~ /-ms$/) printf "%s %s  ", $i, $(i-1); print ""}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
