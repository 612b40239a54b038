#!/usr/bin/env bash
# bench/sites/generators.sh — the browser check of `cdnctl fingerprint` on
# real generator builds (hashing/testdata/sites/*, made by
# hashing/testdata/generators/build.sh). Each build is fingerprinted with
# the defaults (what `cdnctl deploy` runs), then the original and the
# fingerprinted folder are each served through `cdnctl serve` (edge →
# shield → origin) and driven in headless Chromium the same way: every page,
# plus client-side navigations that load lazy chunks (a vue-router link, a
# next/link to a next/dynamic page, a VitePress sidebar link, the Astro
# ClientRouter, a SvelteKit route with server data, a search that fetches a
# JSON index), the Hugo service worker's activation, a second load in a fresh
# context (edge cache hits) and a reload (browser cache). See
# generators/check.mjs for the scenarios. Not run by CI.
#
#   bash bench/sites/generators.sh                  # every fixture
#   bash bench/sites/generators.sh next hugo        # some
#   FPFLAGS='--prehashed assets/**' bash bench/sites/generators.sh vite-vue
#   CONTROL=1 bash bench/sites/generators.sh        # checks the check: each original against
#                                                   # a plain copy of itself (must be all "same")
#
# Needs Go, Node 20 + npm (the npm registry: puppeteer-core and pngjs, pinned
# in generators/package-lock.json) and Debian's Chromium (`apt-get install
# -y chromium`, or set CHROMIUM). Works under $WORK (default
# /tmp/cdnctl-generatorcheck). Prints a Markdown table, one row per fixture,
# and the differences on stderr; details (every request, its Cache-Control
# and Cache-Status) in $WORK/res/<fixture>.json and differing screenshots in
# $WORK/res/shots/. Also lists the references of each fingerprinted output
# that name no file (bench/sites/refcheck). Exit status 1 when any fixture
# differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
sites=$repo/hashing/testdata/sites
WORK=${WORK:-/tmp/cdnctl-generatorcheck}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "no $CHROMIUM: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 1; }
export CHROMIUM
all=(vite-vue next vitepress starlight hugo astro sveltekit eleventy docusaurus angular jekyll gatsby)
[ $# -gt 0 ] && all=("$@")

mkdir -p "$WORK" && cd "$WORK"
go build -C "$repo" -o "$WORK/cdnctl" ./cmd/cdnctl
go build -C "$repo" -o "$WORK/refcheck" ./bench/sites/cmd/refcheck
cp "$here/generators/package.json" "$here/generators/package-lock.json" "$here/generators/check.mjs" .
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
rm -rf res fp && mkdir -p res fp

if [ -n "${CONTROL:-}" ]; then
  echo "control run: each original against a plain copy of itself" >&2
  for s in "${all[@]}"; do cp -r "$sites/$s" "fp/$s"; done
  exec node check.mjs ./cdnctl "$sites" fp res "${all[@]}"
fi
echo "fingerprinting with: cdnctl fingerprint SRC --out DIR ${FPFLAGS:-}" >&2
for s in "${all[@]}"; do
  if ! ./cdnctl fingerprint "$sites/$s" --out "fp/$s" ${FPFLAGS:-} >"res/$s.fp.out" 2>"res/$s.fp.err"; then
    echo "$s: cdnctl fingerprint failed (exit $?):" >&2
    cat "res/$s.fp.err" >&2
    mkdir -p "fp/$s"
  fi
  n=$(./refcheck -host fixture.example -skip cdnctl-manifest.json,.cdnctl/ -original "$sites/$s" "fp/$s" | tee "res/$s.dangling" | wc -l) || true
  echo "$s: $n dangling references in the fingerprinted output (res/$s.dangling)" >&2
done

node check.mjs ./cdnctl "$sites" fp res "${all[@]}"
