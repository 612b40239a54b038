#!/usr/bin/env bash
# bench/simulate/run.sh — cdnctl simulate next to libCacheSim, in one run.
# Not run by CI.
#
#   sudo apt-get install -y cmake pkg-config libglib2.0-dev libzstd-dev   # once, for libCacheSim
#   bash bench/simulate/run.sh            # REQUESTS=5000000 OBJECTS=200000 LOGLINES=10000000
#   bash bench/simulate/run.sh --fixture  # rewrite simulate/testdata/lru-* (the CI test of the LRU mode)
#
# 1. LRU correctness: one trace (Zipf 0.9 over OBJECTS objects, log-normal
#    sizes, REQUESTS requests, CSV time,url,bytes) replayed by libCacheSim's
#    LRU and by `cdnctl simulate --eviction lru` (one PoP, no shield, no
#    expiry, fills without delay) at four cache sizes: the miss counts must
#    be equal, to the request.
# 2. Throughput on that trace, LRU, both reading the CSV: requests per
#    second of each, and the ratio.
# 3. Hit-heavy Zipf through 3 PoPs and a shield (serve's default topology,
#    W-TinyLFU), 10,000 and 100,000 objects: simulated requests per second
#    of CPU time (per core).
# 4. A LOGLINES-line nginx combined log (gzip) replayed with serve's
#    default topology: wall time (target: under 30 s on 2 cores).
# 5. Memory: 1, 10 and 100 TB catalogues through the same 1 GiB caches:
#    the peak RSS follows the caches, not the catalogue.
#
# Where the time goes: bench/simulate/profile runs the same command in
# process with a CPU profile, e.g.
#   go run ./bench/simulate/profile -cpuprofile cpu.out -- --config "$WORK/empty.yaml" \
#     --json simulate --log "$WORK/access-10000000.log.gz" --cache-size 1GiB --ttl '/o/*=public, max-age=86400' >/dev/null
#   go tool pprof -top cpu.out
#
# libCacheSim (github.com/1a1a11a/libCacheSim, C) is built from source on
# this machine, never committed: from $LIBCACHESIM_SRC (a checkout), else
# a mirror at /work/.mirror/1a1a11a+libCacheSim/repo, else a git clone from
# GitHub. Without any, parts 1 and 2 are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

REQUESTS=${REQUESTS:-5000000}
OBJECTS=${OBJECTS:-200000}
LOGLINES=${LOGLINES:-10000000}
WORK=${WORK:-/tmp/cdnctl-bench-simulate}
FIXTURE=0
[ "${1:-}" = "--fixture" ] && FIXTURE=1
mkdir -p "$WORK"

echo "==> building cdnctl and gentrace"
go build -o "$WORK/cdnctl" ./cmd/cdnctl
go build -o "$WORK/gentrace" ./bench/simulate/gentrace
cdnctl="$WORK/cdnctl"
cfg="$WORK/empty.yaml"
: >"$cfg" # serve's defaults, whatever cdnctl.yaml is around

# --- libCacheSim, built from source ------------------------------------------
lcs=""
build_libcachesim() {
  local src="$WORK/libCacheSim-src"
  if [ -x "$WORK/lcsdriver" ]; then lcs="$WORK/lcsdriver"; return; fi
  rm -rf "$src"
  if [ -n "${LIBCACHESIM_SRC:-}" ]; then
    cp -r "$LIBCACHESIM_SRC" "$src"
  elif [ -d /work/.mirror/1a1a11a+libCacheSim/repo ]; then
    mkdir -p "$src"
    # Everything but data/ (sample traces the mirror may hold only as
    # pointers).
    local gd=/work/.mirror/1a1a11a+libCacheSim/repo
    { git --git-dir="$gd" archive HEAD $(git --git-dir="$gd" ls-tree --name-only HEAD | grep -vx data) 2>/dev/null || true; } | tar -x -C "$src"
  elif ! git clone -q --depth 1 https://github.com/1a1a11a/libCacheSim "$src" 2>/dev/null; then
    echo "    libCacheSim source not reachable (set LIBCACHESIM_SRC): skipping the comparison" >&2
    return
  fi
  for tool in cmake pkg-config gcc; do
    command -v "$tool" >/dev/null || { echo "    $tool not found: apt-get install -y cmake pkg-config libglib2.0-dev libzstd-dev" >&2; return; }
  done
  (cd "$src" && mkdir -p _build && cd _build &&
    cmake -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTS=OFF .. >"$WORK/lcs-cmake.log" 2>&1 &&
    make -j"$(nproc)" libCacheSim >"$WORK/lcs-make.log" 2>&1) ||
    { echo "    building libCacheSim failed: see $WORK/lcs-*.log" >&2; return; }
  gcc -O2 -o "$WORK/lcsdriver" bench/simulate/lcsdriver.c \
    -I "$src/libCacheSim/include" -I "$src/_build/libCacheSim/include" "$src/_build/liblibCacheSim.a" \
    $(pkg-config --cflags --libs glib-2.0) -lzstd -lm -lpthread -ldl
  lcs="$WORK/lcsdriver"
}
echo "==> libCacheSim"
build_libcachesim
[ -n "$lcs" ] && echo "    $lcs"

