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
# first run / re-run (target >= 5). Uses hyperfine when installed
# (apt-get install -y hyperfine), plain timing otherwise. `sync` runs before
# each timed run, so no run pays for the writeback of the one before. Needs
# free disk space for 2 x (RUNS + 1) copies of the tree.
#
# Not run by CI. Usage:
#   bench/fingerprint/run.sh                      # 10,000 files, 1 GiB, 5 runs each
#   FILES=2000 BYTES=$((200<<20)) RUNS=3 bench/fingerprint/run.sh
#   BENCH_DIR=/var/tmp/fp KEEP=1 bench/fingerprint/run.sh   # keep the trees afterwards
#   NO_HYPERFINE=1 bench/fingerprint/run.sh                  # plain timing
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

SRC=$WORK/src OUT=$WORK/out BIN=$WORK/cdnctl
echo "==> building cdnctl"
go build -o "$BIN" ./cmd/cdnctl
if [ ! -d "$SRC" ]; then
  echo "==> generating $FILES files, $BYTES bytes in $SRC"
  go run ./bench/fingerprint/gentree -files "$FILES" -bytes "$BYTES" "$SRC"
  # Make the tree older than any run, as a real build folder is: files
  # modified within a second of a run are re-read by the next one.
  find "$SRC" -exec touch -d '1 minute ago' {} +
fi
echo "==> warming the page cache"
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null

# Every first run and every peer run writes a new folder: on ext4, creating
# files right after deleting many is slow for minutes (recently deleted
# inodes are not reused), which would tax whichever command runs after a
# deletion. The folders are removed at the end.
RERUN="$BIN fingerprint $SRC --out $OUT --compress=none"
FIRST="o=\$(mktemp -d $WORK/first.XXXXXX) && $BIN fingerprint $SRC --out \$o/site --compress=none >/dev/null"
PEER="o=\$(mktemp -d $WORK/peer.XXXXXX) && cp -r $SRC \$o/site && find \$o/site -type f | xargs -P$NPROC sha256sum >/dev/null"
ONE=$(find "$SRC/img" -type f | sort | awk "NR == 1")
ONE_BACKUP=$WORK/one.orig
cp "$ONE" "$ONE_BACKUP"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# On tmpfs nothing is slow after a deletion: remove each run's output
# before the next one instead of keeping them all in memory.
PREPARE=sync
if [ "$(stat -f -c %T "$WORK")" = tmpfs ]; then
  PREPARE="rm -rf $WORK/first.* $WORK/peer.*"
fi

rm -rf "$OUT"
if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs "$RUNS" --prepare "$PREPARE" --export-csv "$WORK/results-first.csv" \
    -n "cdnctl fingerprint (first run)" "$FIRST" -n "cp -r + sha256sum" "$PEER"
  $RERUN >/dev/null # the output the re-runs start from
  hyperfine --warmup 1 --runs "$RUNS" --prepare sync --export-csv "$WORK/results-rerun.csv" -n "cdnctl fingerprint (re-run)" "$RERUN"
  hyperfine --warmup 1 --runs "$RUNS" --prepare "printf x >>'$ONE' && sync" --export-csv "$WORK/results-one.csv" \
    -n "cdnctl fingerprint (re-run after one image changed)" "$RERUN"
  first=$(awk -F, 'NR==2 {print $4}' "$WORK/results-first.csv")
  peer=$(awk -F, 'NR==3 {print $4}' "$WORK/results-first.csv")
  rerun=$(awk -F, 'NR==2 {print $4}' "$WORK/results-rerun.csv")
  one=$(awk -F, 'NR==2 {print $4}' "$WORK/results-one.csv")
else
  echo "(plain timing, $RUNS runs each, interleaved: install hyperfine for more)"
  now() { date +%s.%N; }
  elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f\n", b - a}'; }
  : >"$WORK/first.txt"; : >"$WORK/peer.txt"; : >"$WORK/rerun.txt"; : >"$WORK/one.txt"
  $RERUN >/dev/null
  for _ in $(seq "$RUNS"); do
    bash -c "$PREPARE"; t0=$(now); bash -c "$FIRST"; t1=$(now)
    elapsed "$t0" "$t1" >>"$WORK/first.txt"
    bash -c "$PREPARE"; t0=$(now); bash -c "$PEER"; t1=$(now)
    elapsed "$t0" "$t1" >>"$WORK/peer.txt"
    sync; t0=$(now); $RERUN >/dev/null; t1=$(now)
    elapsed "$t0" "$t1" >>"$WORK/rerun.txt"
  done
  for _ in $(seq "$RUNS"); do
    printf x >>"$ONE" && sync
    t0=$(now); $RERUN >/dev/null; t1=$(now)
    elapsed "$t0" "$t1" >>"$WORK/one.txt"
  done
  first=$(median <"$WORK/first.txt")
  peer=$(median <"$WORK/peer.txt")
  rerun=$(median <"$WORK/rerun.txt")
  one=$(median <"$WORK/one.txt")
fi
# Put the changed image back, older than any run, and drop the outputs.
cp "$ONE_BACKUP" "$ONE" && touch -d '1 minute ago' "$ONE"
rm -rf "$WORK"/first.* "$WORK"/peer.* "$OUT"

size=$(du -sb "$SRC" | cut -f1)
count=$(find "$SRC" -type f | wc -l)
echo
echo "cdnctl fingerprint benchmark: $count files, $size bytes, $NPROC CPUs, $(stat -f -c %T "$WORK") in $WORK, page cache warm, medians of $RUNS runs"
awk -v f="$first" -v p="$peer" -v r="$rerun" -v o="$one" 'BEGIN {
  printf "  %-48s %8.3f s\n", "cdnctl fingerprint --compress=none (first run)", f
  printf "  %-48s %8.3f s\n", "cp -r + sha256sum -P'"$NPROC"'", p
  printf "  %-48s %8.3f s\n", "cdnctl fingerprint (re-run, nothing changed)", r
  printf "  %-48s %8.3f s\n", "cdnctl fingerprint (re-run, one image changed)", o
  printf "  first run / (cp -r + sha256sum) = %.2f   (target <= 0.70)\n", f / p
  printf "  first run / re-run              = %.1fx  (target >= 5x)\n", f / r
}'
