#!/usr/bin/env bash
# make test: make sure Debian's slapd is installed, so the single sign-on
# tests can start their own OpenLDAP server (internal/sso/ldap/slapdtest
# starts one per test binary on a free loopback port from a temporary
# configuration; it never touches the system's slapd). Idempotent, and
# silent when slapd is there.
set -euo pipefail

if command -v slapd >/dev/null || [ -x /usr/sbin/slapd ]; then
	exit 0
fi
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "slapd: need root (or sudo) to run: $*" >&2
		exit 1
	fi
}
echo "slapd: installing Debian's slapd and ldap-utils"
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q slapd ldap-utils >/dev/null
