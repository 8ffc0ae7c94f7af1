#!/usr/bin/env bash
# make test: the browser journeys drive Debian's chromium through Playwright
# (web/playwright.config.ts). Install it with apt when it is missing; never
# download a browser build.
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
	exit 0
fi
echo "chromium: installing Debian's chromium for the browser journeys"
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
[ -x "$bin" ] || { echo "chromium: $bin is still missing after apt-get install" >&2; exit 1; }
