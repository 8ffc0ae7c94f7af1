#!/usr/bin/env bash
# bench/gateway/run.sh: Berth gateway against nginx (Debian package), in one
# go on this machine, in front of the same backend, with the same route
# (/api on bank.example) and the same header-based gray split
# (X-Org-Branch: 0101 -> gray, anything else -> stable), driven by wrk.
#
# For each layout of the processes on the cores (LAYOUTS, default both):
#
#   shared  wrk, the backend and the proxy share every core, unpinned; the
#           proxies get WORKERS workers (nginx worker_processes, Berth
#           GOMAXPROCS), wrk THREADS threads.
#   pinned  the proxy alone on the last core (taskset), wrk and the backend
#           on the others; the proxies get one worker each (nginx
#           worker_processes 1, Berth GOMAXPROCS=1), wrk one thread and the
#           backend GOMAXPROCS=1. This is how a proxy's added latency is
#           usually measured: the load generator's and the backend's own
#           scheduling then fall alike on the direct and the proxied runs,
#           and what differs is the proxy. Needs at least 2 cores.
#
# it measures:
#   1. maximum throughput: wrk with CONNS connections for DURATION s, half the
#      requests carrying the gray branch;
#   2. at a fixed rate of half nginx's maximum (wrk paced by its delay() hook,
#      see paced.lua below): p99 latency,
#      p99 added over the backend alone at the same rate, and proxy CPU time
#      per request (utime+stime from /proc of the proxy's processes).
#
# Installs nginx and wrk with apt-get if missing. nginx runs with its own
# configuration on a free loopback port, as a child process of this script
# (daemon off), and is stopped at the end. Prints a Markdown table per layout
# and writes them to bench/results/gateway-<time>.md.
#
# Each figure is the median of ROUNDS runs, the targets taking turns (backend,
# nginx, Berth, backend, ...) so that load from other processes on the
# machine falls on all of them alike.
#
# Fairness: within a layout nginx and Berth get the same number of workers
# and the same cores; both keep connections to the backend alive; access
# logs are off for both, error logs at warn.
#
# Environment: DURATION (s per run, default 10), ROUNDS (default 3), THREADS
# (wrk threads in the shared layout, default 2), CONNS (connections for the
# maximum, default 64), PACE_MS (default 5), WORKERS (shared layout, default
# nproc), FRONT_END (Berth's --http1-front-end, default fast), LAYOUTS
# (default "shared pinned").
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PACE_MS=${PACE_MS:-5}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-$(nproc)}
FRONT_END=${FRONT_END:-fast}
LAYOUTS=${LAYOUTS:-shared pinned}

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi

work=$(mktemp -d /tmp/berth-bench-gateway.XXXXXX)
chmod 755 "$work"
pids=()
stop_targets() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	stop_targets
	rm -rf "$work"
}
trap cleanup EXIT

echo "building berth and the backend..." >&2
go build -o "$work/berth" ./cmd/berth
go build -o "$work/backend" ./bench/gateway/backend
read -r P_STABLE P_GRAY P_BERTH P_NGINX <<<"$("$work/backend" -free-ports 4 | tr '\n' ' ')"

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

mkdir -p "$work/nginx/tmp"
chmod 777 "$work/nginx/tmp"
write_nginx_conf() { # workers
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $1;
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
}

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

