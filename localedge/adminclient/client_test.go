package adminclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
)

var edges = []string{"pop1", "pop2", "pop3"}

func TestClientAgainstTopology(t *testing.T) {
	// The caches' clock stands still: the site's 404 is fresh for 30 s
	// only, and on a loaded machine it would turn stale during the test
	// and count with the entries the soft purge makes stale.
	now := time.Now()
	env := edgetest.Start(t, func(c *localedge.TopologyConfig) { c.Now = func() time.Time { return now } })
	env.Fill(t, edges[:2], edgetest.SitePaths...)
	c, err := adminclient.New(env.AdminURL, env.Token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	if err := c.Healthz(ctx); err != nil {
		t.Errorf("Healthz: %v", err)
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range topo.PoPs {
		names = append(names, p.Name)
	}
	if want := []string{"pop1", "pop2", "pop3", "shield"}; !slices.Equal(names, want) {
		t.Errorf("Topology PoPs = %v; want %v", names, want)
	}
	if topo.Token != "" {
		t.Errorf("Topology leaked the token")
	}
	if topo.Admin.URL != env.AdminURL {
		t.Errorf("Topology admin URL = %q; want %q", topo.Admin.URL, env.AdminURL)
	}

	stats, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]localedge.Stats{}
	for _, s := range stats.PoPs {
		byName[s.Name] = s
	}
	n := int64(len(edgetest.SitePaths))
	if s := byName["pop1"]; s.Requests != n || s.Misses != n || s.Entries != n || !s.Healthy {
		t.Errorf("pop1 stats = %+v; want %d requests, misses and entries, healthy", s, n)
	}
	if s := byName["pop3"]; s.Requests != 0 || s.Entries != 0 {
		t.Errorf("pop3 stats = %+v; want an idle PoP", s)
	}
	if s := byName["shield"]; s.Hits != n || s.Entries != n {
		t.Errorf("shield stats = %+v; want %d hits (pop2 after pop1) and entries", s, n)
	}

	// Listing: all PoPs, one PoP, filtered, sorted, paged.
	all, err := c.Entries(ctx, adminclient.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 3*len(edgetest.SitePaths) {
		t.Errorf("Entries total = %d; want %d (pop1, pop2, shield)", all.Total, 3*len(edgetest.SitePaths))
	}
	css, err := c.Entries(ctx, adminclient.ListQuery{Pop: "pop1", Filter: "tag:css", Sort: "size", Desc: true})
	if err != nil {
		t.Fatal(err)
	}
	if css.Total != 2 || len(css.Entries) != 2 || css.Entries[0].Size < css.Entries[1].Size {
		t.Fatalf("tag:css on pop1 = %+v; want 2 entries, largest first", css)
	}
	for _, e := range css.Entries {
		if e.Pop != "pop1" || !slices.Contains(e.Tags, "css") || e.Host != edgetest.Host || e.Status != 200 {
			t.Errorf("css entry = %+v", e)
		}
	}
	nf, err := c.Entries(ctx, adminclient.ListQuery{Pop: "pop2", Filter: "status:404"})
	if err != nil || nf.Total != 1 || !strings.HasSuffix(nf.Entries[0].Path, "missing.html") {
		t.Errorf("status:404 on pop2 = %+v, %v", nf, err)
	}
	page, err := c.Entries(ctx, adminclient.ListQuery{Pop: "pop1", Offset: 2, Limit: 3})
	if err != nil || page.Total != len(edgetest.SitePaths) || len(page.Entries) != 3 || page.Offset != 2 || page.Limit != 3 {
		t.Errorf("paged = total %d, %d entries, offset %d, limit %d, %v", page.Total, len(page.Entries), page.Offset, page.Limit, err)
	}
	_, err = c.Entries(ctx, adminclient.ListQuery{Filter: "colour:red"})
	var apiErr *adminclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "colour") {
		t.Errorf("bad filter: err = %v; want a 400 naming the term", err)
	}
	if _, err := c.Entries(ctx, adminclient.ListQuery{Pop: "nope"}); !errors.Is(err, adminclient.ErrNotFound) {
		t.Errorf("unknown PoP: err = %v; want ErrNotFound", err)
	}

	// Detail.
	key := css.Entries[0].Key
	d, err := c.Entry(ctx, "pop1", key)
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != key || d.Pop != "pop1" || len(d.Variants) != 1 {
		t.Fatalf("Entry = %+v", d)
	}
	if want := []string{"pop1", "pop2", "shield"}; !slices.Equal(d.PopsHolding, want) {
		t.Errorf("PopsHolding = %v; want %v", d.PopsHolding, want)
	}
	v := d.Variants[0]
	if v.Headers.Get("Cache-Control") != "public, max-age=31536000, immutable" || v.FreshnessLifetimeS != 31536000 || v.TTLS <= 0 || v.Stale {
		t.Errorf("variant = %+v", v)
	}
	if _, err := c.Entry(ctx, "pop3", key); !errors.Is(err, adminclient.ErrNotFound) {
		t.Errorf("Entry on a PoP without it: err = %v; want ErrNotFound", err)
	}

	// Purge by tag on one PoP (which purges the shield behind it too, or
	// the PoP would refill from the shield's copy), then everything.
	res, err := c.Purge(ctx, localedge.AdminPurgeRequest{PurgeRequest: localedge.PurgeRequest{Tags: []string{"css"}}, PoPs: []string{"pop1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Purged != 4 || len(res.PoPs) != 2 || res.PoPs[0].Name != "pop1" || res.PoPs[1].Name != "shield" || res.ID == "" {
		t.Errorf("Purge tag css on pop1 = %+v", res)
	}
	if after, _ := c.Entries(ctx, adminclient.ListQuery{Filter: "tag:css"}); after.Total != 2 {
		t.Errorf("after the purge, tag:css total = %d; want 2 (pop2's)", after.Total)
	}
	_, err = c.Purge(ctx, localedge.AdminPurgeRequest{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("empty purge: err = %v; want 400", err)
	}
	soft, err := c.Purge(ctx, localedge.AdminPurgeRequest{PurgeRequest: localedge.PurgeRequest{Prefixes: []string{"/assets/"}, Soft: true}})
	// pop1 and the shield kept app.js after the css purge; pop2 holds 3 assets.
	if err != nil || !soft.Soft || soft.Purged != 5 {
		t.Errorf("soft purge of /assets/ = %+v, %v; want 5 entries", soft, err)
	}
	if stale, _ := c.Entries(ctx, adminclient.ListQuery{Filter: "stale:true"}); stale.Total != soft.Purged {
		t.Errorf("after a soft purge, stale entries = %d; want %d", stale.Total, soft.Purged)
	}

	// Health.
	h, err := c.SetPoPHealth(ctx, "pop2", false)
	if err != nil || h.Name != "pop2" || h.Healthy {
		t.Errorf("SetPoPHealth(pop2, down) = %+v, %v", h, err)
	}
	if r := env.Get(t, "pop2", localedge.HealthPath); r.Status != http.StatusServiceUnavailable {
		t.Errorf("pop2 health after down = %d; want 503", r.Status)
	}
	if h, err := c.SetPoPHealth(ctx, "pop2", true); err != nil || !h.Healthy {
		t.Errorf("SetPoPHealth(pop2, up) = %+v, %v", h, err)
	}
	if _, err := c.SetPoPHealth(ctx, "nope", true); !errors.Is(err, adminclient.ErrNotFound) {
		t.Errorf("SetPoPHealth(nope): err = %v; want ErrNotFound", err)
	}

	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(m, "cdnctl_edge_") {
		t.Errorf("Metrics = %.200q, %v", m, err)
	}
}

func TestClientErrors(t *testing.T) {
	env := edgetest.Start(t, nil)
	ctx := t.Context()

	for _, tok := range []string{"", "wrong"} {
		c := &adminclient.Client{BaseURL: env.AdminURL, Token: tok}
		_, err := c.Stats(ctx)
		if !errors.Is(err, adminclient.ErrUnauthorized) {
			t.Fatalf("token %q: err = %v; want ErrUnauthorized", tok, err)
		}
		if !strings.Contains(err.Error(), "admin token rejected") {
			t.Errorf("token %q: error %q does not say the token was rejected", tok, err)
		}
		if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("error %q shows the token", err)
		}
		// healthz needs no token.
		if err := c.Healthz(ctx); err != nil {
			t.Errorf("Healthz without a valid token: %v", err)
		}
	}

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	c := &adminclient.Client{BaseURL: dead, Token: "x"}
	_, err = c.Topology(ctx)
	if !errors.Is(err, adminclient.ErrUnreachable) || !strings.Contains(err.Error(), "admin API at "+dead+" not reachable") {
		t.Errorf("dead API: err = %v; want ErrUnreachable naming %s", err, dead)
	}

	for _, bad := range []string{"", "127.0.0.1:8099", "ftp://x", "http://"} {
		if _, err := adminclient.New(bad, "t"); err == nil {
			t.Errorf("New(%q) = nil error", bad)
		}
	}

	// Something that is not the admin API.
	if _, err := (&adminclient.Client{BaseURL: env.PoP(t, "pop1").URL, Token: "x"}).Stats(ctx); err == nil {
		t.Errorf("Stats from a PoP (not an admin API) = nil error")
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&adminclient.Client{BaseURL: env.AdminURL, Token: env.Token}).Stats(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v; want context.Canceled", err)
	}
}
