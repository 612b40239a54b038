#!/usr/bin/env bash
# bench/fingerprint/versus.sh — first runs of several builds of cdnctl and
# of the peer of bench/fingerprint/run.sh (cp -r + sha256sum), in turn in
# the same rounds, so that they meet the same machine and file-system
# state (on ext4 without a journal, creating files gets slower with every
# file deleted in the hours before: see docs/fingerprint.md, Speed).
#
# Each round runs every BIN, then the peer, each into a new folder under
# WORK after a sync, as run.sh does. Prints each one's times, median,
# median / the peer's median, median CPU time (user + system) and peak
# RSS. The folders are removed at the end (KEEP=1 keeps them). Not run
# by CI. Usage:
#
#   bench/fingerprint/versus.sh SRC RUNS BIN...
#   WORK=/var/tmp/fpv bench/fingerprint/versus.sh /tmp/site 5 ./cdnctl-main ./cdnctl
set -euo pipefail
SRC=$1
RUNS=$2
shift 2
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/cdnctl-versus.XXXXXX")}
mkdir -p "$WORK"
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache

names=()
for b in "$@"; do names+=("$(basename "$b")"); done
names+=(peer)
for n in "${names[@]}"; do : >"$WORK/times-$n"; done
timed() { # CMD NAME
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" bash -c "$1" >/dev/null 2>&1
  cat "$WORK/time.txt" >>"$WORK/times-$2"
}
# On tmpfs the outputs are memory: remove each before the next run (nothing
# is slow there after a deletion) instead of filling the machine's memory;
# REMOVE_BETWEEN=1 does the same elsewhere (see run.sh).
PREPARE=sync
if [ "$(stat -f -c %T "$WORK")" = tmpfs ] || [ -n "${REMOVE_BETWEEN:-}" ]; then PREPARE="rm -rf $WORK/first.* $WORK/peer.*; sync"; fi
for _ in $(seq "$RUNS"); do
  for b in "$@"; do
    bash -c "$PREPARE"
    timed "o=\$(mktemp -d $WORK/first.XXXXXX) && $b fingerprint $SRC --out \$o/site --compress=none" "$(basename "$b")"
  done
  bash -c "$PREPARE"
  timed "o=\$(mktemp -d $WORK/peer.XXXXXX) && cp -r $SRC \$o/site && find \$o/site -type f | xargs -P$(nproc) sha256sum >/dev/null" peer
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
peer=$(cut -d' ' -f1 "$WORK/times-peer" | median)
echo "first runs of $SRC, $RUNS rounds, in turn (wall times in order; median; median / the peer's; median CPU; peak RSS):"
for n in "${names[@]}"; do
  f=$WORK/times-$n
  med=$(cut -d' ' -f1 "$f" | median)
  printf "  %-20s %s  median %.3f s  %.2fx  CPU %.2f s  RSS %d MB\n" "$n" "$(cut -d' ' -f1 "$f" | tr '\n' ' ')" "$med" \
    "$(awk -v m="$med" -v p="$peer" 'BEGIN {print m / p}')" "$(awk '{print $2 + $3}' "$f" | median)" \
    "$(awk '{print int($4 / 1024)}' "$f" | sort -n | tail -1)"
done
if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"/first.* "$WORK"/peer.*; fi
