#!/usr/bin/env bash
# bench/edge/https.sh — cache hits over HTTPS of cdnctl serve --https next
# to nginx with TLS and HTTP/2, on loopback, in one run: requests/s and p99
# latency for a 1 KiB and a 100 KiB object, over HTTPS/1.1 (wrk, keep-alive
# connections) and over HTTP/2 (h2load, streams multiplexed on a few
# connections). Not run by CI.
#
#   sudo apt-get install -y wrk nginx nghttp2-client   # once (h2load)
#   bash bench/edge/https.sh     # DURATION=10 ROUNDS=3 CONNS=64 H2_CONNS=8 H2_STREAMS=8
#
# Both servers are set up alike: one edge and no shield for cdnctl, two
# nginx workers and the Go runtime's two Ps (the machine has two cores);
# the same origin and objects, caches warmed before measuring, access logs
# off. TLS: a leaf of the same local CA for both (ECDSA P-256, the same
# names, issued by the code cdnctl uses: bench/edge/leafcert), TLS 1.2 and
# 1.3 with TLS_AES_128_GCM_SHA256 first (Go's server choice on hardware with
# AES; nginx is told the same order) and X25519 key exchange (what wrk and
# h2load, built on OpenSSL 3.0, offer first to both); the negotiated
# parameters are printed. Keep-alive: no limit of requests per connection
# for either (nginx's keepalive_requests raised from 1000), idle timeout
# 120 s; HTTP/2: 128 concurrent streams per connection (nginx's default,
# cdnctl's HTTPSConfig.MaxConcurrentStreams). wrk runs -c CONNS
# connections, h2load -c H2_CONNS connections of -m H2_STREAMS streams
# (the same CONNS requests in flight by default), both on one thread for
# DURATION seconds; rounds alternate the servers and the median is
# reported. h2load's p99 comes from its per-request log. For scale, the
# same hits over plain HTTP/1.1 (cdnctl on the same address, nginx on a
# plain listener of the same server) show what TLS costs each.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
H2_CONNS=${H2_CONNS:-8}
H2_STREAMS=${H2_STREAMS:-8}
HOST=www.example.test

for tool in wrk h2load nginx python3 curl openssl; do
  command -v "$tool" >/dev/null || { echo "bench/edge/https: $tool not found: apt-get install -y wrk nginx nghttp2-client curl openssl" >&2; exit 1; }
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
  echo "bench/edge/https: nothing in $1" >&2; cat "${1%.out}.log" >&2 || true; exit 1
}

echo "==> building"
go build -o "$tmp/cdnctl" ./cmd/cdnctl
go build -o "$tmp/origin" ./bench/edge/origin
go build -o "$tmp/leafcert" ./bench/edge/leafcert

"$tmp/origin" >"$tmp/origin.out" 2>"$tmp/origin.log" &
pids+=($!)
origin=$(firstline "$tmp/origin.out")

# --- cdnctl serve --https: one edge, no shield ------------------------------
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
  cache: {capacity: 128MiB, max_object_size: 8MiB}
  https:
    enabled: true
    ca_dir: $tmp/ca
dns:
  enabled: false
YAML
"$tmp/cdnctl" --config "$tmp/cdnctl.yaml" --log-level error --json serve >"$tmp/cdnctl.out" 2>"$tmp/cdnctl.log" &
pids+=($!)
firstline "$tmp/cdnctl.out" >/dev/null
cdnctl_url="https://127.0.0.1:$cport"

