package commands

import (
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/providers/deploy"
)

// TestCommandsOverHTTPS deploys to a local topology with HTTPS
// (serve.https.enabled: the site is https://www.example.test/), then
// prewarms, verifies and probes it: each finds the topology's CA through
// its admin API and reaches the edges over HTTP/2.
func TestCommandsOverHTTPS(t *testing.T) {
	e := newDeployEnv(t, func(c *localedge.TopologyConfig) { edgetest.HTTPS(t, c) }, "serve:\n  https:\n    enabled: true\n")
	code, out, errOut := e.run(t, "deploy", "--json")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	rep := decodeReport(t, out)
	warm := rep.Step(deploy.StepPrewarm)
	check := rep.Step(deploy.StepVerify)
	if warm == nil || warm.Prewarm == nil || len(warm.Prewarm.Targets) != 1 || warm.Prewarm.Targets[0].BaseURL != "https://www.example.test/" {
		t.Fatalf("prewarm step = %+v; want the site at https://www.example.test/", warm)
	}
	if r := warm.Prewarm.Targets[0].Report; r == nil || r.Errors != 0 || r.Requests == 0 {
		t.Errorf("prewarm over HTTPS = %+v; want requests and no error", r)
	}
	if check == nil || check.Verify == nil || check.Verify.Targets[0].Report == nil || !check.Verify.Targets[0].Report.Passed {
		t.Errorf("verify over HTTPS = %+v; want passed", check)
	}

	admin := []string{"--admin", e.edge.AdminURL}
	code, out, errOut = e.run(t, append([]string{"prewarm", "/", "/about/"}, admin...)...)
	if code != 0 || !strings.Contains(out, " 0 errors") {
		t.Errorf("prewarm: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, append([]string{"verify"}, admin...)...)
	if code != 0 || !strings.Contains(out, "every answer has the deployed content") {
		t.Errorf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = e.run(t, append([]string{"probe", "https://www.example.test/about/"}, admin...)...)
	if code != 0 || !strings.Contains(out, "status\t200 HTTP/2.0\t200 HTTP/2.0\t200 HTTP/2.0\n") {
		t.Errorf("probe: exit %d\n%s\n%s", code, out, errOut)
	}
}
