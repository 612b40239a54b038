#!/usr/bin/env bash
# bench/dns/run.sh — queries/s and p99 latency of cdnctl's GeoDNS server
# next to Knot DNS serving the same names, with dnsperf, on loopback, in one
# run. Not run by CI.
#
#   sudo apt-get install -y dnsperf knot     # once
#   bash bench/dns/run.sh                    # DURATION=10 ROUNDS=3 RATE=10000
#
# Throughput: dnsperf saturates each server for DURATION seconds, ROUNDS
# times, alternating the two (the machine is shared: the median of the
# rounds is reported). Latency: dnsperf offers both servers the same fixed
# rate (RATE queries/s) with per-query timing, and the script takes the
# 99th percentile. The GeoDNS runs its full routing policy on every query
# (longest-prefix match of the client's network, health flags kept by real
# HTTP health checks of three PoPs); the queries come from 127.2.0.1, a
# client of pop2. Knot answers the same names from static zone files.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-10000}
CLIENT=127.2.0.1

for tool in dnsperf knotd; do
  command -v "$tool" >/dev/null || { echo "bench/dns: $tool not found: apt-get install -y dnsperf knot" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "==> building"
go build -o "$tmp/geodnsd" ./bench/dns/geodnsd
go build -o "$tmp/cdnctl" ./cmd/cdnctl
freeport() { "$tmp/geodnsd" -free-port; }

# --- cdnctl GeoDNS -----------------------------------------------------
gport=$(freeport)
"$tmp/geodnsd" -addr "127.0.0.1:$gport" >"$tmp/geodnsd.out" 2>"$tmp/geodnsd.log" &
pids+=($!)

# --- Knot DNS with the same names ---------------------------------------
kport=$(freeport)
mkdir -p "$tmp/knot/zones" "$tmp/knot/run" "$tmp/knot/db"
cat >"$tmp/knot/zones/cdn.test.zone" <<'EOF'
$ORIGIN cdn.test.
$TTL 300
@            SOA ns1.cdn.test. hostmaster.cdn.test. 1 3600 600 604800 30
@            NS  ns1
ns1          A   127.0.0.1
www.example  30 A 127.0.2.1
EOF
cat >"$tmp/knot/zones/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 300
@    SOA ns1.cdn.test. hostmaster.example.test. 1 3600 600 604800 30
@    NS  ns1.cdn.test.
www  30 CNAME www.example.cdn.test.
EOF
cat >"$tmp/knot/knot.conf" <<EOF
server:
    rundir: "$tmp/knot/run"
    listen: 127.0.0.1@$kport
database:
    storage: "$tmp/knot/db"
template:
  - id: default
    storage: "$tmp/knot/zones"
    file: "%s.zone"
zone:
  - domain: cdn.test
  - domain: example.test
log:
  - target: stderr
    any: warning
EOF
knotd -c "$tmp/knot/knot.conf" 2>"$tmp/knot.log" &
pids+=($!)

# Both answer before measuring.
ready() { # port
  for _ in $(seq 100); do
    if "$tmp/cdnctl" resolve www.example.cdn.test --server "127.0.0.1:$1" --from $CLIENT --timeout 200ms >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "bench/dns: server on port $1 did not answer" >&2; cat "$tmp"/*.log >&2; exit 1
}
ready "$gport"; ready "$kport"
# Let the GeoDNS health checks run once.
sleep 1.5

echo "==> answers for a client at $CLIENT"
echo "-- cdnctl GeoDNS (127.0.0.1:$gport)"
"$tmp/cdnctl" resolve www.example.test --server "127.0.0.1:$gport" --from $CLIENT
echo "-- Knot DNS $(knotd -V | awk '{print $NF}') (127.0.0.1:$kport)"
"$tmp/cdnctl" resolve www.example.test --server "127.0.0.1:$kport" --from $CLIENT || true
echo "   (Knot does not follow a CNAME into another zone; the GeoDNS answers the whole chain)"

# The query mix: CDN names (routed), customer hosts (CNAME chain + routed),
# and an unknown name (NXDOMAIN + SOA).
cat >"$tmp/queries" <<'EOF'
www.example.cdn.test A
www.example.test A
www.example.cdn.test A
www.example.test A
www.example.cdn.test A
nope.cdn.test A
EOF

qps() { # port [extra dnsperf args]
  local port=$1; shift
  dnsperf -s 127.0.0.1 -p "$port" -a $CLIENT -d "$tmp/queries" -l "$DURATION" -c 4 -T 2 -q 200 "$@" 2>/dev/null |
    awk '/Queries per second/ {print int($4)}'
}
p99() { # port: 99th percentile latency (ms) at RATE queries/s
  dnsperf -s 127.0.0.1 -p "$1" -a $CLIENT -d "$tmp/queries" -l "$DURATION" -c 2 -T 1 -Q "$RATE" -v 2>/dev/null |
    awk '/^> / {print $NF}' | sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "n/a"; exit} i=int(NR*0.99); if (i<1) i=1; printf "%.3f\n", v[i]*1000}'
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "==> throughput: $ROUNDS rounds of ${DURATION}s each, alternating"
gq=(); kq=()
for r in $(seq "$ROUNDS"); do
  g=$(qps "$gport"); k=$(qps "$kport")
  echo "   round $r: geodns $g qps, knot $k qps"
  gq+=("$g"); kq+=("$k")
done
gmed=$(printf '%s\n' "${gq[@]}" | median)
kmed=$(printf '%s\n' "${kq[@]}" | median)
# The same load with an EDNS Client Subnet option (127.3.0.0/24) on every
# query: routed by the subnet instead of the source address.
gecs=$(qps "$gport" -E 8:000118007f0300)

echo "==> latency at $RATE queries/s"
glat=$(p99 "$gport"); klat=$(p99 "$kport")

echo
printf '%-28s %14s %18s\n' "server" "queries/s" "p99 @${RATE}/s (ms)"
printf '%-28s %14s %18s\n' "cdnctl GeoDNS" "$gmed" "$glat"
printf '%-28s %14s %18s\n' "cdnctl GeoDNS, ECS queries" "$gecs" "-"
printf '%-28s %14s %18s\n' "Knot DNS $(knotd -V | awk '{print $NF}')" "$kmed" "$klat"
ratio=$(awk -v g="$gmed" -v k="$kmed" 'BEGIN {printf "%.2f", g/k}')
echo
echo "ratio GeoDNS/Knot (queries/s): $ratio   (target >= 0.5)"
