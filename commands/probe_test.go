package commands

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/providers/probe"
)

func TestProbeCommand(t *testing.T) {
	env := edgetest.Start(t, nil)
	vars := map[string]string{AdminTokenEnv: env.Token}
	url := "http://" + edgetest.Host + "/assets/app.js"

	// The local topology, directly (no DNS runs with it here), as JSON.
	code, out, errOut := runCLI(t, vars, "probe", url, "--admin", env.AdminURL, "--json")
	if code != 0 {
		t.Fatalf("probe: exit %d\n%s", code, errOut)
	}
	var rep probe.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("probe --json: %v\n%s", err, out)
	}
	if len(rep.Results) != 3 || !rep.SameContent || rep.Cached != 2 {
		t.Fatalf("report = %d results, same %v, cached %d; want 3 edges, same content, 2 shield hits", len(rep.Results), rep.SameContent, rep.Cached)
	}
	for i, r := range rep.Results {
		if want := env.Info.PoPs[i]; r.Target != want.Name || r.Addr != want.Addr || r.Status != 200 {
			t.Errorf("result %d = %s at %s, %d; want %s at %s", i, r.Target, r.Addr, r.Status, want.Name, want.Addr)
		}
	}

	// Plain text, piped: a TSV side by side, one column per PoP.
	code, out, errOut = runCLI(t, vars, "probe", url, "--admin", env.AdminURL, "--pop", "pop2,shield", "-H", "Accept-Encoding: identity")
	if code != 0 {
		t.Fatalf("probe --pop: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"target\tpop2\tshield\n",
		"status\t200 HTTP/1.1\t200 HTTP/1.1\n",
		"cache\tHIT\tHIT\n",
		"cache-control\tpublic, max-age=31536000, immutable\tpublic, max-age=31536000, immutable\n",
		"x-served-by\tshield, pop2\tshield\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}

	// --edge: explicit addresses, one of them dead: exit 1, the others shown.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	code, out, errOut = runCLI(t, nil, "probe", url, "--edge", "a="+env.PoP(t, "pop3").Addr, "--edge", dead)
	if code != ExitFailure || !strings.Contains(errOut, "1 of 2 targets failed") {
		t.Errorf("probe with a dead edge: exit %d, stderr %q; want 1 and a count", code, errOut)
	}
	if !strings.Contains(out, "connection refused") || !strings.Contains(out, "cache\tHIT\t-\n") {
		t.Errorf("probe with a dead edge printed:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"probe", url, "--edge", "x=nope"}, `--edge "x=nope"`},
		{[]string{"probe", url, "--subnet", "nowhere"}, `--subnet "nowhere"`},
		{[]string{"probe", url, "-X", "POST", "--edge", "127.0.0.1"}, `--method "POST"`},
		{[]string{"probe", url, "-H", "bad", "--edge", "127.0.0.1"}, `--header "bad"`},
		{[]string{"probe", "ftp://x/", "--edge", "127.0.0.1"}, `URL "ftp://x/"`},
		{[]string{"probe", url, "--admin", env.AdminURL}, "no admin token"},
		{[]string{"probe", url, "--admin", env.AdminURL, "--pop", "pop9", "--token", env.Token}, `PoP "pop9" is not in the topology`},
	} {
		code, _, errOut := runCLI(t, nil, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("cdnctl %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	code, _, errOut = runCLI(t, map[string]string{AdminTokenEnv: "wrong"}, "probe", url, "--admin", env.AdminURL)
	if code != ExitFailure || !strings.Contains(errOut, "admin token rejected") {
		t.Errorf("probe with a wrong token: exit %d, stderr %q", code, errOut)
	}
}
