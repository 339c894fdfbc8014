#!/usr/bin/env bash
# MongoDB-wire test server for storage/mongo's tests: FerretDB v1.24.2
# (SQLite backend) behind a write-serializing proxy, built from
# testinfra/mongoserver against a copy of FerretDB patched with
# testinfra/mongoserver/_ferretdb-patch (see testinfra/mongoserver/main.go).
#
#   scripts/mongo-test-server.sh start     build if needed, start on a free port with a
#                                          fresh data dir, wait for a ping, print
#                                          mongodb://127.0.0.1:PORT/
#   scripts/mongo-test-server.sh stop      stop it and remove its data
#   scripts/mongo-test-server.sh pause     stop the process, keep port and data
#   scripts/mongo-test-server.sh resume    start it again on the same port and data
#   scripts/mongo-test-server.sh restart-same-data   pause + resume
#   scripts/mongo-test-server.sh crash     kill -9 the process (no clean shutdown), keep
#                                          port and data; resume starts it again
#   scripts/mongo-test-server.sh status    print the URL if running (exit 1 if not)
#   scripts/mongo-test-server.sh build     only build; print the binary's path
#   scripts/mongo-test-server.sh test ARGS go test ARGS in testinfra/mongoserver,
#                                          against the patched FerretDB
#
# State (pid, port, data dir, log) lives in the file named by
# TANDEM_MONGO_TEST_STATE (default bin/mongo-test-server.state), so several
# servers can run at once under different state files. If
# TANDEM_TEST_MONGO_URL is set, start prints it and starts nothing, and
# stop, pause, crash and resume do nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/testinfra/mongoserver"
CACHE="$ROOT/bin/mongoserver"
STATE="${TANDEM_MONGO_TEST_STATE:-$ROOT/bin/mongo-test-server.state}"
FERRET_MOD=github.com/FerretDB/FerretDB
FERRET_VERSION=v1.24.2

die() { echo "mongo-test-server: $*" >&2; exit 1; }

# hash_inputs prints a hash of everything the binary is built from.
hash_inputs() {
	(cd "$SRC" && find . -path ./testdata -prune -o -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) ! -name '*_test.go' -print |
		LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16
}

