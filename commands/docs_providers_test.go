package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fencedBlocks returns the contents of the ```lang blocks of a markdown
// file.
func fencedBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestProviderDocExamplesRun checks the examples of docs/providers: each
// page's cdnctl.yaml is valid, and each `cdnctl purge` example runs with
// it (as a dry run: no API, no credentials) and is accepted.
func TestProviderDocExamplesRun(t *testing.T) {
	// The CloudFront page's profile, in an AWS config of its own.
	aws := t.TempDir()
	os.WriteFile(filepath.Join(aws, "config"), []byte("[profile prod]\nregion = us-east-1\n"), 0o644)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(aws, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(aws, "credentials"))
	for _, page := range []string{"cloudfront", "cloudflare", "fastly", "akamai"} {
		t.Run(page, func(t *testing.T) {
			doc := filepath.Join("..", "docs", "providers", page+".md")
			yamls := fencedBlocks(t, doc, "yaml")
			if len(yamls) == 0 {
				t.Fatalf("%s has no yaml example", doc)
			}
			cfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
			if err := os.WriteFile(cfg, []byte(yamls[0]), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(cfg, true, nil)
			if err != nil {
				t.Fatalf("%s: the config example does not load: %v", doc, err)
			}
			if err := validateCDNs(c.CDNs); err != nil {
				t.Fatalf("%s: the config example is invalid: %v", doc, err)
			}
			ran := 0
			for _, block := range fencedBlocks(t, doc, "sh") {
				for _, line := range strings.Split(block, "\n") {
					line, _, _ = strings.Cut(line, " | ") // the command, not what reads its output
					line = strings.TrimSpace(line)
					if !strings.HasPrefix(line, "cdnctl ") || strings.Contains(line, "--file") {
						continue
					}
					args := append([]string{"--config", cfg}, shellWords(strings.TrimPrefix(line, "cdnctl "))...)
					args = append(args, "--dry-run")
					code, _, stderr := runCLI(t, nil, args...)
					if code != 0 {
						t.Errorf("%s: %q: exit %d\n%s", doc, line, code, stderr)
					}
					ran++
				}
			}
			if ran == 0 {
				t.Errorf("%s: no cdnctl purge example ran", doc)
			}
		})
	}
	// The cdns example of docs/config.md.
	for _, y := range fencedBlocks(t, filepath.Join("..", "docs", "config.md"), "yaml") {
		if !strings.HasPrefix(y, "cdns:") {
			continue
		}
		cfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
		os.WriteFile(cfg, []byte(y), 0o644)
		c, err := LoadConfig(cfg, true, nil)
		if err == nil {
			err = validateCDNs(c.CDNs)
		}
		if err != nil {
			t.Errorf("docs/config.md cdns example: %v", err)
		}
	}
}

// shellWords splits a documented command line as sh would, for the
// simple lines of the docs: words, double-quoted words, and a # comment.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inWord = true, true
		case c == '#' && !inWord:
			i = len(line)
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
