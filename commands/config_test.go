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
		{"wrong type", "fingerprint:\n  hash_length: ten\n", []string{":2:", `key "hash_length"`, "cannot unmarshal"}},
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
