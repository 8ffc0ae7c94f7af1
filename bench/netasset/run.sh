#!/usr/bin/env bash
# Network assets: node-port allocation rate on SQLite and PostgreSQL (one
# writer, then 8 at once), and the time to render and apply the isolation
# NetworkPolicies of 200 projects to a local control plane.
#   bench/netasset/run.sh                 # 1,000 allocations, 200 projects
#   APPS=200 PROJECTS=50 bench/netasset/run.sh
# PostgreSQL: BERTH_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# a fresh schema is created and dropped. Skipped with a message when unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
APPS=${APPS:-1000}
PROJECTS=${PROJECTS:-200}
PG=${BERTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
go build -o bin/bench-netasset ./bench/netasset
echo "| database | allocations | one writer | 8 writers |"
echo "|---|---|---|---|"
bin/bench-netasset -db sqlite -apps "$APPS"
schema="bench_netasset_$$"
if psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null 2>&1; then
	trap 'psql "$PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1' EXIT
	sep='?'; [[ "$PG" == *\?* ]] && sep='&'
	bin/bench-netasset -db postgres -url "${PG}${sep}sslmode=disable&search_path=$schema" -apps "$APPS"
else
	echo "PostgreSQL at $PG unreachable: skipped" >&2
fi
echo
bin/bench-netasset -policies -projects "$PROJECTS"