# simulate_lru TRACE SIZE: the misses of cdnctl simulate's LRU mode, one PoP,
# no shield, nothing expiring, fills without delay (as libCacheSim counts).
simulate_lru() {
  "$cdnctl" --config "$cfg" --json simulate --log "$1" --format csv --eviction lru --pops 1 --no-shield \
    --hop-rtt 0 --ttl '/**=public, max-age=31536000' --cache-size "$2" --max-object-size "$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["scenarios"][0]; print(r["requests"]-r["edge"]["hits"])'
}

if [ "$FIXTURE" = 1 ]; then
  [ -n "$lcs" ] || { echo "bench/simulate: --fixture needs libCacheSim" >&2; exit 1; }
  out=simulate/testdata
  mkdir -p "$out"
  "$WORK/gentrace" -n 20000 -objects 4000 -zipf 0.9 -median 8KiB -rate 50 -seed 7 -o "$WORK/fixture.csv"
  gzip -9 -n -c "$WORK/fixture.csv" >"$out/lru-trace.csv.gz"
  {
    echo "# libCacheSim LRU on lru-trace.csv.gz: cache bytes, requests, misses (bench/simulate/run.sh --fixture)"
    for size in 1000000 4000000 16000000 64000000; do
      "$lcs" "$WORK/fixture.csv" "$size" | sed -E "s/requests=([0-9]+) misses=([0-9]+).*/$size \1 \2/"
    done
  } >"$out/lru-libcachesim.txt"
  cat "$out/lru-libcachesim.txt"
  exit 0
fi

# --- 1 and 2: LRU next to libCacheSim ----------------------------------------
trace="$WORK/trace-$REQUESTS-$OBJECTS.csv"
if [ ! -s "$trace" ]; then
  echo "==> trace: $REQUESTS requests over $OBJECTS objects"
  "$WORK/gentrace" -n "$REQUESTS" -objects "$OBJECTS" -zipf 0.9 -median 20KiB -rate 2000 -o "$trace"
fi
if [ -n "$lcs" ]; then
  echo "==> 1. LRU misses, same trace ($REQUESTS requests): libCacheSim vs cdnctl simulate --eviction lru"
  printf "    %-14s %12s %12s  %s\n" "cache bytes" libCacheSim cdnctl equal
  fail=0
  for size in 67108864 268435456 1073741824 2147483648; do
    a=$("$lcs" "$trace" "$size" | sed -E 's/.*misses=([0-9]+).*/\1/')
    b=$(simulate_lru "$trace" "$size")
    eq=yes; [ "$a" = "$b" ] || { eq=NO; fail=1; }
    printf "    %-14s %12s %12s  %s\n" "$size" "$a" "$b" "$eq"
  done
  [ "$fail" = 0 ] || { echo "bench/simulate: the LRU miss counts differ" >&2; exit 1; }

  echo "==> 2. throughput on the same trace, LRU at 1 GiB, reading the CSV (best of 3, wall and CPU time)"
  best_lcs=999999; best_sim=999999; cpu_lcs=999999; cpu_sim=999999
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %U %S" -o "$WORK/time2a" "$lcs" "$trace" 1073741824 >/dev/null
    /usr/bin/time -f "%e %U %S" -o "$WORK/time2b" "$cdnctl" --config "$cfg" --json simulate --log "$trace" --format csv \
      --eviction lru --pops 1 --no-shield --hop-rtt 0 --ttl '/**=public, max-age=31536000' \
      --cache-size 1073741824 --max-object-size 1073741824 >/dev/null
    read -r w u s <"$WORK/time2a"; best_lcs=$(python3 -c "print(min($best_lcs, $w))"); cpu_lcs=$(python3 -c "print(min($cpu_lcs, $u+$s))")
    read -r w u s <"$WORK/time2b"; best_sim=$(python3 -c "print(min($best_sim, $w))"); cpu_sim=$(python3 -c "print(min($cpu_sim, $u+$s))")
  done
  python3 - "$REQUESTS" "$best_lcs" "$best_sim" "$cpu_lcs" "$cpu_sim" <<'EOF'
