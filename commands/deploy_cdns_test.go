package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/akamai/akamaitest"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/fastly/fastlytest"
	"github.com/cdnctl/cdnctl/sample"
)

// TestDeployToFastlyAndAkamai runs cdnctl deploy end to end with a Fastly
// service and Akamai in front of a folder origin, both strict fakes of
// their APIs: a changed page is purged by URL from both, then by tag; the
// tagged files carry the headers each CDN reads tags from.
func TestDeployToFastlyAndAkamai(t *testing.T) {
	dir := t.TempDir()
	site, origin := filepath.Join(dir, "public"), filepath.Join(dir, "origin")
	if err := os.CopyFS(site, sample.Site()); err != nil {
		t.Fatal(err)
	}
	fst := fastlytest.New(t, fastlyService, fastlyToken)
	ak := akamaitest.New(t, akamaiTestCreds)
	ak.EstimatedSeconds = 1
	ak.Hostnames = []string{"www.example.com"}
	edgerc := writeEdgerc(t, ak, "ccu")
	config := filepath.Join(dir, "cdnctl.yaml")
	yaml := fmt.Sprintf(`origin:
  target: file://%s
deploy:
  site: %s
  out: %s
  wait: true
  prewarm: {enabled: false}
  verify: {enabled: false}
fingerprint:
  rules:
    - match: ["*.html"]
      tags: [pages]
cdns:
  - name: edge
    provider: fastly
    service_id: %s
    hostnames: [www.example.com]
    endpoint: %s
  - name: ak
    provider: akamai
    hostnames: [www.example.com]
    edgerc: %s
    section: ccu
    endpoint: %s
`, origin, site, filepath.Join(dir, "build"), fastlyService, fst.URL, edgerc, ak.URL)
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FASTLY_API_TOKEN": fastlyToken}
	run := func(t *testing.T) deploy.Report {
		t.Helper()
		code, out, errOut := runPushCLI(t, "", env, "--config", config, "--json", "deploy", "--yes")
		if code != 0 {
			t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errOut)
		}
		if strings.Contains(out+errOut, fastlyToken) || strings.Contains(out+errOut, akamaiTestCreds.ClientSecret) {
			t.Fatal("a credential was printed")
		}
		return decodeReport(t, out)
	}
	edit := func(t *testing.T, text string) {
		t.Helper()
		p := filepath.Join(site, "about", "index.html")
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "</h1>", " "+text+"</h1>", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	purges := func(rep deploy.Report) map[string]deploy.Purge {
		m := map[string]deploy.Purge{}
		for _, p := range rep.Step(deploy.StepPurge).Purges {
			m[p.CDN] = p
		}
		return m
	}

	run(t) // the first deploy
	if h := objectHeaders(t, origin, "about/index.html"); h["Surrogate-Key"] != "pages" || h["Edge-Cache-Tag"] != "pages" {
		t.Errorf("about/index.html headers %v; want Surrogate-Key and Edge-Cache-Tag: pages", h)
	}

	// A page changes: every HTML file carries the tag, so auto purges the
	// page by URL at both CDNs.
	edit(t, "v2")
	nf, na := len(fst.Purges()), len(ak.Purges())
	rep := run(t)
	p := purges(rep)
	for _, name := range []string{"edge", "ak"} {
		if p[name].By != deploy.PurgeURLs || p[name].Record.Status != providers.PurgeCompleted {
			t.Errorf("%s: purge by %s, %s; want by URL, completed", name, p[name].By, p[name].Record.Status)
		}
	}
	var urls []string
	for _, pu := range fst.Purges()[nf:] {
		if pu.Kind != "url" {
			t.Errorf("fastly purge %+v; want URL purges", pu)
		}
		urls = append(urls, pu.Item)
	}
	slices.Sort(urls)
	if want := []string{"www.example.com/about/", "www.example.com/about/index.html", "www.example.com/cdnctl-manifest.json"}; !slices.Equal(urls, want) {
		t.Errorf("fastly purged %v; want %v", urls, want)
	}
	newAk := ak.Purges()[na:]
	if len(newAk) != 1 || newAk[0].Type != "url" || newAk[0].Method != "invalidate" || !slices.Contains(newAk[0].Objects, "https://www.example.com/about/") {
		t.Errorf("akamai purges %+v; want one URL invalidation with /about/", newAk)
	}
	if !p["ak"].Waited || !slices.ContainsFunc(p["ak"].Record.Notes, func(n string) bool { return strings.Contains(n, "Akamai's estimate") }) {
		t.Errorf("akamai purge %+v; want the wait step to have slept the estimate and said so", p["ak"])
	}

	// By tag, as configured: the tag goes to both, the untagged manifest
	// by URL.
	env["CDNCTL_DEPLOY_PURGE_BY"] = "tags"
	edit(t, "v3")
	nf, na = len(fst.Purges()), len(ak.Purges())
	p = purges(run(t))
	for _, name := range []string{"edge", "ak"} {
		if p[name].By != deploy.PurgeTags || !slices.Equal(p[name].Tags, []string{"pages"}) || p[name].Record.Status != providers.PurgeCompleted {
			t.Errorf("%s: purge %+v; want by tag pages, completed", name, p[name])
		}
	}
	var keys, fURLs []string
	for _, pu := range fst.Purges()[nf:] {
		switch pu.Kind {
		case "key":
			keys = append(keys, pu.Item)
		case "url":
			fURLs = append(fURLs, pu.Item)
		}
	}
	if !slices.Equal(keys, []string{"pages"}) || !slices.Equal(fURLs, []string{"www.example.com/cdnctl-manifest.json"}) {
		t.Errorf("fastly purged keys %v, URLs %v; want key pages and the manifest's URL", keys, fURLs)
	}
	var types []string
	for _, pu := range ak.Purges()[na:] {
		types = append(types, pu.Type+":"+strings.Join(pu.Objects, ","))
	}
	if !slices.Equal(types, []string{"url:https://www.example.com/cdnctl-manifest.json", "tag:pages"}) {
		t.Errorf("akamai purges %v; want the manifest's URL and tag pages", types)
	}
}