# --- nginx with TLS and HTTP/2, a leaf of the same CA ----------------------
mkdir -p "$tmp/nginx/cache" "$tmp/nginx/tmp" "$tmp/tls"
"$tmp/leafcert" -ca "$tmp/ca" -out "$tmp/tls" "$HOST" localhost 127.0.0.1 ::1 >/dev/null
nport=$(freeport)
nplain=$(freeport)
nginx_user=""
[ "$(id -u)" = 0 ] && nginx_user="user root root;"
cat >"$tmp/nginx/nginx.conf" <<CONF
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
  http2_max_concurrent_streams 128;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
  ssl_prefer_server_ciphers on;
  ssl_ecdh_curve X25519:prime256v1:secp384r1;
  proxy_cache_path $tmp/nginx/cache levels=1:2 keys_zone=edge:32m max_size=128m inactive=60m use_temp_path=off;
  upstream origin { server $origin; keepalive 64; }
  server {
    listen 127.0.0.1:$nport ssl http2;
    listen 127.0.0.1:$nplain;
    ssl_certificate $tmp/tls/leaf.pem;
    ssl_certificate_key $tmp/tls/leaf-key.pem;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_cache edge;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr.log" &
pids+=($!)
nginx_url="https://127.0.0.1:$nport"

ca="$tmp/ca/rootCA.pem"
for url in "$cdnctl_url" "$nginx_url"; do
  for _ in $(seq 1 100); do curl -s --cacert "$ca" -o /dev/null "$url/obj/1k" && break; sleep 0.05; done
done

echo "==> TLS and HTTP as negotiated (both checked against the local CA only)"
for pair in "cdnctl $cdnctl_url" "nginx $nginx_url"; do
  set -- $pair
  port=${2##*:}
  tls=$(openssl s_client -connect "127.0.0.1:$port" -servername "$HOST" -alpn h2,http/1.1 -CAfile "$ca" </dev/null 2>/dev/null |
    awk -F': *' '/^New, / {split($0,a,", Cipher is "); c=a[2]} /^ALPN protocol/ {alpn=$2} /^Server Temp Key/ {k=$2} /^Verify return code/ {v=$2} END {print c" | "k" | ALPN "alpn" | verify: "v}')
  printf '%-7s %s\n' "$1" "$tls"
done

verdict() { curl -s --http2 --cacert "$ca" -o /dev/null -D - "$1" | awk -F': ' 'tolower($1)=="x-cache" {gsub("\r",""); print toupper($2)}'; }
for obj in /obj/1k /obj/100k; do
  for url in "$cdnctl_url$obj" "$nginx_url$obj"; do
    curl -s --cacert "$ca" -o /dev/null "$url"; curl -s --http2 --cacert "$ca" -o /dev/null "$url"
    v=$(verdict "$url")
    [ "$v" = HIT ] || { echo "bench/edge/https: $url is not a cache hit after warming (X-Cache: $v)" >&2; exit 1; }
  done
done

# wrk (HTTPS/1.1) → "req/s p99_ms"
measure_h1() {
  local out
  out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$1")
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
scale = {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errs:
    sys.exit("non-2xx responses: " + errs.group(1))
print(f"{rps:.0f} {float(m.group(1)) * scale:.3f}")
PY
}
# h2load (HTTP/2) → "req/s p99_ms"
measure_h2() {
  local out log=$tmp/h2load.log
  rm -f "$log"
  out=$(h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D"$DURATION" --log-file="$log" "$1")
  python3 - "$out" "$log" <<'PY'
import re, sys
out, log = sys.argv[1], sys.argv[2]
if "Application protocol: h2" not in out:
    sys.exit("h2load did not negotiate h2:\n" + out)
m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
if not m or int(m.group(4)) or int(m.group(5)):
    sys.exit("h2load failures:\n" + out)
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
lat = sorted(int(line.split("\t")[2]) for line in open(log) if line.count("\t") >= 2)
status = {line.split("\t")[1] for line in open(log) if line.count("\t") >= 2}
if status - {"200"}:
    sys.exit(f"h2load statuses {status}")
p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000
print(f"{rps:.0f} {p99:.3f}")
PY
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "==> cache hits over HTTPS: HTTPS/1.1 wrk -t1 -c$CONNS; HTTP/2 h2load -t1 -c$H2_CONNS -m$H2_STREAMS; ${DURATION}s, $ROUNDS rounds, median (load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-9s %-7s %-7s %12s %10s\n' proto object server 'req/s' 'p99 ms'
declare -A result
for proto in h1 h2; do
  for obj in 1k 100k; do
    c_rps=(); c_p99=(); n_rps=(); n_p99=()
    for _ in $(seq 1 "$ROUNDS"); do
      read -r a b < <("measure_$proto" "$cdnctl_url/obj/$obj"); c_rps+=("$a"); c_p99+=("$b")
      read -r a b < <("measure_$proto" "$nginx_url/obj/$obj"); n_rps+=("$a"); n_p99+=("$b")
    done
    for s in c n; do
      declare -n rps=${s}_rps p99=${s}_p99
      result[$proto.$obj.$s.rps]=$(median "${rps[@]}")
      result[$proto.$obj.$s.p99]=$(median "${p99[@]}")
      unset -n rps p99
    done
    name=HTTPS/1.1; [ "$proto" = h2 ] && name=HTTP/2
    printf '%-9s %-7s %-7s %12.0f %10.3f   (rounds: %s req/s; p99 %s ms)\n' "$name" "$obj" cdnctl "${result[$proto.$obj.c.rps]}" "${result[$proto.$obj.c.p99]}" "${c_rps[*]}" "${c_p99[*]}"
    printf '%-9s %-7s %-7s %12.0f %10.3f   (rounds: %s req/s; p99 %s ms)\n' "$name" "$obj" nginx "${result[$proto.$obj.n.rps]}" "${result[$proto.$obj.n.p99]}" "${n_rps[*]}" "${n_p99[*]}"
  done
done

echo "==> for scale: the same hits over plain HTTP/1.1 (wrk -t1 -c$CONNS, same servers)"
for obj in 1k 100k; do
  c_rps=(); n_rps=()
  for _ in $(seq 1 "$ROUNDS"); do
    read -r a _ < <(measure_h1 "http://127.0.0.1:$cport/obj/$obj"); c_rps+=("$a")
    read -r a _ < <(measure_h1 "http://127.0.0.1:$nplain/obj/$obj"); n_rps+=("$a")
  done
  result[plain.$obj.c.rps]=$(median "${c_rps[@]}"); result[plain.$obj.n.rps]=$(median "${n_rps[@]}")
  printf '%-9s %-7s %-7s %12.0f   (rounds: %s)\n' HTTP/1.1 "$obj" cdnctl "${result[plain.$obj.c.rps]}" "${c_rps[*]}"
  printf '%-9s %-7s %-7s %12.0f   (rounds: %s)\n' HTTP/1.1 "$obj" nginx "${result[plain.$obj.n.rps]}" "${n_rps[*]}"
done

echo "==> ratios (cdnctl / nginx; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
for proto in h1 h2; do
  for obj in 1k 100k; do
    name=HTTPS/1.1; [ "$proto" = h2 ] && name=HTTP/2
    python3 - "$name" "$obj" "${result[$proto.$obj.c.rps]}" "${result[$proto.$obj.n.rps]}" "${result[$proto.$obj.c.p99]}" "${result[$proto.$obj.n.p99]}" <<'PY'
import sys
name, obj = sys.argv[1:3]
c, n, cp, np_ = map(float, sys.argv[3:])
print(f"{name:9s} {obj:5s} hits: throughput {c/n:.2f}x nginx, p99 {cp/np_:.2f}x nginx")
PY
  done
done
for obj in 1k 100k; do
  python3 - "$obj" "${result[plain.$obj.c.rps]}" "${result[plain.$obj.n.rps]}" "${result[h1.$obj.c.rps]}" "${result[h1.$obj.n.rps]}" <<'PY'
import sys
obj = sys.argv[1]
cp, np_, ct, nt = map(float, sys.argv[2:])
print(f"HTTP/1.1  {obj:5s} hits: throughput {cp/np_:.2f}x nginx; TLS keeps {ct/cp:.2f} of cdnctl's plain-HTTP rate, {nt/np_:.2f} of nginx's")
PY
done
