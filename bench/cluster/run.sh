#!/usr/bin/env bash
# Local control plane figures: up time, component memory, 100-replica rollout.
# Pass --cold to also measure a cold build of the components (~10 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/cluster -runs "${RUNS:-3}"
if [ "${1:-}" = "--cold" ]; then
	bench/cluster/cold-build.sh
fi
