#!/usr/bin/env bash
# Side-by-side benchmark: Tandem against the reference ShareDB server (bench/server.js:
# sharedb 7.0.0, sharedb-mongo 6.0.0, sharedb-redis-pubsub 5.1.0), the same load from
# `tandem load` against both, in the same run.
#
#   bench/run.sh
#
# Starts redis-server (scripts/redis-test-server.sh) and the MongoDB-wire test server
# (scripts/mongo-test-server.sh), then for every scenario and system, on fresh server
# processes:
#
#   db      two Tandem instances (--store mongo, --redis-url) / two bench/server.js
#           instances (--mongo, --redis), all on that Redis and Mongo server (one database
#           per scenario and system); editors and viewers spread over the two instances
#   memory  one Tandem instance (--store memory, no Redis) / one bench/server.js (MemoryDB,
#           no Redis): the servers without the database
#
# Scenarios (rich-text documents):
#   a  1 doc, 20 editors, 5 ops/s each
#   b  100 docs, 200 editors, 1 op/s each
#   c  1 doc, 50 editors, rate 0 (each types again as soon as its op is acked: per-document
#      commit throughput)
#   d  2,000 idle editors on 100 docs (server memory per connection: VmRSS before and once
#      all are connected, each read after a forced GC in the server)
#   e  1 doc, 10 editors at 5 ops/s, 2,000 viewers (fan-out latency; Tandem's viewers hold
#      SSE streams, ShareDB's are subscribed WebSocket clients: it has no SSE)
#
# Everything it starts is stopped on exit, on failure and on Ctrl-C. Raw reports go to
# bench/results/<timestamp>/ (gitignored): <mode>-<scenario>-<system>.json (tandem load
# --json), .log (its output), .meta.json (server CPU and RSS), servers' logs, and
# results.md, the table this prints.
#
# Environment:
#   BENCH_DURATION=20s          measured phase of each run
#   BENCH_SCENARIOS="a b c d e" scenarios with the database
#   BENCH_MEMORY_SCENARIOS="a b c d e"  scenarios in memory ("" skips the memory runs)
#   BENCH_SYSTEMS="tandem sharedb"
#   BENCH_QUIET_TIMEOUT=30s     longest wait for everyone to catch up after a run
#   BENCH_TYPE=rich-text        or text-unicode
#   BENCH_PPROF=1               also take a CPU profile of (the first) Tandem instance
#                               during each measured phase: <run>.cpu.pprof
#   BENCH_OUT=DIR               results directory (default bench/results/<timestamp>)
#   BENCH_TESTER_GOGC=400       GOGC of the load tester
#
# A full run takes about 9–10 minutes on 2 vCPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/go/bin"

DURATION=${BENCH_DURATION:-20s}
SCENARIOS=${BENCH_SCENARIOS-a b c d e}
MEM_SCENARIOS=${BENCH_MEMORY_SCENARIOS-a b c d e}
SYSTEMS=${BENCH_SYSTEMS:-tandem sharedb}
QUIET=${BENCH_QUIET_TIMEOUT:-30s}
TYPE=${BENCH_TYPE:-rich-text}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ROOT/bench/results/$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TANDEM=$ROOT/bin/tandem
# The tester collects garbage less often (more memory, less CPU taken from the servers).
TESTER_GOGC=${BENCH_TESTER_GOGC:-400}
say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- everything started is stopped ----------------------------------------------------

PIDS=()          # server processes of the current run
LOAD_PID=""      # the running tandem load
DB_PIDS=()       # the Mongo and Redis servers
REDIS_URL=""
MONGO_URL=""
export TANDEM_MONGO_TEST_STATE="$OUT/mongo.state"

stop_servers() {
	local pid i
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $LOAD_PID ]]; then kill -TERM "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
	stop_servers
	if [[ -n $REDIS_URL ]]; then scripts/redis-test-server.sh stop "$REDIS_URL" >/dev/null 2>&1 || true; fi
	if [[ -n $MONGO_URL ]]; then scripts/mongo-test-server.sh stop >/dev/null 2>&1 || true; fi
	rm -f "$TANDEM_MONGO_TEST_STATE"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- what it needs ----------------------------------------------------------------------

