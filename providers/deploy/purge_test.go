package deploy

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/cdnctl/cdnctl/providers"
)

// recordingPurger plans what it is asked, refusing tags when noTags is
// set, and remembers the requests.
type recordingPurger struct {
	noTags bool
	reqs   []providers.PurgeRequest
}

func (r *recordingPurger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	r.reqs = append(r.reqs, req)
	if r.noTags && len(req.Tags) > 0 {
		return nil, providers.NotSupported("fake", "purge by tag", "")
	}
	rec := &providers.PurgeRecord{Provider: "fake", Status: providers.PurgePlanned}
	if len(req.Keys) > 0 {
		rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: providers.KindFiles, Items: req.Keys, Status: providers.PurgePlanned})
	}
	if len(req.Tags) > 0 {
		rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: providers.KindTags, Items: req.Tags, Status: providers.PurgePlanned})
	}
	return rec, nil
}

func (r *recordingPurger) Purge(context.Context, *providers.PurgeRecord) error {
	return errors.New("not used")
}

func TestPlanPurge(t *testing.T) {
	// Every page has a tag of its own; "shared" is also on an unchanged
	// file.
	tagsOf := map[string][]string{
		"index.html":       {"page-home"},
		"about/index.html": {"page-about"},
		"blog/index.html":  {"page-blog", "shared"},
		"robots.txt":       nil,
		"contact.html":     {"shared"},
	}
	for _, tc := range []struct {
		name    string
		by      string
		keys    []string
		noTags  bool
		prefix  string
		wantBy  string
		wantReq providers.PurgeRequest
	}{
		{"auto: precise tags, fewer than URLs", PurgeAuto, []string{"about/index.html", "index.html"}, false, "",
			PurgeTags, providers.PurgeRequest{Tags: []string{"page-about", "page-home"}}},
		{"auto: a tag shared with an unchanged file", PurgeAuto, []string{"blog/index.html"}, false, "",
			PurgeURLs, providers.PurgeRequest{Keys: []string{"blog/index.html"}}},
		{"auto: an untagged file", PurgeAuto, []string{"index.html", "robots.txt"}, false, "",
			PurgeURLs, providers.PurgeRequest{Keys: []string{"index.html", "robots.txt"}}},
		{"urls", PurgeURLs, []string{"about/index.html"}, false, "www",
			PurgeURLs, providers.PurgeRequest{Keys: []string{"www/about/index.html"}}},
		{"tags asked, untagged by URL", PurgeTags, []string{"blog/index.html", "robots.txt"}, false, "",
			PurgeTags, providers.PurgeRequest{Tags: []string{"page-blog", "shared"}, Keys: []string{"robots.txt"}}},
		{"auto: the provider cannot purge tags", PurgeAuto, []string{"about/index.html", "index.html"}, true, "",
			PurgeURLs, providers.PurgeRequest{Keys: []string{"about/index.html", "index.html"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := &recordingPurger{noTags: tc.noTags}
			d := New(Config{KeyPrefix: tc.prefix})
			pu, err := d.planPurge(CDN{Name: "x", Purger: rp, PurgeBy: tc.by}, tc.keys, tagsOf)
			if err != nil {
				t.Fatal(err)
			}
			got := rp.reqs[len(rp.reqs)-1]
			if pu.By != tc.wantBy || !slices.Equal(got.Tags, tc.wantReq.Tags) || !slices.Equal(got.Keys, tc.wantReq.Keys) {
				t.Errorf("by %s, request %+v (%s); want by %s, %+v", pu.By, got, pu.Why, tc.wantBy, tc.wantReq)
			}
			if pu.Record == nil || pu.Why == "" {
				t.Errorf("purge = %+v; want a planned record and a reason", pu)
			}
		})
	}
	// Nothing changed: nothing planned.
	rp := &recordingPurger{}
	pu, err := New(Config{}).planPurge(CDN{Name: "x", Purger: rp}, nil, tagsOf)
	if err != nil || pu.Record != nil || len(rp.reqs) != 0 || pu.Keys == nil {
		t.Errorf("no keys: %+v, %v; want no request", pu, err)
	}
}
