package cloudfront

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/providers"
)

const (
	testDist   = "E2QWRUHAPOMQZL"
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var fastPolicies = func(c *Config) {
	c.Retry = providers.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}
	c.Busy = providers.Backoff{Attempts: 5, Base: time.Millisecond, Max: 2 * time.Millisecond}
	c.Poll = providers.Backoff{Attempts: -1, Base: time.Millisecond, Max: 2 * time.Millisecond}
}

// newTestPurger returns a Purger whose SDK client talks to f, signing
// with secret.
func newTestPurger(t *testing.T, f *fakeCloudFront, secret string, mutate func(*Config)) *Purger {
	t.Helper()
	client := cloudfront.New(cloudfront.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, secret, ""),
		BaseEndpoint: awssdk.String(f.srv.URL),
		Retryer:      awssdk.NopRetryer{},
	})
	cfg := Config{DistributionID: testDist, Hostnames: []string{"www.example.com"}}
	fastPolicies(&cfg)
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := newPurger(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// planOnly is a Purger for Plan tests: it must never send anything.
func planOnly(t *testing.T, mutate func(*Config)) *Purger {
	t.Helper()
	cfg := Config{DistributionID: testDist, Hostnames: []string{"www.example.com", "example.com"}}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := newPurger(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func items(rec *providers.PurgeRecord) [][]string {
	var out [][]string
	for _, b := range rec.Batches {
		out = append(out, b.Items)
	}
	return out
}

func TestPlanPaths(t *testing.T) {
	tests := []struct {
		name string
		req  providers.PurgeRequest
		cfg  func(*Config)
		want []string
	}{
		{"paths and URLs", providers.PurgeRequest{URLs: []string{"/index.html", "https://www.example.com/about/", "http://EXAMPLE.com:8080/x.css?v=1"}},
			nil, []string{"/about/", "/index.html", "/x.css?v=1"}},
		{"URL with no path", providers.PurgeRequest{URLs: []string{"https://www.example.com"}}, nil, []string{"/"}},
		{"encoding", providers.PurgeRequest{URLs: []string{"/a b.css", "/a%20b.css", "/caf\u00e9/men\u00fc.html", "/x~y/[1].js", "/q?a=<b>", "/100%"}},
			nil, []string{"/100%25", "/a%20b.css", "/caf%C3%A9/men%C3%BC.html", "/q?a=%3Cb%3E", "/x%7Ey/%5B1%5D.js"}},
		{"lower-case escapes are normalised", providers.PurgeRequest{URLs: []string{"/caf%c3%a9"}}, nil, []string{"/caf%C3%A9"}},
		{"prefixes become wildcards", providers.PurgeRequest{Prefixes: []string{"/assets/", "https://www.example.com/img", "/fonts/*"}},
			nil, []string{"/assets/*", "/fonts/*", "/img*"}},
		{"a wildcard covers paths under it", providers.PurgeRequest{URLs: []string{"/assets/app.js", "/index.html"}, Prefixes: []string{"/assets/"}},
			nil, []string{"/assets/*", "/index.html"}},
		{"tags", providers.PurgeRequest{Tags: []string{"product:electronics", "css"}, URLs: []string{"/a"}},
			nil, []string{"/a", "#css", "#product:electronics"}},
		{"keys through the origin path", providers.PurgeRequest{Keys: []string{"site/blog/index.html", "site/a b.css", "site/what?.html"}},
			func(c *Config) { c.OriginPath = "/site" }, []string{"/a%20b.css", "/blog/", "/blog/index.html", "/what%3F.html"}},
		{"everything", providers.PurgeRequest{Everything: true, URLs: []string{"/a"}, Tags: []string{"x"}}, nil, []string{"/*"}},
		{"duplicates", providers.PurgeRequest{URLs: []string{"/a", "https://example.com/a", "/a"}}, nil, []string{"/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := planOnly(t, tt.cfg).Plan(tt.req)
			if err != nil {
				t.Fatalf("Plan = %v", err)
			}
			if len(rec.Batches) != 1 {
				t.Fatalf("%d batches; want 1", len(rec.Batches))
			}
			if diff := cmp.Diff(tt.want, rec.Batches[0].Items); diff != "" {
				t.Errorf("paths mismatch (-want +got):\n%s", diff)
			}
			if rec.EstimatedBillablePaths == nil || *rec.EstimatedBillablePaths != len(tt.want) {
				t.Errorf("estimated billable paths = %v; want %d", rec.EstimatedBillablePaths, len(tt.want))
			}
			if rec.Status != providers.PurgePlanned || rec.Batches[0].Status != providers.PurgePlanned || rec.Target != testDist {
				t.Errorf("record = %+v; want a plan for %s", rec, testDist)
			}
		})
	}
}

func TestPlanRefusals(t *testing.T) {
	tests := []struct {
		name    string
		req     providers.PurgeRequest
		wantErr error
		want    string
	}{
		{"host", providers.PurgeRequest{Hosts: []string{"www.example.com"}}, providers.ErrNotSupported, "purge by host"},
		{"soft", providers.PurgeRequest{URLs: []string{"/a"}, Soft: true}, providers.ErrNotSupported, "soft purge"},
		{"headers", providers.PurgeRequest{URLs: []string{"/a"}, Headers: map[string]string{"Accept-Language": "de"}}, providers.ErrNotSupported, "variant"},
		{"nothing", providers.PurgeRequest{}, providers.ErrInvalidPurge, "nothing to purge"},
		{"relative", providers.PurgeRequest{URLs: []string{"index.html"}}, providers.ErrInvalidPurge, "starting with /"},
		{"wildcard in the middle", providers.PurgeRequest{URLs: []string{"/a/*/b.css"}}, providers.ErrInvalidPurge, "only at the end"},
		{"fragment", providers.PurgeRequest{URLs: []string{"/a#b"}}, providers.ErrInvalidPurge, "fragment"},
		{"foreign host", providers.PurgeRequest{URLs: []string{"https://cdn.other.net/a"}}, providers.ErrInvalidPurge, "not served by distribution " + testDist},
		{"ftp", providers.PurgeRequest{URLs: []string{"ftp://www.example.com/a"}}, providers.ErrInvalidPurge, "http(s) URL"},
		{"too long", providers.PurgeRequest{URLs: []string{"/" + strings.Repeat("x", 4000)}}, providers.ErrInvalidPurge, "4000"},
		{"tag with a comma", providers.PurgeRequest{Tags: []string{"a,b"}}, providers.ErrInvalidPurge, "without commas"},
		{"tag with a space", providers.PurgeRequest{Tags: []string{"a b"}}, providers.ErrInvalidPurge, "visible ASCII"},
		{"tag wildcard", providers.PurgeRequest{Tags: []string{"product:*"}}, providers.ErrInvalidPurge, "no * wildcard"},
		{"tag too long", providers.PurgeRequest{Tags: []string{strings.Repeat("t", 257)}}, providers.ErrInvalidPurge, "256"},
		{"key with a star", providers.PurgeRequest{Keys: []string{"a*b"}}, providers.ErrInvalidPurge, "wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planOnly(t, nil).Plan(tt.req)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v; want %v mentioning %q", err, tt.wantErr, tt.want)
			}
		})
	}
}

