package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/runstate"
)

// Finding the local CDN. `cdnctl serve` records where it listens (its
// admin API and token, its PoPs, GeoDNS and CA) in a state file under the
// user's runtime folder, keyed by the folder it runs in or by serve.name;
// client commands (deploy and purge with a local CDN, prewarm, verify,
// probe, inspect, resolve) use it when no flag or client key (inspect.admin,
// cdns[].admin_url, deploy.prewarm.resolver) says otherwise, and say which
// they used on stderr. See docs/localedge.md#finding-the-local-cdn.

// workDir is the absolute working directory, symbolic links resolved (so
// that serve and its clients agree on the key).
func (f *Factory) workDir() (string, error) {
	dir := f.WorkDir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		dir = wd
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs, nil
}

// runRegistry is where running local CDNs are recorded.
func (f *Factory) runRegistry() (runstate.Registry, error) {
	dir, err := runstate.DefaultDir(f.LookupEnv)
	if err != nil {
		return runstate.Registry{}, err
	}
	return runstate.Registry{Dir: dir}, nil
}

// localCDN returns the running local CDN for this folder, or the one
// serve.name (CDNCTL_SERVE_NAME) names, found once per run; the first
// call that finds it says so on stderr, one line, without the token.
func (f *Factory) localCDN(ctx context.Context, cfg *Config) (*runstate.State, error) {
	f.localOnce.Do(func() {
		reg, err := f.runRegistry()
		if err != nil {
			f.localErr = fmt.Errorf("%w: %v", runstate.ErrNotRunning, err)
			return
		}
		dir, err := f.workDir()
		if err != nil {
			f.localErr = err
			return
		}
		st, err := reg.Find(ctx, cfg.Serve.Name, dir)
		if err != nil {
			f.localErr = err
			return
		}
		f.localState = &st
		fmt.Fprintf(f.IO.ErrOut, "Using %s: admin %s (state %s)\n", st.Label(), st.Topology.Admin.URL, st.Path)
	})
	return f.localState, f.localErr
}

// localAdmin is the admin API of the local CDN for commands with no
// --admin and no client key: the running one's (with its token), else
// serve.admin when cdnctl.yaml or the environment set it (token ""),
// else the error saying none runs.
func (f *Factory) localAdmin(ctx context.Context, cfg *Config) (url, token string, err error) {
	st, err := f.localCDN(ctx, cfg)
	if err == nil {
		return st.Topology.Admin.URL, st.Topology.Token, nil
	}
	if u := serveAdminURL(cfg.Serve.Admin); u != "" && u != serveAdminURL(defaultServeConfig().Admin) {
		return u, "", nil
	}
	return "", "", err
}

// localDNS is the GeoDNS address of the local CDN for commands with no
// server flag or key: the running one's, else dns.listen when set, else
// the error saying none runs (or that it runs no GeoDNS).
func (f *Factory) localDNS(ctx context.Context, cfg *Config) (string, error) {
	st, err := f.localCDN(ctx, cfg)
	if err == nil {
		if st.Topology.DNS == nil {
			return "", fmt.Errorf("%s runs no GeoDNS (started with --no-dns or dns.enabled: false)", st.Label())
		}
		return st.Topology.DNS.Addr, nil
	}
	if cfg.DNS.Listen != defaultDNSConfig().Listen {
		return localedge.ClientAddr(cfg.DNS.Listen), nil
	}
	return "", err
}

// localTarget fills in the admin API of a local cdns entry that names
// none: the running local CDN's (with its token), else serve.admin when
// set; an error when none runs.
func (f *Factory) localTarget(ctx context.Context, cfg *Config, c *CDNConfig) error {
	if c.Provider != providerLocal || c.AdminURL != "" {
		return nil
	}
	url, token, err := f.localAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	c.AdminURL, c.adminToken = url, token
	return nil
}
