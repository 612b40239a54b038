#!/usr/bin/env bash
# bench/deploy: the offline deploy flow on a 10,000-file site, `cdnctl
# deploy` against the standalone commands doing the same work, in one run.
#
# Site: bench/fingerprint/gentree (pages, style sheets and scripts that
# reference images, fonts and media; 20% pages), FILES files, MIB MiB.
# Each arm starts from the same state: a fresh, empty origin folder, a fresh
# `cdnctl serve` (3 PoPs, a shield, GeoDNS, admin API on free ports, empty
# caches) serving it, and no previous fingerprint build.
#
#   deploy       cdnctl deploy (fingerprint → upload → purge → prewarm), with
#                verify and rollback copies off so that it does exactly the
#                standalone commands' work
#   standalone   cdnctl fingerprint; cdnctl push; cdnctl purge --file (the
#                URLs the deploy purged); cdnctl prewarm --file (the URLs the
#                deploy warmed), same concurrency
#
# then, in both arms, one page of the source is changed and the flow runs
# again (incremental fingerprint, one page and the manifest uploaded, their
# URLs purged and warmed). Rounds alternate the arms; medians are printed,
# with each step's time in the deploy (from its JSON report) next to the
# standalone command, and the orchestration overhead: deploy wall time /
# sum of the standalone commands' wall times - 1 (target < 5%). A last,
# informational run times `cdnctl deploy` with its defaults (verify on,
# rollback copies kept).
#
# Not run by CI. Needs go and python3. Usage:
#   bash bench/deploy/run.sh                  # FILES=10000 MIB=200 ROUNDS=3
#   FILES=2000 MIB=40 ROUNDS=1 bash bench/deploy/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

FILES=${FILES:-10000}
MIB=${MIB:-200}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-8}
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/bench-deploy.XXXXXX")
BIN=$WORK/cdnctl
SERVE_PID=

command -v python3 >/dev/null || { echo "bench/deploy: python3 not found" >&2; exit 1; }

stop_serve() {
  if [ -n "$SERVE_PID" ]; then kill -INT "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=; fi
}
cleanup() { stop_serve; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

echo "== building cdnctl, generating the site ($FILES files, ~$MIB MiB)"
go build -o "$BIN" ./cmd/cdnctl
go run ./bench/fingerprint/gentree -files "$FILES" -bytes $((MIB << 20)) "$WORK/site0" >/dev/null
find "$WORK/site0" -exec touch -d '1 minute ago' {} +
PAGE=$(cd "$WORK/site0" && find . -name '*.html' | sort | awk 'NR == 1')
echo "   $(find "$WORK/site0" -type f | wc -l) files, $(du -sm "$WORK/site0" | cut -f1) MiB; the page changed: $PAGE"


# serve ORIGIN: starts a fresh local CDN over ORIGIN; sets ADMIN and
# CDNCTL_ADMIN_TOKEN.
serve() {
  stop_serve
  "$BIN" serve --origin "$1" --free-ports --json --access-log=false --log-level warn >"$WORK/serve.json" 2>"$WORK/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 200); do [ -s "$WORK/serve.json" ] && break; sleep 0.05; done
  read -r ADMIN CDNCTL_ADMIN_TOKEN < <(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["admin"]["url"], d["token"])' "$WORK/serve.json")
  export CDNCTL_ADMIN_TOKEN
}

# fresh ARM: a new source copy, origin and build folder for one arm.
fresh() {
  rm -rf "$WORK/$1"; mkdir -p "$WORK/$1/origin"
  cp -a "$WORK/site0" "$WORK/$1/src"
  sync
  find "$WORK/$1/src" -type f -print0 | xargs -0 cat >/dev/null
}

# timed OUT CMD...: runs CMD, writes "wall cpu" (seconds; cpu = user +
# system) to OUT.
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$out.t" "$@"
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$out.t" >"$out"
}

change_page() { # ARM N
  printf '\n<p>changed in run %s</p>\n' "$2" >>"$WORK/$1/src/$PAGE"
}

config() { # ARM VERIFY COPIES
  cat >"$WORK/$1/cdnctl.yaml" <<EOF
origin:
  target: file://$WORK/$1/origin
deploy:
  site: $WORK/$1/src
  out: $WORK/$1/build
  rollback_copies: $3
  prewarm: {concurrency: $CONCURRENCY}
  verify: {enabled: $2}
cdns:
  - {name: local, provider: local, admin_url: $ADMIN}
EOF
}

# deploy ARM LABEL: runs cdnctl deploy, appends "LABEL wall fp push purge
# prewarm verify" (seconds) to results, keeps the report as LABEL.json.
deploy() {
  timed "$WORK/t.deploy" "$BIN" --config "$WORK/$1/cdnctl.yaml" --log-level warn deploy --yes --json >"$WORK/$2.json" 2>"$WORK/$2.err" \
    || { echo "deploy failed:"; tail -20 "$WORK/$2.err"; exit 1; }
  python3 - "$WORK/$2.json" "$2" $(cat "$WORK/t.deploy") >>"$WORK/results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ms = {s["name"]: s["duration_ms"] / 1000 for s in r["steps"]}
assert r["status"] == "succeeded", r["status"]
wall, cpu = float(sys.argv[3]), float(sys.argv[4])
push = wall - ms["fingerprint"] - ms["purge"] - ms["wait"] - ms["prewarm"] - ms["verify"]
print(sys.argv[2], f"{wall:.3f}", f'{ms["fingerprint"]:.3f}', f"{push:.3f}", f'{ms["purge"]:.3f}', f'{ms["prewarm"]:.3f}', f'{ms["verify"]:.3f}', f"{cpu:.3f}")
PY
}