func TestPlanBatchesToTheInProgressLimits(t *testing.T) {
	var req providers.PurgeRequest
	for i := range 7000 {
		req.URLs = append(req.URLs, fmt.Sprintf("/f/%05d.html", i))
	}
	for i := range 20 {
		req.Prefixes = append(req.Prefixes, fmt.Sprintf("/d%02d/", i))
	}
	rec, err := planOnly(t, func(c *Config) { c.CollapseAbove = -1 }).Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int
	for _, b := range rec.Batches {
		w, f := counts(b.Items)
		got = append(got, [2]int{w, f})
	}
	if diff := cmp.Diff([][2]int{{15, 3000}, {5, 3000}, {0, 1000}}, got); diff != "" {
		t.Errorf("batches (wildcards, files) mismatch (-want +got):\n%s", diff)
	}
	if *rec.EstimatedBillablePaths != 7020 {
		t.Errorf("billable = %d; want 7020", *rec.EstimatedBillablePaths)
	}
}

func TestPlanCollapsesWhenCheaper(t *testing.T) {
	var req providers.PurgeRequest
	for i := range 120 {
		req.URLs = append(req.URLs, fmt.Sprintf("/blog/2026/post-%03d/", i))
	}
	for i := range 80 {
		req.URLs = append(req.URLs, fmt.Sprintf("/docs/page-%02d.html", i))
	}
	req.URLs = append(req.URLs, "/index.html")
	req.Tags = []string{"html"}
	rec, err := planOnly(t, nil).Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"/blog/2026/*", "/docs/*", "/index.html", "#html"}}
	if diff := cmp.Diff(want, items(rec)); diff != "" {
		t.Errorf("collapsed batches mismatch (-want +got):\n%s", diff)
	}
	if *rec.EstimatedBillablePaths != 4 || len(rec.Notes) == 0 || !strings.Contains(rec.Notes[0], "collapsed 201 paths into 3") {
		t.Errorf("billable %d, notes %q; want 4 and a note on collapsing", *rec.EstimatedBillablePaths, rec.Notes)
	}
	// Below the threshold, or with collapsing off, every path is kept.
	rec, err = planOnly(t, func(c *Config) { c.CollapseAbove = -1 }).Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if n := *rec.EstimatedBillablePaths; n != 202 {
		t.Errorf("without collapsing, billable = %d; want 202", n)
	}
}

