#!/usr/bin/env bash
# Compare two builds of bench/audit on concurrent writers, taking turns so a
# shared, noisy machine disturbs both alike; prints each run's rows with the
# load average before it. Group commit only (-alone=false).
#   git worktree add /tmp/before main && (cd /tmp/before && go build -o /tmp/bench-before ./bench/audit)
#   go build -o /tmp/bench-after ./bench/audit
#   bench/audit/compare.sh /tmp/bench-before /tmp/bench-after 12 postgres
# PostgreSQL: BERTH_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
# each run gets a fresh schema, dropped after it.
set -euo pipefail
BEFORE=$1 AFTER=$2 RUNS=${3:-5} DB=${4:-postgres}
WRITERS=${WRITERS:-32} CHANGES=${CHANGES:-200}
PG=${BERTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
export PGOPTIONS="--client-min-messages=warning"
one() { # binary
	if [[ $DB != postgres ]]; then
		"$1" -db sqlite -writers "$WRITERS" -changes "$CHANGES" -alone=false
		return
	fi
	local schema="bench_compare_$$_$RANDOM" sep='?' rc=0
	[[ "$PG" == *\?* ]] && sep='&'
	psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null
	"$1" -db postgres -url "${PG}${sep}sslmode=disable&search_path=$schema" -writers "$WRITERS" -changes "$CHANGES" -alone=false || rc=$?
	psql "$PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
	return $rc
}
for i in $(seq "$RUNS"); do
	for b in "$BEFORE" "$AFTER"; do
		echo "# run $i $(basename "$b") load $(cut -d' ' -f1 /proc/loadavg)"
		one "$b"
	done
done
