#!/usr/bin/env bash
# bench/push: cdnctl push against `aws s3 sync` and `rclone sync --checksum`
# on the same synthetic site (10,000 files, ~200 MiB), the same local
# versitygw server and the same concurrency, in one run. For each tool: a
# first push into an empty bucket, then a no-change push, repeated in
# $ROUNDS interleaved rounds (medians reported). Requests are counted from
# versitygw's access log. Not run by CI.
#
#   bash bench/push/run.sh            # FILES=10000 MIB=200 CONCURRENCY=16 ROUNDS=3
#
# Needs: go, versitygw (PATH or ~/.cache/cdnctl-ci/bin; `go install
# github.com/versity/versitygw/cmd/versitygw@v1.8.0`), aws (apt-get install
# -y awscli, or pip), rclone (apt-get install -y rclone), python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

FILES=${FILES:-10000}
MIB=${MIB:-200}
CONCURRENCY=${CONCURRENCY:-16}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/bench-push.XXXXXX")
CACHE_BIN="${CDNCTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdnctl-ci}/bin"
export PATH="$CACHE_BIN:$PATH"

for tool in versitygw aws rclone python3; do
  command -v "$tool" >/dev/null || { echo "bench/push: $tool not found (see the header of $0)" >&2; exit 1; }
done

VGW_PID=
cleanup() {
  if [ -n "$VGW_PID" ]; then kill "$VGW_PID" 2>/dev/null || true; wait "$VGW_PID" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building cdnctl, generating the site ($FILES files, ~$MIB MiB)"
go build -o "$WORK/cdnctl" ./cmd/cdnctl
go run ./bench/push/gensite -out "$WORK/site" -files "$FILES" -mib "$MIB"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID="AKBENCH$RANDOM" AWS_SECRET_ACCESS_KEY="secret-$RANDOM-$RANDOM-$RANDOM"
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
EP="http://127.0.0.1:$PORT"
LOG="$WORK/access.log"
mkdir -p "$WORK/s3"
versitygw --access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" --port "127.0.0.1:$PORT" \
  --region us-east-1 --quiet --keep-alive --access-log "$LOG" posix "$WORK/s3" >"$WORK/vgw.out" 2>&1 &
VGW_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "$EP/" && break; sleep 0.1; done

# aws cli: concurrency from its config file.
export AWS_CONFIG_FILE="$WORK/aws-config"
printf '[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = %d\n' "$CONCURRENCY" >"$AWS_CONFIG_FILE"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/none"
# rclone: an S3 remote named "bench" from the environment.
export RCLONE_CONFIG="$WORK/rclone.conf" RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other \
  RCLONE_CONFIG_BENCH_ENDPOINT="$EP" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" RCLONE_CONFIG_BENCH_REGION=us-east-1
touch "$RCLONE_CONFIG"

push() { # tool round
  case "$1" in
    cdnctl) "$WORK/cdnctl" push "$WORK/site" --to "s3://bench-cdnctl-$2/site" --endpoint "$EP" \
              --concurrency "$CONCURRENCY" --log-level warn >"$WORK/out.txt" ;;
    aws) aws --endpoint-url "$EP" s3 sync "$WORK/site" "s3://bench-aws-$2/site" --only-show-errors >"$WORK/out.txt" ;;
    # rclone's S3 SDK refuses AWS_CA_BUNDLE with its own transport; the
    # endpoint is plain HTTP, so drop it.
    rclone) env -u AWS_CA_BUNDLE rclone sync --checksum --transfers "$CONCURRENCY" --checkers "$CONCURRENCY" \
              "$WORK/site" "bench:bench-rclone-$2/site" >"$WORK/out.txt" 2>&1 ;;
    rclone-fl) env -u AWS_CA_BUNDLE rclone sync --checksum --fast-list --transfers "$CONCURRENCY" --checkers "$CONCURRENCY" \
              "$WORK/site" "bench:bench-rclone-fl-$2/site" >"$WORK/out.txt" 2>&1 ;;
  esac
}

lines() { wc -l <"$LOG"; }
# settle waits until the access log stops growing (it is written after
# each response).
settle() { local a b; a=$(lines); while sleep 0.3; b=$(lines); [ "$a" != "$b" ]; do a=$b; done; }

