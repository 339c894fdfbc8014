#!/usr/bin/env bash
# Browser tests: Debian's Chromium driven by playwright-core against a
# `tandem serve --store memory` of its own. Installs what it needs (chromium
# and an emoji font from Debian, npm packages), builds the frontend and
# bin/tandem, runs frontend/e2e/*.test.mjs, and stops the server it started.
# Screenshots go to test-artifacts/ at the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
frontend="$(dirname "$here")"
repo="$(dirname "$frontend")"
export PATH="$PATH:/usr/local/go/bin"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "e2e: $* missing and not root: install it with apt-get install -y $*" >&2
    exit 1
  fi
  if [ -z "${apt_updated:-}" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
apt_updated=
if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing chromium"
  apt_install chromium
fi
# Emoji are typed in the tests; without a colour emoji font the screenshots show boxes.
if ! fc-list 2>/dev/null | grep -qi 'NotoColorEmoji'; then
  echo "e2e: installing fonts-noto-color-emoji"
  apt_install fonts-noto-color-emoji
fi

"$frontend/build.sh" # npm ci when needed, then the Vite build when sources changed
(cd "$repo" && mkdir -p bin && go build -trimpath -o bin/tandem ./cmd/tandem)

artifacts="$repo/test-artifacts"
mkdir -p "$artifacts"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
log="$artifacts/e2e-tandem.log"
"$repo/bin/tandem" serve --addr "127.0.0.1:$port" --store memory --log-level debug >"$log" 2>&1 &
server=$!
stop() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
}
trap stop EXIT

for _ in $(seq 1 100); do
  if node -e 'fetch(process.argv[1]).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' \
    "http://127.0.0.1:$port/healthz"; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "e2e: tandem serve exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done

cd "$frontend"
status=0
TANDEM_URL="http://127.0.0.1:$port" TANDEM_BIN="$repo/bin/tandem" E2E_ARTIFACTS="$artifacts" \
  node --test --test-concurrency=1 --test-timeout=150000 e2e/*.test.mjs || status=$?
if [ "$status" != 0 ]; then
  echo "e2e: failed; the server's log is $log (last lines below)" >&2
  tail -n 40 "$log" >&2
fi
echo "e2e: screenshots in $artifacts"
exit "$status"
