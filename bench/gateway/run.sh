#!/usr/bin/env bash
# bench/gateway/run.sh: Berth gateway against nginx (Debian package), in one
# go on this machine, in front of the same backend, with the same route
# (/api on bank.example) and the same header-based gray split
# (X-Org-Branch: 0101 -> gray, anything else -> stable), driven by wrk.
#
#   1. maximum throughput: wrk -t$THREADS -c$CONNS for $DURATION s, half the
#      requests carrying the gray branch;
#   2. at a fixed rate of half nginx's maximum (wrk paced by its delay() hook:
#      every connection waits $PACE_MS ms between requests): p99 latency,
#      p99 added over the backend alone at the same rate, and proxy CPU time
#      per request (utime+stime from /proc of the proxy's processes).
#
# Installs nginx and wrk with apt-get if missing. nginx runs with its own
# configuration on a free loopback port, as a child process of this script
# (daemon off), and is stopped at the end. Prints a Markdown table and writes
# it to bench/results/gateway-<time>.md.
#
# Each figure is the median of ROUNDS runs, the targets taking turns (backend,
# nginx, Berth, backend, ...) so that load from other processes on the
# machine falls on all of them alike.
#
# Fairness: nginx gets WORKERS worker processes and Berth GOMAXPROCS=WORKERS
# (default: the number of cores); both keep connections to the backend alive;
# access logs are off for both, error logs at warn; wrk is not pinned, for
# any target.
#
# Environment: DURATION (s per run, default 10), ROUNDS (default 3), THREADS
# (wrk threads, default 2), CONNS (connections for the maximum, default 64),
# PACE_MS (default 5), WORKERS (default nproc), FRONT_END (Berth's
# --http1-front-end, default fast).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PACE_MS=${PACE_MS:-5}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-$(nproc)}
FRONT_END=${FRONT_END:-fast}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi

work=$(mktemp -d /tmp/berth-bench-gateway.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

echo "building berth and the backend..." >&2
go build -o "$work/berth" ./cmd/berth
go build -o "$work/backend" ./bench/gateway/backend
read -r P_STABLE P_GRAY P_BERTH P_NGINX <<<"$("$work/backend" -free-ports 4 | tr '\n' ' ')"

"$work/backend" -stable "127.0.0.1:$P_STABLE" -gray "127.0.0.1:$P_GRAY" &
pids+=($!)
BACKEND_PID=$!

cat >"$work/gateway.yaml" <<EOF
routes:
  - name: api
    host: bank.example
    pathPrefix: /api
    app: accounts
apps:
  - name: accounts
    stable: {addresses: ["127.0.0.1:$P_STABLE"]}
    gray: {addresses: ["127.0.0.1:$P_GRAY"]}
    traffic:
      match:
        - headers: [{header: X-Org-Branch, values: ["0101"]}]
EOF
GOMAXPROCS=$WORKERS "$work/berth" gateway --config "$work/gateway.yaml" --listen "127.0.0.1:$P_BERTH" \
	--admin-listen "" --access-log off --log-level warn --http1-front-end "$FRONT_END" >"$work/berth.log" 2>&1 &
pids+=($!)
BERTH_PID=$!

mkdir -p "$work/nginx/tmp"
chmod 777 "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $WORKERS;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    upstream stable { server 127.0.0.1:$P_STABLE; keepalive 512; }
    upstream gray   { server 127.0.0.1:$P_GRAY;   keepalive 512; }
    map \$http_x_org_branch \$pool { default stable; "0101" gray; }
    server {
        listen 127.0.0.1:$P_NGINX;
        server_name bank.example;
        location /api {
            proxy_pass http://\$pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
NGINX_PID=$!

wait_up() { # url
	for _ in $(seq 100); do
		curl -fsS -o /dev/null -H 'Host: bank.example' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "not up: $1" >&2
	return 1
}
check_split() { # base url
	local g s
	g=$(curl -fsS -H 'Host: bank.example' -H 'X-Org-Branch: 0101' "$1/api/accounts")
	s=$(curl -fsS -H 'Host: bank.example' -H 'X-Org-Branch: 0202' "$1/api/accounts")
	if [ "$g" != "hello from gray" ] || [ "$s" != "hello from stable" ]; then
		echo "gray split wrong at $1: '$g' / '$s'" >&2
		return 1
	fi
}
wait_up "http://127.0.0.1:$P_STABLE/api/accounts"
wait_up "http://127.0.0.1:$P_BERTH/api/accounts"
wait_up "http://127.0.0.1:$P_NGINX/api/accounts"
check_split "http://127.0.0.1:$P_BERTH"
check_split "http://127.0.0.1:$P_NGINX"

cat >"$work/split.lua" <<'EOF'
local reqs, i = {}, 0
function init(args)
  reqs[1] = wrk.format("GET", "/api/accounts", {["Host"] = "bank.example", ["X-Org-Branch"] = "0101"})
  reqs[2] = wrk.format("GET", "/api/accounts", {["Host"] = "bank.example", ["X-Org-Branch"] = "0202"})
end
function request() i = i + 1; return reqs[(i % 2) + 1] end
EOF
{ cat "$work/split.lua"; echo "function delay() return $PACE_MS end"; } >"$work/paced.lua"

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # pid: "utime stime" of it and its children, in clock ticks
	local u=0 s=0 p a b
	for p in "$1" $(pgrep -P "$1" || true); do
		[ -r "/proc/$p/stat" ] || continue
		read -r a b < <(awk '{sub(/^.*\) /, ""); print $12, $13}' "/proc/$p/stat")
		u=$((u + a)) s=$((s + b))
	done
	echo "$u $s"
}
# wrk_run name pid url script conns -> sets RPS P99 (ms) REQS CPU_US USER_US SYS_US (per request)
wrk_run() {
	local name=$1 pid=$2 url=$3 script=$4 conns=$5 u1 s1 u2 s2 out
	wrk -t"$THREADS" -c"$conns" -d2s -s "$script" "$url" >/dev/null # warm up
	read -r u1 s1 <<<"$(cpu_ticks "$pid")"
	out=$(wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url")
	read -r u2 s2 <<<"$(cpu_ticks "$pid")"
	mkdir -p "$work/wrk"
	echo "$out" >"$work/wrk/$name.txt"
	RPS=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
	REQS=$(awk '/requests in/ {print $1}' <<<"$out")
	P99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.3f", v}' <<<"$out")
	per_req() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$REQS" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}'; }
	CPU_US=$(per_req $((u2 - u1 + s2 - s1)))
	USER_US=$(per_req $((u2 - u1)))
	SYS_US=$(per_req $((s2 - s1)))
	local errs
	errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
	[ -z "$errs" ] || echo "$name: $errs" >&2
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# measure target phase: runs wrk_run $ROUNDS times, appending to arrays, alternating targets is done by the caller
declare -A RES
record() { # key
	RES[$1-rps]+=" $RPS"
	RES[$1-p99]+=" $P99"
	RES[$1-cpu]+=" $CPU_US"
	RES[$1-user]+=" $USER_US"
	RES[$1-sys]+=" $SYS_US"
}
med() { echo "${RES[$1]}" | median; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "maximum throughput ($ROUNDS rounds of $DURATION s per target, $CONNS connections)..." >&2
for r in $(seq "$ROUNDS"); do
	wrk_run "direct-max-$r" "$BACKEND_PID" "http://127.0.0.1:$P_STABLE/api/accounts" "$work/split.lua" "$CONNS" && record direct-max
	wrk_run "nginx-max-$r" "$NGINX_PID" "http://127.0.0.1:$P_NGINX/api/accounts" "$work/split.lua" "$CONNS" && record nginx-max
	wrk_run "berth-max-$r" "$BERTH_PID" "http://127.0.0.1:$P_BERTH/api/accounts" "$work/split.lua" "$CONNS" && record berth-max
done
D_MAX=$(med direct-max-rps)
N_MAX=$(med nginx-max-rps) N_MAX_P99=$(med nginx-max-p99) N_MAX_CPU=$(med nginx-max-cpu)
N_MAX_USER=$(med nginx-max-user) N_MAX_SYS=$(med nginx-max-sys)
B_MAX=$(med berth-max-rps) B_MAX_P99=$(med berth-max-p99) B_MAX_CPU=$(med berth-max-cpu)
B_MAX_USER=$(med berth-max-user) B_MAX_SYS=$(med berth-max-sys)

RATE=$((N_MAX / 2))
PACED_CONNS=$((RATE * PACE_MS / 1000))
[ "$PACED_CONNS" -ge "$THREADS" ] || PACED_CONNS=$THREADS
echo "fixed rate ~$RATE req/s ($PACED_CONNS connections, ${PACE_MS} ms between requests)..." >&2
for r in $(seq "$ROUNDS"); do
	wrk_run "direct-half-$r" "$BACKEND_PID" "http://127.0.0.1:$P_STABLE/api/accounts" "$work/paced.lua" "$PACED_CONNS" && record direct-half
	wrk_run "nginx-half-$r" "$NGINX_PID" "http://127.0.0.1:$P_NGINX/api/accounts" "$work/paced.lua" "$PACED_CONNS" && record nginx-half
	wrk_run "berth-half-$r" "$BERTH_PID" "http://127.0.0.1:$P_BERTH/api/accounts" "$work/paced.lua" "$PACED_CONNS" && record berth-half
done
D_RPS=$(med direct-half-rps) D_P99=$(med direct-half-p99)
N_RPS=$(med nginx-half-rps) N_P99=$(med nginx-half-p99) N_CPU=$(med nginx-half-cpu)
B_RPS=$(med berth-half-rps) B_P99=$(med berth-half-p99) B_CPU=$(med berth-half-cpu)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
sub_ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }
mkdir -p bench/results
result="bench/results/gateway-$(date -u +%Y%m%dT%H%M%SZ).md"
{
	echo "Berth gateway vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ);"
	echo "wrk -t$THREADS, medians of $ROUNDS alternating runs of ${DURATION}s; nginx $WORKERS workers, Berth GOMAXPROCS=$WORKERS, --http1-front-end $FRONT_END;"
	echo "load average before $load_before, after $load_after."
	echo
	echo "| measure | backend alone | nginx | Berth gateway | Berth / nginx |"
	echo "|---|---|---|---|---|"
	echo "| max throughput, req/s ($CONNS conns) | $D_MAX | $N_MAX | $B_MAX | $(ratio "$B_MAX" "$N_MAX") |"
	echo "| p99 at max, ms | | $N_MAX_P99 | $B_MAX_P99 | |"
	echo "| proxy CPU per request at max, µs | | $N_MAX_CPU | $B_MAX_CPU | $(ratio "$B_MAX_CPU" "$N_MAX_CPU") |"
	echo "| … of which user / system, µs | | $N_MAX_USER / $N_MAX_SYS | $B_MAX_USER / $B_MAX_SYS | |"
	echo "| fixed rate (half nginx max), achieved req/s | $D_RPS | $N_RPS | $B_RPS | |"
	echo "| proxy CPU per request at fixed rate, µs | | $N_CPU | $B_CPU | $(ratio "$B_CPU" "$N_CPU") |"
	echo "| p99 at fixed rate, ms | $D_P99 | $N_P99 | $B_P99 | |"
	echo "| p99 added over backend at fixed rate, ms | | $(sub_ms "$N_P99" "$D_P99") | $(sub_ms "$B_P99" "$D_P99") | |"
} | tee "$result"
echo >&2
echo "written to $result" >&2