command -v node >/dev/null || die "needs Node.js 20 (node)"
command -v go >/dev/null || die "needs Go 1.26 (go)"
apt_install() { # PACKAGE: install a Debian package (as root), updating the lists if needed
	say "installing $1"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2; }
}
command -v ss >/dev/null || apt_install iproute2
command -v curl >/dev/null || apt_install curl
if [[ ! -d bench/node_modules ]] || [[ bench/package-lock.json -nt bench/node_modules ]]; then
	say "npm ci in bench/"
	(cd bench && npm ci --no-audit --no-fund >&2)
fi
say "building bin/tandem"
mkdir -p bin
go build -trimpath -o "$TANDEM" ./cmd/tandem

# Thousands of sockets per process: server and tester both need descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge 8192 ]] || die "open-files limit $(ulimit -n) is too low for 2,000 connections per run (need 8192; raise the hard limit)"

if [[ -n $SCENARIOS ]]; then
	say "building and starting the MongoDB-wire test server; starting redis-server"
	scripts/mongo-test-server.sh build >/dev/null
	MONGO_URL=$(scripts/mongo-test-server.sh start)
	REDIS_URL=$(TANDEM_REDIS_TEST_WATCH_PID=$$ scripts/redis-test-server.sh start)
	say "mongo $MONGO_URL, redis $REDIS_URL"
	# Their processes, to account for the CPU they use in each run.
	DB_PIDS+=("$(sed -n 's/^pid=//p' "$TANDEM_MONGO_TEST_STATE")")
	redis_port=${REDIS_URL##*:}
	redis_port=${redis_port%%/*}
	DB_PIDS+=("$(cat "${TANDEM_REDIS_TEST_DIR:-${TMPDIR:-/tmp}/tandem-redis-test}/$redis_port/pid" 2>/dev/null || echo 0)")
fi

CLK_TCK=$(getconf CLK_TCK)

# free_port: a port below the ephemeral range (the tester's thousands of outgoing
# connections take ports from that range) with no socket on it in any state.
EPHEMERAL_LO=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p span=$((EPHEMERAL_LO > 12000 ? EPHEMERAL_LO - 10000 : 20000))
	for _ in $(seq 1 100); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		if ! ss -Htan "( sport = :$p )" | grep -q .; then echo "$p"; return; fi
	done
	die "no free port"
}

# wait_ready URL PID LOG: 0 once ready, 1 if the process exited (e.g. its port was taken).
wait_ready() {
	local i
	for i in $(seq 1 300); do
		curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	die "server $1 not ready within 30s (log $3)"
}

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() {
	local pid total=0 f
	for pid in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null || echo "0 0")
		total=$((total + ${f% *} + ${f#* }))
	done
	echo "$total"
}

# status_kib FIELD PID: a kB field of /proc/PID/status (VmRSS, VmHWM).
status_kib() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$2/status" 2>/dev/null || echo 0; }

# established PORT...: server-side established TCP connections on these ports.
established() {
	local n=0 p
	for p in "$@"; do n=$((n + $(ss -Htn state established "( sport = :$p )" | wc -l))); done
	echo "$n"
}

# ---- one run ------------------------------------------------------------------------------

SERVER_URLS=()
SERVER_PORTS=()
PPROF_ADDR=""
GC_URLS=()

# collect_garbage: a full GC in every server of the run (Tandem: pprof's heap?gc=1; node:
# bench/server.js /debug/gc under --expose-gc), then a moment for the runtimes to settle.
collect_garbage() {
	local u
	for u in "${GC_URLS[@]}"; do curl -fsS -o /dev/null "$u" 2>/dev/null || true; done
	sleep 1
}

# start_servers SYSTEM MODE N DBNAME RUN
start_servers() {
	local system=$1 mode=$2 n=$3 db=$4 run=$5 i port log pid args
	SERVER_URLS=() SERVER_PORTS=() PPROF_ADDR="" GC_URLS=()
	local attempt pp
	for i in $(seq 0 $((n - 1))); do
	  for attempt in 1 2 3; do
		port=$(free_port)
		log="$OUT/$run.server$i.log"
		if [[ $system == tandem ]]; then
			args=(serve --addr "127.0.0.1:$port" --max-connections-per-ip -1 --log-level warn)
			if [[ $mode == db ]]; then
				args+=(--store mongo --mongo-url "$MONGO_URL" --mongo-db "$db" --redis-url "$REDIS_URL")
			else
				args+=(--store memory)
			fi
			# pprof on every instance (loopback): CPU profiles, and a forced GC before
			# memory readings.
			pp="127.0.0.1:$(free_port)"
			args+=(--pprof-addr "$pp")
			"$TANDEM" "${args[@]}" >"$log" 2>&1 &
		else
			args=(bench/server.js --port "$port")
			if [[ $mode == db ]]; then
				args+=(--mongo "$MONGO_URL" --mongo-db "$db" --redis "$REDIS_URL")
			fi
			node --expose-gc "${args[@]}" >"$log" 2>&1 &
		fi
		pid=$!
		PIDS+=("$pid")
		if wait_ready "http://127.0.0.1:$port" "$pid" "$log"; then
			SERVER_URLS+=("http://127.0.0.1:$port")
			SERVER_PORTS+=("$port")
			if [[ $system == tandem ]]; then
				GC_URLS+=("http://$pp/debug/pprof/heap?gc=1")
				[[ -n ${BENCH_PPROF:-} && $i == 0 ]] && PPROF_ADDR=$pp
			else
				GC_URLS+=("http://127.0.0.1:$port/debug/gc")
			fi
			continue 2
		fi
		unset 'PIDS[-1]'
		wait "$pid" 2>/dev/null || true
		say "$run: instance $i exited during start-up (attempt $attempt):"
		tail -n 5 "$log" >&2
	  done
	  die "$run: instance $i could not be started (log $log)"
	done
}

# scenario_args SCENARIO SYSTEM: the tandem load flags of a scenario.
scenario_args() {
	local viewers="--viewer-transport sse"
	[[ $2 == sharedb ]] && viewers="--viewer-transport ws"
	case $1 in
	a) echo "--docs 1 --editors 20 --viewers 0 --rate 5 --ramp 1s" ;;
	b) echo "--docs 100 --editors 200 --viewers 0 --rate 1 --ramp 2s" ;;
	c) echo "--docs 1 --editors 50 --viewers 0 --rate 0 --ramp 1s" ;;
	d) echo "--docs 100 --editors 2000 --viewers 0 --idle --ramp 0s" ;;
	e) echo "--docs 1 --editors 10 --viewers 2000 --rate 5 --ramp 4s $viewers" ;;
	*) die "unknown scenario $1" ;;
	esac
}

# one_run MODE SCENARIO SYSTEM
one_run() {
	local mode=$1 sc=$2 system=$3 n=1 run seed db
	[[ $mode == db ]] && n=2
	run="$mode-$sc-$system"
	# Distinct documents per run (the ids derive from the seed), a database per run.
	seed=$((RANDOM * 32768 + RANDOM + 1))
	db="bench_${STAMP}_${sc}_${system}"
	db=${db//[^A-Za-z0-9_]/_}
	say "$run: starting $n $system instance(s)"
	start_servers "$system" "$mode" "$n" "$db" "$run"
	local urls
	urls=$(IFS=,; echo "${SERVER_URLS[*]}")
	local rss0=() p
	[[ $sc == d ]] && collect_garbage
	for p in "${PIDS[@]}"; do rss0+=("$(status_kib VmRSS "$p")"); done
	local cpu0 dbcpu0=0 t0 t1
	cpu0=$(cpu_ticks "${PIDS[@]}")
	[[ $mode == db ]] && dbcpu0=$(cpu_ticks "${DB_PIDS[@]}")
	t0=$(date +%s.%N)
	# shellcheck disable=SC2046
	GOGC=$TESTER_GOGC "$TANDEM" load --url "$urls" $(scenario_args "$sc" "$system") --type "$TYPE" --duration "$DURATION" \
		--quiet-timeout "$QUIET" --seed "$seed" --no-progress --json "$OUT/$run.json" >"$OUT/$run.log" 2>&1 &
	local load=$!
	LOAD_PID=$load
	local prof=""
	if [[ -n $PPROF_ADDR ]]; then
		# Profile the measured phase (after setup and ramp), at most 15 s of it.
		local secs=${DURATION%s}
		secs=$(( secs > 18 ? 15 : (secs > 4 ? secs - 3 : 1) ))
		(sleep 6; curl -fsS -o "$OUT/$run.cpu.pprof" "http://$PPROF_ADDR/debug/pprof/profile?seconds=$secs" 2>/dev/null || true) &
		prof=$!
	fi
	local rss1=() conns=0
	if [[ $sc == d ]]; then
		# Memory per idle connection: VmRSS once every editor is connected and settled.
		local want i
		want=$(scenario_args d "$system" | sed -E 's/.*--editors ([0-9]+).*/\1/')
		for i in $(seq 1 600); do
			conns=$(established "${SERVER_PORTS[@]}")
			[[ $conns -ge $want ]] && break
			kill -0 "$load" 2>/dev/null || break
			sleep 0.1
		done
		sleep 3
		collect_garbage
		conns=$(established "${SERVER_PORTS[@]}")
		for p in "${PIDS[@]}"; do rss1+=("$(status_kib VmRSS "$p")"); done
	fi
	local rc=0
	wait "$load" || rc=$?
	LOAD_PID=""
	[[ -n $prof ]] && { wait "$prof" || true; }
	t1=$(date +%s.%N)
	local cpu1 dbcpu1=0 hwm=()
	cpu1=$(cpu_ticks "${PIDS[@]}")
	[[ $mode == db ]] && dbcpu1=$(cpu_ticks "${DB_PIDS[@]}")
	for p in "${PIDS[@]}"; do hwm+=("$(status_kib VmHWM "$p")"); done
	if [[ $system == tandem ]]; then
		# Commits, group-commit sizes and retries after version conflicts, per instance.
		for i in "${!SERVER_URLS[@]}"; do
			curl -fsS "${SERVER_URLS[$i]}/metrics" 2>/dev/null | grep -E '^tandem_(ops_committed_total|commit_batch_ops_(sum|count)|commit_retries_total)' >"$OUT/$run.server$i.metrics.txt" || true
		done
	fi
	cat >"$OUT/$run.meta.json" <<EOF
{"mode":"$mode","scenario":"$sc","system":"$system","instances":$n,"urls":"$urls","mongo_db":"$([[ $mode == db ]] && echo "$db")",
 "load_exit":$rc,"wall_s":$(awk "BEGIN{print $t1-$t0}"),
 "server_cpu_s":$(awk "BEGIN{print ($cpu1-$cpu0)/$CLK_TCK}"),"db_cpu_s":$(awk "BEGIN{print ($dbcpu1-$dbcpu0)/$CLK_TCK}"),
 "rss_before_kib":[$(IFS=,; echo "${rss0[*]}")],"rss_connected_kib":[$(IFS=,; echo "${rss1[*]:-}")],
 "connections_at_rss":$conns,"peak_rss_kib":[$(IFS=,; echo "${hwm[*]}")]}
EOF
	stop_servers
	say "$run: load exit $rc, $(grep -E '^(throughput|verdict):' "$OUT/$run.log" | tr '\n' ' ')"
}

# ---- all runs -------------------------------------------------------------------------------

say "results in $OUT (duration $DURATION, scenarios db: '${SCENARIOS}', memory: '${MEM_SCENARIOS}')"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
	echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sm)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version | cut -d' ' -f3), node: $(node --version), open files: $(ulimit -n)"
	echo "duration: $DURATION, type: $TYPE"
} >"$OUT/machine.txt"

for sc in $SCENARIOS; do
	for system in $SYSTEMS; do one_run db "$sc" "$system"; done
done
for sc in $MEM_SCENARIOS; do
	for system in $SYSTEMS; do one_run memory "$sc" "$system"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

node bench/summarize.js "$OUT" | tee "$OUT/results.md"
say "raw reports and results.md in $OUT"
