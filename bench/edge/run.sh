#!/usr/bin/env bash
# bench/edge/run.sh — cache hits of cdnctl serve next to nginx proxy_cache,
# on loopback, in one run: requests/s and p99 latency for a 1 KiB and a
# 100 KiB object (same origin, same objects), the memory of a full cdnctl
# cache against its configured size, the memory under SLOW_CLIENTS clients
# that request distinct 8 MiB objects and never read (issue 12), and
# request collapsing (200 clients on a cold URL of a 200 ms origin). Not
# run by CI.
#
#   sudo apt-get install -y wrk nginx          # once
#   bash bench/edge/run.sh                     # DURATION=10 ROUNDS=3 CONNS=64 THREADS=1 CACHE_MB=128 SLOW_CLIENTS=250
#
# Both servers get the same setup: two worker processes for nginx, the Go
# runtime's default two Ps for cdnctl (the machine has two cores), access
# logs off, one edge and no shield in front of the same origin, caches
# warmed before measuring. wrk runs with THREADS threads (default 1, to
# leave the cores to the servers) and CONNS keep-alive connections for
# DURATION seconds; the rounds alternate the two servers and the median is
# reported. Latency is wrk's 99th percentile under that saturating load.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
CACHE_MB=${CACHE_MB:-128}
SLOW_CLIENTS=${SLOW_CLIENTS:-250}
HOST=www.example.test

for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/edge: $tool not found: apt-get install -y wrk nginx" >&2; exit 1; }
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
firstline() { # wait for the first line of a file
  for _ in $(seq 1 300); do
    if [ -s "$1" ] && head -n1 "$1" | grep -q .; then head -n1 "$1"; return; fi
    sleep 0.05
  done
  echo "bench/edge: nothing in $1" >&2; cat "${1%.out}.log" >&2 || true; exit 1
}
rss_kb() {
  [ -r "/proc/$1/status" ] || { echo "bench/edge: process $1 is gone" >&2; tail -n 30 "$tmp/cdnctl.log" >&2; exit 1; }
  awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

echo "==> building"
go build -o "$tmp/cdnctl" ./cmd/cdnctl
go build -o "$tmp/origin" ./bench/edge/origin

# --- origin ----------------------------------------------------------------
"$tmp/origin" >"$tmp/origin.out" 2>"$tmp/origin.log" &
pids+=($!)
origin=$(firstline "$tmp/origin.out")

# --- cdnctl serve: one edge, no shield, the origin above ------------------
cat >"$tmp/cdnctl.yaml" <<EOF
serve:
  upstream: http://$origin
  admin: 127.0.0.1:0
  token: bench
  access_log: false
  shield: {enabled: false}
  pops:
    - {name: pop1, addr: 127.0.0.1:0}
  cache:
    capacity: ${CACHE_MB}MiB
    max_object_size: 8MiB
    idle_send_timeout: 5s   # 60s by default: shortened to show the slow clients dropped
dns:
  enabled: false
EOF
"$tmp/cdnctl" --config "$tmp/cdnctl.yaml" --log-level error --json serve >"$tmp/cdnctl.out" 2>"$tmp/cdnctl.log" &
cdnctl_pid=$!
pids+=($cdnctl_pid)
info=$(firstline "$tmp/cdnctl.out")
edge=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pops"][0]["url"])' "$info")
admin=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["admin"]["url"])' "$info")

# --- nginx proxy_cache over the same origin --------------------------------
nport=$(freeport)
mkdir -p "$tmp/nginx/cache" "$tmp/nginx/tmp"
nginx_user=""
# As root, nginx would run its workers as nobody, who cannot write the
# temporary cache folder.
[ "$(id -u)" = 0 ] && nginx_user="user root root;"
cat >"$tmp/nginx/nginx.conf" <<EOF
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
  proxy_cache_path $tmp/nginx/cache levels=1:2 keys_zone=edge:32m max_size=${CACHE_MB}m inactive=60m use_temp_path=off;
  upstream origin { server $origin; keepalive 64; }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_cache edge;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr.log" &
nginx_pid=$!
pids+=($nginx_pid)
nginx_url="http://127.0.0.1:$nport"
for _ in $(seq 1 100); do curl -s -o /dev/null "$nginx_url/" && break; sleep 0.05; done

verdict() { curl -s -o /dev/null -D - -H "Host: $HOST" "$1" | awk -F': ' 'tolower($1)=="x-cache" {gsub("\r",""); print $2}'; }
for obj in /obj/1k /obj/100k; do
  for url in "$edge$obj" "$nginx_url$obj"; do
    curl -s -o /dev/null -H "Host: $HOST" "$url"; curl -s -o /dev/null -H "Host: $HOST" "$url"
    v=$(verdict "$url")
    [ "$v" = HIT ] || {
      echo "bench/edge: $url is not a cache hit after warming (X-Cache: $v)" >&2
      curl -s -o /dev/null -D - -H "Host: $HOST" "$url" >&2
      tail -n 5 "$tmp/nginx/error.log" "$tmp/nginx/stderr.log" "$tmp/cdnctl.log" >&2 || true
      exit 1
    }
  done