# modfile prepares the patched FerretDB copy and a go.mod that points at it,
# and prints the go.mod's path. Callers hold the build lock.
modfile() {
	local h="$1"
	local dir="$CACHE/build-$h"
	if [[ ! -f "$dir/go.mod" ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		local pristine
		pristine="$(cd "$SRC" && go mod download -json "$FERRET_MOD@$FERRET_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
		[[ -d "$pristine" ]] || die "cannot find $FERRET_MOD@$FERRET_VERSION in the module cache"
		cp -R "$pristine" "$dir/ferretdb"
		chmod -R u+w "$dir/ferretdb"
		cp -R "$SRC/_ferretdb-patch/." "$dir/ferretdb/"
		cp "$SRC/go.sum" "$dir/go.sum"
		{ cat "$SRC/go.mod"; echo; echo "replace $FERRET_MOD => $dir/ferretdb"; } >"$dir/go.mod.tmp"
		mv "$dir/go.mod.tmp" "$dir/go.mod"
	fi
	echo "$dir/go.mod"
}

# build prints the path of an up-to-date binary, building it if needed.
build() {
	mkdir -p "$CACHE"
	local h bin
	h="$(hash_inputs)"
	bin="$CACHE/mongoserver-$h"
	if [[ ! -x "$bin" ]]; then
		exec 9>"$CACHE/build.lock"
		flock 9
		if [[ ! -x "$bin" ]]; then
			local mf
			mf="$(modfile "$h")"
			(cd "$SRC" && go build -modfile="$mf" -trimpath -o "$bin.tmp" .) >&2
			mv "$bin.tmp" "$bin"
			# Older builds are of no further use.
			find "$CACHE" -maxdepth 1 \( -name 'mongoserver-*' -o -name 'build-*' \) \
				! -name "mongoserver-$h" ! -name "build-$h" -exec rm -rf {} + 2>/dev/null || true
		fi
		exec 9>&-
	fi
	echo "$bin"
}

# read_state loads pid, port, data_dir, log_file and bin from the state file.
read_state() {
	[[ -f "$STATE" ]] || return 1
	# shellcheck disable=SC1090
	source "$STATE"
}

write_state() {
	mkdir -p "$(dirname "$STATE")"
	cat >"$STATE.tmp" <<EOF
pid=$pid
port=$port
data_dir=$data_dir
log_file=$log_file
bin=$bin
EOF
	mv "$STATE.tmp" "$STATE"
}

running() { [[ -n "${pid:-}" && "$pid" != 0 ]] && kill -0 "$pid" 2>/dev/null; }

# launch starts bin on $listen with $data_dir, waits until it answers a
# ping and sets pid and port.
launch() {
	local listen="$1" addr_file="$data_dir.addr"
	rm -f "$addr_file"
	# setsid: the server outlives this script and is not in the caller's
	# process group (a test's Ctrl-C does not reach it half-way).
	setsid "$bin" --listen "$listen" --data-dir "$data_dir" --addr-file "$addr_file" \
		</dev/null >>"$log_file" 2>&1 &
	pid=$!
	local i
	for ((i = 0; i < 600; i++)); do
		if [[ -s "$addr_file" ]]; then
			local addr
			addr="$(cat "$addr_file")"
			port="${addr##*:}"
			if "$bin" --ping "$addr" 2>>"$log_file"; then
				rm -f "$addr_file"
				return 0
			fi
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$log_file" >&2 || true
			die "server exited during start-up (log: $log_file)"
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	die "server did not answer within 60s (log: $log_file)"
}

# halt stops the process and waits for it to exit.
halt() {
	running || return 0
	kill "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do
		running || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

cmd="${1:-}"
shift || true
case "$cmd" in
start)
	if [[ -n "${TANDEM_TEST_MONGO_URL:-}" ]]; then
		echo "$TANDEM_TEST_MONGO_URL"
		exit 0
	fi
	if read_state; then
		running && die "already running (pid $pid, port $port); state file $STATE"
		# A stopped or paused server of this state file: its data goes.
		rm -rf "$data_dir" "$data_dir.addr" "$log_file"
	fi
	bin="$(build)"
	data_dir="$(mktemp -d "${TMPDIR:-/tmp}/tandem-mongo-data.XXXXXX")"
	log_file="$data_dir.log"
	pid=0 port=0
	launch "127.0.0.1:0"
	write_state
	echo "mongodb://127.0.0.1:$port/"
	;;
stop)
	[[ -n "${TANDEM_TEST_MONGO_URL:-}" ]] && exit 0
	read_state || exit 0
	halt
	rm -rf "$data_dir" "$data_dir.addr" "$log_file" "$STATE"
	;;
pause)
	[[ -n "${TANDEM_TEST_MONGO_URL:-}" ]] && exit 0
	read_state || die "not started (no state file $STATE)"
	halt
	pid=0
	write_state
	;;
crash)
	[[ -n "${TANDEM_TEST_MONGO_URL:-}" ]] && exit 0
	read_state || die "not started (no state file $STATE)"
	if running; then
		kill -9 "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			running || break
			sleep 0.05
		done
	fi
	pid=0
	write_state
	;;
resume)
	[[ -n "${TANDEM_TEST_MONGO_URL:-}" ]] && exit 0
	read_state || die "not started (no state file $STATE)"
	running && die "already running (pid $pid)"
	bin="$(build)"
	launch "127.0.0.1:$port"
	write_state
	echo "mongodb://127.0.0.1:$port/"
	;;
restart-same-data)
	"$0" pause
	"$0" resume
	;;
status)
	if [[ -n "${TANDEM_TEST_MONGO_URL:-}" ]]; then
		echo "$TANDEM_TEST_MONGO_URL"
		exit 0
	fi
	read_state && running || exit 1
	echo "mongodb://127.0.0.1:$port/"
	;;
build)
	build
	;;
test)
	mkdir -p "$CACHE"
	h="$(hash_inputs)"
	exec 9>"$CACHE/build.lock"
	flock 9
	mf="$(modfile "$h")"
	exec 9>&-
	cd "$SRC"
	exec go test -modfile="$mf" "$@" .
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
