#!/usr/bin/env bash
# make test and make run: make sure Debian's prometheus and
# prometheus-alertmanager are installed, so the alert tests (internal/promtest)
# and `make run` can start their own Prometheus and Alertmanager on free
# loopback ports with their own configuration and data directories. The
# system services the packages ship are never used. Idempotent, and silent
# when both are there.
set -euo pipefail

if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && [ -x /usr/bin/prometheus-alertmanager ]; then
	exit 0
fi
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "prometheus: need root (or sudo) to run: $*" >&2
		exit 1
	fi
}
echo "prometheus: installing Debian's prometheus and prometheus-alertmanager"
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
fi
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
	--no-install-recommends prometheus prometheus-alertmanager >/dev/null
for b in /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager; do
	[ -x "$b" ] || { echo "prometheus: $b is still missing after apt-get install" >&2; exit 1; }
done