func TestPurgeAndWait(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.completeAfter = 3
	p := newTestPurger(t, f, testSecret, nil)
	rec, err := p.Plan(providers.PurgeRequest{URLs: []string{"/index.html", "/a b.css"}, Tags: []string{"css"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Purge(ctx, rec); err != nil {
		t.Fatalf("Purge = %v", err)
	}
	b := rec.Batches[0]
	if rec.Status != providers.PurgeInProgress || b.Status != providers.PurgeInProgress || b.ID != "I0000000000001" || b.Attempts != 1 {
		t.Errorf("after Purge: record %s, batch %+v; want in progress with ID I0000000000001", rec.Status, b)
	}
	if !strings.HasPrefix(b.Ref, "cdnctl-") || !strings.HasSuffix(b.Ref, "-1") || !strings.HasPrefix(b.RequestID, "req-") {
		t.Errorf("batch ref %q, request ID %q; want cdnctl-…-1 and the x-amzn-RequestId", b.Ref, b.RequestID)
	}
	_, _, _, invs := f.snapshot()
	if len(invs) != 1 || !slices.Equal(invs[0].paths, []string{"/a%20b.css", "/index.html", "#css"}) || invs[0].ref != b.Ref {
		t.Fatalf("fake got %+v; want one invalidation of the 3 items with the batch's ref", invs)
	}

	var progress []providers.PurgeProgress
	if err := p.Wait(ctx, rec, func(pr providers.PurgeProgress) { progress = append(progress, pr) }); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if rec.Status != providers.PurgeCompleted || rec.Batches[0].Status != providers.PurgeCompleted {
		t.Errorf("after Wait: record %s, batch %s; want completed", rec.Status, rec.Batches[0].Status)
	}
	_, _, gets, _ := f.snapshot()
	if gets != 3 {
		t.Errorf("Wait polled %d times; want 3 (the fake completes on the 3rd)", gets)
	}
	if len(progress) != 4 || progress[0].Completed != 0 || progress[3].Completed != 1 || progress[3].Total != 1 {
		t.Errorf("progress = %+v; want 0/1 … 1/1 over 4 reports", progress)
	}
}

// TestBatchesWaitForRoom: a purge larger than the in-progress limits sends
// its second batch only after the first completed, and never trips
// TooManyInvalidationsInProgress itself.
func TestBatchesWaitForRoom(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.completeAfter = 2
	p := newTestPurger(t, f, testSecret, func(c *Config) { c.CollapseAbove = -1 })
	var req providers.PurgeRequest
	for i := range 3500 {
		req.URLs = append(req.URLs, fmt.Sprintf("/p/%04d", i))
	}
	rec, err := p.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatalf("Purge = %v", err)
	}
	events, creates, _, _ := f.snapshot()
	want := []string{
		"create I0000000000001 (3000 paths)",
		"get I0000000000001 → InProgress",
		"get I0000000000001 → Completed",
		"create I0000000000002 (500 paths)",
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if creates != 2 || rec.Batches[0].Status != providers.PurgeCompleted || rec.Batches[1].Status != providers.PurgeInProgress {
		t.Errorf("%d creates; statuses %s, %s; want 2, completed, in_progress", creates, rec.Batches[0].Status, rec.Batches[1].Status)
	}
	if rec.Batches[0].Ref == rec.Batches[1].Ref {
		t.Errorf("two batches share CallerReference %q", rec.Batches[0].Ref)
	}
}

func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.inject("create",
		cfFault{status: 400, code: "Throttling"},
		cfFault{status: 503, code: "ServiceUnavailable"},
		cfFault{lost: true}, // created, but the answer is lost: the retry must not create it twice
	)
	f.inject("get", cfFault{status: 500, code: "InternalError"})
	p := newTestPurger(t, f, testSecret, nil)
	rec, err := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatalf("Purge = %v", err)
	}
	if err := p.Wait(context.Background(), rec, nil); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	events, creates, _, _ := f.snapshot()
	if creates != 1 || rec.Batches[0].Attempts != 4 {
		t.Errorf("%d invalidations created in %d attempts; want 1 in 4", creates, rec.Batches[0].Attempts)
	}
	if !slices.Contains(events, "replay I0000000000001") {
		t.Errorf("events %q: the retry after the lost answer did not reuse the CallerReference", events)
	}
	if rec.Status != providers.PurgeCompleted {
		t.Errorf("status %s; want completed", rec.Status)
	}
}

func TestBusyDistributionIsRetried(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.inject("create",
		cfFault{status: 400, code: "TooManyInvalidationsInProgress"},
		cfFault{status: 400, code: "TooManyInvalidationsInProgress"},
	)
	p := newTestPurger(t, f, testSecret, nil)
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatalf("Purge = %v", err)
	}
	if rec.Batches[0].Attempts != 3 || rec.Batches[0].Status != providers.PurgeInProgress {
		t.Errorf("batch %+v; want in progress after 3 attempts", rec.Batches[0])
	}

	// Someone else's invalidations fill the limit for good: give up with
	// CloudFront's error.
	g := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	g.busyFiles = 3000
	q := newTestPurger(t, g, testSecret, nil)
	rec, _ = q.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	err := q.Purge(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "TooManyInvalidationsInProgress") || rec.Batches[0].Attempts != 5 {
		t.Errorf("Purge = %v after %d attempts; want TooManyInvalidationsInProgress after 5 (the Busy policy)", err, rec.Batches[0].Attempts)
	}
}

