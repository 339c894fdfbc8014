#!/usr/bin/env bash
# Runs every native Go fuzz target briefly (FUZZTIME, default 10s each).
# The seed corpora also run in plain `go test`; this explores beyond them.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
    echo "== fuzz $pkg $target ($FUZZTIME)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" >/tmp/fuzz-$$.log 2>&1; then
      cat /tmp/fuzz-$$.log
      status=1
    else
      tail -1 /tmp/fuzz-$$.log
    fi
  done
done
rm -f /tmp/fuzz-$$.log
exit $status
