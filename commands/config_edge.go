package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgerules"
	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// ServeEdgeRule is one entry of serve.edge_rules (see package edgerules
// and docs/localedge.md "Edge rules"), with the line it starts on in the
// configuration file.
type ServeEdgeRule struct {
	edgerules.Spec `yaml:",inline"`
	// Line is where the rule starts in the file (0 when not read from one).
	Line int `yaml:"-" json:"-"`
}

// UnmarshalYAML decodes a rule strictly and records its line, so that a
// rule's errors can name it.
func (r *ServeEdgeRule) UnmarshalYAML(node ast.Node) error {
	if tk := node.GetToken(); tk != nil {
		r.Line = tk.Position.Line
	}
	return yaml.NodeToValue(node, &r.Spec, yaml.DisallowUnknownField())
}

// compileEdgeRules checks serve.edge_rules; each error names the rule's
// index, key and line.
func compileEdgeRules(rules []ServeEdgeRule) (*edgerules.Rules, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	specs := make([]edgerules.Spec, len(rules))
	for i, r := range rules {
		specs[i] = r.Spec
	}
	rs, err := edgerules.Compile(specs)
	if err == nil {
		return rs, nil
	}
	var msgs []string
	for _, e := range flattenErrors(err) {
		var re *edgerules.Error
		if errors.As(e, &re) && re.Index < len(rules) {
			where := ""
			if l := rules[re.Index].Line; l > 0 {
				where = fmt.Sprintf(" (line %d)", l)
			}
			msgs = append(msgs, fmt.Sprintf("serve.edge_rules%s%s", re.Error(), where))
			continue
		}
		msgs = append(msgs, "serve.edge_rules: "+e.Error())
	}
	return nil, usageErrorf("%s", strings.Join(msgs, "\n"))
}

// flattenErrors lists the errors an errors.Join joined.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ServeRateLimitConfig is serve.rate_limit: a token bucket per client
// address at every edge (package ratelimit), off by default.
type ServeRateLimitConfig struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Rate is each client's sustained rate in requests per second, Burst
	// the requests it may make at once.
	Rate  float64 `yaml:"rate" json:"rate"`
	Burst int     `yaml:"burst" json:"burst"`
	// MaxClients bounds the table of buckets (and so the memory).
	MaxClients int `yaml:"max_clients" json:"max_clients"`
	// Paths give path patterns their own bucket per client.
	Paths []ServeRateLimitPath `yaml:"paths" json:"paths,omitempty"`
}

// ServeRateLimitPath is one entry of serve.rate_limit.paths.
type ServeRateLimitPath struct {
	Path  string  `yaml:"path" json:"path"`
	Rate  float64 `yaml:"rate" json:"rate"`
	Burst int     `yaml:"burst" json:"burst"`
}

func defaultServeRateLimitConfig() ServeRateLimitConfig {
	return ServeRateLimitConfig{Rate: 20, Burst: 100, MaxClients: ratelimit.DefaultMaxClients}
}

// limiterConfig checks the section; nil when it is not enabled.
func (c ServeRateLimitConfig) limiterConfig() (*ratelimit.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	rc := &ratelimit.Config{Rate: c.Rate, Burst: c.Burst, MaxClients: c.MaxClients}
	for _, p := range c.Paths {
		rc.Rules = append(rc.Rules, ratelimit.Rule{Path: p.Path, Rate: p.Rate, Burst: p.Burst})
	}
	if err := rc.Validate(); err != nil {
		key := "serve.rate_limit."
		if strings.HasPrefix(err.Error(), "rules[") {
			key = "serve.rate_limit.paths"
			err = errors.New(strings.TrimPrefix(err.Error(), "rules"))
		}
		return nil, usageErrorf("%s%v", key, err)
	}
	return rc, nil
}

// ServeESIConfig is serve.esi: Edge Side Includes at the edges.
type ServeESIConfig struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Token names the edges in Surrogate-Capability and in targeted
	// Surrogate-Control directives (content="ESI/1.0";cdnctl).
	Token string `yaml:"token" json:"token"`
	// MaxDepth bounds nested includes, MaxIncludes the includes of a page.
	MaxDepth    int `yaml:"max_depth" json:"max_depth"`
	MaxIncludes int `yaml:"max_includes" json:"max_includes"`
}

func defaultServeESIConfig() ServeESIConfig {
	return ServeESIConfig{Token: localedge.DefaultESIToken, MaxDepth: localedge.DefaultESIMaxDepth, MaxIncludes: localedge.DefaultESIMaxIncludes}
}

// esiOptions checks the section; nil when it is not enabled.
func (c ServeESIConfig) esiOptions() (*localedge.ESIOptions, error) {
	if !c.Enabled {
		return nil, nil
	}
	switch {
	case c.MaxDepth < 1:
		return nil, usageErrorf("serve.esi.max_depth %d: want 1 or more levels of nested includes", c.MaxDepth)
	case c.MaxIncludes < 1:
		return nil, usageErrorf("serve.esi.max_includes %d: want 1 or more includes per page", c.MaxIncludes)
	case !validToken(c.Token):
		return nil, usageErrorf("serve.esi.token %q: want a name of letters, digits, '-' or '_'", c.Token)
	}
	return &localedge.ESIOptions{Token: c.Token, MaxDepth: c.MaxDepth, MaxIncludes: c.MaxIncludes}, nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
