#!/usr/bin/env bash
# Runs the Node interop suite (test/interop) against bin/tandem.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/tandem ] || scripts/build.sh
cd test/interop
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi
INTEROP_SERVER=tandem TANDEM_BIN="$PWD/../../bin/tandem" npm test
