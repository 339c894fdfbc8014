#!/usr/bin/env bash
# Builds the browser app into frontend/dist (embedded in bin/tandem).
# Idempotent and quiet when nothing changed:
#   - `npm ci` when node_modules is missing or older than package-lock.json;
#   - `npm run build` (type check + Vite) when any source is newer than dist/index.html.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
  echo "frontend/build.sh: npm is required (Node.js >= 20.19)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "frontend: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

stale=0
if [ ! -f dist/index.html ]; then
  stale=1
elif [ -n "$(find src public index.html vite.config.ts tsconfig.json package.json package-lock.json -newer dist/index.html -print -quit 2>/dev/null)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  echo "frontend: vite build"
  npm run --silent build -- --logLevel warn
fi
