package cloudflare

import (
	"context"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
)

func TestCheckToken(t *testing.T) {
	tests := []struct {
		name, token, status, want string
	}{
		{"active", testToken, "", "valid and active"},
		{"disabled", testToken, "disabled", "is disabled, not active"},
		{"wrong", "nope", "", "was rejected (401 Unauthorized: Invalid API Token (code 1000))"},
		{"none", "", "", "no API token: set CLOUDFLARE_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, testZone, testToken)
			f.tokenStatus = tt.status
			p := newTestPurger(t, f, func(c *Config) { c.Token = providers.Secret(tt.token) })
			got, err := p.CheckToken(context.Background())
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("CheckToken = %q; want %q", got, tt.want)
			}
			if strings.Contains(got, testToken) {
				t.Errorf("%q contains the token", got)
			}
		})
	}
}
