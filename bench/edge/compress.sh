#!/usr/bin/env bash
# bench/edge/compress.sh — compression at the edge: cdnctl serve (its edges
# compress and cache each coding as a variant) next to nginx with gzip and
# brotli on in front of the same origin, on loopback. A 100 KiB stylesheet
# (text/css, about 5:1), for a client that accepts br and one that accepts
# gzip:
#
#   warm: the same URL, cached: cdnctl serves its stored compressed
#         variant; nginx serves its cached (uncompressed) copy and
#         compresses it on every response, as its gzip and brotli filters do.
#   cold: every request a new URL (wrk and a Lua counter): the edge fetches
#         from the origin, compresses and stores; nginx fetches, stores and
#         compresses.
#
#   sudo apt-get install -y wrk nginx libnginx-mod-http-brotli-filter   # once
#   bash bench/edge/compress.sh     # DURATION=8 COLD_DURATION=4 ROUNDS=3 CONNS=32
#
# Set up alike: one edge and no shield for cdnctl, two nginx workers and
# the Go runtime's two Ps (two cores); the same levels (brotli 5, gzip 6:
# cdnctl's fixed ones; nginx's defaults would be gzip 1, brotli 6), the
# same minimum length (1,000 bytes), access logs off. Rounds alternate the
# servers; the median is reported. Under a shared machine's load, req/s
# moves with the neighbours, so each run also reports the servers' own CPU
# time per request (utime+stime of their processes from /proc, over the
# run), which load changes much less. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-8}
COLD_DURATION=${COLD_DURATION:-4} # each cold request stores a new object: keep the caches small
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
BROTLI_MODULE=${BROTLI_MODULE:-/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so}

for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/edge/compress: $tool not found: apt-get install -y wrk nginx libnginx-mod-http-brotli-filter curl" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
firstline() {
  for _ in $(seq 1 300); do
    if [ -s "$1" ] && head -n1 "$1" | grep -q .; then head -n1 "$1"; return; fi
    sleep 0.05
  done
  echo "bench/edge/compress: nothing in $1" >&2; exit 1
}

echo "==> building"
go build -o "$tmp/cdnctl" ./cmd/cdnctl
go build -o "$tmp/origin" ./bench/edge/origin

"$tmp/origin" >"$tmp/origin.out" 2>"$tmp/origin.log" &
pids+=($!)
origin=$(firstline "$tmp/origin.out")

# --- cdnctl serve: one edge, no shield, compression on (the default) -------
cport=$(freeport)
cat >"$tmp/cdnctl.yaml" <<YAML
serve:
  upstream: http://$origin
  admin: 127.0.0.1:0
  token: bench
  access_log: false
  shield: {enabled: false}
  pops:
    - {name: pop1, addr: 127.0.0.1:$cport}
  cache: {capacity: 512MiB, max_object_size: 8MiB}
dns:
  enabled: false
YAML
"$tmp/cdnctl" --config "$tmp/cdnctl.yaml" --log-level error --json serve >"$tmp/cdnctl.out" 2>"$tmp/cdnctl.log" &
cdnctl_pid=$!
pids+=($cdnctl_pid)
firstline "$tmp/cdnctl.out" >/dev/null
cdnctl_url="http://127.0.0.1:$cport"

# --- nginx: proxy_cache, gzip and brotli on --------------------------------
mkdir -p "$tmp/nginx/cache" "$tmp/nginx/tmp"
nport=$(freeport)
nginx_user=""
[ "$(id -u)" = 0 ] && nginx_user="user root root;"
brotli_load="" brotli_conf=""
if [ -f "$BROTLI_MODULE" ]; then
  brotli_load="load_module $BROTLI_MODULE;"
  brotli_conf="brotli on; brotli_comp_level 5; brotli_min_length 1000; brotli_types text/css;"
else
  echo "bench/edge/compress: no nginx brotli module ($BROTLI_MODULE): br runs compare with nginx's gzip only" >&2
fi
cat >"$tmp/nginx/nginx.conf" <<CONF
$brotli_load
$nginx_user
worker_processes 2;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp/body;
  proxy_temp_path $tmp/nginx/tmp/proxy;
  fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
  scgi_temp_path $tmp/nginx/tmp/scgi;
  keepalive_timeout 120s;
  keepalive_requests 1000000000;
  gzip on; gzip_comp_level 6; gzip_min_length 1000; gzip_types text/css; gzip_proxied any; gzip_vary on;
  $brotli_conf
  proxy_cache_path $tmp/nginx/cache levels=1:2 keys_zone=edge:64m max_size=512m inactive=60m use_temp_path=off;
  upstream origin { server $origin; keepalive 64; }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header Accept-Encoding "";
      proxy_cache edge;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr.log" &
nginx_pid=$!
pids+=($nginx_pid)
nginx_url="http://127.0.0.1:$nport"
for url in "$cdnctl_url" "$nginx_url"; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "$url/text/up" && break; sleep 0.05; done
done
# Every process of a server: nginx's master and its workers.
server_pids() {
  if [ "$1" = cdnctl ]; then echo "$cdnctl_pid"; else echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; fi
}
cpu_ticks() { # utime+stime of the pids, in clock ticks
  python3 - "$@" <<'PY'
import sys
t = 0
for p in sys.argv[1:]:
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    t += int(f[11]) + int(f[12])
print(t)
PY
}
hz=$(getconf CLK_TCK)