# standalone ARM LABEL: the four commands; appends "LABEL wall fp push
# purge prewarm 0 cpu".
standalone() {
  timed "$WORK/t.fp" "$BIN" --log-level warn fingerprint "$WORK/$1/src" --out "$WORK/$1/build" >/dev/null
  timed "$WORK/t.push" "$BIN" --log-level warn push "$WORK/$1/build" --to "file://$WORK/$1/origin" >/dev/null
  echo "0 0" >"$WORK/t.purge"
  if [ -s "$WORK/purge.txt" ]; then
    timed "$WORK/t.purge" "$BIN" --log-level warn purge --provider local --admin "$ADMIN" --file "$WORK/purge.txt" --yes >/dev/null 2>&1
  fi
  timed "$WORK/t.prewarm" "$BIN" --log-level warn prewarm --admin "$ADMIN" --file "$WORK/urls.txt" --concurrency "$CONCURRENCY" >/dev/null
  python3 - "$2" "$WORK"/t.fp "$WORK"/t.push "$WORK"/t.purge "$WORK"/t.prewarm >>"$WORK/results" <<'PY'
import sys
t = [list(map(float, open(f).read().split())) for f in sys.argv[2:]]
wall, cpu = sum(x[0] for x in t), sum(x[1] for x in t)
print(sys.argv[1], f"{wall:.3f}", *(f"{x[0]:.3f}" for x in t), "0", f"{cpu:.3f}")
PY
}

# urls_of REPORT: the URLs a deploy purged and warmed, for the standalone
# arm.
urls_of() {
  python3 - "$1" "$WORK/purge.txt" "$WORK/urls.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
steps = {s["name"]: s for s in r["steps"]}
items = [i for p in steps["purge"].get("purges") or [] if p.get("record") for b in p["record"]["batches"] for i in b.get("items") or []]
open(sys.argv[2], "w").write("".join(i + "\n" for i in items))
open(sys.argv[3], "w").write("".join(p + "\n" for p in steps["prewarm"]["prewarm"]["paths"]))
PY
}

run_deploy_arm() { # ROUND
  fresh dep; serve "$WORK/dep/origin"; config dep false false
  deploy dep deploy-first
  change_page dep "$1"
  deploy dep deploy-second
}

run_standalone_arm() { # ROUND (needs the deploy arm's reports)
  fresh alone; serve "$WORK/alone/origin"
  urls_of "$WORK/deploy-first.json"
  standalone alone standalone-first
  change_page alone "$1"
  urls_of "$WORK/deploy-second.json"
  standalone alone standalone-second
}

: >"$WORK/results"
run_deploy_arm 0 >/dev/null # the reports the first standalone arm repeats
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS"
  if [ $((round % 2)) = 1 ]; then
    run_standalone_arm "$round"; run_deploy_arm "$round"
  else
    run_deploy_arm "$round"; run_standalone_arm "$round"
  fi
done
sed -i '1,2d' "$WORK/results" # the warm-up deploy arm

echo "== informational: cdnctl deploy with its defaults (verify, rollback copies)"
fresh def; serve "$WORK/def/origin"; config def true true
deploy def defaults-first
change_page def 1
deploy def defaults-second
stop_serve

python3 - "$WORK/results" "$WORK/deploy-first.json" "$WORK/deploy-second.json" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, *v = line.split()
    rows.setdefault(label, []).append([float(x) for x in v])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
names = ["fingerprint", "push (scan, list, plan, upload)", "purge", "prewarm"]
for run in ["first", "second"]:
    d, s = med["deploy-" + run], med["standalone-" + run]
    n = len(rows["deploy-" + run])
    rep = json.load(open(sys.argv[2] if run == "first" else sys.argv[3]))
    steps = {x["name"]: x for x in rep["steps"]}
    up = sum(steps[k]["files"] for k in ["upload-assets", "upload-files", "upload-entry-points"])
    pw = steps["prewarm"]["files"]
    purged = steps["purge"]["files"]
    print(f"\n{run} deploy (median of {n}): {up} files uploaded, {purged} URLs purged, {pw} prewarm requests through 3 PoPs")
    print(f"  {'step':34} {'in deploy':>10} {'standalone':>11} {'share':>7} {'ratio':>7}")
    for i, name in enumerate(names):
        dv, sv = d[i + 1], s[i + 1]
        print(f"  {name:34} {dv:9.2f}s {sv:10.2f}s {dv / d[0] * 100:6.1f}% {dv / sv if sv else float('nan'):7.3f}")
    print(f"  {'total (wall)':34} {d[0]:9.2f}s {s[0]:10.2f}s         {d[0] / s[0]:7.3f}")
    print(f"  {'total (CPU, user + system)':34} {d[6]:9.2f}s {s[6]:10.2f}s         {d[6] / s[6]:7.3f}")
    print(f"  orchestration overhead: wall {(d[0] / s[0] - 1) * 100:+.1f}%, CPU {(d[6] / s[6] - 1) * 100:+.1f}% (deploy / sum of the standalone commands - 1; target < +5%)")
    print("  rounds (wall s, deploy vs standalone):", ", ".join(f"{a[0]:.2f}/{b[0]:.2f}" for a, b in zip(rows["deploy-" + run], rows["standalone-" + run])))
for run in ["first", "second"]:
    r = rows.get("defaults-" + run)
    if r:
        w, fp, push, pg, pw, vf, cpu = r[0]
        print(f"defaults, {run} deploy: {w:.2f}s (verify {vf:.2f}s; rollback copies and everything else in push {push:.2f}s)")
PY
