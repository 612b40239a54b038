#!/usr/bin/env bash
# bench/conformance/cache-tests.sh — runs the HTTP caching conformance suite
# behind https://cache-tests.fyi (github.com/http-tests/cache-tests) against
# one cdnctl edge, on loopback, and prints the pass counts per kind
# (required / optimal / check, with the suite's own dependency rules). Not
# run by CI; fetches nothing.
#
#   SUITE=/tmp/cache-tests bash bench/conformance/cache-tests.sh
#   ID=freshness-max-age bash bench/conformance/cache-tests.sh   # one test, dumped
#
# The suite is not vendored here (its code must stay out of this
# repository) and has no npm package: check out http-tests/cache-tests
# (test-engine/ + tests/ layout, Node >= 18) into $SUITE yourself. Its
# client and its test server are plain Node; nothing needs installing.
#
# Layout of the run:
#
#   suite client ──► cdnctl serve (pop1, no shield, defaults) ──► suite server (origin)
#
# Results: $OUT (default /tmp/cache-tests-results.json), the suite's JSON
# (test id → true or [kind of failure, message]).
set -euo pipefail
cd "$(dirname "$0")/../.."

SUITE=${SUITE:-/tmp/cache-tests}
OUT=${OUT:-/tmp/cache-tests-results.json}
ID=${ID:-}
[ -f "$SUITE/test-engine/server/server.mjs" ] && [ -f "$SUITE/tests/index.mjs" ] || {
  echo "cache-tests: no suite in $SUITE (set SUITE to a checkout of http-tests/cache-tests)" >&2
  exit 1
}
command -v node >/dev/null || { echo "cache-tests: node not found" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "cache-tests: nothing listens on 127.0.0.1:$1" >&2
  return 1
}

go build -o "$tmp/cdnctl" ./cmd/cdnctl
origin=$(freeport)
edge=$(freeport)
admin=$(freeport)

# The suite's test server (the origin).
(cd "$SUITE" && exec env npm_config_protocol=http npm_config_port="$origin" \
  npm_config_pidfile="$tmp/server.pid" node test-engine/server/server.mjs) >"$tmp/server.log" 2>&1 &
pids+=($!)
waitport "$origin"

# One edge with the default cache settings, nothing else.
cat >"$tmp/cdnctl.yaml" <<EOF
serve:
  pops:
    - name: pop1
      addr: 127.0.0.1:$edge
EOF
"$tmp/cdnctl" serve --config "$tmp/cdnctl.yaml" --upstream "http://127.0.0.1:$origin" --no-shield --no-dns \
  --admin "127.0.0.1:$admin" --token conformance --access-log=false --log-level warn >"$tmp/edge.log" 2>&1 &
pids+=($!)
waitport "$edge"

if [ -n "$ID" ]; then
  (cd "$SUITE" && npm_config_base="http://127.0.0.1:$edge" npm_config_id="$ID" node --no-warnings test-engine/cli.mjs)
  exit 0
fi
(cd "$SUITE" && npm_config_base="http://127.0.0.1:$edge" npm_config_id= node --no-warnings test-engine/cli.mjs) >"$OUT"

# Summary with the suite's own rules (kinds, dependencies).
(cd "$SUITE" && node --input-type=module - "$OUT") <<'EOF'
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'
const dir = process.cwd()
const { default: suites } = await import(pathToFileURL(path.join(dir, 'tests/index.mjs')))
const { determineTestResult, resultTypes, testLookup } = await import(pathToFileURL(path.join(dir, 'test-engine/lib/results.mjs')))
const results = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const names = new Map(Object.entries(resultTypes).map(([k, v]) => [v, k]))
const counts = {}
const failed = []
for (const id of Object.keys(results)) {
  const kind = testLookup(suites, id).kind || 'required'
  const res = names.get(determineTestResult(suites, id, results))
  counts[kind] = counts[kind] || {}
  counts[kind][res] = (counts[kind][res] || 0) + 1
  if (res !== 'pass' && res !== 'yes') failed.push(`${kind.padEnd(8)} ${res.padEnd(15)} ${id}: ${results[id] === true ? '' : results[id][1]}`)
}
for (const [kind, c] of Object.entries(counts)) console.log(kind.padEnd(8), JSON.stringify(c))
console.log(failed.sort().join('\n'))
EOF
echo "full results: $OUT"
