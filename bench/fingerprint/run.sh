#!/usr/bin/env bash
# bench/fingerprint/run.sh — cdnctl fingerprint against its peer, side by side.
#
# Generates a synthetic site (10,000 files, about 1 GiB, mixed sizes: pages,
# style sheets and scripts that reference images, fonts and media), warms the
# page cache, then measures in one run:
#
#   first run  cdnctl fingerprint SRC --out OUT --compress=none   (a new OUT each run)
#   peer       cp -r SRC CP && find CP -type f | xargs -P"$(nproc)" sha256sum >/dev/null   (a new CP each run)
#   re-run     the same cdnctl command into the existing OUT (nothing changed)
#   re-run, one image changed   (for information: the image, the pages and
#              style sheets naming it are redone, the rest hard-linked)
#
# and prints the medians and two ratios: first run / peer (target <= 0.7) and
# first run / re-run (target >= 5).
#
# Then the same measures (but the one-image re-run) on a real build: the
# generator fixture hashing/testdata/sites/$FIXTURE (default starlight),
# replicated to about $FILES files — one copy at the root, the others under
# r/NNN/, whose pages then also name the root copy's files by their
# root-relative URLs — so that the scan of every text file (the rules' and
# the end-of-run audit's) is measured on bundler output, not synthetic text.
# The fixture run must succeed (audit included): the script stops if not. Uses hyperfine when installed
# (apt-get install -y hyperfine), plain timing otherwise. `sync` runs before
# each timed run, so no run pays for the writeback of the one before. Needs
# free disk space for 2 x (RUNS + 1) copies of each tree.
#
# Not run by CI. Usage:
#   bench/fingerprint/run.sh                      # 10,000 files, 1 GiB, 5 runs each
#   FILES=2000 BYTES=$((200<<20)) RUNS=3 bench/fingerprint/run.sh
#   BENCH_DIR=/var/tmp/fp KEEP=1 bench/fingerprint/run.sh   # keep the trees afterwards
#   NO_HYPERFINE=1 bench/fingerprint/run.sh                  # plain timing
#   FIXTURE=next bench/fingerprint/run.sh                    # another real build
#   FIXTURE= bench/fingerprint/run.sh                        # the synthetic tree only
#   SYNTHETIC= bench/fingerprint/run.sh                      # the real build only
#   REMOVE_BETWEEN=1 BENCH_DIR=/mnt/x bench/fingerprint/run.sh  # see below
#
# Each run's output is removed before the next one on tmpfs, and with
# REMOVE_BETWEEN=1 (for a file system where creating files right after
# deleting many is not slow: ext4 with a journal, XFS): kept until the
# end, 2 x (RUNS + 1) copies of each tree fill the page cache and may
# push the source out of it (a loop-mounted image caches each page twice).
set -euo pipefail
cd "$(dirname "$0")/../.."

FILES=${FILES:-10000}
BYTES=${BYTES:-1073741824}
RUNS=${RUNS:-5}
NPROC=$(nproc)
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cdnctl-bench-fingerprint.XXXXXX")}
mkdir -p "$WORK"
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

