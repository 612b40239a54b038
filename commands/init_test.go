package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInit writes the config for a Hugo project and for real storage and
// CDNs; every file written loads with the real loader and says what it
// found.
func TestInit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		check func(t *testing.T, cfg *Config)
		want  []string // in the file
	}{
		{"hugo, local CDN", map[string]string{"hugo.toml": "baseURL = 'https://example.org/'\ntitle = 'Site'\n"}, nil,
			func(t *testing.T, cfg *Config) {
				if cfg.Deploy.Site != "public" || cfg.Origin.Target != "file://.cdnctl/origin" || cfg.Serve.Origin != ".cdnctl/origin" ||
					len(cfg.CDNs) != 1 || cfg.CDNs[0].Provider != "local" {
					t.Errorf("config = site %q, origin %q, serve.origin %q, cdns %+v", cfg.Deploy.Site, cfg.Origin.Target, cfg.Serve.Origin, cfg.CDNs)
				}
				if st, err := os.Stat(".cdnctl/origin"); err != nil || !st.IsDir() {
					t.Errorf("the origin folder was not created: %v", err)
				}
			}, []string{"for a Hugo site (found by hugo.toml)", "run `hugo --minify` first"}},
		{"astro, s3 and cloudfront", map[string]string{"astro.config.mjs": "export default defineConfig({});\n", "package.json": `{"dependencies":{"astro":"^5"}}`},
			[]string{"--to", "s3://bucket/site", "--cdn", "cloudfront:E2QWRUHAPOMQZL", "--base-url", "https://www.example.com"},
			func(t *testing.T, cfg *Config) {
				c := cfg.CDNs[0]
				if cfg.Deploy.Site != "dist" || cfg.Origin.Target != "s3://bucket/site" || c.DistributionID != "E2QWRUHAPOMQZL" ||
					len(c.Hostnames) != 1 || c.Hostnames[0] != "www.example.com" || cfg.Deploy.BaseURL != "https://www.example.com/" || cfg.Serve.Origin != "" {
					t.Errorf("config = %+v / %+v / %+v", cfg.Deploy, cfg.Origin.Target, c)
				}
			}, []string{"AWS\n  # default chain"}},
		{"cloudflare", map[string]string{"public/index.html": "x"}, []string{"--to", "s3://b", "--cdn", "cloudflare:023e105f4ecef8ad9ca31a8372d0c353"},
			func(t *testing.T, cfg *Config) {
				if cfg.Deploy.Site != "public" || cfg.CDNs[0].ZoneID != "023e105f4ecef8ad9ca31a8372d0c353" {
					t.Errorf("config = %+v", cfg.CDNs)
				}
			}, []string{"CLOUDFLARE_API_TOKEN", "for this site."}},
		{"fastly", map[string]string{}, []string{"--site", "out", "--to", "s3://b", "--cdn", "fastly:SU1Z0isxPaozGVKXdv0eY"},
			func(t *testing.T, cfg *Config) {
				if cfg.CDNs[0].ServiceID != "SU1Z0isxPaozGVKXdv0eY" {
					t.Errorf("config = %+v", cfg.CDNs)
				}
			}, []string{"FASTLY_API_TOKEN"}},
		{"akamai", map[string]string{}, []string{"--site", "out", "--to", "s3://b", "--cdn", "akamai"},
			func(t *testing.T, cfg *Config) {
				if cfg.CDNs[0].Provider != "akamai" {
					t.Errorf("config = %+v", cfg.CDNs)
				}
			}, []string{"~/.edgerc"}},
		{"no CDN", map[string]string{}, []string{"--site", "out", "--to", "s3://b", "--cdn", "none"},
			func(t *testing.T, cfg *Config) {
				if len(cfg.CDNs) != 0 {
					t.Errorf("cdns = %+v; want none", cfg.CDNs)
				}
			}, []string{"# cdns:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for name, body := range tt.files {
				os.MkdirAll(filepath.Dir(name), 0o755)
				if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCLI(t, nil, append([]string{"init"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("cdnctl init %v: exit %d\n%s", tt.args, code, errOut)
			}
			if !strings.Contains(out, "Wrote cdnctl.yaml: deploys ") || !strings.Contains(out, "cdnctl deploy") {
				t.Errorf("stdout %q; want what was written and what to do next", out)
			}
			data, err := os.ReadFile("cdnctl.yaml")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("cdnctl.yaml lacks %q:\n%s", w, data)
				}
			}
			cfg, err := LoadConfig("cdnctl.yaml", true, noEnv)
			if err != nil {
				t.Fatalf("the written file does not load: %v\n%s", err, data)
			}
			if err := validateCDNs(cfg.CDNs); err != nil {
				t.Fatalf("the written cdns do not validate: %v\n%s", err, data)
			}
			tt.check(t, cfg)
		})
	}
}

// TestInitNeverOverwrites: an existing file is left alone unless --force.
func TestInitNeverOverwrites(t *testing.T) {
	t.Chdir(t.TempDir())
	os.Mkdir("public", 0o755)
	if err := os.WriteFile("cdnctl.yaml", []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "init")
	if code != ExitFailure || !strings.Contains(errOut, "cdnctl.yaml already exists: not replaced (--force replaces it") {
		t.Errorf("init over an existing file: exit %d, stderr %q; want 1 and the reason", code, errOut)
	}
	if data, _ := os.ReadFile("cdnctl.yaml"); string(data) != "# mine\n" {
		t.Errorf("the existing file was changed: %q", data)
	}
	if code, _, errOut := runCLI(t, nil, "init", "--force"); code != 0 {
		t.Fatalf("init --force: exit %d: %s", code, errOut)
	}
	if data, _ := os.ReadFile("cdnctl.yaml"); !strings.Contains(string(data), "provider: local") {
		t.Errorf("--force did not replace the file: %q", data)
	}
	// --config names the file written.
	if code, _, errOut := runCLI(t, nil, "--config", "conf/site.yaml", "init"); code != 0 {
		t.Fatalf("init --config: exit %d: %s", code, errOut)
	}
	if _, err := LoadConfig("conf/site.yaml", true, noEnv); err != nil {
		t.Errorf("conf/site.yaml: %v", err)
	}
}

func TestInitUsageErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no static-site generator or build folder found here: give the build folder with --site DIR"},
		{[]string{"--site", "x", "--cdn", "cloudfront"}, "--cdn cloudfront: want cloudfront:DISTRIBUTION_ID"},
		{[]string{"--site", "x", "--cdn", "varnish"}, `--cdn "varnish": want local, none,`},
		{[]string{"--site", "x", "--to", "ftp://x"}, `--to "ftp://x": want s3://BUCKET[/PREFIX] or file://DIR`},
		{[]string{"--site", "x", "--to", "s3://b"}, "--cdn local serves a folder origin"},
		{[]string{"--site", "../x"}, "--site ../x: want a folder inside this one"},
		{[]string{"--site", "x", "--to", "s3://b", "--cdn", "none", "--base-url", "www.example.com"}, `--base-url "www.example.com": want the site's URL`},
	} {
		code, _, errOut := runCLI(t, nil, append([]string{"init"}, tt.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("init %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
		if _, err := os.Stat("cdnctl.yaml"); err == nil {
			t.Fatalf("init %v wrote cdnctl.yaml", tt.args)
		}
	}
}
