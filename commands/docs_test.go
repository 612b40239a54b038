package commands

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/reference")

// TestReferenceIsFresh regenerates the CLI reference and compares it with
// docs/reference: a flag or help text changed without `-update` fails here.
func TestReferenceIsFresh(t *testing.T) {
	committed := filepath.Join("..", "docs", "reference")
	if *update {
		if err := os.RemoveAll(committed); err != nil {
			t.Fatal(err)
		}
		if err := WriteReference(committed); err != nil {
			t.Fatal(err)
		}
		return
	}
	fresh := t.TempDir()
	if err := WriteReference(fresh); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadDir(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadDir(committed)
	if err != nil {
		t.Fatalf("read docs/reference: %v (run go test ./commands -run Reference -update)", err)
	}
	if len(got) != len(want) {
		t.Errorf("docs/reference has %d pages; the command tree makes %d (run go test ./commands -run Reference -update)", len(got), len(want))
	}
	for _, e := range want {
		w, _ := os.ReadFile(filepath.Join(fresh, e.Name()))
		g, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil || string(g) != string(w) {
			t.Errorf("docs/reference/%s is stale (run go test ./commands -run Reference -update)", e.Name())
		}
	}
}
