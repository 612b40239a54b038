package runstate

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge"
)

// listen starts a TCP listener standing for an admin API and returns its
// URL; it closes with the test.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

func state(dir, name, admin string, pid int) State {
	return State{Name: name, Dir: dir, PID: pid, Topology: localedge.TopologyInfo{
		Admin: localedge.AdminInfo{URL: admin}, Token: "secret-token",
	}}
}

func TestRegisterFindRemove(t *testing.T) {
	reg := Registry{Dir: filepath.Join(t.TempDir(), "run")}
	ctx := context.Background()
	site := filepath.Join(t.TempDir(), "site")
	admin := listen(t)

	s, err := reg.Register(state(site, "", admin, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != os.Getpid() || s.Started.IsZero() || s.Version != Version {
		t.Errorf("Register filled in %+v; want this process, a start time and version %d", s, Version)
	}
	st, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v; want 0600 (it holds the admin token)", st.Mode().Perm())
	}
	if d, _ := os.Stat(reg.Dir); runtime.GOOS != "windows" && d.Mode().Perm() != 0o700 {
		t.Errorf("registry folder mode %v; want 0700", d.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(reg.Dir, ".tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	for _, dir := range []string{site, filepath.Join(site, "public", "css")} {
		got, err := reg.Find(ctx, "", dir)
		if err != nil {
			t.Fatalf("Find(%s): %v", dir, err)
		}
		if got.Topology.Admin.URL != admin || got.Topology.Token != "secret-token" || got.Path != s.Path {
			t.Errorf("Find(%s) = %+v; want the registered state", dir, got)
		}
	}
	other := filepath.Join(t.TempDir(), "other")
	_, err = reg.Find(ctx, "", other)
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Find(%s) error %v; want ErrNotRunning", other, err)
	}
	for _, want := range []string{"no local CDN running for " + other + ": start one with `cdnctl serve`", "running elsewhere: the local CDN of " + site} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%s) error %q; want it to say %q", other, err, want)
		}
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error %q prints the token", err)
	}

	if err := reg.Remove(s); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Find(ctx, "", site); !errors.Is(err, ErrNotRunning) {
		t.Errorf("after Remove: Find error %v; want ErrNotRunning", err)
	}
}

func TestFindByName(t *testing.T) {
	reg := Registry{Dir: t.TempDir()}
	ctx := context.Background()
	site := t.TempDir()
	a, b := listen(t), listen(t)
	if _, err := reg.Register(state(site, "docs", a, 0)); err != nil {
		t.Fatal(err)
	}
	// Alone in its folder, a named instance is also the folder's.
	if got, err := reg.Find(ctx, "", site); err != nil || got.Name != "docs" {
		t.Errorf("Find by folder = %+v, %v; want docs", got, err)
	}
	if _, err := reg.Register(state(site, "blog", b, 0)); err != nil {
		t.Fatal(err)
	}
	if got, err := reg.Find(ctx, "blog", "/elsewhere"); err != nil || got.Topology.Admin.URL != b {
		t.Errorf("Find(blog) = %+v, %v; want blog's", got, err)
	}
	_, err := reg.Find(ctx, "", site)
	if err == nil || !strings.Contains(err.Error(), "2 local CDNs run for "+site) || !strings.Contains(err.Error(), "serve.name") {
		t.Errorf("two named instances, no name: error %v; want one asking to pick with serve.name", err)
	}
	_, err = reg.Find(ctx, "api", site)
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), `named "api"`) {
		t.Errorf("Find(api) error %v; want ErrNotRunning naming api", err)
	}
	if _, err := reg.Register(state(site, "Bad Name", a, 0)); err == nil {
		t.Error("Register accepted the name \"Bad Name\"")
	}
}

func TestStaleStatesRemoved(t *testing.T) {
	ctx := context.Background()
	site := t.TempDir()
	dead := 1 << 30 // no such process
	reg := Registry{Dir: t.TempDir()}
	gone, err := reg.Register(state(site, "", listen(t), dead))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Find(ctx, "", site); !errors.Is(err, ErrNotRunning) {
		t.Errorf("process gone: Find error %v; want ErrNotRunning", err)
	}
	if _, err := os.Stat(gone.Path); !os.IsNotExist(err) {
		t.Errorf("the state file of a gone process is still there (%v)", err)
	}

	// The process runs, but its admin API no longer listens (the PID
	// was reused): stale too.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	s, err := reg.Register(state(site, "", closed, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Find(ctx, "", site); !errors.Is(err, ErrNotRunning) {
		t.Errorf("admin API closed: Find error %v; want ErrNotRunning", err)
	}
	if _, err := os.Stat(s.Path); !os.IsNotExist(err) {
		t.Errorf("the state file of a closed admin API is still there (%v)", err)
	}
}

func TestTwoUnnamedInOneFolder(t *testing.T) {
	reg := Registry{Dir: t.TempDir()}
	site := t.TempDir()
	for range 2 {
		if _, err := reg.Register(state(site, "", listen(t), 0)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := reg.Find(context.Background(), "", site)
	if err == nil || !strings.Contains(err.Error(), "2 local CDNs run for") {
		t.Errorf("Find error %v; want one saying two run", err)
	}
}

func TestDefaultDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the XDG layout is Linux's")
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/me"}, "/run/user/1000/cdnctl"},
		{map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/home/me"}, "/c/cdnctl/run"},
		{map[string]string{"HOME": "/home/me"}, "/home/me/.cache/cdnctl/run"},
		{map[string]string{"XDG_RUNTIME_DIR": "relative", "HOME": "/home/me"}, "/home/me/.cache/cdnctl/run"},
		{map[string]string{}, ""},
	}
	for _, tt := range tests {
		got, err := DefaultDir(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("DefaultDir(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

func TestPublic(t *testing.T) {
	s := state("/x", "", "http://127.0.0.1:1", 1)
	if p := s.Public(); p.Topology.Token != "" || s.Topology.Token == "" {
		t.Errorf("Public() = %+v; want the token dropped from the copy only", p)
	}
}
