package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/akamai/akamaitest"
	"github.com/cdnctl/cdnctl/providers/fastly/fastlytest"
)

const (
	fastlyService = "SU1Z0isxPaozGVKXdv0eY"
	fastlyToken   = "fastly-cli-test-token-0123456789"
)

func fastlyConfig(endpoint string) string {
	return `cdns:
  - name: edge
    provider: fastly
    service_id: ` + fastlyService + `
    hostnames: [www.example.com]
    token_env: MY_FASTLY_TOKEN
    endpoint: ` + endpoint + "\n"
}

func TestPurgeFastlyEndToEnd(t *testing.T) {
	f := fastlytest.New(t, fastlyService, fastlyToken)
	env := map[string]string{"MY_FASTLY_TOKEN": fastlyToken}
	code, stdout, stderr := runPurgeCLI(t, fastlyConfig(f.URL), env, "", true,
		"purge", "/index.html", "--tag", "pages", "--tag", "home", "--soft")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var items []string
	ids := map[string]string{}
	for _, p := range f.Purges() {
		if !p.Soft {
			t.Errorf("purge %+v not soft", p)
		}
		items = append(items, p.Kind+":"+p.Item)
		ids[p.Item] = p.ID
	}
	slices.Sort(items)
	if want := []string{"key:home", "key:pages", "url:www.example.com/index.html"}; !slices.Equal(items, want) {
		t.Errorf("purges %v; want %v", items, want)
	}
	for _, want := range []string{"Target: fastly service " + fastlyService + " (edge)", "Soft purge", ids["www.example.com/index.html"], "Purge IDs of batch 2:", "pages  " + ids["pages"], "home  " + ids["home"]} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, fastlyToken) {
		t.Error("the token was printed")
	}

	// token_env unset: the error names it, nothing is sent.
	before := len(f.Statuses())
	code, _, stderr = runPurgeCLI(t, fastlyConfig(f.URL), nil, "", false, "purge", "--tag", "pages")
	if code == 0 || !strings.Contains(stderr, "set MY_FASTLY_TOKEN") || len(f.Statuses()) != before {
		t.Errorf("without the token: exit %d, %s; want an error naming MY_FASTLY_TOKEN, no request", code, stderr)
	}
	// Soft purge of everything: refused with the constant-key hint.
	code, _, stderr = runPurgeCLI(t, fastlyConfig(f.URL), env, "", false, "purge", "--all", "--soft", "--yes")
	if code != ExitUsage || !strings.Contains(stderr, "constant key") {
		t.Errorf("--all --soft: exit %d, %s; want a usage error suggesting a constant key", code, stderr)
	}
}

