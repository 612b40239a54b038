#!/usr/bin/env bash
# bench/conformance/cache-tests.sh — runs the HTTP caching conformance suite
# behind https://cache-tests.fyi (github.com/http-tests/cache-tests) against
# one cdnctl edge, on loopback, and prints the pass counts per kind
# (required / optimal / check, classified by the suite's own
# determineTestResult, dependencies honoured). Not run by CI.
#
#   SUITE=/tmp/cache-tests bash bench/conformance/cache-tests.sh
#   ID=freshness-max-age bash bench/conformance/cache-tests.sh   # one test, dumped
#
# The suite is not vendored here (its code must stay out of this
# repository) and has no npm package: check out http-tests/cache-tests
# (test-engine/ + tests/ layout, Node >= 18) into $SUITE yourself. Its test
# server is plain Node; its client needs the npm package undici for the
# interim-response (1xx) tests, which this script installs into $SUITE
# (pinned, with npm, once) when it is missing.
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
UNDICI_VERSION=7.16.0
if [ ! -f "$SUITE/node_modules/undici/package.json" ]; then
  # Only undici (no dependencies of its own), not the suite's other
  # packages (linters, the site's renderer).
  npmdir=$(mktemp -d)
  (cd "$npmdir" && npm install --no-save --no-package-lock --no-audit --no-fund "undici@$UNDICI_VERSION" >/dev/null 2>&1) &&
    mkdir -p "$SUITE/node_modules" && cp -r "$npmdir/node_modules/undici" "$SUITE/node_modules/" || {
    echo "cache-tests: npm install undici@$UNDICI_VERSION failed (the interim-response tests need it)" >&2
    rm -rf "$npmdir"
    exit 1
  }
  rm -rf "$npmdir"
fi

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

# The suite's CLI reads its settings as npm would pass them from
# package.json: npm_config_id, else npm_package_config_id. Both are set,
# because an empty npm_config_id alone falls through to an unset
# npm_package_config_id and the CLI then looks for a test named "undefined".
if [ -n "$ID" ]; then
  (cd "$SUITE" && npm_config_base="http://127.0.0.1:$edge" npm_config_id="$ID" npm_package_config_id="$ID" \
    node --no-warnings test-engine/cli.mjs)
  exit 0
fi
(cd "$SUITE" && npm_config_base="http://127.0.0.1:$edge" npm_config_id= npm_package_config_id= \
  node --no-warnings test-engine/cli.mjs) >"$OUT"

# Summary with the suite's own rules: each test of the suite (run or not) is
# classified by its determineTestResult (dependencies honoured), whose
# result names are counted per kind and overall.
(cd "$SUITE" && node --input-type=module - "$OUT") <<'EOF'
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'
const dir = process.cwd()
const { default: suites } = await import(pathToFileURL(path.join(dir, 'tests/index.mjs')))
const { determineTestResult, resultTypes } = await import(pathToFileURL(path.join(dir, 'test-engine/lib/results.mjs')))
const results = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const names = new Map(Object.entries(resultTypes).map(([k, v]) => [v, k]))
const counts = {}
const total = {}
const failed = []
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only === true) continue // never run against a proxy
    const kind = test.kind || 'required'
    const res = names.get(determineTestResult(suites, test.id, results))
    counts[kind] = counts[kind] || {}
    counts[kind][res] = (counts[kind][res] || 0) + 1
    total[res] = (total[res] || 0) + 1
    if (res !== 'pass' && res !== 'yes') {
      const r = results[test.id]
      failed.push(`${kind.padEnd(8)} ${res.padEnd(15)} ${test.id}: ${r === undefined || r === true ? '' : r[1]}`)
    }
  }
}
for (const [kind, c] of Object.entries(counts)) console.log(kind.padEnd(8), JSON.stringify(c))
console.log('total   ', JSON.stringify(total))
console.log(failed.sort().join('\n'))
EOF
echo "full results: $OUT"
