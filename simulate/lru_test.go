package simulate

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

// TestLRUMatchesLibCacheSim replays a trace through the LRU mode and
// compares the misses, to the request, with libCacheSim's LRU on the same
// trace at four cache sizes (testdata/lru-libcachesim.txt, written by
// bench/simulate/run.sh --fixture with libCacheSim built from source).
func TestLRUMatchesLibCacheSim(t *testing.T) {
	f, err := os.Open("testdata/lru-libcachesim.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Fields(line)
		size, _ := strconv.ParseInt(fields[0], 10, 64)
		requests, _ := strconv.ParseInt(fields[1], 10, 64)
		misses, _ := strconv.ParseInt(fields[2], 10, 64)
		log, err := workload.Open("testdata/lru-trace.csv.gz", workload.LogOptions{Format: workload.FormatCSV})
		if err != nil {
			t.Fatal(err)
		}
		zero := time.Duration(0)
		s := Scenario{
			Name: "lru",
			Topology: Topology{
				PoPs:   []PoP{{Name: "pop1"}},
				HopRTT: &zero,
				Cache:  Cache{Capacity: size, MaxObjectSize: size, Eviction: EvictionLRU},
			},
			Rules: []Rule{{Path: "/**", CacheControl: "public, max-age=31536000"}},
		}
		r, err := Run(context.Background(), s, log, Options{})
		log.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Requests - r.Edge.Hits; r.Requests != requests || got != misses {
			t.Errorf("cache %d bytes: %d misses of %d requests; libCacheSim: %d of %d", size, got, r.Requests, misses, requests)
		}
		cases++
	}
	if cases < 4 {
		t.Fatalf("%d cache sizes in testdata/lru-libcachesim.txt; want 4", cases)
	}
}

// TestLRUStore: the LRU keeps the most recently used keys within its
// byte capacity, never stores a key larger than the whole cache, and a
// Get refreshes a key.
func TestLRUStore(t *testing.T) {
	ctx := context.Background()
	s := newLRUStore(300)
	set := func(key string, size int64) {
		e := newTestEntry(key, size)
		if err := s.Set(ctx, key, e); err != nil {
			t.Fatal(err)
		}
	}
	has := func(key string) bool { v, _ := s.Get(ctx, key); return v != nil }
	set("a", 100)
	set("b", 100)
	set("c", 100)
	_ = has("a")  // a is now the most recent
	set("d", 100) // evicts b, the least recent
	if !has("a") || has("b") || !has("c") || !has("d") {
		t.Errorf("after a refreshed and d added: a %v b %v c %v d %v; want a, c and d", has("a"), has("b"), has("c"), has("d"))
	}
	set("huge", 301)
	if has("huge") || s.used != 300 {
		t.Errorf("a 301-byte key in a 300-byte cache: stored %v, %d bytes used; want not stored, 300", has("huge"), s.used)
	}
	set("e", 250) // evicts until it fits
	if !has("e") || s.used > 300 {
		t.Errorf("after a 250-byte key: %d bytes used; want at most 300 with e stored", s.used)
	}
	_ = s.Delete(ctx, "e")
	if has("e") {
		t.Error("Delete kept the key")
	}
}

func newTestEntry(key string, size int64) []*localedge.Entry {
	e := &localedge.Entry{Key: key, URL: key}
	e.SetDerived(localedge.Derived{}, size)
	return []*localedge.Entry{e}
}
