#!/usr/bin/env bash
# siterules/testdata/netlify/record.sh — how Netlify's own redirect engine
# matches the requests of requests.tsv against _redirects (both next to
# this script), recorded in netlify.tsv; TestNetlifyRedirector compares
# siterules with it.
#
#   bash siterules/testdata/netlify/record.sh
#
# Needs npm and Node.js; netlify-redirector is the pinned npm package
# below (Netlify's Go engine compiled to WebAssembly, the one `netlify
# dev` uses), installed into a temporary folder.
set -euo pipefail

REDIRECTOR_VERSION=0.5.0

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work" "netlify-redirector@$REDIRECTOR_VERSION" >/dev/null
cd "$here"
NODE_PATH=$work/node_modules node record.js >netlify.tsv
echo "wrote $here/netlify.tsv"
