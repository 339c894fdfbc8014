#!/usr/bin/env bash
# Throwaway redis-server instances for tests, benchmarks and chaos runs.
#
#   redis-test-server.sh start            start one on a free 127.0.0.1 port and
#                                         print its URL: redis://127.0.0.1:PORT/0
#   redis-test-server.sh stop    PORT|URL stop it and remove its state
#   redis-test-server.sh restart PORT|URL stop it, then start it again on the same
#                                         port (nothing is kept: no persistence)
#   redis-test-server.sh down    PORT|URL stop the process but keep the port's state,
#                                         so that "up" can bring it back
#   redis-test-server.sh up      PORT|URL start a "down" server again, same port
#   redis-test-server.sh status  PORT|URL print "up", "down" or "unknown"
#
# Several may run at once: each has its own state directory, named by port,
# under $TANDEM_REDIS_TEST_DIR (default ${TMPDIR:-/tmp}/tandem-redis-test).
# Servers run without persistence (--save '' --appendonly no) and bind
# 127.0.0.1 only.
#
# If TANDEM_TEST_REDIS_URL is set, "start" prints it and starts nothing (the
# other commands then only act on servers this script started).
# If TANDEM_REDIS_TEST_WATCH_PID is set when starting, a watchdog stops the
# server once that process is gone, so a killed test run leaves nothing behind.
#
# redis-server is installed with apt-get if it is missing (Debian, as root).
set -euo pipefail

base="${TANDEM_REDIS_TEST_DIR:-${TMPDIR:-/tmp}/tandem-redis-test}"

die() { echo "redis-test-server: $*" >&2; exit 1; }

# alive PID: the process exists and is not a zombie.
alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo '?')
	[[ $state != Z ]]
}

ensure_installed() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
	echo "redis-test-server: installing redis-server" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2; then
		apt-get update >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
	fi
	command -v redis-server >/dev/null || die "redis-server is still missing"
}

# port_of PORT|URL
port_of() {
	local arg=${1:-}
	[[ -n $arg ]] || die "want a port or a redis:// URL"
	if [[ $arg =~ ^[0-9]+$ ]]; then
		echo "$arg"
	elif [[ $arg =~ ^rediss?://([^@/]*@)?[^:/]+:([0-9]+) ]]; then
		echo "${BASH_REMATCH[2]}"
	else
		die "cannot tell the port of $arg"
	fi
}

ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

# launch DIR PORT: run redis-server detached; succeed once it answers PING.
launch() {
	local dir=$1 port=$2 pid i
	mkdir -p "$dir/data"
	setsid redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$dir/data" --daemonize no --logfile "$dir/redis.log" \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	for i in $(seq 1 200); do
		if ping "$port"; then
			return 0
		fi
		alive "$pid" || return 1
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	return 1
}

# halt DIR: stop the server of DIR and wait until it is gone.
halt() {
	local dir=$1 pid i
	[[ -f $dir/pid ]] || return 0
	pid=$(cat "$dir/pid")
	rm -f "$dir/pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 1 40); do
		alive "$pid" || return 0
		sleep 0.05
	done
	die "pid $pid does not stop"
}

watchdog() {
	local dir=$1 watched=$2
	setsid bash -c '
		dir=$1 watched=$2
		while [[ -d $dir ]] && kill -0 "$watched" 2>/dev/null; do sleep 1; done
		if [[ -f $dir/pid ]]; then kill -TERM "$(cat "$dir/pid")" 2>/dev/null || true; fi
		rm -rf "$dir"
	' watchdog "$dir" "$watched" </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/watchdog.pid"
}

cmd_start() {
	if [[ -n ${TANDEM_TEST_REDIS_URL:-} ]]; then
		echo "$TANDEM_TEST_REDIS_URL"
		return
	fi
	ensure_installed
	mkdir -p "$base"
	local try port dir
	for try in $(seq 1 30); do
		port=$((20000 + RANDOM % 40000))
		dir="$base/$port"
		# mkdir is the lock: two starts never pick the same port.
		mkdir "$dir" 2>/dev/null || continue
		if ss -Htln "sport = :$port" 2>/dev/null | grep -q . || ! launch "$dir" "$port"; then
			halt "$dir" 2>/dev/null || true
			rm -rf "$dir"
			continue
		fi
		if [[ -n ${TANDEM_REDIS_TEST_WATCH_PID:-} ]]; then
			watchdog "$dir" "$TANDEM_REDIS_TEST_WATCH_PID"
		fi
		echo "redis://127.0.0.1:$port/0"
		return
	done
	die "no free port found"
}

cmd_stop() {
	local port dir
	port=$(port_of "${1:-}")
	dir="$base/$port"
	[[ -d $dir ]] || return 0
	if [[ -f $dir/watchdog.pid ]]; then
		kill -TERM "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
	fi
	halt "$dir"
	rm -rf "$dir"
}

cmd_down() {
	local port dir
	port=$(port_of "${1:-}")
	dir="$base/$port"
	[[ -d $dir ]] || die "no server of this script on port $port"
	halt "$dir"
}

cmd_up() {
	local port dir
	port=$(port_of "${1:-}")
	dir="$base/$port"
	[[ -d $dir ]] || die "no server of this script on port $port"
	if [[ -f $dir/pid ]] && alive "$(cat "$dir/pid")"; then
		return 0
	fi
	rm -rf "$dir/data"
	launch "$dir" "$port" || die "cannot start redis-server on port $port again (see $dir/redis.log)"
}

cmd_status() {
	local port dir
	port=$(port_of "${1:-}")
	dir="$base/$port"
	if [[ ! -d $dir ]]; then
		echo unknown
	elif [[ -f $dir/pid ]] && alive "$(cat "$dir/pid")" && ping "$port"; then
		echo up
	else
		echo down
	fi
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
restart) cmd_down "${2:-}" && cmd_up "${2:-}" ;;
down) cmd_down "${2:-}" ;;
up) cmd_up "${2:-}" ;;
status) cmd_status "${2:-}" ;;
*) die "usage: $0 start | stop|restart|down|up|status PORT|URL" ;;
esac
