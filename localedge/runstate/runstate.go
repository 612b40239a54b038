// Package runstate records where a running local CDN (cdnctl serve)
// listens, so that client commands find it without flags: one small JSON
// file per running instance in the user's runtime directory, keyed by the
// working directory it was started in (or by a name), written atomically
// with mode 0600 (it holds the admin token) and removed on exit. Files
// left by a process that is gone are detected and removed.
package runstate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
)

// Version is the format of the state file.
const Version = 1

// State is what one running local CDN records.
type State struct {
	Version int `json:"version"`
	// Name is the instance's name (serve --name, serve.name); "" when it is
	// known by its directory only.
	Name string `json:"name,omitempty"`
	// Dir is the absolute working directory serve was started in.
	Dir string `json:"dir"`
	// PID is the serving process.
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Config is the configuration file serve read ("" for none).
	Config string `json:"config,omitempty"`
	// Topology is where everything listens, with the admin token (the
	// reason the file is readable by its owner only).
	Topology localedge.TopologyInfo `json:"topology"`

	// Path is the file the state was read from or written to.
	Path string `json:"-"`
}

// Public is the state without the admin token: what may be printed.
func (s State) Public() State {
	s.Topology.Token = ""
	return s
}

// Label says which local CDN this is, for messages: "the local CDN
// "docs" of /home/me/site (pid 4242)".
func (s State) Label() string {
	if s.Name != "" {
		return fmt.Sprintf("the local CDN %q of %s (pid %d)", s.Name, s.Dir, s.PID)
	}
	return fmt.Sprintf("the local CDN of %s (pid %d)", s.Dir, s.PID)
}

// Registry is a folder of state files. The zero value is not usable: Dir
// is required.
type Registry struct {
	// Dir holds the state files (created 0700 on first write).
	Dir string
	// Alive reports whether a process runs (nil: ask the system).
	Alive func(pid int) bool
	// Dial checks that an address still listens (nil: a TCP connection
	// with a one-second timeout).
	Dial func(ctx context.Context, addr string) error
}

// ErrNotRunning is returned (wrapped) by Find when no local CDN matches.
var ErrNotRunning = errors.New("no local CDN running")

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ValidName checks an instance name: lower-case letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func ValidName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("name %q: want a short lower-case name such as docs (letters, digits, '.', '_' and '-')", name)
	}
	return nil
}

// DefaultDir is where state files live: $XDG_RUNTIME_DIR/cdnctl (a
// per-user folder emptied at logout), else the user's cache folder
// (XDG_CACHE_HOME or ~/.cache, ~/Library/Caches on macOS, %LocalAppData%
// on Windows) + cdnctl/run. lookupEnv reads the environment.
func DefaultDir(lookupEnv func(string) (string, bool)) (string, error) {
	get := func(k string) string {
		v, _ := lookupEnv(k)
		return v
	}
	if d := get("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) && runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		return filepath.Join(d, "cdnctl"), nil
	}
	var cache string
	switch runtime.GOOS {
	case "windows":
		cache = get("LocalAppData")
	case "darwin", "ios":
		if h := get("HOME"); h != "" {
			cache = filepath.Join(h, "Library", "Caches")
		}
	default:
		cache = get("XDG_CACHE_HOME")
		if cache == "" || !filepath.IsAbs(cache) {
			cache = ""
			if h := get("HOME"); h != "" {
				cache = filepath.Join(h, ".cache")
			}
		}
	}
	if cache == "" || !filepath.IsAbs(cache) {
		return "", errors.New("no runtime or cache folder for the local CDN's state: set XDG_RUNTIME_DIR or HOME")
	}
	return filepath.Join(cache, "cdnctl", "run"), nil
}

// fileName is the state file of s: by name, else by directory (its base
// name for people, a hash for uniqueness), then the process and a random
// suffix, so that two instances never share a file.
func fileName(s State) string {
	var key string
	if s.Name != "" {
		key = "name-" + s.Name
	} else {
		sum := sha256.Sum256([]byte(s.Dir))
		base := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, filepath.Base(s.Dir))
		if len(base) > 40 {
			base = base[:40]
		}
		key = "dir-" + base + "-" + hex.EncodeToString(sum[:6])
	}
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s.json", key, s.PID, hex.EncodeToString(r[:]))
}

// Register writes s (Version, PID and Started filled in when zero) to a
// new file in the registry, atomically (a temporary file renamed into
// place) and readable by its owner only. It returns the state as written;
// Remove deletes it. Stale files of gone processes are removed on the way.
func (r Registry) Register(s State) (State, error) {
	if r.Dir == "" {
		return s, errors.New("runstate: no registry folder")
	}
	if s.Name != "" {
		if err := ValidName(s.Name); err != nil {
			return s, err
		}
	}
	if !filepath.IsAbs(s.Dir) {
		return s, fmt.Errorf("runstate: dir %q is not absolute", s.Dir)
	}
	if s.Version == 0 {
		s.Version = Version
	}
	if s.PID == 0 {
		s.PID = os.Getpid()
	}
	if s.Started.IsZero() {
		s.Started = time.Now().UTC().Truncate(time.Second)
	}
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return s, fmt.Errorf("runstate: %w", err)
	}
	r.removeStale()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, fmt.Errorf("runstate: %w", err)
	}
	tmp, err := os.CreateTemp(r.Dir, ".tmp-*")
	if err != nil {
		return s, fmt.Errorf("runstate: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return s, fmt.Errorf("runstate: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return s, fmt.Errorf("runstate: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return s, fmt.Errorf("runstate: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return s, fmt.Errorf("runstate: %w", err)
	}
	s.Path = filepath.Join(r.Dir, fileName(s))
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return s, fmt.Errorf("runstate: %w", err)
	}
	return s, nil
}