// writeEdgerc writes an .edgerc with a section for the fake's client.
func writeEdgerc(t *testing.T, f *akamaitest.Server, section string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edgerc")
	content := fmt.Sprintf("[%s]\nhost = %s\nclient_token = %s\nclient_secret = %s\naccess_token = %s\n",
		section, f.Host, f.Creds.ClientToken, f.Creds.ClientSecret, f.Creds.AccessToken)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var akamaiTestCreds = akamaitest.Credentials{
	ClientToken:  "akab-cli-client-token-0123",
	ClientSecret: "Y2xpLXNlY3JldC1mb3ItY2RuY3RsLXRlc3RzLXh4eHg=",
	AccessToken:  "akab-cli-access-token-4567",
}

func akamaiConfig(endpoint, edgerc string) string {
	return `cdns:
  - name: ak
    provider: akamai
    network: staging
    hostnames: [www.example.com]
    cp_codes: [123456]
    edgerc: ` + edgerc + `
    section: ccu
    endpoint: ` + endpoint + "\n"
}

func TestPurgeAkamaiEndToEnd(t *testing.T) {
	f := akamaitest.New(t, akamaiTestCreds)
	f.EstimatedSeconds = 1
	edgerc := writeEdgerc(t, f, "ccu")
	code, stdout, stderr := runPurgeCLI(t, akamaiConfig(f.URL, edgerc), nil, "", false,
		"--json", "purge", "/index.html", "--tag", "pages", "--cpcode", "654321", "--wait")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rec providers.PurgeRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	got := f.Purges()
	if len(got) != 3 || got[0].Type != "url" || got[0].Objects[0] != "https://www.example.com/index.html" || got[1].Type != "cpcode" || got[2].Type != "tag" {
		t.Fatalf("purges %+v; want url, cpcode, tag", got)
	}
	for _, p := range got {
		if p.Method != "invalidate" || p.Network != "staging" {
			t.Errorf("purge %+v; want invalidate on staging", p)
		}
	}
	if rec.Status != providers.PurgeCompleted || rec.Batches[0].ID != got[0].PurgeID || rec.Batches[0].EstimatedSeconds != 1 || !slices.ContainsFunc(rec.Notes, func(n string) bool { return strings.Contains(n, "waited 1 s, Akamai's estimate") }) {
		t.Errorf("record = %+v; want completed after waiting the 1 s estimate, with the purge IDs", rec)
	}
	for _, secret := range []string{akamaiTestCreds.ClientSecret, akamaiTestCreds.ClientToken, akamaiTestCreds.AccessToken} {
		if strings.Contains(stdout+stderr, secret) {
			t.Error("a credential was printed")
		}
	}

	// --delete, and --all purges the entry's CP codes; without --wait the
	// summary says what --wait would do.
	code, stdout, stderr = runPurgeCLI(t, akamaiConfig(f.URL, edgerc), nil, "", false, "purge", "--all", "--delete", "--yes")
	if code != 0 {
		t.Fatalf("--all --delete: exit %d\n%s", code, stderr)
	}
	if last := f.Purges()[3]; last.Method != "delete" || last.Type != "cpcode" || !slices.Equal(last.Objects, []string{"123456"}) {
		t.Errorf("--all --delete sent %+v; want a delete of CP code 123456", last)
	}
	if !strings.Contains(stderr, "akamai estimates 1 s; --wait sleeps that long") {
		t.Errorf("summary lacks the estimate:\n%s", stderr)
	}
	rows := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(rows) != 2 || rows[0] != "BATCH\tKIND\tITEMS\tID\tSTATUS\tATTEMPTS\tPURGED\tDETAIL" || !strings.HasPrefix(rows[1], "1\tcpcodes\t1\t"+f.Purges()[3].PurgeID+"\tin_progress\t1\t") {
		t.Errorf("stdout %q; want the header and one TSV row: the CP code batch, its purgeId, in progress", rows)
	}

	// Wrong section: a clear error naming the file and section, nothing sent.
	before := len(f.Statuses())
	bad := strings.Replace(akamaiConfig(f.URL, edgerc), "section: ccu", "section: nosuch", 1)
	code, _, stderr = runPurgeCLI(t, bad, nil, "", false, "purge", "--tag", "x")
	if code == 0 || !strings.Contains(stderr, edgerc+" [nosuch]") || len(f.Statuses()) != before {
		t.Errorf("unknown section: exit %d, %s; want an error naming the file and section", code, stderr)
	}
	// Prefixes are refused before anything is sent.
	code, _, stderr = runPurgeCLI(t, akamaiConfig(f.URL, edgerc), nil, "", false, "purge", "--prefix", "/assets/")
	if code != ExitUsage || !strings.Contains(stderr, "no wildcards") {
		t.Errorf("--prefix on Akamai: exit %d, %s", code, stderr)
	}
	// --delete on another provider is a usage error.
	code, _, stderr = runPurgeCLI(t, fastlyConfig("http://127.0.0.1:1"), nil, "", false, "purge", "--delete", "/a")
	if code != ExitUsage || !strings.Contains(stderr, "--delete applies to Akamai") {
		t.Errorf("--delete on Fastly: exit %d, %s", code, stderr)
	}
}
