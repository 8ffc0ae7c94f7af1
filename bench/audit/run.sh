#!/usr/bin/env bash
# Audit trail benchmark: append rate and Verify time on SQLite and PostgreSQL,
# then audited changes/s of concurrent writers, each committing alone and with
# group commit.
#   bench/audit/run.sh                 # 1,000,000 records on each database, 32 writers
#   N=100000 WRITERS=8 bench/audit/run.sh
# PostgreSQL: BERTH_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# a fresh schema is created and dropped. Skipped with a message when unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
BATCH=${BATCH:-1000}
SINGLE=${SINGLE:-5000}
WRITERS=${WRITERS:-32}
CHANGES=${CHANGES:-200}
export PGOPTIONS="--client-min-messages=warning"
PG=${BERTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
go build -o bin/bench-audit ./bench/audit
pg() { # pg args…: run bench-audit on a fresh schema
	local schema="bench_audit_$$_$RANDOM" sep='?'
	[[ "$PG" == *\?* ]] && sep='&'
	local rc=0
	psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null
	bin/bench-audit -db postgres -url "${PG}${sep}sslmode=disable&search_path=$schema" "$@" || rc=$?
	psql "$PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
	return $rc
}
havepg=1
psql "$PG" -qc "SELECT 1" >/dev/null 2>&1 || { havepg=0; echo "PostgreSQL at $PG unreachable: skipped" >&2; }

echo "| database | records | bulk append | single-record append | verify |"
echo "|---|---|---|---|---|"
bin/bench-audit -db sqlite -n "$N" -batch "$BATCH" -single "$SINGLE"
if ((havepg)); then pg -n "$N" -batch "$BATCH" -single "$SINGLE"; fi

echo
echo "| database | path | writers | changes per run | each commits alone | group commit | speed-up |"
echo "|---|---|---|---|---|---|---|"
bin/bench-audit -db sqlite -writers "$WRITERS" -changes "$CHANGES"
if ((havepg)); then pg -writers "$WRITERS" -changes "$CHANGES"; fi
