package commands

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/commands/inspect"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
)

// Not on a terminal, cdnctl inspect prints its data once.
func TestInspectNotATerminal(t *testing.T) {
	env := edgetest.Start(t, nil)
	env.Fill(t, []string{"pop1"}, edgetest.SitePaths...)
	vars := map[string]string{AdminTokenEnv: env.Token}

	code, out, errOut := runCLI(t, vars, "inspect", "--admin", env.AdminURL, "--json", "--filter", "tag:assets", "--sort", "size", "--desc")
	if code != 0 {
		t.Fatalf("inspect --json: exit %d\n%s", code, errOut)
	}
	var snap inspect.Snapshot
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	if len(snap.Stats.PoPs) != 4 || snap.Admin != env.AdminURL {
		t.Errorf("snapshot stats = %d PoPs from %q", len(snap.Stats.PoPs), snap.Admin)
	}
	// app.css, site.css and app.js, on pop1 and the shield.
	if e := snap.Entries; e.Total != 6 || len(e.Entries) != 6 || e.Entries[0].Size < e.Entries[5].Size {
		t.Errorf("snapshot entries = total %d, %d listed, sorted %v", e.Total, len(e.Entries), e.Entries)
	}
	if snap.Query.Filter != "tag:assets" || snap.Query.Sort != "size" || !snap.Query.Desc {
		t.Errorf("snapshot query = %+v", snap.Query)
	}

	// Piped without --json: two tab-separated tables.
	code, out, errOut = runCLI(t, vars, "inspect", "--admin", env.AdminURL, "--pop", "pop1", "--filter", "status:404")
	if code != 0 {
		t.Fatalf("inspect piped: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "pop1\tedge\tup\t7\t0\t7\t0.0\t") || !strings.Contains(out, "pop1\thttp://www.example.test/missing.html\t404\t") {
		t.Errorf("inspect piped printed:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"inspect", "--admin", env.AdminURL}, nil, ExitUsage, "no admin token"},
		{[]string{"inspect", "--admin", env.AdminURL, "--sort", "colour"}, vars, ExitUsage, `--sort "colour"`},
		{[]string{"inspect", "--admin", env.AdminURL, "--limit", "0"}, vars, ExitUsage, "--limit 0"},
		{[]string{"inspect", "--admin", env.AdminURL, "--refresh", "10ms"}, vars, ExitUsage, "inspect.refresh 10ms"},
		{[]string{"inspect", "--admin", "ftp://x"}, vars, ExitUsage, `--admin "ftp://x"`},
		{[]string{"inspect", "--admin", env.AdminURL, "--filter", "colour:red"}, vars, ExitFailure, "colour"},
		{[]string{"inspect", "--admin", env.AdminURL}, map[string]string{AdminTokenEnv: "nope"}, ExitFailure, "admin token rejected"},
		{[]string{"inspect", "--admin", "http://127.0.0.1:1"}, vars, ExitFailure, "admin API at http://127.0.0.1:1 not reachable"},
	} {
		code, _, errOut := runCLI(t, tt.env, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("cdnctl %v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}

	// The token can come from serve.token, and the URL from serve.admin.
	dir := t.TempDir()
	cfg := dir + "/cdnctl.yaml"
	yaml := "serve:\n  admin: " + strings.TrimPrefix(env.AdminURL, "http://") + "\n  token: " + env.Token + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, nil, "inspect", "--config", cfg, "--json", "--limit", "1")
	if code != 0 || !strings.Contains(out, `"total": 14`) {
		t.Errorf("inspect from serve config: exit %d, %s\n%s", code, errOut, out)
	}
}

// An empty or comments-only cdnctl.yaml keeps every default.
func TestEmptyConfigKeepsDefaults(t *testing.T) {
	for _, content := range []string{"", "# nothing yet\n", "\n\n"} {
		path := t.TempDir() + "/cdnctl.yaml"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path, true, nil)
		if err != nil {
			t.Fatalf("LoadConfig(%q): %v", content, err)
		}
		def := DefaultConfig()
		if cfg.Inspect != def.Inspect || cfg.Serve.Admin != def.Serve.Admin || cfg.DNS.Listen != def.DNS.Listen {
			t.Errorf("LoadConfig(%q) lost the defaults: inspect %+v, serve.admin %q", content, cfg.Inspect, cfg.Serve.Admin)
		}
	}
}
