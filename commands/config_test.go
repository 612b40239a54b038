package commands

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cdnctl.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestLoadConfigStrictErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "fingerprnt:\n  hash_length: 8\n", []string{":1:1:", `key "fingerprnt"`, "unknown field"}},
		{"unknown nested key", "fingerprint:\n  hash_lenght: 8\n", []string{":2:3:", `key "hash_lenght"`}},
		{"wrong type", "fingerprint:\n  hash_length: ten\n", []string{":2:", `key "hash_length"`, `want a whole number, got text "ten"`}},
		{"section as a number", "fingerprint: 3\n", []string{":1:", `key "fingerprint"`, "want a section of keys"}},
		{"list as a section", "origin:\n  rules:\n    - match:\n        a: b\n", []string{":4:", `key "match"`, "want a list"}},
		{"bad duration", "serve:\n  delay: soon\n", []string{":2:10:", `key "delay"`, `want a duration such as 30s`, `"soon"`}},
		{"bad bool", "fingerprint:\n  strict: maybe\n", []string{":2:", `key "strict"`, "want true or false"}},
		{"syntax", "fingerprint: [\n", []string{"cdnctl.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.body)
			_, err := LoadConfig(p, true, noEnv)
			if err == nil {
				t.Fatalf("LoadConfig(%q) = nil error; want one", tt.body)
			}
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Errorf("error %v is not a usage error", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file %s", err, p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, goWord := range []string{"Go struct", "Go value", " of type ", "unmarshal", "mapping", "int was"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error %q speaks Go (%q): say what was expected in words", err, goWord)
				}
			}
			if usage != nil && !usage.NoHint {
				t.Errorf("error %q would print the usage hint: a config error is not a command-line mistake", err)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := LoadConfig(missing, true, noEnv); err == nil {
		t.Errorf("LoadConfig(explicit missing file) = nil error; want one")
	}
	cfg, err := LoadConfig(missing, false, noEnv)
	if err != nil {
		t.Fatalf("LoadConfig(default missing file) = %v; want defaults", err)
	}
	if cfg.Path != "" || cfg.Fingerprint.HashLength != 10 {
		t.Errorf("defaults = %+v; want no path, hash_length 10", cfg)
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	p := writeConfig(t, "fingerprint:\n  hash_length: 8\n")
	cfg, err := LoadConfig(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Fingerprint.HashLength; got != 8 {
		t.Errorf("file: hash_length = %d; want 8", got)
	}
	env := map[string]string{"CDNCTL_FINGERPRINT_HASH_LENGTH": "12"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err = LoadConfig(p, true, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Fingerprint.HashLength; got != 12 {
		t.Errorf("env over file: hash_length = %d; want 12", got)
	}
	env["CDNCTL_FINGERPRINT_HASH_LENGTH"] = "twelve"
	_, err = LoadConfig(p, true, lookup)
	if err == nil || !strings.Contains(err.Error(), "CDNCTL_FINGERPRINT_HASH_LENGTH") {
		t.Errorf("bad env value: error = %v; want one naming the variable", err)
	}
}

// TestConfigListKeysTakeOneValue: every list key takes a single value as a
// list of one, so rules' match reads the same in fingerprint and origin.
func TestConfigListKeysTakeOneValue(t *testing.T) {
	p := writeConfig(t, `fingerprint:
  exclude: "*.map"
  rules:
    - match: "*.css"
      cache_control: "public, max-age=60"
    - match: ["*.js", "*.mjs"]
      cache_control: "public, max-age=120"
origin:
  exclude: ["a", "b"]
  rules:
    - match: ["*.html", "*.xml"]
      cache_control: no-cache
    - match: "*.js"
      cache_control: public
`)
	cfg, err := LoadConfig(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Fingerprint.Exclude; len(got) != 1 || got[0] != "*.map" {
		t.Errorf("fingerprint.exclude = %q; want [*.map]", got)
	}
	if got := cfg.Fingerprint.Rules[0].Match; len(got) != 1 || got[0] != "*.css" {
		t.Errorf("fingerprint.rules[0].match = %q; want [*.css]", got)
	}
	if got := cfg.Fingerprint.Rules[1].Match; len(got) != 2 {
		t.Errorf("fingerprint.rules[1].match = %q; want 2 globs", got)
	}
	if got := cfg.Origin.Exclude; len(got) != 2 {
		t.Errorf("origin.exclude = %q; want 2", got)
	}
	co, err := cfg.Origin.compile()
	if err != nil {
		t.Fatal(err)
	}
	rules := co.scan.Rules
	if len(rules) != 3 {
		t.Fatalf("origin rules compiled to %d; want 3 (2 globs + 1)", len(rules))
	}
	for _, tt := range []struct{ file, want string }{{"a/index.html", "no-cache"}, {"feed.xml", "no-cache"}, {"app.js", "public"}} {
		got := ""
		for _, r := range rules {
			if r.Match.Match(tt.file) {
				got = r.CacheControl
				break
			}
		}
		if got != tt.want {
			t.Errorf("origin rule for %s: cache_control %q; want %q", tt.file, got, tt.want)
		}
	}
	// A mapping where a list is expected is still an error naming the key.
	p = writeConfig(t, "origin:\n  exclude:\n    a: b\n")
	if _, err := LoadConfig(p, true, noEnv); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("exclude as a mapping: error %v; want one naming the key", err)
	}
}