# start_targets layout: starts the backend, Berth and nginx laid out on the
# cores as the layout says; sets BACKEND_PID BERTH_PID NGINX_PID, WRK (the
# wrk command line prefix) and LAYOUT_NOTE.
start_targets() {
	local load="" proxy="" workers=$WORKERS backend_procs="" last
	WRK="wrk -t$THREADS" WRK_THREADS=$THREADS
	LAYOUT_NOTE="wrk -t$THREADS, nginx $WORKERS workers, Berth GOMAXPROCS=$WORKERS, backend default GOMAXPROCS; nothing pinned"
	if [ "$1" = pinned ]; then
		last=$(($(nproc) - 1))
		load="taskset -c 0-$((last - 1))" proxy="taskset -c $last" workers=1 backend_procs=1
		WRK="$load wrk -t1" WRK_THREADS=1
		LAYOUT_NOTE="proxy alone on CPU $last (nginx 1 worker, Berth GOMAXPROCS=1); wrk -t1 and the backend (GOMAXPROCS=1) on CPU 0-$((last - 1))"
	fi
	GOMAXPROCS=$backend_procs $load "$work/backend" -stable "127.0.0.1:$P_STABLE" -gray "127.0.0.1:$P_GRAY" &
	pids+=($!)
	BACKEND_PID=$!
	GOMAXPROCS=$workers $proxy "$work/berth" gateway --config "$work/gateway.yaml" --listen "127.0.0.1:$P_BERTH" \
		--admin-listen "" --access-log off --log-level warn --http1-front-end "$FRONT_END" >"$work/berth.log" 2>&1 &
	pids+=($!)
	BERTH_PID=$!
	write_nginx_conf "$workers"
	$proxy nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
	pids+=($!)
	NGINX_PID=$!
	wait_up "http://127.0.0.1:$P_STABLE/api/accounts"
	wait_up "http://127.0.0.1:$P_BERTH/api/accounts"
	wait_up "http://127.0.0.1:$P_NGINX/api/accounts"
	check_split "http://127.0.0.1:$P_BERTH"
	check_split "http://127.0.0.1:$P_NGINX"
}

cat >"$work/split.lua" <<'EOF'
local reqs, i = {}, 0
function init(args)
  reqs[1] = wrk.format("GET", "/api/accounts", {["Host"] = "bank.example", ["X-Org-Branch"] = "0101"})
  reqs[2] = wrk.format("GET", "/api/accounts", {["Host"] = "bank.example", ["X-Org-Branch"] = "0202"})
