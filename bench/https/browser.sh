#!/usr/bin/env bash
# bench/https/browser.sh — a real browser loads a fingerprinted site over
# https:// through a PoP of cdnctl serve --https, trusting the local CA
# through the NSS database of a temporary HOME (as `cdnctl trust` leaves it;
# no --ignore-certificate-errors), and checks what the issue asks: every
# request served, the brotli files the fingerprint step made sent as
# Content-Encoding: br, HTTP/2, a service worker that activates, and
# plain HTTP redirected to HTTPS. Not run by CI.
#
# Needs Go, Node (npm) and, from Debian, chromium and libnss3-tools
# (certutil):
#   apt-get install -y chromium libnss3-tools
#   bash bench/https/browser.sh
#
# Everything is written under $WORK (default a temporary folder, removed at
# the end unless KEEP=1): the site, the CA, the NSS database, Chromium's
# profile and npm's puppeteer-core (pinned). Exit status 1 when a check
# fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PUPPETEER=puppeteer-core@24.43.1  # the newest that supports Node 20 (Debian 12's)
HOST=www.example.test
for tool in "$CHROMIUM" certutil node npm go; do
  command -v "$tool" >/dev/null || { echo "bench/https: $tool not found (apt-get install -y chromium libnss3-tools nodejs npm)" >&2; exit 1; }
done
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  [ "${KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

echo "==> building cdnctl"
go build -C "$repo" -o "$WORK/cdnctl" ./cmd/cdnctl

echo "==> the site: cdnctl's sample site with a service worker, fingerprinted (br and gzip copies)"
rm -rf src build && cp -r "$repo/sample/site" src
cat > src/sw.js <<'JS'
// A service worker that activates at once, takes control of the page and
// answers from the network (so every request still reaches the edge).
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => e.respondWith(fetch(e.request)));
JS
cat > src/js/sw-register.js <<'JS'
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js');
JS
sed -i 's#</head>#  <script src="js/sw-register.js"></script>\n</head>#' src/index.html
./cdnctl fingerprint src --out build >/dev/null
brs=$(find build -name '*.br' | wc -l)
echo "    $(find build -type f ! -name '*.br' ! -name '*.gz' | wc -l) files, $brs brotli copies"

echo "==> the local CA, trusted in the NSS database of a temporary HOME (cdnctl trust --store nss)"
export HOME="$WORK/home" CDNCTL_SERVE_HTTPS_CA_DIR="$WORK/ca"
mkdir -p "$HOME/.pki/nssdb"
[ -f "$HOME/.pki/nssdb/cert9.db" ] || certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password
./cdnctl trust --store nss | sed 's/^/    /'

echo "==> cdnctl serve --https over the build (redirect-to-https for $HOST)"
cat > cdnctl.yaml <<YAML
serve:
  https:
    enabled: true
    host_policies: {$HOST: redirect-to-https}
dns:
  enabled: false
YAML
./cdnctl --config cdnctl.yaml serve --origin build --free-ports --json --access-log=false --stop-after 300s >serve.out 2>serve.err &
serve_pid=$!
for _ in $(seq 1 200); do [ -s serve.out ] && break; sleep 0.05; done
pop=$(node -e 'const i=JSON.parse(require("fs").readFileSync("serve.out","utf8").split("\n")[0]); console.log(i.pops[0].addr)')
echo "    pop1 at $pop"

if [ ! -d node_modules/puppeteer-core ]; then
  [ -f package.json ] || echo '{"private":true,"type":"module"}' > package.json
  npm install --no-audit --no-fund "$PUPPETEER" >/dev/null
fi
cp "$here/browser.mjs" .
echo "==> Chromium $("$CHROMIUM" --version | awk '{print $2}') loads https://$HOST:${pop##*:}/ (resolved to ${pop%:*})"
node browser.mjs "$CHROMIUM" "$HOST" "$pop" "$WORK/profile"
