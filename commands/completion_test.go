package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDidYouMeanCommand(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deplyo"}, `unknown command "deplyo" for "cdnctl": did you mean deploy?`},
		{[]string{"purg", "/x"}, "did you mean purge?"},
		{[]string{"config", "veiw"}, `unknown command "veiw" for "cdnctl config": did you mean view?`},
		{[]string{"xyzzy"}, `unknown command "xyzzy" for "cdnctl" (see cdnctl --help)`},
		{[]string{"purge", "--dryrun", "/x"}, "unknown flag: --dryrun: did you mean --dry-run?"},
		{[]string{"probe", "--dnss", "x", "/"}, "did you mean --dns?"},
		{[]string{"probe", "--tiemout", "1s", "/"}, "did you mean --timeout?"},
		{[]string{"serve", "--jsno"}, "did you mean --json?"},
	} {
		code, _, errOut := runCLI(t, nil, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("cdnctl %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestDidYouMeanConfigKey(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		yaml, want string
	}{
		{"origin:\n  concurrancy: 3\n", `key "concurrancy": unknown field "concurrancy": did you mean "concurrency"?`},
		{"fingerprnt:\n  hash_length: 8\n", `did you mean "fingerprint"?`},
		{"deploy:\n  prewarm:\n    enabeld: true\n", `did you mean "enabled"?`},
		{"cdns:\n  - name: x\n    provder: local\n", `did you mean "provider"?`},
		{"serve:\n  pops:\n    - name: a\n      adr: 127.0.0.1:1\n", `did you mean "addr"?`},
		// Nothing close: no guess.
		{"serve:\n  wibble: 1\n", `unknown field "wibble"`},
	} {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(tt.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(p, true, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v; want %q", tt.yaml, err, tt.want)
		}
		if strings.Contains(tt.yaml, "wibble") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%q: error %v guesses", tt.yaml, err)
		}
	}
}

// complete runs the shell-completion request for args and returns the
// candidates (without the directive line).
func complete(t *testing.T, env map[string]string, args ...string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, env, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, ":") {
			name, _, _ := strings.Cut(l, "\t")
			got = append(got, name)
		}
	}
	return got
}

func TestCompletion(t *testing.T) {
	t.Chdir(t.TempDir())
	yaml := `cdns:
  - {name: prod, provider: cloudfront, distribution_id: E123}
  - {name: edge, provider: fastly, service_id: S1}
environments:
  staging: {}
  canary: {}
serve:
  pops:
    - {name: sin, addr: "127.0.1.1:0"}
    - {name: fra, addr: "127.0.2.1:0"}
`
	if err := os.WriteFile("cdnctl.yaml", []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--cdn", ""}, "prod edge local"},
		{[]string{"purge", "--provider", ""}, "prod edge local"},
		{[]string{"deploy", "--env", ""}, "canary staging"},
		{[]string{"history", "--env", ""}, "canary staging"},
		{[]string{"inspect", "--sort", ""}, "key size age ttl hits status"},
		{[]string{"prewarm", "--what", ""}, "all assets entry-points"},
		// No local CDN runs: the configured PoPs and the shield.
		{[]string{"purge", "--pop", ""}, "sin fra shield"},
		{[]string{"probe", "--pops", ""}, "sin fra shield"},
		{[]string{"init", "--cdn", ""}, "local none cloudfront: cloudflare: fastly: akamai"},
	} {
		if got := strings.Join(complete(t, nil, tt.args...), " "); got != tt.want {
			t.Errorf("complete %v = %q; want %q", tt.args, got, tt.want)
		}
	}
	// CDNCTL_CONFIG names the file, as for the commands.
	os.Rename("cdnctl.yaml", "other.yaml")
	env := map[string]string{"CDNCTL_CONFIG": "other.yaml"}
	if got := strings.Join(complete(t, env, "deploy", "--env", ""), " "); got != "canary staging" {
		t.Errorf("with CDNCTL_CONFIG: %q", got)
	}
}

func TestDidYouMeanEnvironmentKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("environments:\n  staging:\n    origin:\n      concurancy: 3\n"), 0o644)
	cfg, err := LoadConfig(p, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.WithEnvironment("staging", nil)
	if err == nil || !strings.Contains(err.Error(), `environments.staging.origin:`) || !strings.Contains(err.Error(), `did you mean "concurrency"?`) {
		t.Errorf("error %v; want the environment's key and a suggestion", err)
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"deplyo", "deploy", 1}, {"concurrancy", "concurrency", 1}, {"", "abc", 3}, {"purg", "purge", 1}, {"purg", "push", 2}, {"same", "same", 0},
	} {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
