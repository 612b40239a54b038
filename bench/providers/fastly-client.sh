#!/usr/bin/env bash
# bench/providers/fastly-client.sh: what the go-fastly SDK would cost cdnctl
# against the small net/http client providers/fastly uses, side by side in
# one run. Two programs make the same three purge calls (a URL, a batch of
# surrogate keys, purge_all): one with github.com/fastly/go-fastly/v16
# v16.0.1 (the newest major the module proxy serves here), one with net/http
# and encoding/json as providers/fastly does. For each: the build time of
# the program with the standard library already compiled (what a change
# costs on a warm machine, and what the SDK adds to a cold CI build), the
# size of the stripped binary (-s -w, as releases are built), and the
# modules and packages it links. Rounds alternate the two; medians are
# printed, then the ratios.
#
# Not run by CI. Needs go and the module proxy. Usage:
#   bash bench/providers/fastly-client.sh            # ROUNDS=3
set -euo pipefail

ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-fastly.XXXXXX")
trap '[ -n "${KEEP:-}" ] || { chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"; }' EXIT
cd "$WORK"

cat > go.mod <<'MOD'
module benchfastly

go 1.26.0
MOD
mkdir -p warm sdk nethttp
cat > warm/main.go <<'GO'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
)

func main() {
	_, _ = http.NewRequestWithContext(context.Background(), "POST", os.Args[0], bytes.NewReader(nil))
	_, _ = json.Marshal(url.Values{})
}
GO
cat > sdk/main.go <<'GO'
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/fastly/go-fastly/v16/fastly"
)

func main() {
	c, err := fastly.NewClientForEndpoint(os.Getenv("FASTLY_API_TOKEN"), "http://127.0.0.1:9")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	p, err := c.Purge(ctx, &fastly.PurgeInput{URL: "https://www.example.com/a", Soft: true})
	fmt.Println(p, err)
	ids, err := c.PurgeKeys(ctx, &fastly.PurgeKeysInput{ServiceID: "SU1Z0isxPaozGVKXdv0eY", Keys: []string{"a", "b"}, Soft: true})
	fmt.Println(ids, err)
	p, err = c.PurgeAll(ctx, &fastly.PurgeAllInput{ServiceID: "SU1Z0isxPaozGVKXdv0eY"})
	fmt.Println(p, err)
}
GO
cat > nethttp/main.go <<'GO'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
)

func post(ctx context.Context, url string, body []byte, soft bool) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Fastly-Key", os.Getenv("FASTLY_API_TOKEN"))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if soft {
		req.Header.Set("Fastly-Soft-Purge", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	return out, json.Unmarshal(raw, &out)
}

func main() {
	ctx := context.Background()
	base := "http://127.0.0.1:9"
	fmt.Println(post(ctx, base+"/purge/www.example.com/a", nil, true))
	keys, _ := json.Marshal(map[string][]string{"surrogate_keys": {"a", "b"}})
	fmt.Println(post(ctx, base+"/service/SU1Z0isxPaozGVKXdv0eY/purge", keys, true))
	fmt.Println(post(ctx, base+"/service/SU1Z0isxPaozGVKXdv0eY/purge_all", nil, false))
}
GO

echo "== fetching github.com/fastly/go-fastly/v16@v16.0.1 and its dependencies"
go get github.com/fastly/go-fastly/v16@v16.0.1 >/dev/null 2>&1
go mod tidy >/dev/null 2>&1
go mod download all >/dev/null 2>&1

echo "== compiling the standard library once (the warm cache both builds start from)"
GOCACHE="$WORK/cache-warm" GOFLAGS=-trimpath go build -o /dev/null ./warm

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A build size
for r in $(seq "$ROUNDS"); do
  for prog in nethttp sdk; do
    rm -rf "$WORK/cache-$prog"
    cp -r "$WORK/cache-warm" "$WORK/cache-$prog"
    start=$(date +%s.%N)
    GOCACHE="$WORK/cache-$prog" GOFLAGS=-trimpath go build -ldflags "-s -w" -o "$WORK/bin-$prog" "./$prog"
    end=$(date +%s.%N)
    build[$prog]+="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}') "
    size[$prog]=$(stat -c %s "$WORK/bin-$prog")
  done
done

printf '\nbench/providers: a Fastly purge client, go-fastly v16.0.1 vs net/http (same 3 calls), median of %d rounds\n' "$ROUNDS"
printf '%-10s %12s %16s %8s %9s\n' client "build s" "binary bytes" modules packages
for prog in nethttp sdk; do
  b=$(echo "${build[$prog]}" | tr ' ' '\n' | grep . | median)
  mods=$(go version -m "$WORK/bin-$prog" | awk '$1 == "dep"' | wc -l)
  pkgs=$(go list -deps "./$prog" | wc -l)
  printf '%-10s %12.2f %16d %8d %9d\n' "$([ $prog = sdk ] && echo go-fastly || echo net/http)" "$b" "${size[$prog]}" "$mods" "$pkgs"
  eval "b_$prog=$b"
done
printf '\nratio go-fastly / net/http: build %.1fx, binary %.2fx (+%d KiB)\n' \
  "$(awk -v a="$b_sdk" -v b="$b_nethttp" 'BEGIN {print a / b}')" \
  "$(awk -v a="${size[sdk]}" -v b="${size[nethttp]}" 'BEGIN {print a / b}')" "$(( (size[sdk] - size[nethttp]) / 1024 ))"
echo "modules go-fastly adds to the binary:"
go version -m "$WORK/bin-sdk" | awk '$1 == "dep" {print "  " $2 " " $3}'