BIN=$WORK/cdnctl
FIXTURE=${FIXTURE-starlight}
SYNTHETIC=${SYNTHETIC-1}
echo "==> building cdnctl"
go build -o "$BIN" ./cmd/cdnctl

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# bench NAME SRC ONE: measures the first run, the peer and the re-run on
# SRC (and the re-run after ONE changed, unless ONE is empty), and prints
# them with the ratios.
bench() {
  local name=$1 SRC=$2 ONE=$3 OUT=$WORK/out-$1
  echo "==> warming the page cache ($name)"
  find "$SRC" -type f -print0 | xargs -0 cat >/dev/null

  # Every first run and every peer run writes a new folder: on ext4, creating
  # files right after deleting many is slow for minutes (recently deleted
  # inodes are not reused), which would tax whichever command runs after a
  # deletion. The folders are removed at the end of the script, not
  # between the trees: without a journal, ext4 steps over the inodes freed
  # in the last 60 seconds (6 minutes while their blocks are not written
  # back) on every allocation, so the real build's runs would pay for the
  # synthetic tree's deletion. Nothing deleted on the disk in the minutes
  # before the script either, for figures that can be compared.
  local RERUN="$BIN fingerprint $SRC --out $OUT --compress=none"
  local FIRST="o=\$(mktemp -d $WORK/first.XXXXXX) && $BIN fingerprint $SRC --out \$o/site --compress=none >/dev/null 2>&1"
  local PEER="o=\$(mktemp -d $WORK/peer.XXXXXX) && cp -r $SRC \$o/site && find \$o/site -type f | xargs -P$NPROC sha256sum >/dev/null"
  local ONE_BACKUP=$WORK/one.orig first peer rerun one="" cpu_first="" cpu_peer="" cpu_rerun=""
  [ -n "$ONE" ] && cp "$ONE" "$ONE_BACKUP"

  # On tmpfs nothing is slow after a deletion: remove each run's output
  # before the next one instead of keeping them all in memory.
  local PREPARE=sync
  if [ "$(stat -f -c %T "$WORK")" = tmpfs ] || [ -n "${REMOVE_BETWEEN:-}" ]; then
    PREPARE="rm -rf $WORK/first.* $WORK/peer.*; sync"
  fi

  rm -rf "$OUT"
  if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
    hyperfine --warmup 1 --runs "$RUNS" --prepare "$PREPARE" --export-csv "$WORK/results-first.csv" \
      -n "cdnctl fingerprint (first run)" "$FIRST" -n "cp -r + sha256sum" "$PEER"
    $RERUN >/dev/null 2>&1 # the output the re-runs start from
    hyperfine --warmup 1 --runs "$RUNS" --prepare sync --export-csv "$WORK/results-rerun.csv" -n "cdnctl fingerprint (re-run)" "$RERUN"
    first=$(awk -F, 'NR==2 {print $4}' "$WORK/results-first.csv")
    peer=$(awk -F, 'NR==3 {print $4}' "$WORK/results-first.csv")
    rerun=$(awk -F, 'NR==2 {print $4}' "$WORK/results-rerun.csv")
    if [ -n "$ONE" ]; then
      hyperfine --warmup 1 --runs "$RUNS" --prepare "printf x >>'$ONE' && sync" --export-csv "$WORK/results-one.csv" \
        -n "cdnctl fingerprint (re-run after one image changed)" "$RERUN"
      one=$(awk -F, 'NR==2 {print $4}' "$WORK/results-one.csv")
    fi
  else
    echo "(plain timing, $RUNS runs each, interleaved: install hyperfine for more; CPU time = user + system of the command and its children)"
    # timed CMD FILE: runs CMD, appends "wall cpu" to FILE.
    timed() {
      /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" bash -c "$1" >/dev/null 2>&1
      awk '{printf "%.6f %.6f\n", $1, $2 + $3}' "$WORK/time.txt" >>"$2"
    }
    : >"$WORK/times-first.txt"; : >"$WORK/times-peer.txt"; : >"$WORK/times-rerun.txt"; : >"$WORK/times-one.txt"
    $RERUN >/dev/null 2>&1
    for _ in $(seq "$RUNS"); do
      bash -c "$PREPARE"; timed "$FIRST" "$WORK/times-first.txt"
      bash -c "$PREPARE"; timed "$PEER" "$WORK/times-peer.txt"
      sync; timed "$RERUN" "$WORK/times-rerun.txt"
    done
    if [ -n "$ONE" ]; then
      for _ in $(seq "$RUNS"); do
        printf x >>"$ONE" && sync
        timed "$RERUN" "$WORK/times-one.txt"
      done
      one=$(cut -d' ' -f1 "$WORK/times-one.txt" | median)
    fi
    first=$(cut -d' ' -f1 "$WORK/times-first.txt" | median)
    peer=$(cut -d' ' -f1 "$WORK/times-peer.txt" | median)
    rerun=$(cut -d' ' -f1 "$WORK/times-rerun.txt" | median)
    cpu_first=$(cut -d' ' -f2 "$WORK/times-first.txt" | median)
    cpu_peer=$(cut -d' ' -f2 "$WORK/times-peer.txt" | median)
    cpu_rerun=$(cut -d' ' -f2 "$WORK/times-rerun.txt" | median)
  fi
  # Put the changed image back, older than any run (the outputs are
  # removed at the end: see above).
  if [ -n "$ONE" ]; then cp "$ONE_BACKUP" "$ONE" && touch -d '1 minute ago' "$ONE"; fi

  local size count
  size=$(du -sb "$SRC" | cut -f1)
  count=$(find "$SRC" -type f | wc -l)
  RESULTS+=("$(
    echo
    echo "cdnctl fingerprint benchmark, $name: $count files, $size bytes, $NPROC CPUs, $(stat -f -c %T "$WORK") in $WORK, page cache warm, medians of $RUNS runs"
    awk -v f="$first" -v p="$peer" -v r="$rerun" -v o="$one" -v cf="$cpu_first" -v cp="$cpu_peer" -v cr="$cpu_rerun" 'BEGIN {
      printf "  %-48s %8.3f s\n", "cdnctl fingerprint --compress=none (first run)", f
      printf "  %-48s %8.3f s\n", "cp -r + sha256sum -P'"$NPROC"'", p
      printf "  %-48s %8.3f s\n", "cdnctl fingerprint (re-run, nothing changed)", r
      if (o != "") printf "  %-48s %8.3f s\n", "cdnctl fingerprint (re-run, one image changed)", o
      printf "  first run / (cp -r + sha256sum) = %.2f   (target <= 0.70)\n", f / p
      printf "  first run / re-run              = %.1fx  (target >= 5x)\n", f / r
      if (cf != "") {
        printf "  CPU time: first run %.3f s, cp -r + sha256sum %.3f s, re-run %.3f s\n", cf, cp, cr
        printf "  CPU time: first run / (cp -r + sha256sum) = %.2f, first run / re-run = %.1fx\n", cf / cp, cf / cr
      }
    }'
  )")
}
RESULTS=()

