#!/usr/bin/env bash
# Builds the browser app when its sources changed (frontend/build.sh), then
# bin/tandem, which embeds it.
set -euo pipefail
cd "$(dirname "$0")/.."
frontend/build.sh
mkdir -p bin
go build -trimpath -o bin/tandem ./cmd/tandem