done

# wrk → "req/s p99_ms"
measure() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -H "Host: $HOST" "$1")
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
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "==> cache hits: wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS rounds, median (2 cores shared by wrk and the server)"
printf '%-8s %-7s %12s %10s\n' object server 'req/s' 'p99 ms'
declare -A result
for obj in 1k 100k; do
  c_rps=(); c_p99=(); n_rps=(); n_p99=(); o_rps=(); o_p99=()
  for r in $(seq 1 "$ROUNDS"); do
    read -r a b < <(measure "$edge/obj/$obj"); c_rps+=("$a"); c_p99+=("$b")
    read -r a b < <(measure "$nginx_url/obj/$obj"); n_rps+=("$a"); n_p99+=("$b")
    # The origin itself: a plain net/http handler writing the object from
    # memory (no cache, no proxy): the ceiling of any net/http edge here.
    read -r a b < <(measure "http://$origin/obj/$obj"); o_rps+=("$a"); o_p99+=("$b")
  done
  result[$obj.c.rps]=$(median "${c_rps[@]}"); result[$obj.c.p99]=$(median "${c_p99[@]}")
  result[$obj.n.rps]=$(median "${n_rps[@]}"); result[$obj.n.p99]=$(median "${n_p99[@]}")
  result[$obj.o.rps]=$(median "${o_rps[@]}"); result[$obj.o.p99]=$(median "${o_p99[@]}")
  printf '%-8s %-7s %12.0f %10.3f   (rounds: %s)\n' "$obj" cdnctl "${result[$obj.c.rps]}" "${result[$obj.c.p99]}" "${c_rps[*]}"
  printf '%-8s %-7s %12.0f %10.3f   (rounds: %s)\n' "$obj" nginx "${result[$obj.n.rps]}" "${result[$obj.n.p99]}" "${n_rps[*]}"
  printf '%-8s %-7s %12.0f %10.3f   (rounds: %s; plain net/http, no cache)\n' "$obj" origin "${result[$obj.o.rps]}" "${result[$obj.o.p99]}" "${o_rps[*]}"
done

# --- collapsing -------------------------------------------------------------
echo "==> collapsing: 200 concurrent clients on a cold URL of a 200 ms origin"
wrk -t1 -c200 -d2s -H "Host: $HOST" "$edge/slow/cdnctl" >/dev/null
wrk -t1 -c200 -d2s -H "Host: $HOST" "$nginx_url/slow/nginx" >/dev/null
c_coll=$(curl -s "http://$origin/count/cdnctl")
n_coll=$(curl -s "http://$origin/count/nginx")
printf 'origin requests: cdnctl %s, nginx (proxy_cache_lock on) %s\n' "$c_coll" "$n_coll"

# --- memory of a full cache ---------------------------------------------------
echo "==> memory: fill cdnctl's ${CACHE_MB} MiB cache with 256 KiB objects (1.5x its size)"
rss_before=$(rss_kb "$cdnctl_pid")
n=$(( CACHE_MB * 3 * 2 ))  # 1.5 x capacity in 256 KiB objects
seq 1 "$n" | xargs -P 8 -I{} curl -s -o /dev/null -H "Host: $HOST" "$edge/fill/{}"
sleep 1
rss_full=$(rss_kb "$cdnctl_pid")
stats=$(curl -s -H 'Authorization: Bearer bench' "$admin/api/v1/stats")
stored=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pops"][0]["bytes_stored"])' "$stats")
limit_kb=$(( CACHE_MB * 1024 * 13 / 10 + 50 * 1024 ))
printf 'RSS %d MiB after filling (%d MiB before); %d MiB stored of %d MiB configured; target RSS <= 1.3 x %d + 50 = %d MiB\n' \
  $(( rss_full / 1024 )) $(( rss_before / 1024 )) $(( stored / 1048576 )) "$CACHE_MB" "$CACHE_MB" $(( limit_kb / 1024 ))

# --- memory under clients that never read -----------------------------------
# Each client opens a connection, asks for a distinct 8 MiB object and reads
# nothing: without bounds, every body stays pinned in memory (issue 12:
# 2.5 GB with 250 clients). The figure is cdnctl's peak RSS while they hold
# their connections, against the same target as a full cache; nginx's RSS
# (master and workers) under the same attack is shown for scale.
cat >"$tmp/slowclients.py" <<'PY'
import socket, sys, time, urllib.parse
url, n, prefix, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
u = urllib.parse.urlparse(url)
socks = []
for i in range(n):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(f"GET /big/{prefix}{i} HTTP/1.1\r\nHost: www.example.test\r\n\r\n".encode())
    socks.append(s)
