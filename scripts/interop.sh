#!/usr/bin/env bash
# Runs the Node interop suite (test/interop) against bin/tandem.
set -euo pipefail
cd "$(dirname "$0")/.."
# Always rebuild (seconds when cached): a stale bin/tandem would test old code.
# The frontend is embedded as it is in frontend/dist; scripts/build.sh rebuilds it.
export PATH="$PATH:/usr/local/go/bin"
go build -trimpath -o bin/tandem ./cmd/tandem
cd test/interop
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi
INTEROP_SERVER=tandem TANDEM_BIN="$PWD/../../bin/tandem" npm test
