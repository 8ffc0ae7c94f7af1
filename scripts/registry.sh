#!/usr/bin/env bash
# make test, make run and make image: Debian's docker-registry (the distribution
# registry) is the local OCI registry images are pushed to. Install it with
# apt when it is missing.
set -euo pipefail
if command -v docker-registry >/dev/null; then
	exit 0
fi
echo "registry: installing Debian's docker-registry"
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q docker-registry
command -v docker-registry >/dev/null || { echo "registry: docker-registry is still missing after apt-get install" >&2; exit 1; }
