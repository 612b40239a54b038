package fastly

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// TokenInfo is what the API says of the token (GET /tokens/self).
type TokenInfo struct {
	// Scopes of the token: global, purge_select, purge_all, global:read…
	Scopes []string
	// Services the token is limited to (none: all of the user's).
	Services []string
}

// Token asks the API about the token (GET /tokens/self) and checks that
// it may purge the configured service: the purge_select scope (or
// global), and the service among those it is limited to. The token is
// never part of an error.
func (p *Purger) Token(ctx context.Context) (TokenInfo, error) {
	var info TokenInfo
	if p.cfg.Token == "" {
		return info, fmt.Errorf("%s: no API token: set %s to a token with the purge_select scope (purge_all to purge everything)", Provider, p.cfg.TokenEnv)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base.String()+"/tokens/self", nil)
	if err != nil {
		return info, fmt.Errorf("%s: %w", Provider, err)
	}
	req.Header.Set("Fastly-Key", p.cfg.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return info, fmt.Errorf("%s: token check: %w", Provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return info, fmt.Errorf("%s: token check: %w", Provider, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return info, fmt.Errorf("%s: the API token in %s was rejected (%s): it is wrong, expired or revoked", Provider, p.cfg.TokenEnv, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return info, fmt.Errorf("%s: token check: %s", Provider, resp.Status)
	}
	var self struct {
		Scope    string   `json:"scope"`
		Services []string `json:"services"`
	}
	if err := json.Unmarshal(body, &self); err != nil {
		return info, fmt.Errorf("%s: token check: unexpected answer: %w", Provider, err)
	}
	info.Scopes, info.Services = strings.Fields(self.Scope), self.Services
	has := func(scope string) bool {
		return slices.Contains(info.Scopes, scope) || slices.Contains(info.Scopes, "global")
	}
	if !has("purge_select") {
		return info, fmt.Errorf("%s: the API token in %s has the scopes %q, without purge_select: it cannot purge", Provider, p.cfg.TokenEnv, self.Scope)
	}
	if len(info.Services) > 0 && !slices.Contains(info.Services, p.cfg.ServiceID) {
		return info, fmt.Errorf("%s: the API token in %s is limited to the services %s, not %s", Provider, p.cfg.TokenEnv, strings.Join(info.Services, ", "), p.cfg.ServiceID)
	}
	return info, nil
}

// CheckToken is Token for `cdnctl doctor`: what the token may do, in
// words.
func (p *Purger) CheckToken(ctx context.Context) (string, error) {
	info, err := p.Token(ctx)
	if err != nil {
		return "", err
	}
	what := "valid, scopes " + strings.Join(info.Scopes, " ")
	if !slices.Contains(info.Scopes, "purge_all") && !slices.Contains(info.Scopes, "global") {
		what += " (without purge_all: --all is refused)"
	}
	return what, nil
}
