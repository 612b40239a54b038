package hashing

import (
	"context"
	"os"
	"testing"
)

func TestZZProf(t *testing.T) {
	dir := os.Getenv("ZZDIR")
	if dir == "" {
		t.Skip()
	}
	for i := 0; i < 2; i++ {
		if _, err := Build(context.Background(), os.DirFS(dir), Discard, Options{}); err != nil {
			t.Fatal(err)
		}
	}
}
