package commands

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCompressDocExamples runs the examples of the "Compression at the
// edge" section of docs/localedge.md: its cdnctl command lines parse, and
// its curl commands, sent to a `cdnctl serve` of the sample site (on free
// ports), answer as the text after them says.
func TestCompressDocExamples(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed under CI")
		}
		t.Skip("no curl")
	}
	raw, err := os.ReadFile(filepath.Join("..", "docs", "localedge.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Compression at the edge\n")
	if !ok {
		t.Fatal("docs/localedge.md has no Compression at the edge section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	doc := filepath.Join(t.TempDir(), "section.md")
	if err := os.WriteFile(doc, []byte(section), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(t, doc, "sh")
	if len(blocks) != 1 {
		t.Fatalf("%d sh examples in the section; want 1", len(blocks))
	}

	sc := defaultServeConfig()
	sc.AccessLog = AccessLogOff
	lc, err := startLocalCDN(t.Context(), &ServeOptions{Config: sc, FreePorts: true, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lc.top.Run(ctx) }()
	defer func() { cancel(); <-done }()
	pop1 := lc.top.Info().PoPs[0].Addr

	var cdnctl int
	var curls []string
	for _, line := range strings.Split(blocks[0], "\n") {
		line, _, _ = strings.Cut(line, "  #") // a trailing comment
		words := shellWords(strings.TrimSpace(line))
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "cdnctl":
			root := NewRootCmd(&Factory{IO: &IOStreams{}, LookupEnv: noEnv, Now: time.Now})
			cmd, rest, err := root.Find(words[1:])
			if err == nil {
				err = cmd.ParseFlags(rest)
			}
			if err != nil || cmd == root {
				t.Errorf("docs: %q: %v", line, err)
			}
			cdnctl++
		case "curl":
			for i, w := range words {
				words[i] = strings.ReplaceAll(w, "127.0.1.1:8081", pop1)
			}
			out, err := exec.Command(curl, append([]string{"--max-time", "10"}, words[1:]...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("docs: %q: %v\n%s", line, err, out)
			}
			curls = append(curls, strings.ToLower(string(out)))
		}
	}
	if cdnctl != 2 || len(curls) != 3 {
		t.Fatalf("%d cdnctl and %d curl examples; want 2 and 3", cdnctl, len(curls))
	}
	// As the text says: br with Vary and a weak ETag, zstd, identity with
	// the origin's strong ETag.
	for _, want := range []string{"content-encoding: br", "vary: accept-encoding", `etag: w/"`} {
		if !strings.Contains(curls[0], want) {
			t.Errorf("curl --compressed: no %q in\n%s", want, curls[0])
		}
	}
	if !strings.Contains(curls[1], "content-encoding: zstd") {
		t.Errorf("curl -H 'Accept-Encoding: zstd': not zstd:\n%s", curls[1])
	}
	if strings.Contains(curls[2], "content-encoding") || !strings.Contains(curls[2], "etag: \"") {
		t.Errorf("curl without Accept-Encoding: encoded, or not the strong ETag:\n%s", curls[2])
	}
}