func TestPartialFailureNamesPaths(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.inject("create", pass, cfFault{status: 400, code: "InvalidArgument"})
	p := newTestPurger(t, f, testSecret, func(c *Config) { c.CollapseAbove = -1 })
	var req providers.PurgeRequest
	for i := range 40 {
		req.Prefixes = append(req.Prefixes, fmt.Sprintf("/d%02d/", i))
	}
	rec, err := p.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Batches) != 3 {
		t.Fatalf("%d batches; want 3 (15 + 15 + 10 wildcards)", len(rec.Batches))
	}
	err = p.Purge(context.Background(), rec)
	var pe *providers.PurgeError
	if !errors.As(err, &pe) {
		t.Fatalf("Purge = %v; want a *PurgeError", err)
	}
	if diff := cmp.Diff(rec.Batches[1].Items, pe.NotPurged); diff != "" {
		t.Errorf("NotPurged mismatch (-want +got):\n%s", diff)
	}
	if rec.Status != providers.PurgePartial || rec.Batches[1].Attempts != 1 || !strings.Contains(rec.Batches[1].Error, "InvalidArgument") {
		t.Errorf("record %s, batch 2 %+v; want partial, one attempt, InvalidArgument", rec.Status, rec.Batches[1])
	}
	if rec.Batches[2].Status != providers.PurgeInProgress {
		t.Errorf("batch 3 is %s; want it sent (in_progress) after batch 2 failed", rec.Batches[2].Status)
	}
}

