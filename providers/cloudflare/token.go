package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CheckToken verifies the API token (GET /user/tokens/verify): it must
// be valid and active. Which permissions it has cannot be read back with
// the token itself, so a Zone > Cache Purge permission is only proved by
// a purge; the answer says so. The token is never part of an error.
func (p *Purger) CheckToken(ctx context.Context) (string, error) {
	if p.cfg.Token == "" {
		return "", fmt.Errorf("%s: no API token: set %s to a token with the Zone > Cache Purge permission", Provider, p.cfg.TokenEnv)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.cfg.BaseURL, "/")+"/user/tokens/verify", nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", Provider, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.Token.Reveal())
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: token check: %w", Provider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s: token check: %w", Provider, err)
	}
	var v struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Result struct {
			Status    string `json:"status"`
			ExpiresOn string `json:"expires_on"`
		} `json:"result"`
	}
	jerr := json.Unmarshal(body, &v)
	if resp.StatusCode != http.StatusOK || !v.Success {
		msg := resp.Status
		if jerr == nil && len(v.Errors) > 0 {
			msg = fmt.Sprintf("%s: %s (code %d)", resp.Status, v.Errors[0].Message, v.Errors[0].Code)
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest {
			return "", fmt.Errorf("%s: the API token in %s was rejected (%s): it is wrong, expired or revoked", Provider, p.cfg.TokenEnv, msg)
		}
		return "", fmt.Errorf("%s: token check: %s", Provider, msg)
	}
	if jerr != nil {
		return "", fmt.Errorf("%s: token check: unexpected answer: %w", Provider, jerr)
	}
	if v.Result.Status != "active" {
		return "", fmt.Errorf("%s: the API token in %s is %s, not active", Provider, p.cfg.TokenEnv, v.Result.Status)
	}
	what := "valid and active"
	if v.Result.ExpiresOn != "" {
		what += ", expires " + v.Result.ExpiresOn
	}
	return what + " (its Cache Purge permission shows at the first purge)", nil
}
