package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// srv is the versitygw every test of the package shares; each test makes
// its own bucket.
var srv *s3test.Server

func TestMain(m *testing.M) {
	// Never wait on an instance metadata service.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	s, err := s3test.Start(ctx, s3test.Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "providers/s3 tests need versitygw:", err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// counter counts the requests a store sends, by kind.
type counter struct {
	mu sync.Mutex
	r  storetest.Requests
}

func (c *counter) get() storetest.Requests {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r
}

type countingTransport struct {
	base http.RoundTripper
	c    *counter
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.mu.Lock()
	switch {
	case req.Method == http.MethodGet && req.URL.Query().Has("list-type"):
		t.c.r.List++
	case req.Method == http.MethodGet:
		t.c.r.Get++
	case req.Method == http.MethodHead:
		t.c.r.Head++
	case req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "":
		t.c.r.Copy++
	case req.Method == http.MethodPut:
		t.c.r.Put++
	case req.Method == http.MethodPost:
		t.c.r.Post++
	case req.Method == http.MethodDelete:
		t.c.r.Delete++
	}
	t.c.mu.Unlock()
	return t.base.RoundTrip(req)
}

func newBucket(t *testing.T) string {
	t.Helper()
	b, err := srv.CreateBucket(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testConfig(bucket, prefix string, c *counter) Config {
	cfg := Config{
		Bucket: bucket, Prefix: prefix, Endpoint: srv.Endpoint, Region: s3test.Region,
		Credentials: srv.Credentials(), RetryBase: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	}
	if c != nil {
		cfg.HTTPClient = &http.Client{Transport: countingTransport{http.DefaultTransport, c}}
	}
	return cfg
}

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// target describes a bucket prefix to the suite; Object, Keys and
// PutForeign use a raw S3 client, not the store under test.
func target(prefix string) func(t *testing.T) storetest.Target {
	return func(t *testing.T) storetest.Target {
		bucket := newBucket(t)
		raw := srv.Client(nil)
		full := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "/" + k
		}
		c := &counter{}
		return storetest.Target{
			Open: func(t *testing.T) providers.Store { return open(t, testConfig(bucket, prefix, c)) },
			Object: func(t *testing.T, key string) ([]byte, providers.Metadata, bool) {
				ctx := context.Background()
				head, err := raw.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String(full(key))})
				if err != nil {
					return nil, providers.Metadata{}, false
				}
				get, err := raw.GetObject(ctx, &awss3.GetObjectInput{Bucket: &bucket, Key: aws.String(full(key))})
				if err != nil {
					t.Fatal(err)
				}
				defer get.Body.Close()
				body, err := io.ReadAll(get.Body)
				if err != nil {
					t.Fatal(err)
				}
				meta := providers.Metadata{
					ContentType: aws.ToString(head.ContentType), CacheControl: aws.ToString(head.CacheControl),
					ContentEncoding: aws.ToString(head.ContentEncoding),
				}
				if tags := head.Metadata["cdnctl-tags"]; tags != "" {
					meta.Tags = strings.Split(tags, ",")
				}
				if v := aws.ToString(head.ContentDisposition); v != "" {
					meta.Headers = map[string]string{"Content-Disposition": v}
				}
				if sha := head.Metadata["cdnctl-sha256"]; sha != "" && sha != sha256Hex(body) {
					t.Errorf("%s: x-amz-meta-cdnctl-sha256 = %q; want the body's %s", key, sha, sha256Hex(body))
				}
				return body, meta, true
			},
			Keys: func(t *testing.T) []string {
				var keys []string
				p := awss3.NewListObjectsV2Paginator(raw, &awss3.ListObjectsV2Input{Bucket: &bucket})
				for p.HasMorePages() {
					page, err := p.NextPage(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range page.Contents {
						k := aws.ToString(o.Key)
						if prefix != "" {
							// The state is beside the site, never under
							// the prefix the site is served from.
							if strings.HasPrefix(k, DefaultStatePrefix(prefix)+"/") {
								continue
							}
							if !strings.HasPrefix(k, prefix+"/") {
								t.Errorf("object %q outside the prefix %q and its state", k, prefix)
								continue
							}
							k = strings.TrimPrefix(k, prefix+"/")
							if strings.HasPrefix(k, ".cdnctl/") {
								t.Errorf("state object %q under the prefix %q the site is served from", aws.ToString(o.Key), prefix)
								continue
							}
						}
						if !strings.HasPrefix(k, ".cdnctl/") {
							keys = append(keys, k)
						}
					}
				}
				sort.Strings(keys)
				return keys
			},
			PutForeign: func(t *testing.T, key string, body []byte, contentType string) {
				_, err := raw.PutObject(context.Background(), &awss3.PutObjectInput{
					Bucket: &bucket, Key: aws.String(full(key)), Body: bytes.NewReader(body), ContentType: &contentType,
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			Requests: c.get,
		}
	}
}

func TestSuiteWithPrefix(t *testing.T) { storetest.Run(t, target("site/v1")) }

func TestSuiteBucketRoot(t *testing.T) { storetest.Run(t, target("")) }

var site = storetest.Site{
	"index.html":             "<h1>home</h1>",
	"css/app.3f9a1c0e2b.css": "body{}",
	"a b+c/ü.txt":            "needs escaping",
}

func pushSite(t *testing.T, st providers.Store, s storetest.Site, scan providers.ScanOptions) (*providers.Plan, *providers.Result, error) {
	t.Helper()
	set, err := providers.ScanDir(context.Background(), s.Write(t), scan)
	if err != nil {
		t.Fatal(err)
	}
	p := &providers.Pusher{Store: st, Options: providers.DefaultPlanOptions(), Concurrency: 8}
	plan, err := p.Plan(context.Background(), set.Files)
	if err != nil {
		return nil, nil, err
	}
	res, err := p.Apply(context.Background(), plan)
	return plan, res, err
}

func TestWrongCredentials(t *testing.T) {
	bucket := newBucket(t)
	for _, tt := range []struct {
		name, access, secret, code string
	}{
		{"wrong secret", srv.AccessKey, "not-the-secret-0123456789", "SignatureDoesNotMatch"},
		{"unknown access key", "AKNOBODY", "whatever-secret-0123456789", "the service answered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(bucket, "site", nil)
			cfg.Credentials = credentials.NewStaticCredentialsProvider(tt.access, tt.secret, "")
			_, _, err := pushSite(t, open(t, cfg), site, providers.ScanOptions{})
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("error = %v; want ErrCredentials", err)
			}
			msg := err.Error()
			for _, want := range []string{tt.code, "s3://" + bucket, "AWS_PROFILE"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, tt.secret) || strings.Contains(msg, srv.SecretKey) {
				t.Errorf("error %q contains a secret", msg)
			}
		})
	}
}

func TestMissingBucket(t *testing.T) {
	cfg := testConfig("no-such-bucket-here", "", nil)
	_, _, err := pushSite(t, open(t, cfg), site, providers.ScanOptions{})
	if !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("error = %v; want ErrBucketNotFound", err)
	}
	for _, want := range []string{`"no-such-bucket-here"`, srv.Endpoint, "create it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestBadBucketName(t *testing.T) {
	for _, b := range []string{"", "ab", "Upper", "under score!"} {
		if _, err := New(context.Background(), Config{Bucket: b, Endpoint: srv.Endpoint}); err == nil || !strings.Contains(err.Error(), "bucket name") {
			t.Errorf("New(bucket %q) error = %v; want a bucket name error", b, err)
		}
	}
}

// faultyProxy sits between the store and versitygw and fails some
// requests the way S3 does under load: 503 SlowDown, 429, and dropped
// connections.
type faultyProxy struct {
	slowDowns, tooMany, resets atomic.Int32 // how many to inject
	// hangs are requests never answered: the client times out.
	hangs    atomic.Int32
	injected atomic.Int32
}

func (f *faultyProxy) start(t *testing.T) string {
	target, _ := url.Parse(srv.Endpoint)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the client signed the proxy's host
	}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			switch {
			case f.slowDowns.Add(-1) >= 0:
				f.injected.Add(1)
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			case f.tooMany.Add(-1) >= 0:
				f.injected.Add(1)
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusTooManyRequests)
				return
			case f.resets.Add(-1) >= 0:
				f.injected.Add(1)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			case f.hangs.Add(-1) >= 0:
				f.injected.Add(1)
				io.Copy(io.Discard, r.Body)
				<-r.Context().Done() // until the client gives up
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestRetriesThrottlingAndNetworkErrors(t *testing.T) {
	bucket := newBucket(t)
	fp := &faultyProxy{}
	fp.slowDowns.Store(3)
	fp.tooMany.Store(2)
	fp.resets.Store(2)
	cfg := testConfig(bucket, "site", nil)
	cfg.Endpoint = fp.start(t)
	_, res, err := pushSite(t, open(t, cfg), site, providers.ScanOptions{})
	if err != nil {
		t.Fatalf("push through a throttling proxy: %v", err)
	}
	if n := fp.injected.Load(); n != 7 {
		t.Errorf("injected %d faults; want 7 (the push did not meet them all)", n)
	}
	if res.Uploaded != len(site) || !res.Complete {
		t.Errorf("result = %+v; want every file uploaded", res)
	}

	// Exhausted retries fail with the cause named (the first request
	// that fails is the deploy's record, written before any upload).
	fp.slowDowns.Store(1000)
	cfg.MaxAttempts = 3
	_, _, err = pushSite(t, open(t, cfg), site.With(storetest.Site{"index.html": "<h1>v2</h1>"}), providers.ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), "SlowDown") || !strings.Contains(err.Error(), "s3://"+bucket+"/cdnctl-state/site/deploys/") {
		t.Errorf("error = %v; want it to name the object and SlowDown", err)
	}
}

// recordLog is a slog.Handler that keeps the records it gets.
type recordLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordLog) WithGroup(string) slog.Handler      { return l }

