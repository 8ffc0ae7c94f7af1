#!/usr/bin/env bash
# make bench: run every benchmark under bench/ (each has a run.sh), in one go
# on this machine. BENCH=name runs only bench/name. Results print as Markdown
# for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in bench/*/run.sh; do
	name=$(basename "$(dirname "$script")")
	if [ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ]; then
		continue
	fi
	echo "## bench/$name"
	"$script"
	echo
done