# measure TOOL PHASE ROUND: runs one push, prints "tool phase seconds requests put list head get other".
measure() {
  settle
  local before start end
  before=$(lines)
  start=$(date +%s.%N)
  push "$1" "$3"
  end=$(date +%s.%N)
  settle
  tail -n +"$((before + 1))" "$LOG" | grep -o ' s3_[A-Za-z0-9]*' | python3 -c '
import sys, collections
c = collections.Counter(l.strip()[3:] for l in sys.stdin)
put = sum(c[k] for k in ("PutObject", "UploadPart", "CopyObject", "CreateMultipartUpload", "CompleteMultipartUpload"))
lst = sum(c[k] for k in ("ListObjectsV2", "ListObjects"))
head = sum(c[k] for k in ("HeadObject", "HeadBucket"))
get = c["GetObject"]
total = sum(c.values())
print(sys.argv[1], sys.argv[2], "%.2f" % (float(sys.argv[4]) - float(sys.argv[3])), total, put, lst, head, get, total - put - lst - head - get)
' "$1" "$2" "$start" "$end"
}

RESULTS="$WORK/results.txt"
: >"$RESULTS"
TOOLS=(cdnctl aws rclone rclone-fl)
# Rounds interleave the tools (in a rotating order) so that load from
# anything else on the machine spreads over all of them; each round pushes
# into fresh buckets, then pushes again with nothing changed.
for round in $(seq "$ROUNDS"); do
  for k in "${!TOOLS[@]}"; do
    tool=${TOOLS[$(( (k + round - 1) % ${#TOOLS[@]} ))]}
    aws --endpoint-url "$EP" s3api create-bucket --bucket "bench-$tool-$round" >/dev/null
    echo "== round $round: $tool"
    measure "$tool" first "$round" | tee -a "$RESULTS"
    measure "$tool" nochange "$round" | tee -a "$RESULTS"
  done
done

# Sanity: every tool stored every file.
for tool in "${TOOLS[@]}"; do
  n=$(aws --endpoint-url "$EP" s3 ls --recursive "s3://bench-$tool-1/site/" | grep -vc '/\.cdnctl/' || true)
  echo "bench-$tool-1: $n objects"
  [ "$n" -eq "$FILES" ] || { echo "bench/push: bench-$tool-1 holds $n objects, want $FILES" >&2; exit 1; }
done

python3 - "$RESULTS" "$FILES" "$MIB" "$CONCURRENCY" <<'EOF'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
files, mib, conc = sys.argv[2:5]
by = collections.defaultdict(list)
for r in rows:
    by[(r[0], r[1])].append(r)
def pick(tool, phase):
    rs = by[(tool, phase)]
    rs = sorted(rs, key=lambda r: float(r[2]))
    return rs[len(rs) // 2]  # median by time
print()
print(f"bench/push: {files} files, ~{mib} MiB, concurrency {conc}, versitygw on loopback (median of {len(by[('cdnctl', 'first')])} interleaved rounds)")
print(f"{'tool':<18}{'phase':<10}{'wall s':>8}{'requests':>10}{'PUT':>7}{'LIST':>6}{'HEAD':>7}{'GET':>6}{'other':>7}")
tools = ["cdnctl", "aws", "rclone", "rclone-fl"]
names = {"cdnctl": "cdnctl push", "aws": "aws s3 sync", "rclone": "rclone --checksum", "rclone-fl": "  + --fast-list"}
for t in tools:
    for ph in ("first", "nochange"):
        r = pick(t, ph)
        print(f"{names[t]:<18}{ph:<10}{float(r[2]):>8.2f}{r[3]:>10}{r[4]:>7}{r[5]:>6}{r[6]:>7}{r[7]:>6}{r[8]:>7}")
print()
c = {ph: float(pick("cdnctl", ph)[2]) for ph in ("first", "nochange")}
for t in tools[1:]:
    f = float(pick(t, "first")[2]) / c["first"]
    n = float(pick(t, "nochange")[2]) / c["nochange"]
    print(f"ratio {names[t].strip():<18} / cdnctl: first push {f:5.2f}x   no-change push {n:5.2f}x   (>1: cdnctl faster)")
nc = pick("cdnctl", "nochange")
pages = -(-int(files) // 1000)
print(f"cdnctl no-change push: {nc[4]} PUTs, {nc[5]} LIST pages (budget {pages} + constant), {nc[6]} HEADs, {nc[7]} GETs")
EOF
