#!/usr/bin/env bash
# Audit trail benchmark: append rate and Verify time on SQLite and PostgreSQL.
#   bench/audit/run.sh                 # 1,000,000 records on each database
#   N=100000 bench/audit/run.sh        # fewer
# PostgreSQL: BERTH_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# a fresh schema is created and dropped. Skipped with a message when unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
BATCH=${BATCH:-1000}
SINGLE=${SINGLE:-5000}
export PGOPTIONS="--client-min-messages=warning"
PG=${BERTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
go build -o bin/bench-audit ./bench/audit
echo "| database | records | bulk append | single-record append | verify |"
echo "|---|---|---|---|---|"
bin/bench-audit -db sqlite -n "$N" -batch "$BATCH" -single "$SINGLE"
schema="bench_audit_$$"
if psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null 2>&1; then
	trap 'psql "$PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null' EXIT
	sep='?'; [[ "$PG" == *\?* ]] && sep='&'
	bin/bench-audit -db postgres -url "${PG}${sep}sslmode=disable&search_path=$schema" -n "$N" -batch "$BATCH" -single "$SINGLE"
else
	echo "PostgreSQL at $PG unreachable: skipped" >&2
fi
