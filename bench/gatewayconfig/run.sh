#!/usr/bin/env bash
# Gateway configuration: time from a deployment's transaction to a gateway
# following the server's stream routing it, with ROUTES applications already
# routed (default 10,000), over CHANGES deployments (default 100), on SQLite
# and on PostgreSQL when PG_URL is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o bin/bench-gatewayconfig ./bench/gatewayconfig
bin/bench-gatewayconfig -routes "${ROUTES:-10000}" -changes "${CHANGES:-100}"
if [ -n "${PG_URL:-}" ]; then
	bin/bench-gatewayconfig -db postgres -url "$PG_URL" -routes "${ROUTES:-10000}" -changes "${CHANGES:-100}"
fi
