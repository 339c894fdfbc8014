#!/usr/bin/env bash
# The fault-injection suite (chaos/, docs/reliability.md): three `tandem serve`
# instances on one Redis and the MongoDB-wire test server, `tandem load` editors
# and viewers across them, and in turn: kill -9 of an instance, a Redis restart,
# the MongoDB-wire server stopped for 5 s, one client that stops reading. After
# each it checks that no acknowledged op was lost or applied twice, that every
# replica and the stored snapshot are identical within a stated time, that no
# instance crashed, /readyz during the outage and the slow client's fate.
# Exit status 1 if any property is violated. About 2.5 minutes; everything it
# starts is stopped on exit, on failure and on Ctrl-C.
#
#   scripts/chaos.sh                               all four scenarios
#   scripts/chaos.sh --scenarios kill,mongo        some of them (flags: bin/tandem-chaos -h)
#   scripts/chaos.sh --doc docs/reliability.md     also regenerate the committed report
#
# Logs of every instance and load run, the load reports, summary.json and
# reliability.md are left in bin/chaos/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

go build -trimpath -o bin/tandem ./cmd/tandem
go build -o bin/tandem-chaos ./chaos
# The MongoDB-wire test server (minutes the first time); redis-server is
# installed by scripts/redis-test-server.sh on first use.
scripts/mongo-test-server.sh build >/dev/null
# Editors, viewers and instances each hold sockets: raise the soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec bin/tandem-chaos "$@"
