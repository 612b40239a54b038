package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

func TestPrewarmCommand(t *testing.T) {
	e := newDeployEnv(t, nil, "")
	if code, _, errOut := e.run(t, "deploy", "--no-prewarm", "--no-verify"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	admin := []string{"--admin", e.edge.AdminURL}

	// Every file of the deployed manifest, through the topology's PoPs.
	code, out, errOut := e.run(t, append([]string{"prewarm", "--manifest", e.originDir, "--json"}, admin...)...)
	if code != 0 {
		t.Fatalf("prewarm: exit %d\n%s", code, errOut)
	}
	var rep prewarm.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pops) != 3 || rep.Errors != 0 || rep.Misses == 0 || rep.URLs < 20 {
		t.Errorf("report = %+v; want every file through 3 PoPs, first as misses", rep)
	}

	// Paths, a file and stdin; now hits.
	list := filepath.Join(e.dir, "urls.txt")
	os.WriteFile(list, []byte("# pages\n/about/\n\nhttp://www.example.test/blog/\n"), 0o644)
	code, out, errOut = e.run(t, append([]string{"prewarm", "/", "--file", list}, admin...)...)
	if code != 0 || !strings.Contains(out, "3 URLs") || !strings.Contains(out, " 0 misses, 0 errors") {
		t.Errorf("prewarm paths: exit %d\n%s\n%s", code, out, errOut)
	}

	// An explicit edge address, and a failing URL: exit 1 with the failure.
	pop1 := e.edge.PoP(t, "pop1").Addr
	code, out, errOut = e.run(t, "prewarm", "--edge", "one="+pop1, "/nope.html")
	if code != 1 || !strings.Contains(out, "one") || !strings.Contains(errOut, "one: http://www.example.test/nope.html [br]: 404") {
		t.Errorf("prewarm of a missing page: exit %d\n%s\n%s", code, out, errOut)
	}

	// Regions, resolved at a GeoDNS whose PoPs are the topology's edges.
	cfg := geodns.DefaultConfig()
	for i := range cfg.PoPs {
		cfg.PoPs[i].HealthURL = e.edge.PoP(t, cfg.PoPs[i].Name).URL + localedge.HealthPath
	}
	_, dnsAddr := geodnstest.Start(t, cfg)
	code, out, errOut = e.run(t, append([]string{"prewarm", "/", "--subnet", "127.2.0.0/16", "--subnet", "127.3.9.9", "--dns", dnsAddr, "--json"}, admin...)...)
	if code != 0 {
		t.Fatalf("prewarm by region: exit %d\n%s", code, errOut)
	}
	rep = prewarm.Report{}
	json.Unmarshal([]byte(out), &rep)
	if len(rep.Pops) != 2 || rep.Pops[0].Name != "pop2" || rep.Pops[1].Name != "pop3" || rep.Pops[0].Addr != e.edge.PoP(t, "pop2").Addr {
		t.Errorf("pops by region = %+v; want pop2 and pop3 at their addresses", rep.Pops)
	}

	// Usage errors.
	if code, _, errOut := e.run(t, "prewarm", "nope", "--edge", "one="+pop1); code != ExitUsage || !strings.Contains(errOut, "path starting with /") {
		t.Errorf("bad URL: exit %d\n%s", code, errOut)
	}
	if code, _, _ := e.run(t, "prewarm", "--edge", "one="+pop1); code != ExitUsage {
		t.Errorf("no URL: exit %d", code)
	}
}

func TestVerifyCommand(t *testing.T) {
	e := newDeployEnv(t, func(c *localedge.TopologyConfig) { c.PoPs[0].IgnorePurges = true }, "")
	if code, _, errOut := e.run(t, "deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	admin := []string{"--admin", e.edge.AdminURL}
	code, out, errOut := e.run(t, append([]string{"verify"}, admin...)...)
	if code != 0 || !strings.Contains(out, "every answer has the deployed content") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}

	// A new deploy that does not verify; pop1 ignores the purge.
	e.editAbout(t, "About, version two")
	if code, _, errOut := e.run(t, "deploy", "--no-verify"); code != 0 {
		t.Fatalf("deploy --no-verify: exit %d\n%s", code, errOut)
	}
	code, out, _ = e.run(t, append([]string{"verify", "--key", "about/index.html", "--json"}, admin...)...)
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 1 || rep.Passed || len(rep.Failures) == 0 {
		t.Fatalf("verify of the stale PoP: exit %d, %+v", code, rep)
	}
	for _, f := range rep.Failures {
		if f.Pop != "pop1" || !strings.Contains(f.URL, "/about/") || f.Headers["X-Served-By"] == "" {
			t.Errorf("failure %+v; want pop1 and /about/ with headers", f)
		}
	}
	// The build folder (DIR) gives the same answer.
	code, out, _ = e.run(t, append([]string{"verify", filepath.Join(e.dir, "build"), "--key", "about/index.html"}, admin...)...)
	if code != 1 || !strings.Contains(out, "STALE pop1") || !strings.Contains(out, "Cache-Status: ") {
		t.Errorf("verify DIR: exit %d\n%s", code, out)
	}
	if code, _, errOut := e.run(t, append([]string{"verify", "--key", "nope.html"}, admin...)...); code != ExitUsage || !strings.Contains(errOut, "not a file") {
		t.Errorf("unknown key: exit %d\n%s", code, errOut)
	}
}