// attrs returns the attributes of the records with message msg.
func (l *recordLog) attrs(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		m := map[string]string{"level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	return out
}

// TestRetriesAreLogged: each retry of the SDK is a warning naming the
// object, the attempt and why the previous one failed, and the push's
// result counts them.
func TestRetriesAreLogged(t *testing.T) {
	bucket := newBucket(t)
	fp := &faultyProxy{}
	fp.slowDowns.Store(2)
	fp.tooMany.Store(1)
	fp.resets.Store(1)
	fp.hangs.Store(1)
	cfg := testConfig(bucket, "site", nil)
	cfg.Endpoint = fp.start(t)
	// Long enough for a loaded machine; the hung request waits for it.
	cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	log := &recordLog{}
	cfg.Logger = slog.New(log)
	st := open(t, cfg)
	_, res, err := pushSite(t, st, site, providers.ScanOptions{})
	if err != nil {
		t.Fatalf("push through a throttling proxy: %v", err)
	}
	if n := fp.injected.Load(); n != 5 {
		t.Fatalf("injected %d faults; want 5", n)
	}
	if res.Retries != 5 || st.Retries() != 5 {
		t.Errorf("result counts %d retries, the store %d; want 5", res.Retries, st.Retries())
	}
	retries := log.attrs("s3: retrying")
	if len(retries) != 5 {
		t.Fatalf("%d retry warnings; want 5: %v", len(retries), retries)
	}
	reasons := map[string]int{}
	for _, a := range retries {
		if a["level"] != "WARN" || a["key"] == "" || a["op"] != "PutObject" || a["attempt"] < "2" {
			t.Errorf("retry warning %v: want a warning naming the key, PutObject and attempt 2 or more", a)
		}
		if !strings.HasPrefix(a["key"], "site/") && !strings.HasPrefix(a["key"], "cdnctl-state/") {
			t.Errorf("retry warning %v: the key is not an object of the push", a)
		}
		reasons[a["reason"]]++
	}
	want := map[string]int{
		"SlowDown (HTTP 503): Please reduce your request rate.": 2,
		"TooManyRequests (HTTP 429): Too Many Requests":         1,
		"timed out":          1,
		"connection dropped": 1,
	}
	for r, n := range want {
		if reasons[r] != n {
			t.Errorf("reason %q given %d times; want %d (reasons: %v)", r, reasons[r], n, reasons)
		}
	}
}

func TestMultipartAndEscapedKeys(t *testing.T) {
	bucket := newBucket(t)
	c := &counter{}
	cfg := testConfig(bucket, "big", c)
	cfg.MultipartThreshold = 5 << 20
	cfg.PartSize = 5 << 20
	big := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16) // 11 MiB: 3 parts
	s := site.With(storetest.Site{"video/clip.mp4": string(big)})
	if _, _, err := pushSite(t, open(t, cfg), s, providers.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := srv.Client(nil)
	head, err := raw.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("big/video/clip.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); !strings.Contains(etag, "-") {
		t.Errorf("ETag %s; want a multipart ETag", etag)
	}
	if got := head.Metadata["cdnctl-sha256"]; got != sha256Hex(big) {
		t.Errorf("sha256 metadata = %q; want the body's", got)
	}
	// rclone's md5chksum, so that `rclone check` can verify the object.
	bigMD5 := md5.Sum(big)
	wantMD5 := base64.StdEncoding.EncodeToString(bigMD5[:])
	if got := head.Metadata["md5chksum"]; got != wantMD5 {
		t.Errorf("md5chksum metadata = %q; want %q", got, wantMD5)
	}
	get, err := raw.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: &bucket, Key: aws.String("big/video/clip.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, big) {
		t.Errorf("multipart body differs (%d bytes; want %d)", len(body), len(big))
	}

	// No-op: the index vouches for the multipart object by its ETag.
	before := c.get()
	plan, _, err := pushSite(t, open(t, cfg), s, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pending() {
		t.Errorf("no-op plan after multipart: %+v", plan.Changes)
	}
	if d := c.get().Sub(before); d.Put+d.Head+d.Post+d.Copy != 0 {
		t.Errorf("no-op requests: %+v", d)
	}

	// A header change on keys that need escaping goes by CopyObject.
	before = c.get()
	plan, res, err := pushSite(t, open(t, cfg), s, providers.ScanOptions{Rules: []providers.HeaderRule{
		{Match: hashing.MustCompileGlob("*.txt"), CacheControl: "no-cache"},
		{Match: hashing.MustCompileGlob("*.mp4"), CacheControl: "public, max-age=86400"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 2 || res.Uploaded != 0 {
		t.Errorf("header change: %+v; want 2 updates", res)
	}
	if d := c.get().Sub(before); d.Copy != 2 {
		t.Errorf("header change requests: %+v; want 2 copies", d)
	}
	head, err = raw.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("big/a b+c/ü.txt")})
	if err != nil || aws.ToString(head.CacheControl) != "no-cache" {
		t.Errorf("escaped key after copy: %v, cache-control %q; want no-cache", err, aws.ToString(head.CacheControl))
	}
	head, err = raw.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("big/video/clip.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	if got := head.Metadata["md5chksum"]; got != wantMD5 || aws.ToString(head.CacheControl) != "public, max-age=86400" {
		t.Errorf("multipart object after a header update: md5chksum %q, cache-control %q; want %q and the new one",
			got, aws.ToString(head.CacheControl), wantMD5)
	}
	_ = plan
}

// TestNoOpListsOnePagePerThousand checks the request budget of a no-change
// push at a size that needs several list pages.
func TestNoOpListsOnePagePerThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 2,100 objects")
	}
	bucket := newBucket(t)
	c := &counter{}
	cfg := testConfig(bucket, "many", c)
	s := storetest.Site{"index.html": "<h1>many</h1>"}
	for i := 0; i < 2100; i++ {
		s[fmt.Sprintf("p/%04d.txt", i)] = fmt.Sprintf("page %d", i)
	}
	if _, res, err := pushSite(t, open(t, cfg), s, providers.ScanOptions{}); err != nil || res.Uploaded != len(s) {
		t.Fatalf("first push: %+v, %v", res, err)
	}
	before := c.get()
	plan, res, err := pushSite(t, open(t, cfg), s, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.get().Sub(before)
	if plan.Pending() || res.Recorded {
		t.Errorf("no-op push changed things: %+v", plan.Summary)
	}
	if wantReq := (storetest.Requests{List: 3, Get: 2}); d != wantReq {
		t.Errorf("no-op push of %d objects sent %+v; want %+v (3 list pages, the index and the history)", len(s), d, wantReq)
	}

	// Another tool adds objects between the index's keys and deletes
	// some: the range listing still sees exactly what is there, in order.
	raw := srv.Client(nil)
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("many/p/%04dx.txt", i*7)
		if _, err := raw.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: &bucket, Key: &k, Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("many/p/%04d.txt", 1000+i*13)
		if _, err := raw.DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &bucket, Key: &k}); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	pg := awss3.NewListObjectsV2Paginator(raw, &awss3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("many/")})
	for pg.HasMorePages() {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			if k := strings.TrimPrefix(aws.ToString(o.Key), "many/"); !strings.HasPrefix(k, ".cdnctl/") {
				want = append(want, k)
			}
		}
	}
	before = c.get()
	objs, err := open(t, cfg).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	known := 0
	for _, o := range objs {
		got = append(got, o.Key)
		if o.SHA256 != "" {
			known++
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("range listing returned %d keys; the bucket holds %d", len(got), len(want))
	}
	if known != len(s)-50 {
		t.Errorf("%d listed objects described by the index; want %d", known, len(s)-50)
	}
	if d := c.get().Sub(before); d.List > 6 {
		t.Errorf("listing %d objects took %d requests; want ≤ 6", len(want), d.List)
	}

	// Removing the pages deletes them all in 3 DeleteObjects requests.
	before = c.get()
	st := open(t, cfg)
	set, err := providers.ScanDir(context.Background(), storetest.Site{"index.html": "<h1>few</h1>"}.Write(t), providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := providers.DefaultPlanOptions()
	opts.MaxDeletes = -1
	p := &providers.Pusher{Store: st, Options: opts}
	plan, err = p.Plan(context.Background(), set.Files)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.Apply(context.Background(), plan)
	if err != nil || res.Deleted != len(want)-1 {
		t.Fatalf("delete push: %+v, %v; want %d deletions", res, err, len(want)-1)
	}
	if d := c.get().Sub(before); d.Post != 3 {
		t.Errorf("deleting %d objects took %d POSTs; want 3 DeleteObjects of ≤ 1,000 keys", len(want)-1, d.Post)
	}
	objs, err = open(t, cfg).List(context.Background())
	if err != nil || len(objs) != 1 {
		t.Errorf("after deleting: %d objects, %v; want 1", len(objs), err)
	}
}

func TestRegionRequiredWithoutEndpoint(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	_, err := New(context.Background(), Config{Bucket: "example-bucket", Credentials: srv.Credentials()})
	if err == nil || !strings.Contains(err.Error(), "no AWS region") || !strings.Contains(err.Error(), "--region") {
		t.Errorf("New without a region = %v; want an error saying to pass --region", err)
	}
}

// TestProfileFromSharedConfig takes credentials and region from a named
// profile of the shared files, as --profile does.
func TestProfileFromSharedConfig(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	credFile := filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgFile, []byte("[profile site]\nregion = "+s3test.Region+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := fmt.Sprintf("[site]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey, srv.SecretKey)
	if err := os.WriteFile(credFile, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_REGION", "")
	bucket := newBucket(t)
	st, err := New(context.Background(), Config{Bucket: bucket, Endpoint: srv.Endpoint, Profile: "site"})
	if err != nil {
		t.Fatal(err)
	}
	if _, res, err := pushSite(t, st, site, providers.ScanOptions{}); err != nil || res.Uploaded != len(site) {
		t.Fatalf("push with --profile: %+v, %v", res, err)
	}
	// An unknown profile is a clear error before any request.
	if _, err := New(context.Background(), Config{Bucket: bucket, Endpoint: srv.Endpoint, Profile: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown profile: %v; want an error naming it", err)
	}
}
