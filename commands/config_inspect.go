package commands

import (
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// InspectConfig is the `inspect:` section of cdnctl.yaml: how `cdnctl
// inspect` (and `cdnctl probe`, for a local topology) reach the admin API of
// a running `cdnctl serve`. docs/config.md documents every key.
type InspectConfig struct {
	// Admin is the admin API's URL ("": http:// and serve.admin).
	Admin string `yaml:"admin" json:"admin"`
	// TokenEnv names the environment variable holding the admin token
	// (tokens are not read from this file; serve.token is the fallback).
	TokenEnv string `yaml:"token_env" json:"token_env"`
	// Refresh is how often the inspector reloads statistics and the
	// current page.
	Refresh time.Duration `yaml:"refresh" json:"refresh"`
	// PageSize is the number of entries fetched per page (at most 1000).
	PageSize int `yaml:"page_size" json:"page_size"`
	// ReadOnly disables purging from the inspector.
	ReadOnly bool `yaml:"readonly" json:"readonly"`
}

func defaultInspectConfig() InspectConfig {
	return InspectConfig{TokenEnv: AdminTokenEnv, Refresh: 2 * time.Second, PageSize: 100}
}

func (c InspectConfig) validate() error {
	if c.Refresh < 200*time.Millisecond {
		return usageErrorf("inspect.refresh %s: want at least 200ms", c.Refresh)
	}
	if c.PageSize < 10 || c.PageSize > 1000 {
		return usageErrorf("inspect.page_size %d: want 10 to 1000", c.PageSize)
	}
	return nil
}

// adminFlags are the flags of the commands that talk to a local
// topology's admin API.
type adminFlags struct {
	admin string
	token string
}

func (a *adminFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.admin, "admin", "", "admin API URL of cdnctl serve (default: inspect.admin, else the local CDN running for this folder, else http:// + serve.admin)")
	cmd.Flags().StringVar(&a.token, "token", "", "admin API token (default: $"+AdminTokenEnv+", else the running local CDN's, else serve.token; prefer the environment: flags show in ps)")
}

// client builds the admin API client from the flags, then cdnctl.yaml and
// the environment: URL from --admin, inspect.admin, the local CDN running
// for this folder (or serve.name) or serve.admin; token from --token, the
// variable inspect.token_env names, the running local CDN's, or
// serve.token.
func (a *adminFlags) client(cmd *cobra.Command, f *Factory, cfg *Config) (*adminclient.Client, error) {
	base := cfg.Inspect.Admin
	if cmd.Flags().Changed("admin") {
		base = a.admin
	}
	var found string // the running local CDN's token
	if base == "" {
		var err error
		if base, found, err = f.localAdmin(cmd.Context(), cfg); err != nil {
			return nil, err
		}
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base // host:port, as serve.admin is written
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--admin %q: want the admin API's URL, such as http://127.0.0.1:8099", base)
	}
	token := a.token
	if !cmd.Flags().Changed("token") {
		token = ""
		if env := cfg.Inspect.TokenEnv; env != "" {
			if v, ok := f.LookupEnv(env); ok {
				token = strings.TrimSpace(v)
			}
		}
		if token == "" {
			token = found
		}
		if token == "" {
			token = cfg.Serve.Token
		}
	}
	if token == "" {
		return nil, usageErrorf("no admin token: give --token, or set %s to the token cdnctl serve printed", orDefault(cfg.Inspect.TokenEnv, AdminTokenEnv))
	}
	return &adminclient.Client{BaseURL: strings.TrimSuffix(u.String(), "/"), Token: token}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
