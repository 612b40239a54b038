// Package geodnstest starts GeoDNS servers for tests of the packages that
// use one (the resolver, commands).
package geodnstest

import (
	"context"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/geodns"
)

// Start runs a server for cfg on a free port of 127.0.0.1 until the test
// ends, and returns it with its address.
func Start(t testing.TB, cfg geodns.Config) (*geodns.Server, string) {
	t.Helper()
	s, err := geodns.New(cfg)
	if err != nil {
		t.Fatalf("geodns.New: %v", err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("geodns: Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("geodns: Serve did not stop")
		}
	})
	return s, s.Addr()
}
