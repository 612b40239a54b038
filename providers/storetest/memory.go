// Package storetest helps test origin stores and what uses them: Memory is
// an in-memory providers.Store with fault injection, and Run is the push
// suite every store passes (first deploy, no-op, content and header
// changes, retention, delete cap, protected prefixes, interruption and
// rerun), like Hugo's deploy tests run against two backends.
package storetest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
)

// Memory is an in-memory providers.Store. It verifies hashes on Put like a
// real store, counts the calls it gets, and fails the ones FailPut says
// to. The zero value is ready to use.
type Memory struct {
	// FailPut, if set, is called before each Put and UpdateMetadata; a
	// non-nil error fails the call.
	FailPut func(key string) error

	mu      sync.Mutex // guards the fields below
	objects map[string]memObject
	state   map[string]memState
	version int // last state version handed out
	calls   Calls
}

type memState struct {
	data    []byte
	version string
}

type memObject struct {
	body   []byte
	sha256 string // "" for foreign objects
	meta   providers.Metadata
	known  bool // meta recorded by cdnctl
}

// Calls counts the store methods called.
type Calls struct {
	List, Put, UpdateMetadata, Delete, Commit, ReadState, WriteState, DeleteState int
	// Deleted lists every key passed to Delete.
	Deleted []string
}

// Calls returns a copy of the call counters.
func (m *Memory) Calls() Calls {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.calls
	c.Deleted = append([]string(nil), c.Deleted...)
	return c
}

func (m *Memory) init() {
	if m.objects == nil {
		m.objects = map[string]memObject{}
		m.state = map[string]memState{}
	}
}

// List implements providers.Lister.
func (m *Memory) List(ctx context.Context) ([]providers.RemoteObject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.List++
	out := make([]providers.RemoteObject, 0, len(m.objects))
	for k, o := range m.objects {
		sum := md5.Sum(o.body)
		out = append(out, providers.RemoteObject{
			Key: k, Size: int64(len(o.body)), ETag: hex.EncodeToString(sum[:]),
			SHA256: o.sha256, Meta: o.meta, MetaKnown: o.known,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Put implements providers.Putter.
func (m *Memory) Put(ctx context.Context, f *providers.LocalFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.FailPut != nil {
		if err := m.FailPut(f.Key); err != nil {
			return err
		}
	}
	body, err := readAll(f)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return fmt.Errorf("memory: put %s: body has sha256 %s, want %s", f.Key, got, f.SHA256)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.Put++
	m.objects[f.Key] = memObject{body: body, sha256: f.SHA256, meta: f.Meta.Normalize(), known: true}
	return nil
}

// UpdateMetadata implements providers.MetadataUpdater.
func (m *Memory) UpdateMetadata(ctx context.Context, f *providers.LocalFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.FailPut != nil {
		if err := m.FailPut(f.Key); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.UpdateMetadata++
	o, ok := m.objects[f.Key]
	if !ok {
		return fmt.Errorf("memory: update %s: no such object", f.Key)
	}
	o.meta, o.known, o.sha256 = f.Meta.Normalize(), true, f.SHA256
	m.objects[f.Key] = o
	return nil
}

// Delete implements providers.Deleter.
func (m *Memory) Delete(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.Delete++
	for _, k := range keys {
		delete(m.objects, k)
		m.calls.Deleted = append(m.calls.Deleted, k)
	}
	return nil
}

// Commit implements providers.Committer.
func (m *Memory) Commit(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls.Commit++
	return nil
}

// ReadState implements providers.StateStore.
func (m *Memory) ReadState(ctx context.Context, name string) ([]byte, error) {
	b, _, err := m.ReadStateVersion(ctx, name)
	return b, err
}

// ReadStateVersion implements providers.StateVersions.
func (m *Memory) ReadStateVersion(ctx context.Context, name string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.ReadState++
	st, ok := m.state[name]
	if !ok {
		return nil, "", fmt.Errorf("memory: %s: %w", name, providers.ErrStateNotFound)
	}
	return append([]byte(nil), st.data...), st.version, nil
}

// WriteState implements providers.StateStore.
func (m *Memory) WriteState(ctx context.Context, name string, data []byte) error {
	_, err := m.writeState(ctx, name, data, nil)
	return err
}

// WriteStateIf implements providers.StateVersions.
func (m *Memory) WriteStateIf(ctx context.Context, name string, data []byte, version string) (string, error) {
	return m.writeState(ctx, name, data, &version)
}

func (m *Memory) writeState(ctx context.Context, name string, data []byte, ifVersion *string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.WriteState++
	if ifVersion != nil && m.state[name].version != *ifVersion {
		return "", fmt.Errorf("memory: write %s: %w", name, providers.ErrStateConflict)
	}
	m.version++
	v := fmt.Sprintf("v%d", m.version)
	m.state[name] = memState{data: append([]byte(nil), data...), version: v}
	return v, nil
}

// DeleteState implements providers.StateStore.
func (m *Memory) DeleteState(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.DeleteState++
	delete(m.state, name)
	return nil
}

// DeleteStateIf implements providers.StateVersions.
func (m *Memory) DeleteStateIf(ctx context.Context, name, version string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.calls.DeleteState++
	if st, ok := m.state[name]; ok && st.version != version {
		return fmt.Errorf("memory: delete %s: %w", name, providers.ErrStateConflict)
	}
	delete(m.state, name)
	return nil
}

// ListState implements providers.State.
func (m *Memory) ListState(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.state))
	for n := range m.state {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// StateLocation implements providers.State: the state is not reachable
// by any CDN.
func (m *Memory) StateLocation() providers.StateLocation {
	return providers.StateLocation{URL: "memory:state"}
}

// PutForeign stores an object as another tool would: no recorded hash or
// headers.
func (m *Memory) PutForeign(key string, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.objects[key] = memObject{body: append([]byte(nil), body...)}
}

// Object returns what is stored at key.
func (m *Memory) Object(key string) (body []byte, meta providers.Metadata, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	return o.body, o.meta, ok
}

// Keys lists the stored object keys, sorted.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objects))
	for k := range m.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// State returns a state file's contents (nil if absent).
func (m *Memory) State(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[name].data
}

func readAll(f *providers.LocalFile) ([]byte, error) {
	if f.Open == nil {
		return nil, fmt.Errorf("%s: no body", f.Key)
	}
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Bodies reads every file of a set (for comparing with a store).
func Bodies(files []*providers.LocalFile) (map[string][]byte, error) {
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := readAll(f)
		if err != nil {
			return nil, err
		}
		out[f.Key] = b
	}
	return out, nil
}

// isEntryPoint reports whether a key is one of DefaultEntryPoints.
func isEntryPoint(key string) bool {
	gs, _ := hashing.CompileGlobs(providers.DefaultEntryPoints())
	k := strings.TrimSuffix(strings.TrimSuffix(key, ".br"), ".gz")
	return gs.Match(k)
}

var (
	_ providers.Store           = (*Memory)(nil)
	_ providers.MetadataUpdater = (*Memory)(nil)
)
