#!/usr/bin/env bash
# Builds bin/tandem (and, once the frontend exists, its embedded assets).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -trimpath -o bin/tandem ./cmd/tandem
