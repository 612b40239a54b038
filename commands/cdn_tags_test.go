package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/s3/s3test"
)

// TestFingerprintRefusesTagsACDNCannotMatch: a rule's tag that a
// configured CDN cannot match is refused before anything is built, with
// the CDN's rule; without such a CDN it is accepted.
func TestFingerprintRefusesTagsACDNCannotMatch(t *testing.T) {
	src := writeSite(t, map[string]string{"index.html": "<p>hi</p>"})
	for _, c := range []struct {
		name, cdn, tag string
		code           int
		want           string
	}{
		{"cloudfront, non-ASCII", "    provider: cloudfront\n    distribution_id: E2QWRUHAPOMQZL\n", "café", ExitUsage,
			`rules[0].tags[0]: cdns entry prod (cloudfront) cannot match this tag: "café": a CloudFront cache tag is visible ASCII (33–126) without commas`},
		{"cloudflare, non-ASCII", "    provider: cloudflare\n    zone_id: 023e105f4ecef8ad9ca31a8372d0c353\n", "café", ExitUsage, "a Cloudflare cache tag is printable ASCII"},
		{"fastly, non-ASCII", "    provider: fastly\n    service_id: SU1Z0isxPaozGVKXdv0eY\n", "café", ExitUsage, "a Fastly surrogate key is printable ASCII without spaces"},
		{"akamai, colon", "    provider: akamai\n", "product:42", ExitUsage, "an Akamai cache tag holds only letters, digits and"},
		{"cloudfront, colon is fine", "    provider: cloudfront\n    distribution_id: E2QWRUHAPOMQZL\n", "product:42", 0, ""},
		{"local edge only", "    provider: local\n", "café", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "cdnctl.yaml")
			yaml := "fingerprint:\n  rules:\n    - match: [\"*.html\"]\n      tags: [\"" + c.tag + "\"]\ncdns:\n  - name: prod\n" + c.cdn
			if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := runCLI(t, nil, "--config", cfg, "fingerprint", src, "--out", out)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if _, err := os.Stat(out); c.code != 0 && !os.IsNotExist(err) {
				t.Errorf("a refused fingerprint wrote %s", out)
			}
		})
	}
}

// objectHeaders reads the headers push recorded for key in a folder
// origin's object index.
func objectHeaders(t *testing.T, origin, key string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(origin, providers.StateDir, providers.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Objects map[string]struct {
			Headers map[string]string `json:"headers"`
			Tags    []string          `json:"tags"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatalf("object index: %v\n%s", err, raw)
	}
	o, ok := idx.Objects[key]
	if !ok {
		t.Fatalf("object index has no %s:\n%s", key, raw)
	}
	return o.Headers
}

// TestPushWritesTheTagHeadersOfTheCDNs: with Fastly and Akamai in front of
// the origin, tagged files carry Surrogate-Key and Edge-Cache-Tag (S3
// serves them as x-amz-meta-surrogate-key and x-amz-meta-edge-cache-tag,
// which the CDN configuration maps, see docs/providers); a tag one of the
// CDNs cannot match is refused before any upload.
func TestPushWritesTheTagHeadersOfTheCDNs(t *testing.T) {
	site := writeSite(t, map[string]string{"index.html": "<p>hi</p>", "app.css": "p{}"})
	origin := filepath.Join(t.TempDir(), "origin")
	dir := t.TempDir()
	cdns := "cdns:\n  - name: f\n    provider: fastly\n    service_id: SU1Z0isxPaozGVKXdv0eY\n  - name: a\n    provider: akamai\n"
	write := func(tags, cdns string) {
		yaml := "origin:\n  rules:\n    - match: \"*.html\"\n      tags: [" + tags + "]\n" + cdns
		if err := os.WriteFile(filepath.Join(dir, "cdnctl.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pages, home", cdns)
	if code, _, stderr := runPushCLI(t, dir, nil, "push", site, "--to", "file://"+origin); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	want := map[string]string{"Surrogate-Key": "home pages", "Edge-Cache-Tag": "home, pages"}
	if got := objectHeaders(t, origin, "index.html"); got["Surrogate-Key"] != want["Surrogate-Key"] || got["Edge-Cache-Tag"] != want["Edge-Cache-Tag"] {
		t.Errorf("index.html headers %v; want %v", got, want)
	}
	if got := objectHeaders(t, origin, "app.css"); len(got) != 0 {
		t.Errorf("untagged app.css got headers %v", got)
	}
	// The same again: nothing to do.
	code, stdout, stderr := runPushCLI(t, dir, nil, "--json", "push", site, "--to", "file://"+origin)
	if code != 0 || !strings.Contains(stdout, `"uploaded": 0`) {
		t.Errorf("second push: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Without Fastly, the Surrogate-Key header goes (a metadata update).
	write("pages, home", "cdns:\n  - name: a\n    provider: akamai\n")
	if code, _, stderr := runPushCLI(t, dir, nil, "push", site, "--to", "file://"+origin); code != 0 {
		t.Fatalf("push without fastly: exit %d\n%s", code, stderr)
	}
	if got := objectHeaders(t, origin, "index.html"); got["Surrogate-Key"] != "" || got["Edge-Cache-Tag"] != "home, pages" {
		t.Errorf("after removing fastly, index.html headers %v; want Edge-Cache-Tag only", got)
	}
	// A tag Akamai cannot match: refused, nothing uploaded.
	write("\"product:42\"", cdns)
	before, _ := os.ReadFile(filepath.Join(origin, providers.StateDir, providers.IndexName))
	code, _, stderr = runPushCLI(t, dir, nil, "push", site, "--to", "file://"+origin)
	if code == 0 || !strings.Contains(stderr, "index.html: cdns entry a (akamai) cannot match this tag") {
		t.Errorf("push with tag product:42 and Akamai: exit %d, %s; want refused naming the file and the CDN", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(origin, providers.StateDir, providers.IndexName))
	if string(before) != string(after) {
		t.Error("a refused push changed the origin")
	}
}

// TestPushS3WritesTagMetadata: on a real S3 server (versitygw) the tag
// headers become the user metadata S3 serves as x-amz-meta-surrogate-key
// and x-amz-meta-edge-cache-tag, which the Fastly and Akamai
// configurations in docs/providers map to Surrogate-Key and
// Edge-Cache-Tag.
func TestPushS3WritesTagMetadata(t *testing.T) {
	srv, bucket := s3EnvBucket(t, "tags")
	site := writeSite(t, map[string]string{"index.html": "<p>hi</p>"})
	dir := t.TempDir()
	yaml := "origin:\n  rules:\n    - match: \"*.html\"\n      tags: [pages, home]\n" +
		"cdns:\n  - name: f\n    provider: fastly\n    service_id: SU1Z0isxPaozGVKXdv0eY\n  - name: a\n    provider: akamai\n"
	if err := os.WriteFile(filepath.Join(dir, "cdnctl.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runPushCLI(t, dir, nil, "push", site, "--to", "s3://"+bucket+"/www", "--endpoint", srv.Endpoint, "--region", s3test.Region)
	if code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	head, err := srv.Client(nil).HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("www/index.html")})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for k, v := range head.Metadata {
		meta[strings.ToLower(k)] = v
	}
	if meta["surrogate-key"] != "home pages" || meta["edge-cache-tag"] != "home, pages" || meta["cdnctl-tags"] != "home,pages" {
		t.Errorf("user metadata %v; want surrogate-key \"home pages\", edge-cache-tag \"home, pages\" and cdnctl-tags", meta)
	}
}
