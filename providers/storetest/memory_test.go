package storetest

import (
	"sort"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
)

// TestMemory runs the suite against Memory, which keeps the suite honest
// about what it expects of any store.
func TestMemory(t *testing.T) {
	Run(t, func(t *testing.T) Target {
		m := &Memory{}
		return Target{
			Open: func(*testing.T) providers.Store { return m },
			Object: func(_ *testing.T, key string) ([]byte, providers.Metadata, bool) {
				return m.Object(key)
			},
			Keys: func(*testing.T) []string { k := m.Keys(); sort.Strings(k); return k },
			PutForeign: func(_ *testing.T, key string, body []byte, _ string) {
				m.PutForeign(key, body)
			},
		}
	})
}

func TestMemoryState(t *testing.T) {
	RunState(t, func(*testing.T) func() providers.State {
		m := &Memory{}
		return func() providers.State { return m }
	})
}
