#!/usr/bin/env bash
# API list latency with 10,000 applications in one project, on SQLite and
# PostgreSQL: a real server on loopback, bearer token, authorization on
# every request. Figures are p50 / p99.
#   bench/api/run.sh              # 10,000 applications
#   N=1000 bench/api/run.sh       # fewer
# PostgreSQL: BERTH_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# a fresh schema is created and dropped. Skipped with a message when unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-10000}
REQUESTS=${REQUESTS:-2000}
PG=${BERTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
go build -o bin/bench-api ./bench/api
echo "| database | applications | first page, limit 100 | page at a random position, limit 100 | whole list, 10 pages of 1000 |"
echo "|---|---|---|---|---|"
bin/bench-api -db sqlite -n "$N" -requests "$REQUESTS"
schema="bench_api_$$"
if psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null 2>&1; then
	trap 'psql "$PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1' EXIT
	sep='?'; [[ "$PG" == *\?* ]] && sep='&'
	bin/bench-api -db postgres -url "${PG}${sep}sslmode=disable&search_path=$schema" -n "$N" -requests "$REQUESTS"
else
	echo "PostgreSQL at $PG unreachable: skipped" >&2
fi