echo "==> what each serves (Content-Encoding, bytes of the 102,400-byte stylesheet; warmed)"
for ae in br gzip; do
  for pair in "cdnctl $cdnctl_url" "nginx $nginx_url"; do
    set -- $pair
    curl -s -o /dev/null -H "Accept-Encoding: $ae" "$2/text/0"
    curl -s -o /dev/null -H "Accept-Encoding: $ae" "$2/text/0"
    read -r ce size cache < <(curl -s -o /dev/null -D "$tmp/h" -H "Accept-Encoding: $ae" -w '%{size_download}\n' "$2/text/0" |
      { read -r n; awk -F': ' -v n="$n" 'tolower($1)=="content-encoding" {gsub("\r",""); ce=$2} tolower($1)=="x-cache" {gsub("\r",""); xc=$2} END {print (ce==""?"identity":ce), n, xc}' "$tmp/h"; })
    printf '%-7s Accept-Encoding: %-5s → %-8s %6s bytes  X-Cache %s\n' "$1" "$ae" "$ce" "$size" "$cache"
    [ "$ce" = "$ae" ] || { [ "$1" = nginx ] && [ "$ae" = br ] && [ -z "$brotli_conf" ]; } || { echo "bench/edge/compress: $1 did not answer $ae" >&2; exit 1; }
  done
done

cat >"$tmp/cold.lua" <<'LUA'
local n = 0
local prefix = os.getenv("PREFIX") or "x"
request = function()
  n = n + 1
  return wrk.format(nil, "/text/" .. prefix .. "-" .. n)
end
LUA

# run SERVER URL AE MODE → "req/s cpu_ms_per_1000_requests"
run() {
  local server=$1 url=$2 ae=$3 mode=$4 out before after p
  p=$(server_pids "$server")
  before=$(cpu_ticks $p)
  if [ "$mode" = cold ]; then
    out=$(PREFIX="$server-$ae-$RANDOM$RANDOM" wrk -t1 -c"$CONNS" -d"${COLD_DURATION}s" -H "Accept-Encoding: $ae" -s "$tmp/cold.lua" "$url")
  else
    out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" -H "Accept-Encoding: $ae" "$url/text/0")
  fi
  after=$(cpu_ticks $p)
  python3 - "$out" "$before" "$after" "$hz" <<'PY'
import re, sys
out, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
    sys.exit("non-2xx responses:\n" + out)
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{rps:.0f} {(after - before) / hz * 1000 / n * 1000:.1f}")
PY
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "==> wrk -t1 -c$CONNS, ${DURATION}s warm, ${COLD_DURATION}s cold, $ROUNDS rounds alternating, median (load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-5s %-5s %-7s %10s %22s\n' mode AE server 'req/s' 'CPU ms / 1000 req'
declare -A result
for mode in warm cold; do
  for ae in br gzip; do
    c_rps=(); c_cpu=(); n_rps=(); n_cpu=()
    for _ in $(seq 1 "$ROUNDS"); do
      read -r a b < <(run cdnctl "$cdnctl_url" "$ae" "$mode"); c_rps+=("$a"); c_cpu+=("$b")
      read -r a b < <(run nginx "$nginx_url" "$ae" "$mode"); n_rps+=("$a"); n_cpu+=("$b")
    done
    for s in c n; do
      declare -n rps=${s}_rps cpu=${s}_cpu
      result[$mode.$ae.$s.rps]=$(median "${rps[@]}")
      result[$mode.$ae.$s.cpu]=$(median "${cpu[@]}")
      unset -n rps cpu
    done
    printf '%-5s %-5s %-7s %10.0f %22.1f   (rounds: %s req/s; %s CPU ms)\n' "$mode" "$ae" cdnctl "${result[$mode.$ae.c.rps]}" "${result[$mode.$ae.c.cpu]}" "${c_rps[*]}" "${c_cpu[*]}"
    printf '%-5s %-5s %-7s %10.0f %22.1f   (rounds: %s req/s; %s CPU ms)\n' "$mode" "$ae" nginx "${result[$mode.$ae.n.rps]}" "${result[$mode.$ae.n.cpu]}" "${n_rps[*]}" "${n_cpu[*]}"
  done
done

echo "==> ratios (cdnctl / nginx; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
for mode in warm cold; do
  for ae in br gzip; do
    python3 - "$mode" "$ae" "${result[$mode.$ae.c.rps]}" "${result[$mode.$ae.n.rps]}" "${result[$mode.$ae.c.cpu]}" "${result[$mode.$ae.n.cpu]}" <<'PY'
import sys
mode, ae = sys.argv[1:3]
c, n, cc, nc = map(float, sys.argv[3:])
print(f"{mode:5s} {ae:5s} throughput {c/n:.2f}x nginx, CPU per request {cc/nc:.2f}x nginx")
PY
  done
done