func TestWaitTimesOut(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.completeAfter = 1 << 30
	p := newTestPurger(t, f, testSecret, nil)
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Wait(ctx, rec, nil)
	if err == nil || !strings.Contains(err.Error(), "I0000000000001") || !strings.Contains(err.Error(), "still in progress") {
		t.Errorf("Wait = %v; want an error naming the invalidation still in progress", err)
	}
	if rec.Status != providers.PurgeInProgress {
		t.Errorf("status %s; want in_progress", rec.Status)
	}
}

func TestBadSignatureIsNotRetried(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	p := newTestPurger(t, f, "not-the-secret", nil)
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	err := p.Purge(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("Purge = %v; want SignatureDoesNotMatch", err)
	}
	if rec.Batches[0].Attempts != 1 || strings.Contains(err.Error(), "not-the-secret") {
		t.Errorf("attempts %d; want 1, and no secret in %q", rec.Batches[0].Attempts, err)
	}
}

func TestRefusalsSendNothing(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	p := newTestPurger(t, f, testSecret, nil)
	if _, err := p.Plan(providers.PurgeRequest{Hosts: []string{"www.example.com"}, URLs: []string{"/a"}}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Plan(host) = %v; want ErrNotSupported", err)
	}
	if events, creates, gets, _ := f.snapshot(); len(events)+creates+gets != 0 {
		t.Errorf("the fake received requests: %q", events)
	}
}

// TestNewUsesTheDefaultChainAndProfile: credentials come from the shared
// credentials file's profile named by Profile, as with --profile.
func TestNewUsesTheDefaultChainAndProfile(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIADEFAULTDEFAULT00\naws_secret_access_key = default-secret\n\n[prod]\naws_access_key_id = "+testKeyID+"\naws_secret_access_key = "+testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	cfg := Config{DistributionID: testDist, Profile: "prod", Endpoint: f.srv.URL}
	fastPolicies(&cfg)
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := p.Plan(providers.PurgeRequest{Everything: true})
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatalf("Purge with profile prod = %v", err)
	}
	// The default profile's key is not the one the fake knows.
	cfg.Profile = ""
	p, err = New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = p.Plan(providers.PurgeRequest{Everything: true})
	err = p.Purge(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("Purge with the default profile = %v; want InvalidClientTokenId", err)
	}
	if strings.Contains(err.Error(), "default-secret") {
		t.Errorf("the secret key leaked into %q", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{DistributionID: "e2qwruhapomqzl"},
		{DistributionID: ""},
		{DistributionID: testDist, CollapseTo: 16},
		{DistributionID: testDist, Hostnames: []string{"https://www.example.com"}},
		{DistributionID: testDist, Endpoint: "localhost"},
	} {
		if _, err := newPurger(nil, cfg); err == nil {
			t.Errorf("newPurger(%+v) = nil error; want one", cfg)
		}
	}
}