// Remove deletes the state file s was written to.
func (r Registry) Remove(s State) error {
	if s.Path == "" {
		return nil
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("runstate: %w", err)
	}
	return nil
}

// List returns the states of the local CDNs that run, oldest first, and
// removes the files of those that do not: the process is gone, or its
// admin API no longer listens (a reused process ID).
func (r Registry) List(ctx context.Context) ([]State, error) {
	states, err := r.read()
	if err != nil {
		return nil, err
	}
	live := states[:0]
	for _, s := range states {
		if r.alive(ctx, s) {
			live = append(live, s)
			continue
		}
		os.Remove(s.Path)
	}
	slices.SortFunc(live, func(a, b State) int { return a.Started.Compare(b.Started) })
	return live, nil
}

// read parses every state file; unreadable or foreign files are skipped.
func (r Registry) read() ([]State, error) {
	ents, err := os.ReadDir(r.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runstate: %w", err)
	}
	var out []State
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(r.Dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var s State
		if json.Unmarshal(data, &s) != nil || s.Version != Version || s.PID <= 0 || s.Dir == "" {
			continue
		}
		s.Path = p
		out = append(out, s)
	}
	return out, nil
}

// removeStale removes the files of processes that are gone (without
// dialing: cheap, for Register).
func (r Registry) removeStale() {
	states, _ := r.read()
	for _, s := range states {
		if !r.pidAlive(s.PID) {
			os.Remove(s.Path)
		}
	}
}

func (r Registry) pidAlive(pid int) bool {
	if r.Alive != nil {
		return r.Alive(pid)
	}
	return processAlive(pid)
}

// alive says whether s's process runs and its admin API listens.
func (r Registry) alive(ctx context.Context, s State) bool {
	if !r.pidAlive(s.PID) {
		return false
	}
	u, err := url.Parse(s.Topology.Admin.URL)
	if err != nil || u.Host == "" {
		return false
	}
	dial := r.Dial
	if dial == nil {
		dial = dialTCP
	}
	return dial(ctx, u.Host) == nil
}

func dialTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Find returns the local CDN a client command in dir should use: with a
// name, the instance of that name; without, the one started in dir or
// the nearest of its parent folders (an instance started there under a
// name too, when it is the only one). An error wrapping ErrNotRunning says
// what runs instead, if anything.
func (r Registry) Find(ctx context.Context, name, dir string) (State, error) {
	states, err := r.List(ctx)
	if err != nil {
		return State{}, err
	}
	if name != "" {
		for _, s := range states {
			if s.Name == name {
				return s, nil
			}
		}
		return State{}, notRunning(fmt.Sprintf("named %q", name), "cdnctl serve --name "+name, states)
	}
	best := -1
	var matches []State
	for _, s := range states {
		if !within(dir, s.Dir) {
			continue
		}
		switch {
		case len(s.Dir) > best:
			best, matches = len(s.Dir), []State{s}
		case len(s.Dir) == best:
			matches = append(matches, s)
		}
	}
	if len(matches) > 1 {
		// Unnamed instances are the directory's own.
		var unnamed []State
		for _, s := range matches {
			if s.Name == "" {
				unnamed = append(unnamed, s)
			}
		}
		if len(unnamed) == 1 {
			return unnamed[0], nil
		}
		var labels []string
		for _, s := range matches {
			labels = append(labels, s.Label())
		}
		return State{}, fmt.Errorf("%d local CDNs run for %s (%s): stop all but one, or start each with cdnctl serve --name NAME and pick one with serve.name (CDNCTL_SERVE_NAME)", len(matches), matches[0].Dir, strings.Join(labels, "; "))
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	return State{}, notRunning("for "+dir, "cdnctl serve", states)
}

// within says whether dir is parent or dir itself.
func within(dir, parent string) bool {
	rel, err := filepath.Rel(parent, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func notRunning(what, start string, others []State) error {
	msg := fmt.Sprintf("%s %s: start one with `%s`", ErrNotRunning, what, start)
	if len(others) > 0 {
		var labels []string
		for _, s := range others {
			labels = append(labels, s.Label())
		}
		msg += " (running elsewhere: " + strings.Join(labels, "; ") + ")"
	}
	return &notRunningError{msg: msg}
}

type notRunningError struct{ msg string }

func (e *notRunningError) Error() string { return e.msg }
func (e *notRunningError) Is(target error) bool {
	return target == ErrNotRunning
}
