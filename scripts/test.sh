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

step "test servers: build the MongoDB-wire test server (FerretDB, own module); redis-server is installed on first use"
scripts/mongo-test-server.sh build
scripts/mongo-test-server.sh test -count=1

step "Go tests with the race detector (OT conformance, storage incl. MongoDB and bolt, Redis pub/sub, protocol over real WebSockets)"
go test -race -timeout 20m ./...

step "fuzzing every decoder and OT type briefly"
FUZZTIME=${FUZZTIME:-4s} scripts/fuzz.sh

step "build"
scripts/build.sh

step "Node interop suite: the real sharedb@7.0.0 client against tandem serve"
scripts/interop.sh

step "Node interop suite against a cluster: three instances on Redis and MongoDB, and a mixed Tandem + ShareDB cluster"
scripts/interop-cluster.sh

step "chaos suite: kill -9, Redis restart, MongoDB outage, clients that stop reading (docs/reliability.md)"
scripts/chaos.sh

step "browser tests in Chromium"
frontend/e2e/run.sh
step "all tests passed"
