package fastly

import (
	"context"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/fastly/fastlytest"
)

func TestCheckToken(t *testing.T) {
	const svc, tok = "SU1Z0isxPaozGVKXdv0eY", "fastly-token-123"
	tests := []struct {
		name     string
		scopes   []string
		services []string
		token    providers.Secret
		want     string // "" for no error
	}{
		{"purge scopes", []string{fastlytest.ScopePurgeSelect, fastlytest.ScopePurgeAll}, nil, tok, ""},
		{"global", []string{fastlytest.ScopeGlobal}, nil, tok, ""},
		{"limited to the service", []string{fastlytest.ScopePurgeSelect}, []string{"other", svc}, tok, ""},
		{"read only", []string{"global:read"}, nil, tok, `scopes "global:read", without purge_select`},
		{"another service", []string{fastlytest.ScopePurgeSelect}, []string{"other"}, tok, "limited to the services other, not " + svc},
		{"wrong token", []string{fastlytest.ScopeGlobal}, nil, "nope", "was rejected (401 Unauthorized)"},
		{"no token", nil, nil, "", "no API token: set FASTLY_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fastlytest.New(t, svc, tok)
			f.Scopes, f.Services = tt.scopes, tt.services
			p := newTestPurger(t, f, func(c *Config) { c.Token = tt.token })
			info, err := p.Token(context.Background())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckToken: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckToken error %v; want %q", err, tt.want)
			case tt.want == "" && len(info.Scopes) != len(tt.scopes):
				t.Errorf("scopes %v; want %v", info.Scopes, tt.scopes)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestCheckTokenWords(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	f.Scopes = []string{fastlytest.ScopePurgeSelect}
	got, err := newTestPurger(t, f, nil).CheckToken(context.Background())
	if err != nil || got != "valid, scopes purge_select (without purge_all: --all is refused)" {
		t.Errorf("CheckToken = %q, %v", got, err)
	}
}