end
function request() i = i + 1; return reqs[(i % 2) + 1] end
EOF
# The fixed rate: each wrk thread hands out send times PERIOD ms apart (its
# share of the rate) to whichever of its connections is free, so the rate
# holds whatever the latency (a plain "wait N ms between requests" falls
# short by the latency and sends in bursts). wrk's timers have 1 ms
# resolution; a thread that falls more than 20 ms behind does not burst to
# catch up, and the achieved rate is reported.
{
	cat "$work/split.lua"
	cat <<'EOF'
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } berth_timespec;
int clock_gettime(int clk, berth_timespec *ts);
]]
local ts = ffi.new("berth_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
end
local period, slot
local split_init = init
function init(args)
  split_init(args)
  period = 1000 / tonumber(args[1])
end
function delay()
  local t = now_ms()
  if slot == nil or slot < t - 20 then slot = t end
  slot = slot + period
  if slot <= t then return 0 end
  return slot - t
end
EOF
} >"$work/paced.lua"

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
# wrk_run name pid url script conns [script args] -> sets RPS P99 (ms) REQS CPU_US USER_US SYS_US (per request)
wrk_run() {
	local name=$1 pid=$2 url=$3 script=$4 conns=$5 u1 s1 u2 s2 out
	shift 5
	$WRK -c"$conns" -d2s -s "$script" "$url" "$@" >/dev/null # warm up
	read -r u1 s1 <<<"$(cpu_ticks "$pid")"
	out=$($WRK -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url" "$@")
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
declare -A RES
record() { # key
	RES[$1-rps]+=" $RPS"
	RES[$1-p99]+=" $P99"
	RES[$1-cpu]+=" $CPU_US"
	RES[$1-user]+=" $USER_US"
	RES[$1-sys]+=" $SYS_US"
}
med() { echo "${RES[$1]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
sub_ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }

# run_layout layout: measures the three targets in that layout and prints
# its Markdown table.
run_layout() {
	local L=$1
	RES=()
	start_targets "$L"
	local load_before load_after
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "[$L] maximum throughput ($ROUNDS rounds of $DURATION s per target, $CONNS connections)..." >&2
	for r in $(seq "$ROUNDS"); do
		wrk_run "$L-direct-max-$r" "$BACKEND_PID" "http://127.0.0.1:$P_STABLE/api/accounts" "$work/split.lua" "$CONNS" && record direct-max
		wrk_run "$L-nginx-max-$r" "$NGINX_PID" "http://127.0.0.1:$P_NGINX/api/accounts" "$work/split.lua" "$CONNS" && record nginx-max
		wrk_run "$L-berth-max-$r" "$BERTH_PID" "http://127.0.0.1:$P_BERTH/api/accounts" "$work/split.lua" "$CONNS" && record berth-max
	done
	local D_MAX N_MAX B_MAX
	D_MAX=$(med direct-max-rps) N_MAX=$(med nginx-max-rps) B_MAX=$(med berth-max-rps)

	local RATE=$((N_MAX / 2)) PACED_CONNS
	PACED_CONNS=$((RATE * PACE_MS / 1000))
	[ "$PACED_CONNS" -ge "$WRK_THREADS" ] || PACED_CONNS=$WRK_THREADS
	local PER_THREAD=$((RATE / WRK_THREADS))
	echo "[$L] fixed rate $RATE req/s ($PACED_CONNS connections, at most one request per ${PACE_MS} ms on each)..." >&2
	for r in $(seq "$ROUNDS"); do
		wrk_run "$L-direct-half-$r" "$BACKEND_PID" "http://127.0.0.1:$P_STABLE/api/accounts" "$work/paced.lua" "$PACED_CONNS" "$PER_THREAD" && record direct-half
		wrk_run "$L-nginx-half-$r" "$NGINX_PID" "http://127.0.0.1:$P_NGINX/api/accounts" "$work/paced.lua" "$PACED_CONNS" "$PER_THREAD" && record nginx-half
		wrk_run "$L-berth-half-$r" "$BERTH_PID" "http://127.0.0.1:$P_BERTH/api/accounts" "$work/paced.lua" "$PACED_CONNS" "$PER_THREAD" && record berth-half
	done
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)
	stop_targets

	local D_P99 N_P99 B_P99
	D_P99=$(med direct-half-p99) N_P99=$(med nginx-half-p99) B_P99=$(med berth-half-p99)
	echo "### Layout: $L"
	echo
	echo "$LAYOUT_NOTE; load average before $load_before, after $load_after."
	echo
	echo "| measure | backend alone | nginx | Berth gateway | Berth / nginx |"
	echo "|---|---|---|---|---|"
	echo "| max throughput, req/s ($CONNS conns) | $D_MAX | $N_MAX | $B_MAX | $(ratio "$B_MAX" "$N_MAX") |"
	echo "| p99 at max, ms | | $(med nginx-max-p99) | $(med berth-max-p99) | |"
	echo "| proxy CPU per request at max, µs | | $(med nginx-max-cpu) | $(med berth-max-cpu) | $(ratio "$(med berth-max-cpu)" "$(med nginx-max-cpu)") |"
	echo "| … of which user / system, µs | | $(med nginx-max-user) / $(med nginx-max-sys) | $(med berth-max-user) / $(med berth-max-sys) | |"
	echo "| fixed rate (half nginx max), achieved req/s | $(med direct-half-rps) | $(med nginx-half-rps) | $(med berth-half-rps) | |"
	echo "| proxy CPU per request at fixed rate, µs | | $(med nginx-half-cpu) | $(med berth-half-cpu) | $(ratio "$(med berth-half-cpu)" "$(med nginx-half-cpu)") |"
	echo "| p99 at fixed rate, ms | $D_P99 | $N_P99 | $B_P99 | |"
	echo "| p99 added over backend at fixed rate, ms | | $(sub_ms "$N_P99" "$D_P99") | $(sub_ms "$B_P99" "$D_P99") | |"
	echo
	echo "Each round (backend / nginx / Berth): max req/s${RES[direct-max-rps]} /${RES[nginx-max-rps]} /${RES[berth-max-rps]};"
	echo "fixed-rate p99, ms${RES[direct-half-p99]} /${RES[nginx-half-p99]} /${RES[berth-half-p99]}."
	echo
}

mkdir -p bench/results
result="bench/results/gateway-$(date -u +%Y%m%dT%H%M%SZ).md"
# The tables go to the terminal and the result file; the targets run in this
# shell, so that the exit trap stops them.
exec 3>&1 > >(tee "$result")
echo "Berth gateway vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown);"
echo "medians of $ROUNDS alternating runs of ${DURATION}s; --http1-front-end $FRONT_END; fixed rate held by send times spread evenly per wrk thread."
echo
for L in $LAYOUTS; do
	if [ "$L" = pinned ] && [ "$(nproc)" -lt 2 ]; then
		echo "layout pinned needs at least 2 cores; skipped" >&2
		continue
	fi
	run_layout "$L"
done
exec >&3
sleep 0.2 # let tee finish
echo >&2
echo "written to $result" >&2