print("sent", flush=True)
time.sleep(hold)
open_ = 0
for s in socks:  # a connection the server closed reads EOF (or a reset) once drained
    s.setblocking(False)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
    except BlockingIOError:
        open_ += 1
    except OSError:
        pass
print(open_, flush=True)
PY
peak_rss() { # peak_rss PIDS...: the largest summed VmRSS (KiB) over 10 samples, 0.3 s apart
  local peak=0 sum p
  for _ in $(seq 1 10); do
    sum=0; for p in "$@"; do sum=$(( sum + $(rss_kb "$p") )); done
    [ "$sum" -gt "$peak" ] && peak=$sum
    sleep 0.3
  done
  echo "$peak"
}
slow_attack() { # slow_attack URL PREFIX PIDS...: RSS peak while the clients hold on
  local url=$1 prefix=$2; shift 2
  python3 "$tmp/slowclients.py" "$url" "$SLOW_CLIENTS" "$prefix" 25 >"$tmp/slow.$prefix.out" &
  local py=$!
  for _ in $(seq 1 600); do grep -q sent "$tmp/slow.$prefix.out" 2>/dev/null && break; sleep 0.05; done
  sleep 1
  peak_rss "$@"
  wait "$py"
}
echo "==> memory: $SLOW_CLIENTS clients request distinct 8 MiB objects and never read (held 25 s; cdnctl idle_send_timeout 5s)"
slow_rss=$(slow_attack "$edge" c "$cdnctl_pid")
slow_open=$(tail -n1 "$tmp/slow.c.out")
stats=$(curl -s -H 'Authorization: Bearer bench' "$admin/api/v1/stats")
read -r fill_over send_timeouts fill_budget < <(python3 -c 'import json,sys; p=json.loads(sys.argv[1])["pops"][0]; print(p["fills_over_budget"], p["send_timeouts"], p["fill_budget"])' "$stats")
nginx_procs=("$nginx_pid" $(pgrep -P "$nginx_pid" || true))
nginx_slow_rss=$(slow_attack "$nginx_url" n "${nginx_procs[@]}")
printf 'cdnctl RSS peak %d MiB (target <= %d MiB; fill budget %d MiB); %d fills passed through over budget; %d clients dropped by the send timeout, %d of %d still connected after 25 s\n' \
  $(( slow_rss / 1024 )) $(( limit_kb / 1024 )) $(( fill_budget / 1048576 )) "$fill_over" "$send_timeouts" "$slow_open" "$SLOW_CLIENTS"
printf 'nginx RSS peak %d MiB (master + workers, for scale: its cache is on disk)\n' $(( nginx_slow_rss / 1024 ))

echo "==> ratios (target: throughput >= 1.0x nginx, p99 <= nginx, RSS within target, 1 origin request)"
python3 - "${result[1k.c.rps]}" "${result[1k.n.rps]}" "${result[1k.c.p99]}" "${result[1k.n.p99]}" \
  "${result[100k.c.rps]}" "${result[100k.n.rps]}" "${result[100k.c.p99]}" "${result[100k.n.p99]}" \
  "$rss_full" "$limit_kb" "$c_coll" "${result[1k.o.rps]}" "${result[100k.o.rps]}" "$slow_rss" <<'PY'
import sys
c1, n1, cp1, np1, c100, n100, cp100, np100, rss, limit, coll, o1, o100, slow = map(float, sys.argv[1:])
def ok(b): return "ok" if b else "MISSED"
print(f"1 KiB hits:   throughput {c1/n1:.2f}x nginx [{ok(c1 >= n1)}], p99 {cp1/np1:.2f}x nginx [{ok(cp1 <= np1)}]")
print(f"100 KiB hits: throughput {c100/n100:.2f}x nginx [{ok(c100 >= n100)}], p99 {cp100/np100:.2f}x nginx [{ok(cp100 <= np100)}]")
print(f"memory:       RSS {rss/limit:.2f}x the target with a full cache [{ok(rss <= limit)}], {slow/limit:.2f}x with slow clients [{ok(slow <= limit)}]")
print(f"collapsing:   {coll:.0f} origin request(s) [{ok(coll == 1)}]")
print(f"for scale:    plain net/http (the origin, no cache) serves {o1/n1:.2f}x nginx's 1 KiB hits and {o100/n100:.2f}x its 100 KiB hits;")
print(f"              cdnctl's hits run at {c1/o1:.2f}x / {c100/o100:.2f}x of that ceiling")
PY
