#!/usr/bin/env bash
# make build / make test: build the console (web/) into web/dist, which
# `go build` embeds (web/embed.go). npm ci runs from the lockfile when
# node_modules is missing or older than the lockfile; the build runs when
# the console's sources changed since the last one (a hash kept beside dist).
# Playwright never downloads a browser here: the journeys drive Debian's
# chromium (scripts/chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/../web"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

command -v npm >/dev/null || { echo "web: npm is needed to build the console (Node.js 20)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "web: npm ci"
	npm ci --no-audit --no-fund --loglevel=error
fi
sum=$(cat package-lock.json index.html vite.config.ts tsconfig.json $(find src -type f | sort) | sha256sum | cut -c1-16)
if [ -f dist/index.html ] && [ "$(cat node_modules/.berth-dist 2>/dev/null)" = "$sum" ]; then
	exit 0
fi
echo "web: building the console"
npx tsc -b
npx vite build --logLevel warn
touch dist/.keep
echo "$sum" > node_modules/.berth-dist
