package demo_test

import (
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/providers/probe"
	"github.com/cdnctl/cdnctl/providers/s3"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/sample/demo"
)

// startCDN runs the default topology (3 PoPs and a shield) with origin
// set by mod, and a GeoDNS whose PoPs are its edges.
func startCDN(t *testing.T, mod func(*localedge.TopologyConfig)) (localedge.TopologyInfo, string) {
	t.Helper()
	env := edgetest.Start(t, mod)
	cfg := geodns.DefaultConfig()
	for i := range cfg.PoPs {
		cfg.PoPs[i].HealthURL = env.PoP(t, cfg.PoPs[i].Name).URL + localedge.HealthPath
	}
	cfg.Health = geodns.HealthConfig{Interval: 200 * time.Millisecond, Timeout: time.Second, Fall: 2, Rise: 1}
	_, addr := geodnstest.Start(t, cfg)
	info := env.Info
	info.DNS = &localedge.DNSInfo{Addr: addr, Zone: "cdn.test."}
	return info, env.Token
}

// check asserts what the demo must have shown.
func check(t *testing.T, res *demo.Result, out string) {
	t.Helper()
	if len(res.Deploys) != 2 {
		t.Fatalf("%d deploys; want 2", len(res.Deploys))
	}
	if r := res.Resolved; len(r) != 2 || r[0].PoP != "pop1" || r[1].PoP != "pop2" || !slices.Contains(r[0].Chain, "www.example.cdn.test") {
		t.Errorf("resolved = %+v; want pop1 then pop2 through the CDN name", r)
	}
	f := res.Fetches
	if len(f) != 3 || f[0].Result != probe.Miss || f[0].Cached || f[1].Result != probe.Hit || f[2].Result != probe.Miss || !f[2].Cached {
		t.Errorf("fetches = %+v; want a miss, a hit, a miss answered by the shield", f)
	}
	if want := []string{"/about/index.html", "/about", "/about/", "/cdnctl-manifest.json"}; !slices.Equal(res.Purged, want) {
		t.Errorf("second deploy purged %q; want %q", res.Purged, want)
	}
	if len(res.After) != 3 {
		t.Fatalf("after = %+v; want 3 PoPs", res.After)
	}
	for _, a := range res.After {
		if !a.New || a.Status != 200 {
			t.Errorf("after the second deploy %s served %+v; want the new page", a.PoP, a)
		}
	}
	for _, s := range []string{"1. Deploy the sample site", "2. Resolve www.example.test", "3. Fetch /", "4. Edit about/index.html", "5. /about/ through every PoP", "Summary: 2 deploys"} {
		if !strings.Contains(out, s) {
			t.Errorf("narration lacks %q:\n%s", s, out)
		}
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	originDir := dir + "/origin"
	os.Mkdir(originDir, 0o755)
	h, err := origin.New(originDir, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info, token := startCDN(t, func(c *localedge.TopologyConfig) { c.Origin.Handler = h })
	var out strings.Builder
	res, err := demo.Run(context.Background(), demo.Env{Info: info, Token: token, OriginDir: originDir, WorkDir: dir, Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	check(t, res, out.String())
}

// TestDemoS3Origin runs the demo with an S3 origin (versitygw): deploy
// writes the bucket, and the edges read it through a signed-fetch origin,
// as CloudFront reads a private bucket.
func TestDemoS3Origin(t *testing.T) {
	ctx := context.Background()
	srv, err := s3test.Start(ctx, s3test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	bucket, err := srv.CreateBucket(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(srv.Origin(bucket, "www"))
	t.Cleanup(up.Close)
	store, err := s3.New(ctx, s3.Config{Bucket: bucket, Prefix: "www", Endpoint: srv.Endpoint, Region: s3test.Region, Credentials: srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	info, token := startCDN(t, func(c *localedge.TopologyConfig) { c.Origin.Handler, c.Origin.URL = nil, up.URL })
	var out strings.Builder
	res, err := demo.Run(ctx, demo.Env{Info: info, Token: token, WorkDir: t.TempDir(), Out: &out,
		Store: store, Target: "s3://" + bucket + "/www"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	check(t, res, out.String())
	if !strings.Contains(out.String(), "2 deploys to s3://"+bucket+"/www") {
		t.Errorf("narration does not name the bucket:\n%s", out.String())
	}
}