// TestStatusIsComparedWithoutCase: an API that answers "COMPLETED" (moto)
// completes --wait instead of running to the timeout.
func TestStatusIsComparedWithoutCase(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.upperStatus = true
	p := newTestPurger(t, f, testSecret, nil)
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Purge(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctx, rec, nil); err != nil || rec.Status != providers.PurgeCompleted {
		t.Errorf("Wait with status COMPLETED = %v, record %s; want completed", err, rec.Status)
	}
}

// TestTagsAreCaseInsensitive: CloudFront documents tag values as
// case-insensitive, so #CSS and #css are one item (billed once).
func TestTagsAreCaseInsensitive(t *testing.T) {
	rec, err := planOnly(t, nil).Plan(providers.PurgeRequest{Tags: []string{"CSS", "css", "Css", "js"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := items(rec); !cmp.Equal(got, [][]string{{"#CSS", "#js"}}) || *rec.EstimatedBillablePaths != 2 {
		t.Errorf("tags CSS css Css js planned as %v (%d billable); want #CSS #js (2)", got, *rec.EstimatedBillablePaths)
	}
}

// TestBusyRetriesAreSpacedOut: TooManyInvalidationsInProgress is retried
// 5 s to 60 s apart as documented, never at once (full jitter could).
func TestBusyRetriesAreSpacedOut(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	f.inject("create",
		cfFault{status: 400, code: "TooManyInvalidationsInProgress"},
		cfFault{status: 400, code: "TooManyInvalidationsInProgress"},
		cfFault{status: 400, code: "TooManyInvalidationsInProgress"},
	)
	var waits []time.Duration
	p := newTestPurger(t, f, testSecret, func(c *Config) {
		c.Busy = providers.Backoff{Attempts: 5, Rand: func() float64 { return 0 }, Sleep: func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}}
	})
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(waits, []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}) {
		t.Errorf("waits between busy retries with the lowest jitter: %v; want 5 s each (the Busy policy's floor)", waits)
	}
}

func TestCheckTags(t *testing.T) {
	if err := CheckTags([]string{"product:42", "a#b"}); err != nil {
		t.Errorf("CheckTags(valid) = %v", err)
	}
	if err := CheckTags([]string{"café"}); err == nil || !strings.Contains(err.Error(), "CloudFront cache tag is visible ASCII") {
		t.Errorf("CheckTags(café) = %v; want CloudFront's rule", err)
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	if err := CheckTags(many); err == nil || !strings.Contains(err.Error(), "50 per cached object") {
		t.Errorf("CheckTags(51 tags) = %v; want the per-object limit", err)
	}
	if _, err := planOnly(t, nil).Plan(providers.PurgeRequest{CPCodes: []int{1}}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Plan(CP codes) = %v; want not supported", err)
	}
}

// TestPurgeWithoutCredentials: no usable credentials is one error before
// any batch (not every batch failing and retrying on the same lookup),
// and the record stays planned: nothing was sent, nothing to bill.
func TestPurgeWithoutCredentials(t *testing.T) {
	f := newFakeCloudFront(t, testDist, testKeyID, testSecret)
	p := newTestPurger(t, f, testSecret, nil)
	lookups := 0
	p.creds = awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
		lookups++
		return awssdk.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
	})
	rec, err := p.Plan(providers.PurgeRequest{URLs: []string{"/index.html", "/about/"}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Purge(context.Background(), rec)
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("Purge = %v; want ErrCredentials", err)
	}
	for _, want := range []string{"AWS_PROFILE", "nothing was purged"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "IMDS") {
		t.Errorf("error %q repeats the SDK's chain error", err)
	}
	if lookups != 1 || f.creates != 0 {
		t.Errorf("credential lookups %d, invalidations sent %d; want 1 and 0", lookups, f.creates)
	}
	if rec.Status != providers.PurgePlanned {
		t.Errorf("record status %s; want planned (nothing sent)", rec.Status)
	}
}
