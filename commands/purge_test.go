package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/providers"
)

// runPurgeCLI runs cdnctl in-process with config as cdnctl.yaml, env as
// the environment seen through Factory.LookupEnv and stdin as input.
func runPurgeCLI(t *testing.T, config string, env map[string]string, stdin string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	ios, in, out, errOut := TestStreams()
	in.WriteString(stdin)
	ios.SetTTY(tty)
	f := &Factory{
		IO:        ios,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       time.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
	p := filepath.Join(t.TempDir(), "cdnctl.yaml")
	if err := os.WriteFile(p, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--config", p}, args...)
	code := f.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// stubCloudflare answers the Cloudflare purge endpoint: success, or 400 for
// a request naming an item in reject. The strict fake of the API is in
// providers/cloudflare; this one only records what the CLI sent.
type stubCloudflare struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	auth   []string
	reject map[string]bool
}

func newStubCloudflare(t *testing.T) *stubCloudflare {
	s := &stubCloudflare{reject: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		rejected := false
		for item := range s.reject {
			if strings.Contains(string(raw), item) {
				rejected = true
			}
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("CF-Ray", "8f00000000000001-SJC")
		if !strings.HasSuffix(r.URL.Path, "/zones/023e105f4ecef8ad9ca31a8372d0c353/purge_cache") {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"success":false,"errors":[{"code":7003,"message":"no route"}],"messages":[],"result":null}`)
			return
		}
		if rejected {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"success":false,"errors":[{"code":1013,"message":"rejected"}],"messages":[],"result":null}`)
			return
		}
		fmt.Fprint(w, `{"success":true,"errors":[],"messages":[],"result":{"id":"023e105f4ecef8ad9ca31a8372d0c353"}}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

const cfToken = "secret-cf-token-0123456789"

func cloudflareConfig(endpoint string) string {
	return `cdns:
  - name: prod
    provider: cloudflare
    zone_id: 023e105f4ecef8ad9ca31a8372d0c353
    hostnames: [www.example.com]
    endpoint: ` + endpoint + `/client/v4/
    batch_size: 2
    requests_per_second: 1000
    confirm_above: 5
`
}

func TestPurgeCloudflareEndToEnd(t *testing.T) {
	s := newStubCloudflare(t)
	env := map[string]string{"CLOUDFLARE_API_TOKEN": cfToken}
	code, stdout, stderr := runPurgeCLI(t, cloudflareConfig(s.srv.URL), env, "", false,
		"purge", "/index.html", "https://www.example.com/about/", "/app.css", "--tag", "css")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := []map[string]any{
		{"files": []any{"https://www.example.com/index.html", "https://www.example.com/about/"}},
		{"files": []any{"https://www.example.com/app.css"}},
		{"tags": []any{"css"}},
	}
	if diff := cmp.Diff(want, s.bodies); diff != "" {
		t.Errorf("request bodies mismatch (-want +got):\n%s", diff)
	}
	for _, a := range s.auth {
		if a != "Bearer "+cfToken {
			t.Errorf("Authorization %q; want the token from CLOUDFLARE_API_TOKEN", a)
		}
	}
	// Piped stdout: the header, then one TSV row per batch; the summary
	// went to stderr.
	rows := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(rows) != 4 || rows[0] != "BATCH\tKIND\tITEMS\tID\tSTATUS\tATTEMPTS\tPURGED\tDETAIL" || !strings.HasPrefix(rows[1], "1\tfiles\t2\t023e105f4ecef8ad9ca31a8372d0c353\tcompleted\t1\t") {
		t.Errorf("stdout rows = %q; want the header and 3 TSV rows starting 1\\tfiles\\t2\\t<id>\\tcompleted\\t1", rows)
	}
	if !strings.Contains(stderr, "Target: cloudflare zone 023e105f4ecef8ad9ca31a8372d0c353 (prod)") || !strings.Contains(stderr, "4 items: purged in 3 batches") {
		t.Errorf("stderr lacks the summary:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, cfToken) {
		t.Errorf("the token was printed")
	}
}

func TestPurgeJSONRecordAndPartialFailure(t *testing.T) {
	s := newStubCloudflare(t)
	s.reject["/bad.css"] = true
	env := map[string]string{"CLOUDFLARE_API_TOKEN": cfToken}
	code, stdout, stderr := runPurgeCLI(t, cloudflareConfig(s.srv.URL), env, "", false,
		"--json", "purge", "/a.css", "/b.css", "/bad.css", "/c.css", "/d.css")
	if code != ExitFailure {
		t.Fatalf("exit %d; want %d (partial failure)\nstderr:\n%s", code, ExitFailure, stderr)
	}
	var rec providers.PurgeRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("stdout is not a JSON record: %v\n%s", err, stdout)
	}
	if rec.Status != providers.PurgePartial || rec.Provider != "cloudflare" || rec.Name != "prod" || len(rec.Batches) != 3 {
		t.Errorf("record = %+v; want a partial cloudflare record named prod with 3 batches", rec)
	}
	if rec.Batches[1].Status != providers.PurgeFailed || !strings.Contains(rec.Batches[1].Error, "rejected") {
		t.Errorf("batch 2 = %+v; want failed with the API's message", rec.Batches[1])
	}
	wantList := "Not purged (2):\n  https://www.example.com/bad.css\n  https://www.example.com/c.css\n"
	if !strings.Contains(stderr, wantList) {
		t.Errorf("stderr does not list exactly the items not purged:\n%s", stderr)
	}
	if !strings.Contains(stderr, "cdnctl: purge: cloudflare: purge of 023e105f4ecef8ad9ca31a8372d0c353: 1 of 3 batches failed") {
		t.Errorf("stderr lacks the error:\n%s", stderr)
	}
}

func TestPurgeConfirmation(t *testing.T) {
	s := newStubCloudflare(t)
	env := map[string]string{"CLOUDFLARE_API_TOKEN": cfToken}
	cfg := cloudflareConfig(s.srv.URL)
	many := []string{"purge", "/1", "/2", "/3", "/4", "/5", "/6"}
	sent := func() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.bodies) }

	// No terminal, no --yes: refused before sending, usage error.
	code, _, stderr := runPurgeCLI(t, cfg, env, "", false, many...)
	if code != ExitUsage || !strings.Contains(stderr, "refusing to purge 6 items from cloudflare zone 023e105f4ecef8ad9ca31a8372d0c353 (prod) without --yes") {
		t.Errorf("without a terminal: exit %d, stderr %q; want 2 and a refusal naming the zone and count", code, stderr)
	}
	code, _, stderr = runPurgeCLI(t, cfg, env, "", false, "purge", "--all")
	if code != ExitUsage || !strings.Contains(stderr, "refusing to purge EVERYTHING") {
		t.Errorf("--all without a terminal: exit %d, stderr %q", code, stderr)
	}
	// On a terminal: the question names the zone and count; "n" cancels.
	code, _, stderr = runPurgeCLI(t, cfg, env, "n\n", true, many...)
	if code != ExitFailure || !strings.Contains(stderr, "Purge 6 items from cloudflare zone 023e105f4ecef8ad9ca31a8372d0c353 (prod) in 3 batches? [y/N]") || !strings.Contains(stderr, "cancelled") {
		t.Errorf("answer n: exit %d, stderr %q", code, stderr)
	}
	if n := sent(); n != 0 {
		t.Fatalf("%d requests sent before confirmation", n)
	}
	// "y" purges; so does --yes without a terminal; a small purge never asks.
	if code, _, stderr = runPurgeCLI(t, cfg, env, "y\n", true, many...); code != 0 {
		t.Errorf("answer y: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr = runPurgeCLI(t, cfg, env, "", false, append(many, "--yes")...); code != 0 {
		t.Errorf("--yes: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr = runPurgeCLI(t, cfg, env, "", false, "purge", "/1"); code != 0 || strings.Contains(stderr, "[y/N]") {
		t.Errorf("one item: exit %d, stderr %q; want no question", code, stderr)
	}
	if n := sent(); n != 3+3+1 {
		t.Errorf("%d requests; want 7", n)
	}
}

func TestPurgeDryRunSendsNothing(t *testing.T) {
	s := newStubCloudflare(t)
	// No token needed for a dry run.
	code, stdout, stderr := runPurgeCLI(t, cloudflareConfig(s.srv.URL), nil, "", false,
		"--no-headers", "purge", "--dry-run", "--all", "/x")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "1\teverything\t*\n" || !strings.Contains(stderr, "Dry run: Everything would be purged in 1 batch; nothing was sent.") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	code, stdout, _ = runPurgeCLI(t, cloudflareConfig(s.srv.URL), nil, "", false, "--json", "purge", "--dry-run", "/x", "--prefix", "/p/")
	var rec providers.PurgeRecord
	if code != 0 || json.Unmarshal([]byte(stdout), &rec) != nil || rec.Status != providers.PurgePlanned || len(rec.Batches) != 2 {
		t.Errorf("--json --dry-run: exit %d, %q; want a planned record with 2 batches", code, stdout)
	}
	if len(s.bodies) != 0 {
		t.Errorf("a dry run sent %d requests", len(s.bodies))
	}
}

func TestPurgeFileAndStdin(t *testing.T) {
	list := "# deploy 42\n/index.html\n\nhttps://www.example.com/about/\ntag:css\nprefix:/assets/\nhost:www.example.com\nkey:blog/index.html\ncpcode:123456\n"
	o := &PurgeOptions{Files: []string{"-"}, Targets: []string{"/x"}, Headers: []string{"CF-Device-Type: mobile"}}
	req, err := o.request(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	want := providers.PurgeRequest{
		URLs: []string{"/x", "/index.html", "https://www.example.com/about/"}, Tags: []string{"css"},
		Prefixes: []string{"/assets/"}, Hosts: []string{"www.example.com"}, Keys: []string{"blog/index.html"},
		CPCodes: []int{123456}, Headers: map[string]string{"CF-Device-Type": "mobile"},
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("request mismatch (-want +got):\n%s", diff)
	}
	p := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(p, []byte("/a\nindex.html\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = (&PurgeOptions{Files: []string{p}}).request(nil)
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), p+":2:") || !strings.Contains(err.Error(), `did you mean "/index.html"`) {
		t.Errorf("bad line: %v; want a usage error naming %s:2 with a hint", err, p)
	}
	for _, bad := range []*PurgeOptions{
		{},
		{Targets: []string{"ftp://x/y"}},
		{Targets: []string{"/a"}, Headers: []string{"no colon"}},
		{Files: []string{filepath.Join(t.TempDir(), "missing")}},
		{Files: []string{"-", "-"}},
	} {
		if _, err := bad.request(strings.NewReader("")); !errors.As(err, &ue) {
			t.Errorf("request(%+v) = %v; want a usage error", bad, err)
		}
	}
}

// TestPurgeRepeatedFilesAddUp: every --file counts, not only the last one.
func TestPurgeRepeatedFilesAddUp(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, []byte("/a\ntag:css\n"), 0o644)
	os.WriteFile(b, []byte("/b\ncpcode:42\n"), 0o644)
	s := newStubCloudflare(t)
	code, _, stderr := runPurgeCLI(t, cloudflareConfig(s.srv.URL), map[string]string{"CLOUDFLARE_API_TOKEN": cfToken}, "/c\n", false,
		"purge", "--dry-run", "--json", "--file", a, "--file", "-", "--file", b)
	if code != 2 || !strings.Contains(stderr, "purge by CP code") {
		t.Errorf("a CP code from the last file sent to Cloudflare: exit %d, %s; want the refusal (all files read)", code, stderr)
	}
	o := &PurgeOptions{Files: []string{a, "-", b}}
	req, err := o.request(strings.NewReader("/c\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := providers.PurgeRequest{URLs: []string{"/a", "/c", "/b"}, Tags: []string{"css"}, CPCodes: []int{42}}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("three --file flags (-want +got):\n%s", diff)
	}
	if _, err := (&PurgeOptions{Files: []string{a}, Targets: nil}).request(nil); err != nil {
		t.Errorf("one file: %v", err)
	}
	if _, err := (&PurgeOptions{Files: []string{b + "x"}}).request(nil); err == nil {
		t.Error("a missing second file was not reported")
	}
	if _, err := (&PurgeOptions{Targets: []string{"/x"}, Files: []string{writeTemp(t, "cpcode:x\n")}}).request(nil); err == nil || !strings.Contains(err.Error(), "cpcode:x") {
		t.Errorf("cpcode:x = %v; want a usage error naming the line", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveCDN(t *testing.T) {
	prod := CDNConfig{Name: "prod", Provider: "cloudfront", DistributionID: "E2QWRUHAPOMQZL"}
	stg := CDNConfig{Name: "staging", Provider: "cloudfront", DistributionID: "E3ABCDEFGHIJK"}
	cf := CDNConfig{Name: "cf", Provider: "cloudflare", ZoneID: "023e105f4ecef8ad9ca31a8372d0c353", Default: true}
	tests := []struct {
		cdns    []CDNConfig
		name    string
		want    string
		wantErr string
	}{
		{[]CDNConfig{prod}, "", "prod", ""},
		{[]CDNConfig{prod, stg}, "", "", "none is default"},
		{[]CDNConfig{prod, stg, cf}, "", "cf", ""},
		{[]CDNConfig{prod, stg, cf}, "staging", "staging", ""},
		{[]CDNConfig{prod, stg, cf}, "cloudflare", "cf", ""},
		{[]CDNConfig{prod, stg, cf}, "cloudfront", "", "2 cdns entries use provider cloudfront (prod, staging)"},
		{[]CDNConfig{prod}, "local", "local", ""},
		{nil, "local", "local", ""},
		{nil, "", "", "no CDN to purge"},
		{nil, "prod", "", "no cdns entries"},
		{[]CDNConfig{prod}, "fastly", "", "no cdns entry has that name or provider (entries: prod)"},
	}
	for _, tt := range tests {
		got, err := resolveCDN(tt.cdns, tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveCDN(%d entries, %q) = %v; want an error with %q", len(tt.cdns), tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Name != tt.want {
			t.Errorf("resolveCDN(%d entries, %q) = %q, %v; want %q", len(tt.cdns), tt.name, got.Name, err, tt.want)
		}
	}
}

func TestValidateCDNs(t *testing.T) {
	ok := CDNConfig{Name: "prod", Provider: "cloudfront", DistributionID: "E2QWRUHAPOMQZL"}
	tests := []struct {
		cdns []CDNConfig
		want string
	}{
		{[]CDNConfig{{Name: "Prod", Provider: "local"}}, `name "Prod"`},
		{[]CDNConfig{ok, ok}, "used by another entry"},
		{[]CDNConfig{{Name: "x", Provider: "bunny"}}, `provider "bunny": want cloudfront, cloudflare, fastly, akamai or local`},
		{[]CDNConfig{{Name: "x", Provider: "fastly"}}, "service_id is required"},
		{[]CDNConfig{{Name: "x", Provider: "fastly", ServiceID: "SU1Z0isxPaozGVKXdv0eY", Network: "staging"}}, "network does not apply to provider fastly"},
		{[]CDNConfig{{Name: "x", Provider: "akamai", Network: "prod"}}, `network "prod": want production`},
		{[]CDNConfig{{Name: "x", Provider: "akamai", Method: "purge"}}, `method "purge"`},
		{[]CDNConfig{{Name: "x", Provider: "akamai", CPCodes: []int{0}}}, "cp_codes: 0"},
		{[]CDNConfig{{Name: "x", Provider: "akamai", TokenEnv: "X"}}, "token_env does not apply to provider akamai"},
		{[]CDNConfig{{Name: "x", Provider: "cloudfront"}}, "distribution_id is required"},
		{[]CDNConfig{{Name: "x", Provider: "cloudflare"}}, "zone_id is required"},
		{[]CDNConfig{{Name: "x", Provider: "cloudfront", DistributionID: "E2QWRUHAPOMQZL", ZoneID: "z"}}, "zone_id does not apply to provider cloudfront"},
		{[]CDNConfig{{Name: "x", Provider: "local", Profile: "p"}}, "profile does not apply to provider local"},
		{[]CDNConfig{{Name: "x", Provider: "local", Endpoint: "http://x"}}, "uses admin_url"},
		{[]CDNConfig{{Name: "x", Provider: "local", ConfirmAbove: -2}}, "confirm_above -2"},
		{[]CDNConfig{{Name: "x", Provider: "local", Hostnames: []string{"https://x"}}}, `hostnames: "https://x"`},
		{[]CDNConfig{{Name: "x", Provider: "local", OriginPath: "site"}}, `origin_path "site"`},
		{[]CDNConfig{{Name: "a", Provider: "local", Default: true}, {Name: "b", Provider: "local", Default: true}}, "at most one"},
	}
	for _, tt := range tests {
		err := validateCDNs(tt.cdns)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("validateCDNs(%+v) = %v; want an error with %q", tt.cdns, err, tt.want)
		}
	}
	if err := validateCDNs([]CDNConfig{ok, {Name: "dev", Provider: "local", Pops: []string{"pop1"}},
		{Name: "f", Provider: "fastly", ServiceID: "SU1Z0isxPaozGVKXdv0eY", TokenEnv: "MY_FASTLY", Endpoint: "http://127.0.0.1:1"},
		{Name: "a", Provider: "akamai", Network: "staging", Method: "delete", CPCodes: []int{123}, Edgerc: "~/.edgerc", Section: "ccu"}}); err != nil {
		t.Errorf("valid config: %v", err)
	}
	// A bad entry fails the command with exit 2 and names the entry.
	code, _, stderr := runPurgeCLI(t, "cdns:\n  - name: prod\n    provider: cloudfront\n", nil, "", false, "purge", "/a")
	if code != ExitUsage || !strings.Contains(stderr, "cdns[0] (prod): distribution_id is required") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPurgeUsageErrors(t *testing.T) {
	cfg := "cdns:\n  - name: prod\n    provider: cloudfront\n    distribution_id: E2QWRUHAPOMQZL\n"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"purge"}, "nothing to purge"},
		{[]string{"purge", "index.html"}, `did you mean "/index.html"`},
		{[]string{"purge", "--host", "www.example.com"}, "cloudfront: purge by host: not supported by provider"},
		{[]string{"purge", "--soft", "/a"}, "soft purge: not supported"},
		{[]string{"purge", "/a/*/b"}, "only at the end"},
		{[]string{"purge", "--cdn", "cloudflare", "/a"}, "no cdns entry has that name"},
		{[]string{"purge", "--timeout", "0s", "/a"}, "--timeout"},
	}
	for _, tt := range tests {
		code, _, stderr := runPurgeCLI(t, cfg, nil, "", false, tt.args...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("cdnctl %s: exit %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
	local := "cdns:\n  - name: dev\n    provider: local\n"
	code, _, stderr := runPurgeCLI(t, local, nil, "", false, "purge", "--profile", "p", "/a")
	if code != ExitUsage || !strings.Contains(stderr, "--profile and --region apply to CloudFront") {
		t.Errorf("--profile for local: exit %d, %q", code, stderr)
	}
	code, _, stderr = runPurgeCLI(t, cfg, nil, "", false, "purge", "--admin", "http://127.0.0.1:1", "/a")
	if code != ExitUsage || !strings.Contains(stderr, "--admin and --pop apply to the local provider") {
		t.Errorf("--admin for cloudfront: exit %d, %q", code, stderr)
	}
}

// stubCloudFront answers CreateInvalidation and GetInvalidation like the
// CloudFront API (the strict fake, with SigV4 checks, is in
// providers/cloudfront): invalidations complete on the second poll.
func newStubCloudFront(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var calls []string
	polls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIAPURGETESTKEY0000/") {
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>bad key</Message></Error></ErrorResponse>`)
			return
		}
		id := "I2J0I21PCUYOIK"
		status := "InProgress"
		if r.Method == http.MethodGet {
			polls[id]++
			if polls[id] >= 2 {
				status = "Completed"
			}
		} else {
			w.Header().Set("Location", "https://cloudfront.amazonaws.com/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/"+id)
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprintf(w, `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>%s</Id><Status>%s</Status><CreateTime>2026-11-23T03:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/index.html</Path></Items></Paths><CallerReference>x</CallerReference></InvalidationBatch></Invalidation>`, id, status)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestPurgeCloudFrontWait(t *testing.T) {
	srv, calls := newStubCloudFront(t)
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPURGETESTKEY0000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "purge-test-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	cfg := "cdns:\n  - name: prod\n    provider: cloudfront\n    distribution_id: E2QWRUHAPOMQZL\n    endpoint: " + srv.URL + "\n"
	code, stdout, stderr := runPurgeCLI(t, cfg, nil, "", false, "--json", "purge", "/index.html", "--wait", "--timeout", "1m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rec providers.PurgeRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != providers.PurgeCompleted || rec.Batches[0].ID != "I2J0I21PCUYOIK" || *rec.EstimatedBillablePaths != 1 {
		t.Errorf("record = %+v; want completed invalidation I2J0I21PCUYOIK, 1 billable path", rec)
	}
	want := []string{
		"POST /2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation",
		"GET /2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/I2J0I21PCUYOIK",
		"GET /2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/I2J0I21PCUYOIK",
	}
	if diff := cmp.Diff(want, *calls); diff != "" {
		t.Errorf("API calls mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(stdout+stderr, "purge-test-secret") {
		t.Errorf("the secret key was printed")
	}
}

// TestPurgeLocalTopology runs `cdnctl purge --cdn local` against a
// real localedge topology started in-process (no cdns entry needed).
func TestPurgeLocalTopology(t *testing.T) {
	edge := edgetest.Start(t, nil)
	edge.Fill(t, []string{"pop1", "pop2", "pop3"}, "/about/")
	env := map[string]string{"CDNCTL_ADMIN_TOKEN": edge.Token}
	code, stdout, stderr := runPurgeCLI(t, "", env, "", false, "--json", "purge", "--cdn", "local", "--admin", edge.AdminURL, "/about/", "--tag", "nosuch")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rec providers.PurgeRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Provider != "local" || rec.Target != edge.AdminURL || rec.Status != providers.PurgeCompleted || len(rec.Batches) != 2 {
		t.Fatalf("record = %+v", rec)
	}
	if n := *rec.Batches[0].Purged; n != 4 {
		t.Errorf("purged %d entries of /about/; want 4 (3 edges and the shield)", n)
	}
	if n := *rec.Batches[1].Purged; n != 0 {
		t.Errorf("an unknown tag purged %d entries; want 0", n)
	}
	if strings.Contains(stdout+stderr, edge.Token) {
		t.Errorf("the admin token was printed")
	}
	// --pop limits the purge to one PoP.
	edge.Fill(t, []string{"pop1", "pop2"}, "/about/")
	code, stdout, stderr = runPurgeCLI(t, "", env, "", false, "--json", "purge", "--cdn", "local", "--admin", edge.AdminURL, "--pop", "pop2", "/about/")
	if code != 0 {
		t.Fatalf("--pop pop2: exit %d: %s", code, stderr)
	}
	rec = providers.PurgeRecord{}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil || len(rec.Batches[0].Pops) != 2 || rec.Batches[0].Pops[0].Name != "pop2" || rec.Batches[0].Pops[1].Name != "shield" {
		t.Errorf("--pop pop2 record = %s; want pop2 and the shield it fetches from", stdout)
	}
	if r := edge.Get(t, "pop1", "/about/"); r.Header.Get("X-Cache") != "HIT" {
		t.Errorf("pop1 lost /about/ in a pop2 purge: X-Cache %q", r.Header.Get("X-Cache"))
	}

	// Without CDNCTL_ADMIN_TOKEN, serve.token and serve.admin of
	// cdnctl.yaml describe the topology, as for inspect.
	serveCfg := fmt.Sprintf("serve:\n  admin: %s\n  token: %s\n", strings.TrimPrefix(edge.AdminURL, "http://"), edge.Token)
	code, stdout, stderr = runPurgeCLI(t, serveCfg, nil, "", false, "purge", "--cdn", "local", "/about/")
	if code != 0 || !strings.Contains(stderr, "Target: local edge "+edge.AdminURL) {
		t.Errorf("from the serve section: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Without the token: the admin API's 401, explained.
	code, _, stderr = runPurgeCLI(t, "", nil, "", false, "purge", "--cdn", "local", "--admin", edge.AdminURL, "/about/")
	if code != ExitFailure || !strings.Contains(stderr, "no admin token") {
		t.Errorf("without a token: exit %d, %q", code, stderr)
	}
	code, _, stderr = runPurgeCLI(t, "", map[string]string{"CDNCTL_ADMIN_TOKEN": "wrong"}, "", false, "purge", "--cdn", "local", "--admin", edge.AdminURL, "/about/")
	if code != ExitFailure || !strings.Contains(stderr, "admin token rejected") || !strings.Contains(stderr, "reads it from CDNCTL_ADMIN_TOKEN") {
		t.Errorf("wrong token: exit %d, %q", code, stderr)
	}
}
