#!/usr/bin/env bash
# make test: make sure the test PostgreSQL is there — 127.0.0.1:5432, user
# postgres with trust authentication from loopback, database "test" (see
# internal/store/storetest). In order: use a server that already answers;
# else start this machine's cluster; else install Debian's postgresql and
# start it. Then make sure trust authentication works for user postgres from
# 127.0.0.1 and that database "test" exists. Idempotent, and silent when
# there is nothing to do.
#
# Trust authentication lets any local process connect as the superuser: this
# is for a development or CI machine, never for one that holds real data.
#
# With BERTH_TEST_POSTGRES set the tests use that server instead, and this
# script does nothing.
set -euo pipefail

if [ -n "${BERTH_TEST_POSTGRES:-}" ]; then
	exit 0
fi

host=127.0.0.1
port=5432
db=test

say() { echo "postgres: $*"; }
die() {
	echo "postgres: $*" >&2
	echo "postgres: the tests need PostgreSQL at $host:$port (user postgres, trust, database $db), or BERTH_TEST_POSTGRES=postgres://…" >&2
	exit 1
}

# as_root runs a command as root: directly when we are root, else through
# sudo when it is there.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# listening reports whether something accepts TCP connections on the port.
listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

ready() {
	if command -v pg_isready >/dev/null; then
		pg_isready -q -h "$host" -p "$port"
	else
		listening
	fi
}

# wait_ready polls the server for up to 60 seconds.
wait_ready() {
	local deadline=$((SECONDS + 60))
	until ready; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			die "no answer at $host:$port 60 s after starting it${1:+ (log: $1)}"
		fi
		sleep 0.2
	done
}

install() {
	say "installing Debian's postgresql package ($1)"
	command -v apt-get >/dev/null || die "PostgreSQL is missing and there is no apt-get to install it"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# cluster prints "version name" of the local cluster on our port, or of the
# first one when none is configured for it; nothing when there is none.
cluster() {
	command -v pg_lsclusters >/dev/null || return 0
	pg_lsclusters -h | awk -v port="$port" '
		$3 == port { print $1, $2; found = 1; exit }
		NR == 1 { first = $1 " " $2 }
		END { if (!found && first != "") print first }'
}

start_cluster() {
	local ver name cport
	read -r ver name <<<"$1"
	cport=$(pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n { print $3 }')
	if [ "$cport" != "$port" ]; then
		die "this machine's PostgreSQL cluster $ver/$name listens on port $cport, not $port"
	fi
	say "starting the PostgreSQL cluster $ver/$name"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
	wait_ready "/var/log/postgresql/postgresql-$ver-$name.log"
}

# create_cluster creates cluster "main" of the newest installed version
# (the package does that itself unless told not to).
create_cluster() {
	local ver
	ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
	[ -n "$ver" ] || die "the postgresql package left no server under /usr/lib/postgresql"
	say "creating the PostgreSQL cluster $ver/main"
	as_root pg_createcluster --port "$port" "$ver" main >/dev/null
}

psql_as_postgres() {
	psql -X -q -w -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres "$@"
}

# trust adds trust authentication for user postgres from loopback to the
# local cluster, ahead of every other rule, and reloads it.
trust() {
	local ver name hba
	read -r ver name <<<"$1"
	hba=/etc/postgresql/$ver/$name/pg_hba.conf
	[ -f "$hba" ] || die "user postgres cannot connect without a password, and $hba is not there to allow it"
	say "allowing user postgres from loopback without a password ($hba)"
	as_root sed -i "1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust" "$hba"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
}

if ! ready; then
	c=$(cluster)
	if [ -z "$c" ]; then
		install postgresql
		c=$(cluster)
	fi
	if [ -z "$c" ]; then
		create_cluster
		c=$(cluster)
	fi
	if ! ready; then
		start_cluster "$c"
	fi
fi

command -v psql >/dev/null || install postgresql-client

if ! psql_as_postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
	c=$(cluster)
	[ -n "$c" ] || die "user postgres cannot connect without a password, and the server is not a cluster of this machine"
	trust "$c"
	deadline=$((SECONDS + 30))
	until psql_as_postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			psql_as_postgres -d postgres -tAc 'SELECT 1' || true
			die "user postgres still cannot connect without a password"
		fi
		sleep 0.2
	done
fi

has_db() { [ "$(psql_as_postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ]; }
if ! has_db; then
	say "creating database $db"
	# Another make test may create it at the same moment: then it exists.
	psql_as_postgres -d postgres -c "CREATE DATABASE $db" >/dev/null 2>&1 || has_db || die "cannot create database $db"
fi
