#!/usr/bin/env bash
# make test and make run: Debian's Maven and the plugins a jar build needs,
# from Debian's packaged repository (/usr/share/maven-repo), so maven
# builds of pipelines run offline (internal/pipeline/local: mvn -o with a
# settings.xml naming that repository). Install them with apt when missing.
set -euo pipefail
packages=(maven default-jdk-headless libmaven-resources-plugin-java libmaven-compiler-plugin-java
	libmaven-jar-plugin-java libsurefire-java libmaven-dependency-plugin-java)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi
echo "maven: installing Debian's ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
if ! apt-cache policy "${missing[0]}" 2>/dev/null | grep -q Candidate; then
	$sudo apt-get update -q
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
command -v mvn >/dev/null || { echo "maven: mvn still missing after apt-get install" >&2; exit 1; }
