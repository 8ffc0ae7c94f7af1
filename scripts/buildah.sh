#!/usr/bin/env bash
# make test and make run: Debian's buildah builds the Dockerfiles of
# pipelines (internal/pipeline/local: buildah bud --isolation chroot
# --storage-driver vfs, no daemon). Install it with apt when it is missing.
set -euo pipefail
if command -v buildah >/dev/null; then
	exit 0
fi
echo "buildah: installing Debian's buildah"
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
if ! apt-cache policy buildah 2>/dev/null | grep -q Candidate; then
	$sudo apt-get update -q
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends buildah
command -v buildah >/dev/null || { echo "buildah: still missing after apt-get install" >&2; exit 1; }
