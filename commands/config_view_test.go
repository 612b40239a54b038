package commands

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestConfigView(t *testing.T) {
	t.Chdir(t.TempDir())
	yaml := `# a comment
serve:
  origin: dist
  token: s3cret-token
  cache:
    capacity: 128MiB
cdns:
  - name: prod
    provider: cloudflare
    zone_id: 023e105f4ecef8ad9ca31a8372d0c353
environments:
  staging:
    origin:
      target: s3://staging/www
`
	if err := os.WriteFile("cdnctl.yaml", []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CDNCTL_SERVE_DELAY": "150ms", "CDNCTL_DEPLOY_SITE": "public"}
	code, out, errOut := runCLI(t, env, "--json", "config", "view")
	if code != 0 {
		t.Fatalf("config view: exit %d: %s", code, errOut)
	}
	var vals []configValue
	if err := json.Unmarshal([]byte(out), &vals); err != nil {
		t.Fatal(err)
	}
	got := map[string]configValue{}
	for _, v := range vals {
		got[v.Key] = v
	}
	for _, w := range []configValue{
		{"serve.origin", "dist", "cdnctl.yaml:3"},
		{"serve.cache.capacity", "128MiB", "cdnctl.yaml:6"},
		{"serve.token", "(set)", "cdnctl.yaml:4"},
		{"serve.delay", "150ms", "env CDNCTL_SERVE_DELAY"},
		{"deploy.site", "public", "env CDNCTL_DEPLOY_SITE"},
		{"serve.admin", "http://127.0.0.1:8099", "default"},
		{"dns.hosts", `{www.example.test: "www.example.cdn.test"}`, "default"},
		{"cdns[0].name", "prod", "cdnctl.yaml:8"},
		{"cdns[0].zone_id", "023e105f4ecef8ad9ca31a8372d0c353", "cdnctl.yaml:10"},
		{"serve.pops[1].addr", "127.0.2.1:8082", "default"},
		{"origin.target", "", "default"},
	} {
		if got[w.Key] != w {
			t.Errorf("%s = %+v; want %+v", w.Key, got[w.Key], w)
		}
	}
	if _, ok := got["cdns[0].distribution_id"]; ok {
		t.Error("cdns[0].distribution_id shown: unset keys of list items are left out")
	}
	if strings.Contains(out, "s3cret-token") {
		t.Error("config view prints serve.token")
	}

	// An environment, and a prefix.
	code, out, errOut = runCLI(t, nil, "config", "view", "--env", "staging", "origin.target")
	if code != 0 || !strings.Contains(out, "origin.target\ts3://staging/www\tenvironment staging (cdnctl.yaml:14)\n") || strings.Contains(out, "origin.concurrency") {
		t.Errorf("--env staging origin.target: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "config", "view", "nosuch"); code != ExitUsage || !strings.Contains(errOut, "no key nosuch") {
		t.Errorf("unknown prefix: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "config", "view", "--env", "prod"); code != ExitUsage || !strings.Contains(errOut, "no such environment") {
		t.Errorf("unknown environment: exit %d, %q", code, errOut)
	}
}
