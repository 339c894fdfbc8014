#!/usr/bin/env bash
# The whole test suite (README: `make test`). Installs what it needs on a
# fresh Debian machine (Node packages, redis-server, chromium), starts the
# servers the tests need and stops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "static checks: gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^testinfra/') || true)
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...

step "Go tests with the race detector (OT conformance, storage, pub/sub, protocol over real WebSockets)"
go test -race -timeout 15m ./...

step "fuzzing every decoder and OT type briefly"
FUZZTIME=${FUZZTIME:-4s} scripts/fuzz.sh

step "build"
scripts/build.sh

step "Node interop suite: the real sharedb@7.0.0 client against tandem serve"
scripts/interop.sh

if [ -x frontend/e2e/run.sh ]; then
  step "browser tests in Chromium"
  frontend/e2e/run.sh
fi
step "all tests passed"
