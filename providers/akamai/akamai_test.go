package akamai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/edgegrid"
	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/akamai/akamaitest"
)

var testCreds = akamaitest.Credentials{
	ClientToken:  "akab-client-token-cdnctl-0123456789",
	ClientSecret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg=",
	AccessToken:  "akab-access-token-cdnctl-9876543210",
}

// clock is a virtual clock shared by the fake and the purger: sleeping
// advances it, so pacing and 429 waits take no real time.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// newFake starts the fake on a virtual clock that starts at real time (the
// signer stamps requests with the real time).
func newFake(t *testing.T) (*akamaitest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	f := akamaitest.New(t, testCreds)
	f.Now = clk.Now
	f.Skew = time.Hour // the virtual clock runs ahead of the signer's
	f.Hostnames = []string{"www.example.com", "example.com"}
	return f, clk
}

func newTestPurger(t *testing.T, f *akamaitest.Server, clk *clock, mutate func(*Config)) *Purger {
	t.Helper()
	creds := &Credentials{
		Host:         f.Host,
		ClientToken:  providers.Secret(testCreds.ClientToken),
		ClientSecret: providers.Secret(testCreds.ClientSecret),
		AccessToken:  providers.Secret(testCreds.AccessToken),
		Source:       "test credentials",
	}
	cfg := Config{
		Hostnames:   []string{"www.example.com", "example.com"},
		Credentials: func() (*Credentials, error) { return creds, nil },
		BaseURL:     f.URL,
		Retry:       providers.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
		Sleep:       clk.Sleep,
		Now:         clk.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func purge(t *testing.T, p *Purger, req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	t.Helper()
	rec, err := p.Plan(req)
	if err != nil {
		t.Fatalf("Plan(%+v) = %v", req, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return rec, p.Purge(ctx, rec)
}

// TestSignerPassesPublishedVectors signs every request of Akamai's
// EdgeGrid test vectors with the signer cdnctl uses (edgegrid.Config) and
// checks the signature with akamaitest's verifier, which reproduces the
// vectors' expected signatures byte for byte (akamaitest's own test): the
// signer computes the published function. (The signer draws its own
// timestamp and nonce, so the vectors' fixed ones cannot be compared
// directly.)
func TestSignerPassesPublishedVectors(t *testing.T) {
	v, err := akamaitest.LoadVectors()
	if err != nil {
		t.Fatal(err)
	}
	creds := akamaitest.Credentials{ClientToken: v.ClientToken, ClientSecret: v.ClientSecret, AccessToken: v.AccessToken}
	signer := edgegrid.Config{
		ClientToken: v.ClientToken, ClientSecret: v.ClientSecret, AccessToken: v.AccessToken,
		HeaderToSign: v.HeadersToSign, MaxBody: v.MaxBody,
	}
	ran := 0
	for _, c := range v.Cases {
		if c.FailsWithMessage != "" {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			req, err := c.HTTPRequest(v.BaseURL)
			if err != nil {
				t.Fatal(err)
			}
			signer.SignRequest(req)
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
			}
			if _, err := akamaitest.Verify(req, "https", body, creds, v.HeadersToSign, v.MaxBody, time.Now(), time.Minute); err != nil {
				t.Errorf("the signature of %s %s does not verify: %v\n%s", c.Request.Method, c.Request.Path, err, req.Header.Get("Authorization"))
			}
			if len(body) > 0 {
				tampered := append([]byte("x"), body...)
				_, err := akamaitest.Verify(req, "https", tampered, creds, v.HeadersToSign, v.MaxBody, time.Now(), time.Minute)
				if c.Request.Method == http.MethodPost && !errors.Is(err, akamaitest.ErrSignature) {
					t.Errorf("a changed POST body still verifies: %v", err)
				}
			}
		})
	}
	if ran < 12 {
		t.Errorf("%d vector cases ran; want every signature case", ran)
	}
}

func TestPurgeEachTypeAndWait(t *testing.T) {
	f, clk := newFake(t)
	f.EstimatedSeconds = 5
	p := newTestPurger(t, f, clk, func(c *Config) { c.OriginPath = "/site"; c.Network = NetworkStaging; c.Method = MethodDelete })
	rec, err := purge(t, p, providers.PurgeRequest{
		URLs:    []string{"/index.html", "https://WWW.example.com/a b.css?v=2"},
		Keys:    []string{"site/blog/index.html"},
		Tags:    []string{"pages", "product-42"},
		CPCodes: []int{12345},
	})
	if err != nil {
		t.Fatalf("Purge = %v", err)
	}
	var got []akamaitest.Purge
	for _, pu := range f.Purges() {
		pu.PurgeID = ""
		got = append(got, pu)
	}
	want := []akamaitest.Purge{
		{Method: "delete", Type: "url", Network: "staging", Objects: []string{
			"https://www.example.com/index.html", "https://example.com/index.html",
			"https://www.example.com/a%20b.css?v=2",
			"https://www.example.com/blog/index.html", "https://example.com/blog/index.html",
			"https://www.example.com/blog/", "https://example.com/blog/",
		}},
		{Method: "delete", Type: "cpcode", Network: "staging", Objects: []string{"12345"}},
		{Method: "delete", Type: "tag", Network: "staging", Objects: []string{"pages", "product-42"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("purges (-want +got):\n%s", diff)
	}
	if rec.Status != providers.PurgeInProgress || rec.Soft {
		t.Errorf("record %s soft=%v; want in progress, not soft (delete)", rec.Status, rec.Soft)
	}
	for i, b := range rec.Batches {
		if b.ID == "" || b.RequestID != b.ID || b.EstimatedSeconds != 5 || b.Status != providers.PurgeInProgress || b.Attempts != 1 {
			t.Errorf("batch %d = %+v; want purgeId, supportId, 5 estimated seconds, in progress", i, b)
		}
	}

	var progress []providers.PurgeProgress
	before := len(clk.Sleeps())
	if err := p.Wait(context.Background(), rec, func(pp providers.PurgeProgress) { progress = append(progress, pp) }); err != nil {
		t.Fatal(err)
	}
	if s := clk.Sleeps()[before:]; !slices.Equal(s, []time.Duration{5 * time.Second}) {
		t.Errorf("Wait slept %v; want the estimate, 5 s", s)
	}
	if rec.Status != providers.PurgeCompleted || len(progress) != 2 || progress[1].Completed != 3 {
		t.Errorf("after Wait: %s, progress %+v; want completed, 0/3 then 3/3", rec.Status, progress)
	}
	if n := rec.Notes[len(rec.Notes)-1]; !strings.Contains(n, "Akamai's estimate") || !strings.Contains(n, "no status endpoint") {
		t.Errorf("last note %q; want it to say the wait is the estimate", n)
	}
}

func TestSoftInvalidatesAndEverythingIsTheCPCodes(t *testing.T) {
	f, clk := newFake(t)
	p := newTestPurger(t, f, clk, func(c *Config) { c.Method = MethodDelete; c.CPCodes = []int{111, 222} })
	rec, err := purge(t, p, providers.PurgeRequest{Everything: true, Soft: true, URLs: []string{"/x"}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Purges()
	if len(got) != 1 || got[0].Method != "invalidate" || got[0].Type != "cpcode" || got[0].Network != "production" || !slices.Equal(got[0].Objects, []string{"111", "222"}) {
		t.Errorf("purges = %+v; want one invalidate of CP codes 111 and 222 on production", got)
	}
	if !rec.Soft || len(rec.Notes) != 3 {
		t.Errorf("record soft=%v notes=%q; want soft, with notes on --soft, the items covered and the CP codes", rec.Soft, rec.Notes)
	}
}

func TestBodiesStayUnderTheLimit(t *testing.T) {
	f, clk := newFake(t)
	p := newTestPurger(t, f, clk, func(c *Config) { c.Hostnames = []string{"www.example.com"} })
	var urls []string
	for i := range 2500 {
		urls = append(urls, fmt.Sprintf("/assets/some/deep/folder/file-%05d.js", i))
	}
	rec, err := purge(t, p, providers.PurgeRequest{URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	sizes := f.BodySizes()
	total := 0
	for i, n := range sizes {
		if n >= MaxBodyBytes {
			t.Errorf("request %d has a %d-byte body; the limit is under %d", i, n, MaxBodyBytes)
		}
		if i < len(sizes)-1 && n < MaxBodyBytes-100 {
			t.Errorf("request %d has only %d bytes: batches are not packed", i, n)
		}
	}
	for _, pu := range f.Purges() {
		total += len(pu.Objects)
	}
	if total != 2500 || len(rec.Batches) != len(sizes) || len(sizes) < 2 {
		t.Errorf("%d URLs purged in %d requests (%d batches); want 2500 in several", total, len(sizes), len(rec.Batches))
	}
}

func TestPack(t *testing.T) {
	// Each tag is 98 bytes in JSON ("" around 96 characters); with the
	// 14-byte frame and the commas, 505 fit under 50,000 bytes.
	tag := strings.Repeat("t", 96)
	items := make([]string, 1200)
	for i := range items {
		items[i] = fmt.Sprintf("%s%04d", tag[:92], i)
	}
	batches, err := pack(providers.KindTags, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range batches {
		n := len(body(&providers.PurgeBatch{Kind: providers.KindTags, Items: b}))
		if n >= MaxBodyBytes {
			t.Errorf("batch %d body %d bytes", i, n)
		}
		if i < len(batches)-1 {
			next := len(body(&providers.PurgeBatch{Kind: providers.KindTags, Items: append(slices.Clone(b), batches[i+1][0])}))
			if next < MaxBodyBytes {
				t.Errorf("batch %d (%d bytes) could hold one more item (%d bytes)", i, n, next)
			}
		}
	}
	codes := make([]string, 700)
	for i := range codes {
		codes[i] = fmt.Sprint(100000 + i)
	}
	cb, _ := pack(providers.KindCPCodes, codes)
	if len(cb) != 3 || len(cb[0]) != 300 {
		t.Errorf("700 CP codes packed as %d batches, the first of %d; want batches of at most 300, the bucket's size", len(cb), len(cb[0]))
	}
	if _, err := pack(providers.KindFiles, []string{"https://www.example.com/" + strings.Repeat("x", MaxBodyBytes)}); !errors.Is(err, providers.ErrInvalidPurge) {
		t.Errorf("pack(a URL longer than the body limit) = %v; want invalid", err)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("paced by the headers, no 429", func(t *testing.T) {
		f, clk := newFake(t)
		f.SetLimit(akamaitest.TypeTag, 500, 100)
		p := newTestPurger(t, f, clk, nil)
		tags := make([]string, 1000)
		for i := range tags {
			tags[i] = fmt.Sprintf("%s%04d", strings.Repeat("k", 120), i)
		}
		rec, err := purge(t, p, providers.PurgeRequest{Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range f.Statuses() {
			if s != http.StatusCreated {
				t.Errorf("answer %d: %d; pacing should have avoided every 429", i, s)
			}
		}
		if len(rec.Batches) != 3 || len(clk.Sleeps()) != 2 {
			t.Fatalf("%d batches, sleeps %v; want 3 batches and a wait before each of the last 2", len(rec.Batches), clk.Sleeps())
		}
		// After the first batch 500-n1 tokens are left; the second needs
		// n2: (n2-(500-n1))/100 seconds.
		n1, n2 := len(rec.Batches[0].Items), len(rec.Batches[1].Items)
		want := time.Duration(float64(n2-(500-n1)) / 100 * float64(time.Second))
		if d := clk.Sleeps()[0]; d < want || d > want+10*time.Millisecond {
			t.Errorf("first wait %v; want %v (%d tags after %d, 500 per bucket, 100 per second)", d, want, n2, n1)
		}
	})
	t.Run("429 waits at least five seconds", func(t *testing.T) {
		f, clk := newFake(t)
		f.SetLimit(akamaitest.BucketRequests, 1, 0.1) // one request per 10 s
		p := newTestPurger(t, f, clk, nil)
		other := newTestPurger(t, f, clk, nil) // another client of the account
		if _, err := purge(t, other, providers.PurgeRequest{Tags: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		rec, err := purge(t, p, providers.PurgeRequest{Tags: []string{"b"}})
		if err != nil {
			t.Fatalf("Purge after another client took the last token = %v", err)
		}
		if st := f.Statuses(); !slices.Equal(st, []int{201, 429, 201}) || rec.Batches[0].Attempts != 2 {
			t.Errorf("statuses %v, attempts %d; want 201 429 201, 2 attempts", st, rec.Batches[0].Attempts)
		}
		if s := clk.Sleeps(); len(s) != 1 || s[0] < 10*time.Second-time.Millisecond {
			t.Errorf("waited %v after the 429; want the refill the headers announce (10 s, more than the documented 5 s)", s)
		}

		// A bucket that refills in 1 s: the documented 5 s still apply.
		f2, clk2 := newFake(t)
		f2.SetLimit(akamaitest.BucketRequests, 1, 1)
		if _, err := purge(t, newTestPurger(t, f2, clk2, nil), providers.PurgeRequest{Tags: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := purge(t, newTestPurger(t, f2, clk2, nil), providers.PurgeRequest{Tags: []string{"b"}}); err != nil {
			t.Fatal(err)
		}
		if s := clk2.Sleeps(); len(s) != 1 || s[0] != 5*time.Second {
			t.Errorf("waited %v after a 429 whose bucket refills in 1 s; want the documented 5 s", s)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Run("wrong credentials are not retried", func(t *testing.T) {
		f, clk := newFake(t)
		p := newTestPurger(t, f, clk, func(c *Config) {
			c.Credentials = func() (*Credentials, error) {
				return &Credentials{Host: f.Host, ClientToken: providers.Secret(testCreds.ClientToken), AccessToken: providers.Secret(testCreds.AccessToken), ClientSecret: "d3Jvbmc=", Source: "~/.edgerc [ccu]"}, nil
			}
		})
		rec, err := purge(t, p, providers.PurgeRequest{Tags: []string{"a"}})
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "signature does not match") || !strings.Contains(err.Error(), "~/.edgerc [ccu]") || rec.Batches[0].Attempts != 1 {
			t.Errorf("Purge with a wrong secret = %v (%d attempts); want a 401 naming the credentials' source, 1 attempt", err, rec.Batches[0].Attempts)
		}
		if strings.Contains(err.Error(), "d3Jvbmc=") {
			t.Error("the secret is in the error")
		}
	})
	t.Run("403 and 413 fail their batch, 5xx and 507 are retried", func(t *testing.T) {
		f, clk := newFake(t)
		p := newTestPurger(t, f, clk, func(c *Config) { c.Hostnames = []string{"www.example.com"} })
		f.Inject(akamaitest.Fault{Status: 500}, akamaitest.Fault{Status: 507}, akamaitest.Fault{Status: 403}, akamaitest.Fault{Status: 413})
		rec, err := purge(t, p, providers.PurgeRequest{URLs: []string{"/a"}, Tags: []string{"t"}, CPCodes: []int{1}})
		var pe *providers.PurgeError
		if !errors.As(err, &pe) || pe.Failed != 2 || !slices.Equal(pe.NotPurged, []string{"https://www.example.com/a", "1"}) {
			t.Fatalf("Purge = %v; want the URL and CP code batches failed", err)
		}
		if rec.Batches[0].Attempts != 3 || !strings.Contains(rec.Batches[0].Error, "HTTP 403") || !strings.Contains(rec.Batches[1].Error, "HTTP 413") || rec.Batches[2].Status != providers.PurgeInProgress {
			t.Errorf("batches = %+v", rec.Batches)
		}
	})
	t.Run("credentials that cannot be loaded send nothing", func(t *testing.T) {
		f, clk := newFake(t)
		p := newTestPurger(t, f, clk, func(c *Config) {
			c.Credentials = func() (*Credentials, error) {
				return nil, errors.New("akamai: no credentials: ~/.edgerc: no such file")
			}
		})
		if _, err := purge(t, p, providers.PurgeRequest{Tags: []string{"a"}}); err == nil || !strings.Contains(err.Error(), "no credentials") || len(f.Statuses()) != 0 {
			t.Errorf("Purge = %v after %d requests; want the credentials error, none sent", err, len(f.Statuses()))
		}
	})
}

func TestRefusedBeforeAnyRequest(t *testing.T) {
	f, clk := newFake(t)
	p := newTestPurger(t, f, clk, nil)
	for _, c := range []struct {
		req  providers.PurgeRequest
		is   error
		want string
	}{
		{providers.PurgeRequest{Prefixes: []string{"/assets/"}}, providers.ErrNotSupported, "no wildcards"},
		{providers.PurgeRequest{Hosts: []string{"www.example.com"}}, providers.ErrNotSupported, "--cpcode"},
		{providers.PurgeRequest{Everything: true}, providers.ErrNotSupported, "cp_codes"},
		{providers.PurgeRequest{URLs: []string{"/x"}, Headers: map[string]string{"X": "y"}}, providers.ErrNotSupported, "variant"},
		{providers.PurgeRequest{Tags: []string{"two words"}}, providers.ErrInvalidPurge, "letters, digits"},
		{providers.PurgeRequest{Tags: []string{"wild*"}}, providers.ErrInvalidPurge, "letters, digits"},
		{providers.PurgeRequest{Tags: []string{"a:b"}}, providers.ErrInvalidPurge, "letters, digits"},
		{providers.PurgeRequest{Tags: []string{"café"}}, providers.ErrInvalidPurge, "letters, digits"},
		{providers.PurgeRequest{Tags: []string{strings.Repeat("t", 129)}}, providers.ErrInvalidPurge, "1 to 128"},
		{providers.PurgeRequest{CPCodes: []int{0}}, providers.ErrInvalidPurge, "positive"},
		{providers.PurgeRequest{URLs: []string{"https://static.example.net/x"}}, providers.ErrInvalidPurge, "hostnames"},
	} {
		_, err := p.Plan(c.req)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Plan(%+v) = %v; want %v containing %q", c.req, err, c.is, c.want)
		}
	}
	if len(f.Statuses()) != 0 {
		t.Error("a refused purge sent a request")
	}
}

func TestCheckTags(t *testing.T) {
	if err := CheckTags([]string{"fall-sale", "a.b_c~d|e`f^g'h&i%j$k#l!m+n"}); err != nil {
		t.Errorf("CheckTags(valid) = %v", err)
	}
	many := make([]string, 129)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	if err := CheckTags(many); err == nil || !strings.Contains(err.Error(), "128 per object") {
		t.Errorf("CheckTags(129 tags) = %v; want the per-object limit", err)
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	edgerc := "[default]\nhost = akab-default.luna.akamaiapis.net\nclient_token = akab-ct\nclient_secret = c2VjcmV0\naccess_token = akab-at\n\n" +
		"[ccu]\nhost = akab-ccu.luna.akamaiapis.net\nclient_token = akab-ct2\nclient_secret = c2VjcmV0Mg==\naccess_token = akab-at2\naccount_key = B-C-1ABCD\n\n" +
		"[partial]\nhost = akab-p.luna.akamaiapis.net\nclient_token = akab-ct3\n"
	if err := os.WriteFile(filepath.Join(dir, ".edgerc"), []byte(edgerc), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.edgerc")
	if err := os.WriteFile(other, []byte(strings.ReplaceAll(edgerc, "akab-ccu", "akab-other")), 0o600); err != nil {
		t.Fatal(err)
	}
	home := func() (string, error) { return dir, nil }
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	allEnv := map[string]string{"AKAMAI_HOST": "akab-env.luna.akamaiapis.net", "AKAMAI_CLIENT_TOKEN": "akab-env-client-token", "AKAMAI_CLIENT_SECRET": "ZW52LXNlY3JldA==", "AKAMAI_ACCESS_TOKEN": "akab-env-access-token"}
	for _, c := range []struct {
		name       string
		o          CredentialOptions
		host, src  string
		accountKey string
		err        string
	}{
		{name: "default file and section", o: CredentialOptions{LookupEnv: env(nil)}, host: "akab-default.luna.akamaiapis.net", src: "~/.edgerc [default]"},
		{name: "section from the entry", o: CredentialOptions{Section: "ccu", LookupEnv: env(allEnv)}, host: "akab-ccu.luna.akamaiapis.net", src: "~/.edgerc [ccu]", accountKey: "B-C-1ABCD"},
		{name: "AKAMAI_EDGERC and AKAMAI_EDGERC_SECTION", o: CredentialOptions{LookupEnv: env(map[string]string{"AKAMAI_EDGERC": other, "AKAMAI_EDGERC_SECTION": "ccu"})}, host: "akab-other.luna.akamaiapis.net", src: other + " [ccu]", accountKey: "B-C-1ABCD"},
		{name: "environment credentials", o: CredentialOptions{LookupEnv: env(allEnv)}, host: "akab-env.luna.akamaiapis.net", src: "AKAMAI_* environment variables"},
		{name: "some environment credentials", o: CredentialOptions{LookupEnv: env(map[string]string{"AKAMAI_HOST": "h"})}, err: "AKAMAI_HOST set but not AKAMAI_CLIENT_TOKEN, AKAMAI_CLIENT_SECRET, AKAMAI_ACCESS_TOKEN"},
		{name: "no such section", o: CredentialOptions{Section: "nosuch", LookupEnv: env(nil)}, err: "~/.edgerc [nosuch]"},
		{name: "incomplete section", o: CredentialOptions{Section: "partial", LookupEnv: env(nil)}, err: `"client_secret"`},
		{name: "no file", o: CredentialOptions{Edgerc: filepath.Join(dir, "missing"), LookupEnv: env(nil)}, err: "no credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.Home = home
			got, err := LoadCredentials(c.o)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("LoadCredentials = %+v, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got.Host != c.host || got.Source != c.src || got.AccountKey != c.accountKey {
				t.Fatalf("LoadCredentials = %+v, %v; want host %s from %s", got, err, c.host, c.src)
			}
			printed := fmt.Sprintf("%v %+v", got, got)
			raw, _ := json.Marshal(got)
			for _, secret := range []string{got.ClientSecret.Reveal(), got.ClientToken.Reveal(), got.AccessToken.Reveal()} {
				if strings.Contains(printed+string(raw), secret) {
					t.Errorf("a credential prints: %s %s", printed, raw)
				}
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Network: "prod"},
		{Method: "purge"},
		{CPCodes: []int{-1}},
		{Hostnames: []string{"www.example.com/"}},
		{BaseURL: "ftp://x"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// TestARLsAreURLs: an ARL is sent like a URL; an entry without hostnames
// takes it (one with hostnames refuses it: its host is not the site's).
func TestARLsAreURLs(t *testing.T) {
	f, clk := newFake(t)
	f.Hostnames = nil
	p := newTestPurger(t, f, clk, func(c *Config) { c.Hostnames = nil })
	arl := "http://a123.g.akamai.net/7/123/1234/abc123/www.example.com/img/logo.png"
	if _, err := purge(t, p, providers.PurgeRequest{URLs: []string{arl}}); err != nil {
		t.Fatal(err)
	}
	if got := f.Purges(); len(got) != 1 || got[0].Type != "url" || !slices.Equal(got[0].Objects, []string{arl}) {
		t.Errorf("purges %+v; want the ARL as a url object", got)
	}
	q := newTestPurger(t, f, clk, nil)
	if _, err := q.Plan(providers.PurgeRequest{URLs: []string{arl}}); !errors.Is(err, providers.ErrInvalidPurge) {
		t.Errorf("Plan(ARL) with hostnames = %v; want refused", err)
	}
}
