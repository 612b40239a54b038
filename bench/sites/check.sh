#!/usr/bin/env bash
# bench/sites/check.sh — fingerprint real third-party sites, serve them
# through the local CDN and load them in headless Chromium, comparing each
# page with the original folder served the same way. Not run by CI.
#
# Needs: Go, Node (npm), Chromium (`apt-get install -y chromium`), and the
# npm registry. Everything is written under $WORK (default
# /tmp/cdnctl-sitecheck); nothing third-party is committed.
#
#   bash bench/sites/check.sh                 # every site
#   bash bench/sites/check.sh swagger mathjax # some
#   FPFLAGS=--hash-unreferenced bash bench/sites/check.sh mathjax
#
# Per page it prints the baseline and fingerprinted results (rendered,
# web font loaded, failed requests, console errors, exceptions), every
# difference as "NEW …", header problems as "HDR …" (hashed files must be
# immutable, the others revalidated), the Content-Types seen and how many
# requests of a second load were edge cache hits. Exit status 1 when any
# page differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WORK=${WORK:-/tmp/cdnctl-sitecheck}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "no $CHROMIUM: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 1; }
mkdir -p "$WORK" && cd "$WORK"
go build -C "$repo" -o "$WORK/cdnctl" ./cmd/cdnctl
cp "$here/check.mjs" "$here/summarize.mjs" .
if [ ! -d node_modules/puppeteer-core ]; then
  [ -f package.json ] || echo '{"private":true,"type":"module"}' > package.json
  npm install --no-audit --no-fund puppeteer-core@24 reveal.js@6.0.2 swagger-ui-dist@5.35.0 \
    katex@0.19.1 bootstrap@5.3.9 @fortawesome/fontawesome-free@7.3.1 three@0.187.0 \
    @highlightjs/cdn-assets@11.12.0 mathjax@3.2.2 pdfjs-dist@4.10.38 >/dev/null
fi
nm=node_modules pages=$here/pages
rm -rf sites && mkdir sites && cd sites
mkdir reveal && cp -r ../$nm/reveal.js/{index.html,demo.html,dist} reveal/
cp -r ../$nm/swagger-ui-dist swagger && cp "$pages/swagger/petstore.json" swagger/
sed -i 's#https://petstore.swagger.io/v2/swagger.json#./petstore.json#' swagger/swagger-initializer.js
mkdir katex && cp -r ../$nm/katex/dist katex/
mkdir fa-bootstrap && cp -r ../$nm/bootstrap/dist fa-bootstrap/bootstrap && cp -r ../$nm/@fortawesome/fontawesome-free/{css,webfonts} fa-bootstrap/
mkdir -p three/examples && cp -r ../$nm/three/build three/ && cp -r ../$nm/three/examples/jsm three/examples/
mkdir hljs && cp -r ../$nm/@highlightjs/cdn-assets/{es,styles} hljs/
mkdir pdfjs && cp -r ../$nm/pdfjs-dist pdfjs/pdfjs
mkdir mathjax && cp -r ../$nm/mathjax/es5 mathjax/
for s in katex fa-bootstrap three hljs pdfjs mathjax; do cp "$pages/$s"/* $s/; done
cd "$WORK"
all=(reveal swagger katex fa-bootstrap three hljs pdfjs mathjax)
[ $# -gt 0 ] && all=("$@")
mkdir -p res fp
status=0
for s in "${all[@]}"; do
  rm -rf "fp/$s"
  ./cdnctl fingerprint "sites/$s" --out "fp/$s" --compress=none ${FPFLAGS:-} >"res/$s.fp.out" 2>"res/$s.fp.err" ||
    { echo "$s: cdnctl fingerprint failed:"; cat "res/$s.fp.err"; status=1; continue; }
  timeout 150 node check.mjs ./cdnctl "sites/$s" "$s" >"res/$s.base.json"
  timeout 150 node check.mjs ./cdnctl "fp/$s" "$s" >"res/$s.fp.json"
  node summarize.mjs "$s" || status=1
done
exit $status
