package commands

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// s3Env starts versitygw with a bucket, and credentials in the
// environment as CI has them.
func s3Env(t *testing.T) (*s3test.Server, string) {
	t.Helper()
	return s3EnvBucket(t, "state")
}

// s3EnvBucket is s3Env with a bucket named after name.
func s3EnvBucket(t *testing.T, name string) (*s3test.Server, string) {
	t.Helper()
	ctx := context.Background()
	srv, err := s3test.Start(ctx, s3test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	bucket, err := srv.CreateBucket(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return srv, bucket
}

// TestConcurrentDeploysS3 starts two deploys of different sites to the
// same S3 origin at once, each with clients of its own: one deploys, the
// other fails before changing anything and says which deploy holds the
// lock; with --lock-wait the second waits and deploys after the first,
// and the history has both. No record is lost either way.
func TestConcurrentDeploysS3(t *testing.T) {
	srv, bucket := s3Env(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "cdnctl.yaml")
	// 30 ms more per request, as from a CI runner to a cloud region: a
	// deploy takes long enough that the two always overlap.
	endpoint := slowProxy(t, srv.Endpoint, 30*time.Millisecond)
	os.WriteFile(config, []byte(fmt.Sprintf("origin:\n  target: s3://%s/www\n  endpoint: %s\n  region: %s\n", bucket, endpoint, s3test.Region)), 0o644)
	siteA := pushSite.Write(t)
	siteB := pushSite.With(storetest.Site{"index.html": `<link href="/css/app.3f9a1c0e2b.css"><h1>B</h1>`}).Write(t)

	race := func(extra ...string) (codes [2]int, errs [2]string) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, site := range []string{siteA, siteB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				args := append([]string{"--config", config, "deploy", site, "--yes", "--no-fingerprint"}, extra...)
				codes[i], _, errs[i] = runTTY(t, false, "", map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_NAME": fmt.Sprintf("runner-%d", i)}, args...)
			}()
		}
		close(start)
		wg.Wait()
		return codes, errs
	}
	history := func() []string {
		_, out, _ := runTTY(t, false, "", nil, "--config", config, "history")
		return strings.Split(strings.TrimSuffix(out, "\n"), "\n")[1:]
	}

	codes, errs := race()
	won, lost := 0, 1
	if codes[0] != 0 {
		won, lost = 1, 0
	}
	if codes[won] != 0 || codes[lost] != ExitDeployUnchanged {
		t.Fatalf("exit codes %v; want one 0 and one %d\n%s\n%s", codes, ExitDeployUnchanged, errs[0], errs[1])
	}
	if !strings.Contains(errs[lost], fmt.Sprintf("on runner-%d) started", won)) || !strings.Contains(errs[lost], "holds the lock on s3://"+bucket+"/cdnctl-state/www") {
		t.Errorf("the second deploy's error does not say who holds the lock:\n%s", errs[lost])
	}
	if h := history(); len(h) != 1 || !strings.Contains(h[0], "complete\tlive") {
		t.Errorf("history after the race: %q; want the winner's deploy, live", h)
	}

	// Change both sites, and let the loser wait.
	siteA = pushSite.With(storetest.Site{"robots.txt": "User-agent: *\nDisallow: /a\n"}).Write(t)
	siteB = pushSite.With(storetest.Site{"robots.txt": "User-agent: *\nDisallow: /b\n"}).Write(t)
	codes, errs = race("--lock-wait", "1m")
	if codes != [2]int{0, 0} {
		t.Fatalf("with --lock-wait: exit codes %v; want both 0\n%s\n%s", codes, errs[0], errs[1])
	}
	if h := history(); len(h) != 3 || strings.Count(strings.Join(h, "\n"), "\tcomplete\t") != 3 {
		t.Errorf("history: %q; want 3 complete deploys, none lost", h)
	}
	// Nothing of the state under the prefix the site is served from.
	raw := srv.Client(nil)
	out, err := raw.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("www/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); strings.HasPrefix(k, "www/.cdnctl") || strings.HasSuffix(k, ".json") && k != "www/cdnctl-manifest.json" {
			t.Errorf("state object %s under the served prefix www/", k)
		}
	}
}

// slowProxy forwards to an S3 endpoint, each request delayed.
func slowProxy(t *testing.T, endpoint string, delay time.Duration) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the client signed the proxy's host
	}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestStateMovesFromTheSiteS3: a site whose state an earlier cdnctl kept
// under its own prefix (www/.cdnctl/) keeps its history: a dry run reads
// it where it is, and the next push moves it beside the site and deletes
// it from the served prefix.
func TestStateMovesFromTheSiteS3(t *testing.T) {
	srv, bucket := s3Env(t)
	to := "s3://" + bucket + "/www"
	flags := []string{"--to", to, "--endpoint", srv.Endpoint, "--region", s3test.Region}
	// As before origin.state: the state under the site's prefix.
	args := append([]string{"push", pushSite.Write(t), "--state", to + "/.cdnctl"}, flags...)
	if code, _, errOut := runTTY(t, false, "", nil, args...); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, errOut)
	}
	keys := func(prefix string) []string {
		out, err := srv.Client(nil).ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		return ks
	}
	if len(keys("www/.cdnctl/")) < 3 {
		t.Fatalf("legacy state: %v", keys("www/.cdnctl/"))
	}
	v2 := pushSite.With(storetest.Site{"robots.txt": "User-agent: *\nDisallow: /v2\n"}).Write(t)
	// A dry run changes nothing and plans against the history where it is.
	code, out, errOut := runTTY(t, false, "", nil, append([]string{"push", v2, "--dry-run"}, flags...)...)
	if code != 0 || !strings.Contains(errOut, "still at its former location") || !strings.Contains(out, "1 to upload") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if len(keys("cdnctl-state/")) != 0 {
		t.Errorf("the dry run moved the state: %v", keys("cdnctl-state/"))
	}
	// The push moves it.
	code, _, errOut = runTTY(t, false, "", nil, append([]string{"push", v2}, flags...)...)
	if code != 0 || !strings.Contains(errOut, "moved the deploy state") {
		t.Fatalf("push: exit %d\n%s", code, errOut)
	}
	if left := keys("www/.cdnctl"); len(left) != 0 {
		t.Errorf("state left under the served prefix: %v", left)
	}
	env := map[string]string{"CDNCTL_ORIGIN_ENDPOINT": srv.Endpoint, "CDNCTL_ORIGIN_REGION": s3test.Region}
	code, out, errOut = runTTY(t, false, "", env, "history", "--to", to)
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); code != 0 || len(lines) != 3 {
		t.Errorf("history after the move: exit %d\n%s\n%s\nwant both pushes", code, out, errOut)
	}
}
