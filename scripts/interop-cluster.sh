#!/usr/bin/env bash
# Runs the cluster part of the Node interop suite against bin/tandem:
# test/interop/cluster-tests/cluster.test.js (three tandem instances on one Redis and one
# MongoDB-wire test server: convergence, 30 clients with random reconnects, SSE viewers,
# kill -9) and test/interop/cluster-tests/mixed.test.js (one tandem instance and one Node ShareDB
# server on the same Mongo database and Redis). The tests start and stop their own servers
# through scripts/redis-test-server.sh and scripts/mongo-test-server.sh
# (TANDEM_TEST_REDIS_URL / TANDEM_TEST_MONGO_URL use existing ones instead).
#
#   scripts/interop-cluster.sh [node --test options, e.g. --test-name-pattern='kill'] [test files]
#
# Test files (cluster-tests/*.test.js, relative to test/interop) replace the default two.
#
# INTEROP_CLUSTER_SERVER=reference runs cluster.test.js's editing tests against three
# ShareDB servers instead (validation of the tests; keep INTEROP_CLUSTER_CLIENTS small,
# see test/interop/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Always rebuild (seconds when cached): a stale bin/tandem would test old code.
# The frontend is embedded as it is in frontend/dist; scripts/build.sh rebuilds it.
export PATH="$PATH:/usr/local/go/bin"
go build -trimpath -o bin/tandem ./cmd/tandem
# Build the MongoDB-wire test server now (minutes the first time), not inside a test hook.
scripts/mongo-test-server.sh build >/dev/null
cd test/interop
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi
opts=() files=()
for a in "$@"; do
  case $a in
  *.test.js) files+=("$a") ;;
  *) opts+=("$a") ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=(cluster-tests/cluster.test.js cluster-tests/mixed.test.js)
INTEROP_CLUSTER=1 INTEROP_SERVER=tandem TANDEM_BIN="$root/bin/tandem" \
  exec node --test --test-concurrency=1 --test-timeout=600000 "${opts[@]}" "${files[@]}"