import sys
n, lcs, sim, clcs, csim = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"    libCacheSim LRU      {n/lcs/1e6:6.2f} M requests/s wall ({lcs:.2f} s), {n/clcs/1e6:6.2f} M/s of CPU ({clcs:.2f} s)")
print(f"    cdnctl simulate LRU  {n/sim/1e6:6.2f} M requests/s wall ({sim:.2f} s), {n/csim/1e6:6.2f} M/s of CPU ({csim:.2f} s); process start and JSON included")
print(f"    ratio cdnctl/libCacheSim: {lcs/sim:.2f} (wall), {clcs/csim:.2f} (CPU)")
EOF
fi

# --- 3: hit-heavy Zipf through 3 PoPs and a shield -----------------------------
for objects in 10000 100000; do
  echo "==> 3. hit-heavy Zipf ($objects objects, α 1.0, max-age one day, 4 GiB caches) through 3 PoPs and a shield"
  cat >"$WORK/zipf.yaml" <<EOF
workload:
  duration: 2h
  rate: 2500
  content:
    - name: assets
      share: 1
      objects: $objects
      zipf: 1.0
      path: /a/{id}.js
      size: {lognormal: {median: 20KiB, sigma: 1}}
      cache_control: public, max-age=86400
topology:
  cache: {capacity: 4GiB}
EOF
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time3" "$cdnctl" --config "$cfg" --json simulate --spec "$WORK/zipf.yaml" >"$WORK/zipf.json"
  python3 - "$WORK/zipf.json" "$WORK/time3" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["scenarios"][0]
wall, user, sys_, rss = open(sys.argv[2]).read().split()
cpu = float(user) + float(sys_)
print(f"    {r['requests']:,} requests, edge hit ratio {100*r['edge']['hit_ratio']['requests']:.1f}%, overall {100*r['offload']['requests']:.1f}%")
print(f"    {r['requests']/cpu/1e6:.2f} M simulated requests/s per core ({cpu:.1f} s CPU), {r['requests']/float(wall)/1e6:.2f} M/s wall ({wall} s), peak RSS {int(rss)//1024} MiB")
EOF
done

# --- 4: a 10-million-line access log ---------------------------------------------
log="$WORK/access-$LOGLINES.log.gz"
if [ ! -s "$log" ]; then
  echo "==> access log: $LOGLINES nginx combined lines over 200,000 URLs (gzip)"
  "$WORK/gentrace" -n "$LOGLINES" -objects 200000 -zipf 1.0 -rate 1000 -format combined -o "$log"
fi
echo "==> 4. replay $(basename "$log") ($(du -h "$log" | cut -f1)) through serve's default topology, 1 GiB caches, assets cached a day"
/usr/bin/time -f "%e %U %S %M" -o "$WORK/time4" "$cdnctl" --config "$cfg" --json simulate --log "$log" \
  --cache-size 1GiB --ttl '/o/*=public, max-age=86400' >"$WORK/log.json"
python3 - "$WORK/log.json" "$WORK/time4" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["scenarios"][0]
wall, user, sys_, rss = open(sys.argv[2]).read().split()
print(f"    {r['requests']:,} lines in {wall} s wall ({float(user)+float(sys_):.1f} s CPU), edge hit ratio {100*r['edge']['hit_ratio']['requests']:.1f}%, peak RSS {int(rss)//1024} MiB")
EOF

# --- 5: memory follows the caches, not the catalogue -----------------------------
echo "==> 5. memory: 1, 10 and 100 TB catalogues (100 KiB objects) through the same 1 GiB caches (3 PoPs, shield), 2,000,000 requests"
for objects in 10000000 100000000 1000000000; do
  cat >"$WORK/mem.yaml" <<EOF
workload:
  duration: 1000s
  rate: 2000
  content:
    - name: media
      share: 1
      objects: $objects
      zipf: 0.8
      path: /m/{id}.mp4
      size: {fixed: 100KiB}
      cache_control: public, max-age=86400
topology:
  cache: {capacity: 1GiB}
EOF
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time5" "$cdnctl" --config "$cfg" --json simulate --spec "$WORK/mem.yaml" >"$WORK/mem.json"
  python3 - "$objects" "$WORK/mem.json" "$WORK/time5" <<'EOF'
import json, sys
objects = int(sys.argv[1])
r = json.load(open(sys.argv[2]))["scenarios"][0]
wall, user, sys_, rss = open(sys.argv[3]).read().split()
print(f"    catalogue {objects*100*1024/1e12:7.1f} TB ({objects:>13,} objects): peak RSS {int(rss)//1024:5d} MiB, edge hit ratio {100*r['edge']['hit_ratio']['requests']:.1f}%")
EOF
done