if [ -n "$SYNTHETIC" ]; then
  SRC=$WORK/src
  if [ ! -d "$SRC" ]; then
    echo "==> generating $FILES files, $BYTES bytes in $SRC"
    go run ./bench/fingerprint/gentree -files "$FILES" -bytes "$BYTES" "$SRC"
    # Make the tree older than any run, as a real build folder is: files
    # modified within a second of a run are re-read by the next one.
    find "$SRC" -exec touch -d '1 minute ago' {} +
  fi
  bench synthetic "$SRC" "$(find "$SRC/img" -type f | sort | awk "NR == 1")"
fi

if [ -n "$FIXTURE" ]; then
  FX=hashing/testdata/sites/$FIXTURE
  [ -d "$FX" ] || { echo "no fixture $FX" >&2; exit 1; }
  SRC=$WORK/fixture-$FIXTURE
  if [ ! -d "$SRC" ]; then
    per=$(find "$FX" -type f | wc -l)
    copies=$(( (FILES + per - 1) / per ))
    echo "==> replicating $FX ($per files) $copies times into $SRC"
    mkdir -p "$SRC/r"
    cp -r "$FX"/. "$SRC"/
    for i in $(seq -w 1 $((copies - 1))); do cp -r "$FX" "$SRC/r/$i"; done
    find "$SRC" -exec touch -d '1 minute ago' {} +
  fi
  # The fixture must fingerprint cleanly (the audit passes): a failing run
  # would be timed for nothing.
  if ! "$BIN" fingerprint "$SRC" --out "$WORK/check" --compress=none >"$WORK/check.log" 2>&1; then
    echo "cdnctl fingerprint fails on $SRC:" >&2; tail -20 "$WORK/check.log" >&2; exit 1
  fi
  grep 'audit:' "$WORK/check.log" || true
  bench "real-build-$FIXTURE-replicated" "$SRC" ""
fi

for r in "${RESULTS[@]}"; do echo "$r"; done
rm -rf "$WORK"/first.* "$WORK"/peer.* "$WORK"/out-* "$WORK/check"
