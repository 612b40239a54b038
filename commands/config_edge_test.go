package commands

import (
	"strings"
	"testing"
)

func TestEdgeRulesConfig(t *testing.T) {
	yml := `serve:
  edge_rules:
    - name: old-blog
      path: /blog/*
      redirect: {to: /posts/:splat, status: 301}
    - host: "*.example.com"
      path: /app/*
      rewrite: /index.html
      response_headers:
        set: {X-Frame-Options: DENY}
`
	cfg, err := LoadConfig(writeConfig(t, yml), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Serve.EdgeRules); got != 2 {
		t.Fatalf("rules = %d; want 2", got)
	}
	if r := cfg.Serve.EdgeRules[1]; r.Line != 6 || r.Host != "*.example.com" || r.Rewrite != "/index.html" || r.ResponseHeaders.Set["X-Frame-Options"] != "DENY" {
		t.Errorf("rule 1 = %+v; want line 6 with its host, rewrite and header", r)
	}
	tc, err := cfg.Serve.topology(true)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Rules.Len() != 2 {
		t.Errorf("topology rules = %d; want 2", tc.Rules.Len())
	}
	pl := tc.Rules.Evaluate("a.example.com", "/blog/2024/x", "")
	if pl.Answer == nil || pl.Answer.Header.Get("Location") != "/posts/2024/x" {
		t.Errorf("rule 0 on /blog/2024/x = %+v; want a redirect to /posts/2024/x", pl.Answer)
	}
}

func TestEdgeRulesConfigErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want []string
	}{
		{"serve:\n  edge_rules:\n    - path: /a\n      redirect: {to: /b, status: 200}\n",
			[]string{"serve.edge_rules[0].redirect.status: 200: want 301, 302, 303, 307 or 308 (line 3)"}},
		{"serve:\n  edge_rules:\n    - path: /a\n      rewrite: /b\n    - name: broken\n      path: /c\n",
			[]string{"serve.edge_rules[1] (broken): no action: give request_headers, response_headers, rewrite, redirect or respond (line 5)"}},
		{"serve:\n  edge_rules:\n    - path: /a\n      request_headers: {set: {Host: evil.test}}\n    - path: b\n      rewrite: /c\n",
			[]string{"serve.edge_rules[0].request_headers: set: Host cannot be changed by a rule", "(line 3)",
				`serve.edge_rules[1].path: "b": want a path pattern starting with "/"`, "(line 5)"}},
	}
	for _, tt := range tests {
		cfg, err := LoadConfig(writeConfig(t, tt.yaml), true, noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		_, err = cfg.Serve.topology(true)
		var usage *UsageError
		if err == nil || !asUsage(err, &usage) {
			t.Errorf("%q: error %v; want a usage error", tt.yaml, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q; want it to contain %q", tt.yaml, err, w)
			}
		}
	}
	// An unknown key inside a rule is a decoding error with its line.
	_, err := LoadConfig(writeConfig(t, "serve:\n  edge_rules:\n    - path: /a\n      rewrit: /b\n"), true, noEnv)
	if err == nil || !strings.Contains(err.Error(), ":4:") || !strings.Contains(err.Error(), "rewrit") {
		t.Errorf("unknown key: error %v; want the file's line 4 and the key", err)
	}
}

func TestRateLimitConfig(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "serve:\n  rate_limit:\n    rate: 5\n"), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := cfg.Serve.topology(true); err != nil || tc.RateLimit != nil {
		t.Errorf("rate_limit without enabled: %+v, %v; want none (off by default)", tc.RateLimit, err)
	}
	env := func(k string) (string, bool) {
		if k == "CDNCTL_SERVE_RATE_LIMIT_ENABLED" {
			return "true", true
		}
		return "", false
	}
	cfg, err = LoadConfig(writeConfig(t, "serve:\n  rate_limit:\n    rate: 5\n    paths: [{path: /api/*, rate: 1, burst: 2}]\n"), true, env)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.Serve.topology(true)
	if err != nil || tc.RateLimit == nil || tc.RateLimit.Rate != 5 || tc.RateLimit.Burst != 100 || len(tc.RateLimit.Rules) != 1 || tc.RateLimit.MaxClients != 65536 {
		t.Errorf("enabled rate_limit = %+v, %v; want rate 5, the default burst and max_clients, one path rule", tc.RateLimit, err)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"serve:\n  rate_limit: {enabled: true, rate: -1}\n", "serve.rate_limit.rate -1: want requests per second"},
		{"serve:\n  rate_limit: {enabled: true, burst: 0}\n", "serve.rate_limit.burst 0: want 1 or more"},
		{"serve:\n  rate_limit: {enabled: true, max_clients: -5}\n", "serve.rate_limit.max_clients -5"},
		{"serve:\n  rate_limit: {enabled: true, paths: [{path: api, rate: 1, burst: 1}]}\n", `serve.rate_limit.paths[0].path "api": want a path pattern`},
	} {
		cfg, err := LoadConfig(writeConfig(t, tt.yaml), true, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Serve.topology(true)
		var usage *UsageError
		if err == nil || !asUsage(err, &usage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v; want a usage error containing %q", tt.yaml, err, tt.want)
		}
	}
}

func TestESIConfig(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "serve:\n  esi:\n    max_depth: 3\n"), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := cfg.Serve.topology(true); err != nil || tc.ESI != nil {
		t.Errorf("esi without enabled: %+v, %v; want none (off by default)", tc.ESI, err)
	}
	cfg.Serve.ESI.Enabled = true
	tc, err := cfg.Serve.topology(true)
	if err != nil || tc.ESI == nil || tc.ESI.MaxDepth != 3 || tc.ESI.MaxIncludes != 256 || tc.ESI.Token != "cdnctl" {
		t.Errorf("esi enabled = %+v, %v; want depth 3 and the defaults", tc.ESI, err)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"serve:\n  esi: {enabled: true, max_depth: 0}\n", "serve.esi.max_depth 0"},
		{"serve:\n  esi: {enabled: true, max_includes: -1}\n", "serve.esi.max_includes -1"},
		{"serve:\n  esi: {enabled: true, token: 'a b'}\n", `serve.esi.token "a b"`},
	} {
		cfg, err := LoadConfig(writeConfig(t, tt.yaml), true, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Serve.topology(true)
		var usage *UsageError
		if err == nil || !asUsage(err, &usage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v; want a usage error containing %q", tt.yaml, err, tt.want)
		}
	}
}
