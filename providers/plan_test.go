package providers

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
)

// Fixtures: two bodies and their hashes.
var (
	bodyA = "body A"
	bodyB = "body B!"
	shaA  = sum256(bodyA)
	md5A  = sumMD5(bodyA)
	md5B  = sumMD5(bodyB)
	t0    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

func sum256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func sumMD5(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

var metaCSS = Metadata{ContentType: "text/css; charset=utf-8", CacheControl: CacheControlImmutable}

type readSeekNopCloser struct{ *strings.Reader }

func (readSeekNopCloser) Close() error { return nil }

// file builds a local file with body; md5Calls counts how often its MD5 is
// computed.
func file(key, body string, meta Metadata, fp bool) *LocalFile {
	return &LocalFile{
		Key: key, SHA256: sum256(body), Size: int64(len(body)), Meta: meta, Fingerprinted: fp,
		Open: func() (io.ReadSeekCloser, error) { return readSeekNopCloser{strings.NewReader(body)}, nil },
	}
}

func remoteOf(key, body string, meta Metadata) RemoteObject {
	return RemoteObject{Key: key, Size: int64(len(body)), ETag: sumMD5(body), SHA256: sum256(body), Meta: meta, MetaKnown: true}
}

// foreign is an object written by another tool: only what a listing shows.
func foreign(key, body, etag string) RemoteObject {
	return RemoteObject{Key: key, Size: int64(len(body)), ETag: etag}
}

// withMD5 adds the MD5 a store read from metadata (rclone's md5chksum).
func withMD5(o RemoteObject, md5 string) RemoteObject {
	o.MD5 = md5
	return o
}

func TestPlanLocalFileReasons(t *testing.T) {
	htmlMeta := Metadata{ContentType: "text/html; charset=utf-8", CacheControl: CacheControlEntryPoint}
	with := func(m Metadata, f func(*Metadata)) Metadata { f(&m); return m }
	tests := []struct {
		name       string
		local      *LocalFile
		remote     []RemoteObject
		force      bool
		wantOp     Op
		wantReason Reason
		wantDetail string // substring
	}{
		{"new: no object at the key", file("a.css", bodyA, metaCSS, false), nil, false, OpUpload, ReasonNew, ""},
		{"force: identical object", file("a.css", bodyA, metaCSS, false), []RemoteObject{remoteOf("a.css", bodyA, metaCSS)}, true, OpUpload, ReasonForce, ""},
		{"size differs", file("a.css", bodyB, metaCSS, false), []RemoteObject{remoteOf("a.css", bodyA, metaCSS)}, false, OpUpload, ReasonSizeChanged, "6 → 7 bytes"},
		{"recorded sha256 differs, same size", file("a.css", "body C", metaCSS, false), []RemoteObject{remoteOf("a.css", bodyA, metaCSS)}, false, OpUpload, ReasonContentChanged, "sha256"},
		{"no recorded hash, ETag md5 differs", file("a.css", "body C", metaCSS, false), []RemoteObject{foreign("a.css", bodyA, md5A)}, false, OpUpload, ReasonETagChanged, "md5"},
		{"no recorded hash, quoted upper-case ETag differs", file("a.css", "body C", metaCSS, false), []RemoteObject{foreign("a.css", bodyA, `"`+strings.ToUpper(md5A)+`"`)}, false, OpUpload, ReasonETagChanged, ""},
		{"no recorded hash, multipart ETag", file("a.css", bodyA, metaCSS, false), []RemoteObject{foreign("a.css", bodyA, md5A+"-2")}, false, OpUpload, ReasonUnverifiable, "without md5chksum"},
		{"no recorded hash, KMS-like ETag", file("a.css", bodyA, metaCSS, false), []RemoteObject{foreign("a.css", bodyA, "abc")}, false, OpUpload, ReasonUnverifiable, "not an MD5"},
		{"no recorded hash, no ETag", file("a.css", bodyA, metaCSS, false), []RemoteObject{foreign("a.css", bodyA, "")}, false, OpUpload, ReasonUnverifiable, "no ETag"},
		{"multipart ETag, md5chksum matches", file("a.css", bodyA, metaCSS, false), []RemoteObject{withMD5(foreign("a.css", bodyA, md5A+"-2"), sumMD5(bodyA))}, false, OpUpdate, ReasonMetadataUnknown, "MD5"},
		{"multipart ETag, md5chksum differs", file("a.css", "body C", metaCSS, false), []RemoteObject{withMD5(foreign("a.css", bodyA, md5A+"-2"), sumMD5(bodyA))}, false, OpUpload, ReasonETagChanged, "md5"},
		{"multipart ETag, md5chksum not an MD5", file("a.css", bodyA, metaCSS, false), []RemoteObject{withMD5(foreign("a.css", bodyA, md5A+"-2"), "zz")}, false, OpUpload, ReasonUnverifiable, "md5chksum"},
		{"MD5 ETag wins over md5chksum", file("a.css", bodyA, metaCSS, false), []RemoteObject{withMD5(foreign("a.css", bodyA, md5A), sumMD5("other"))}, false, OpUpdate, ReasonMetadataUnknown, ""},
		{"no recorded hash, ETag md5 matches, headers unknown", file("a.css", bodyA, metaCSS, false), []RemoteObject{foreign("a.css", bodyA, md5A)}, false, OpUpdate, ReasonMetadataUnknown, "matches by MD5"},
		{"no recorded hash, md5 matches, headers known and equal", file("a.css", bodyA, metaCSS, false),
			[]RemoteObject{{Key: "a.css", Size: 6, ETag: md5A, Meta: metaCSS, MetaKnown: true}}, false, OpUpdate, ReasonMetadataUnknown, "recording hash"},
		{"no recorded hash, md5 matches, cache-control differs", file("a.css", bodyA, metaCSS, false),
			[]RemoteObject{{Key: "a.css", Size: 6, ETag: md5A, Meta: with(metaCSS, func(m *Metadata) { m.CacheControl = "max-age=60" }), MetaKnown: true}}, false, OpUpdate, ReasonCacheControlChanged, `"max-age=60" → "public, max-age=31536000, immutable"`},
		{"hash recorded, headers not recorded", file("a.css", bodyA, metaCSS, false), []RemoteObject{{Key: "a.css", Size: 6, SHA256: shaA}}, false, OpUpdate, ReasonMetadataUnknown, "not recorded"},
		{"content type differs", file("a.css", bodyA, metaCSS, false),
			[]RemoteObject{remoteOf("a.css", bodyA, with(metaCSS, func(m *Metadata) { m.ContentType = "text/plain" }))}, false, OpUpdate, ReasonContentTypeChanged, "content-type"},
		{"cache control differs", file("index.html", bodyA, htmlMeta, false),
			[]RemoteObject{remoteOf("index.html", bodyA, with(htmlMeta, func(m *Metadata) { m.CacheControl = "public, max-age=60" }))}, false, OpUpdate, ReasonCacheControlChanged, "cache-control"},
		{"content encoding differs", file("a.css.br", bodyA, with(metaCSS, func(m *Metadata) { m.ContentEncoding = "br" }), false),
			[]RemoteObject{remoteOf("a.css.br", bodyA, metaCSS)}, false, OpUpdate, ReasonContentEncodingChanged, "content-encoding"},
		{"tags differ", file("a.css", bodyA, with(metaCSS, func(m *Metadata) { m.Tags = []string{"css", "v2"} }), false),
			[]RemoteObject{remoteOf("a.css", bodyA, with(metaCSS, func(m *Metadata) { m.Tags = []string{"css"} }))}, false, OpUpdate, ReasonTagsChanged, "tags"},
		{"extra headers differ", file("a.pdf", bodyA, Metadata{ContentType: "application/pdf", CacheControl: "public", Headers: map[string]string{"Content-Disposition": "attachment"}}, false),
			[]RemoteObject{remoteOf("a.pdf", bodyA, Metadata{ContentType: "application/pdf", CacheControl: "public"})}, false, OpUpdate, ReasonHeadersChanged, "headers"},
		{"two headers differ: first named, both detailed", file("a.css", bodyA, Metadata{ContentType: "text/css", CacheControl: "no-cache"}, false),
			[]RemoteObject{remoteOf("a.css", bodyA, metaCSS)}, false, OpUpdate, ReasonContentTypeChanged, "; cache-control"},
		{"unchanged", file("a.css", bodyA, metaCSS, false), []RemoteObject{remoteOf("a.css", bodyA, metaCSS)}, false, OpKeep, ReasonUnchanged, ""},
		{"unchanged: tag order and header case do not matter", file("a.css", bodyA, Metadata{ContentType: "text/css", CacheControl: "x", Tags: []string{"b", "a", "a"}, Headers: map[string]string{"x-foo": "1"}}, false),
			[]RemoteObject{remoteOf("a.css", bodyA, Metadata{ContentType: "text/css", CacheControl: "x", Tags: []string{"a", "b"}, Headers: map[string]string{"X-Foo": "1"}})}, false, OpKeep, ReasonUnchanged, ""},
		{"unchanged: recorded hash in upper case", file("a.css", bodyA, metaCSS, false),
			[]RemoteObject{{Key: "a.css", Size: 6, SHA256: strings.ToUpper(shaA), Meta: metaCSS, MetaKnown: true}}, false, OpKeep, ReasonUnchanged, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultPlanOptions()
			opts.Force = tt.force
			p, err := ComputePlan(PlanInput{Local: []*LocalFile{tt.local}, Remote: tt.remote, Now: t0, Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			c := findChange(t, p, tt.local.Key)
			if c.Op != tt.wantOp || c.Reason != tt.wantReason {
				t.Errorf("change = %s/%s (%s); want %s/%s", c.Op, c.Reason, c.Detail, tt.wantOp, tt.wantReason)
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("detail = %q; want it to contain %q", c.Detail, tt.wantDetail)
			}
			if c.File != tt.local {
				t.Errorf("change.File = %p; want the local file %p", c.File, tt.local)
			}
		})
	}
}

func findChange(t *testing.T, p *Plan, key string) Change {
	t.Helper()
	for _, c := range p.Changes {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("plan has no change for %q: %+v", key, p.Changes)
	return Change{}
}

func TestPlanMD5IsLazy(t *testing.T) {
	calls := 0
	mk := func(key string) *LocalFile {
		f := file(key, bodyA, metaCSS, false)
		f.MD5 = func() (string, error) { calls++; return md5A, nil }
		return f
	}
	local := []*LocalFile{mk("new.css"), mk("known.css"), mk("bigger.css"), mk("foreign.css")}
	remote := []RemoteObject{
		remoteOf("known.css", bodyA, metaCSS),
		foreign("bigger.css", bodyB, md5B),
		foreign("foreign.css", bodyA, md5A),
	}
	if _, err := ComputePlan(PlanInput{Local: local, Remote: remote, Now: t0, Options: DefaultPlanOptions()}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("MD5 computed %d times; want 1 (only for the same-size object without a recorded hash)", calls)
	}

	failing := file("x.css", bodyA, metaCSS, false)
	failing.MD5 = func() (string, error) { return "", errors.New("disk on fire") }
	_, err := ComputePlan(PlanInput{Local: []*LocalFile{failing}, Remote: []RemoteObject{foreign("x.css", bodyA, md5A)}, Now: t0, Options: DefaultPlanOptions()})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "x.css") {
		t.Errorf("MD5 error = %v; want it to name the key and the cause", err)
	}
}

func TestPlanMD5FromOpen(t *testing.T) {
	f := file("a.css", bodyA, metaCSS, false) // MD5 nil: computed from Open
	p, err := ComputePlan(PlanInput{Local: []*LocalFile{f}, Remote: []RemoteObject{foreign("a.css", bodyA, md5A)}, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if c := findChange(t, p, "a.css"); c.Op != OpUpdate {
		t.Errorf("op = %s; want update (body equal by MD5 computed from Open)", c.Op)
	}
}

func TestPlanOrphanReasons(t *testing.T) {
	day := 24 * time.Hour
	// hist has deploys 1..4 recorded; the next is 5.
	hist := func(assets map[string]Asset) *History {
		h := NewHistory()
		for i := 1; i <= 4; i++ {
			h.Deploys = append(h.Deploys, DeployRecord{Seq: i, ID: "d" + string(rune('0'+i)), ContentDigest: "sha256:old"})
		}
		for k, v := range assets {
			h.Assets[k] = v
		}
		return h
	}
	immutable := Metadata{ContentType: "text/css", CacheControl: CacheControlImmutable}
	plain := Metadata{ContentType: "text/css", CacheControl: "public, max-age=300"}
	tests := []struct {
		name       string
		remote     RemoteObject
		history    *History
		opts       func(*PlanOptions)
		wantOp     Op
		wantReason Reason
		wantDetail string
	}{
		{"plain orphan is deleted", remoteOf("old.css", bodyA, plain), hist(nil), nil, OpDelete, ReasonOrphan, ""},
		{"foreign plain orphan is deleted", foreign("old.txt", bodyA, md5A), hist(nil), nil, OpDelete, ReasonOrphan, ""},
		{"protected prefix is retained", remoteOf("shared/old.css", bodyA, plain), hist(nil), func(o *PlanOptions) { o.Protected = []string{"shared/"} }, OpRetain, ReasonProtected, ""},
		{"protected prefix with leading slash", remoteOf("shared/old.css", bodyA, plain), hist(nil), func(o *PlanOptions) { o.Protected = []string{"/shared/"} }, OpRetain, ReasonProtected, ""},
		{"protection is a prefix, not a substring", remoteOf("other/shared/old.css", bodyA, plain), hist(nil), func(o *PlanOptions) { o.Protected = []string{"shared/"} }, OpDelete, ReasonOrphan, ""},
		{"asset just unreferenced is retained", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 4}}), nil, OpRetain, ReasonRetention, "unreferenced for 1 of 3 deploys"},
		{"asset unreferenced for 3 deploys but 1 day is retained", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 2, UnreferencedSince: t0.Add(-day)}}), nil, OpRetain, ReasonRetention, "3 of 3 deploys, 24h0m0s of 168h0m0s"},
		{"asset unreferenced for 8 days but 2 deploys is retained", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 3, UnreferencedSince: t0.Add(-8 * day)}}), nil, OpRetain, ReasonRetention, "2 of 3 deploys"},
		{"asset unreferenced for 3 deploys and 7 days is deleted", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 2, UnreferencedSince: t0.Add(-7 * day)}}), nil, OpDelete, ReasonExpired, "3 of 3 deploys"},
		{"zero retention deletes at once", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 4}}), func(o *PlanOptions) { o.Retention = Retention{} }, OpDelete, ReasonExpired, ""},
		{"deploys only: 1 deploy", remoteOf("app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"app.0c1d2e3f4a.css": {LastDeploy: 4}}), func(o *PlanOptions) { o.Retention = Retention{Deploys: 1} }, OpDelete, ReasonExpired, ""},
		{"asset unknown to history, hashed name: clock starts", remoteOf("app.0c1d2e3f4a.css", bodyA, plain), hist(nil), nil, OpRetain, ReasonRetention, "1 of 3 deploys, 0s"},
		{"asset unknown to history, immutable header: clock starts", remoteOf("logo.png", bodyA, immutable), hist(nil), nil, OpRetain, ReasonRetention, ""},
		{"history knows it as an asset although the name has no hash", remoteOf("logo.png", bodyA, plain),
			hist(map[string]Asset{"logo.png": {LastDeploy: 4}}), nil, OpRetain, ReasonRetention, ""},
		{"foreign object with hashed name is retained", foreign("app-0badc0de42.js", bodyA, md5A), hist(nil), nil, OpRetain, ReasonRetention, ""},
		{"protection beats retention expiry", remoteOf("shared/app.0c1d2e3f4a.css", bodyA, immutable),
			hist(map[string]Asset{"shared/app.0c1d2e3f4a.css": {LastDeploy: 1, UnreferencedSince: t0.Add(-30 * day)}}), func(o *PlanOptions) { o.Protected = []string{"shared/"} }, OpRetain, ReasonProtected, ""},
		{"max deletes 0 retains", remoteOf("old.css", bodyA, plain), hist(nil), func(o *PlanOptions) { o.MaxDeletes = 0 }, OpRetain, ReasonMaxDeletes, "exceed the limit of 0"},
		{"max deletes -1 is no limit", remoteOf("old.css", bodyA, plain), hist(nil), func(o *PlanOptions) { o.MaxDeletes = -1 }, OpDelete, ReasonOrphan, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultPlanOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			local := []*LocalFile{file("index.html", bodyA, Metadata{ContentType: "text/html"}, false)}
			p, err := ComputePlan(PlanInput{Local: local, Remote: []RemoteObject{tt.remote}, History: tt.history, Now: t0, Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			c := findChange(t, p, tt.remote.Key)
			if c.Op != tt.wantOp || c.Reason != tt.wantReason {
				t.Errorf("change = %s/%s (%s); want %s/%s", c.Op, c.Reason, c.Detail, tt.wantOp, tt.wantReason)
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("detail = %q; want it to contain %q", c.Detail, tt.wantDetail)
			}
			if c.Group != GroupDeletes {
				t.Errorf("group = %q; want %q", c.Group, GroupDeletes)
			}
			// History after the plan tracks retained assets and forgets
			// deleted ones.
			a, tracked := p.History.Assets[tt.remote.Key]
			switch {
			case c.Reason == ReasonRetention && (!tracked || a.UnreferencedSince.IsZero()):
				t.Errorf("retained asset history = %+v, %v; want tracked with its clock started", a, tracked)
			case c.Op == OpDelete && tracked:
				t.Errorf("deleted asset still in history: %+v", a)
			}
		})
	}
}

func TestPlanMaxDeletesSkipsAll(t *testing.T) {
	plain := Metadata{ContentType: "text/plain", CacheControl: "x"}
	var remote []RemoteObject
	for _, k := range []string{"a", "b", "c", "d"} {
		remote = append(remote, remoteOf(k+".txt", bodyA, plain))
	}
	for _, tt := range []struct {
		max        int
		wantDelete int
		wantRetain int
		warn       bool
	}{{3, 0, 4, true}, {4, 4, 0, false}, {-1, 4, 0, false}, {256, 4, 0, false}} {
		opts := DefaultPlanOptions()
		opts.MaxDeletes = tt.max
		p, err := ComputePlan(PlanInput{Remote: remote, Now: t0, Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		if p.Summary.Delete != tt.wantDelete || p.Summary.Retain != tt.wantRetain {
			t.Errorf("max %d: delete %d, retain %d; want %d, %d", tt.max, p.Summary.Delete, p.Summary.Retain, tt.wantDelete, tt.wantRetain)
		}
		if got := len(p.Warnings) > 0; got != tt.warn {
			t.Errorf("max %d: warnings %q; want a warning: %v", tt.max, p.Warnings, tt.warn)
		}
	}
}

func TestPlanOrder(t *testing.T) {
	order, err := hashing.CompileGlobs([]string{"fonts/**", "*.png"})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultPlanOptions()
	opts.Ordering.Order = order
	html := Metadata{ContentType: "text/html"}
	local := []*LocalFile{
		file("index.html", "1", html, false),
		file("index.html.br", "2", Metadata{ContentType: "text/html", ContentEncoding: "br"}, false),
		file("about/index.html", "3", html, false),
		file("cdnctl-manifest.json", "4", Metadata{ContentType: "application/json"}, false),
		file("robots.txt", "5", Metadata{ContentType: "text/plain"}, false),
		file("img/logo.png", "6", Metadata{ContentType: "image/png"}, false),
		file("fonts/a.woff2", "7", Metadata{ContentType: "font/woff2"}, false),
		file("css/app.3f9a1c0e2b.css", "8", metaCSS, true),
		file("css/app.3f9a1c0e2b.css.br", "9", metaCSS, true),
		file("js/app.0c1d2e3f4a.js", "10", Metadata{ContentType: "text/javascript"}, true),
	}
	remote := []RemoteObject{remoteOf("gone.txt", "x", Metadata{ContentType: "text/plain"})}
	p, err := ComputePlan(PlanInput{Local: local, Remote: remote, Now: t0, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	type kg struct {
		Key   string
		Group Group
	}
	var got []kg
	for _, c := range p.Changes {
		got = append(got, kg{c.Key, c.Group})
	}
	want := []kg{
		{"css/app.3f9a1c0e2b.css", GroupAssets},
		{"css/app.3f9a1c0e2b.css.br", GroupAssets},
		{"js/app.0c1d2e3f4a.js", GroupAssets},
		{"fonts/a.woff2", GroupOrdered},
		{"img/logo.png", GroupOrdered},
		{"robots.txt", GroupFiles},
		{"about/index.html", GroupEntryPoints},
		{"cdnctl-manifest.json", GroupEntryPoints},
		{"index.html", GroupEntryPoints},
		{"index.html.br", GroupEntryPoints},
		{"gone.txt", GroupDeletes},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan order (-want +got):\n%s", d)
	}
	for i := 1; i < len(p.Changes); i++ {
		if p.Changes[i].Stage < p.Changes[i-1].Stage {
			t.Errorf("stage of %s (%d) < stage of %s (%d)", p.Changes[i].Key, p.Changes[i].Stage, p.Changes[i-1].Key, p.Changes[i-1].Stage)
		}
	}
	if p.Changes[3].Stage == p.Changes[4].Stage {
		t.Errorf("fonts/** and *.png share stage %d; want one stage per order glob", p.Changes[3].Stage)
	}
}

func TestPlanSummaryAndRecord(t *testing.T) {
	meta := Metadata{ContentType: "text/plain", CacheControl: "x"}
	local := []*LocalFile{file("a.txt", bodyA, meta, false), file("b.txt", bodyB, meta, false)}
	remote := []RemoteObject{remoteOf("a.txt", bodyA, meta), remoteOf("old.txt", "12345", meta)}
	p, err := ComputePlan(PlanInput{Local: local, Remote: remote, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Files: 2, Bytes: 13, Upload: 1, UploadBytes: 7, Keep: 1, Delete: 1, DeleteBytes: 5}
	if d := cmp.Diff(want, p.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if !p.Record || p.Seq != 1 {
		t.Errorf("first deploy: record %v seq %d; want true 1", p.Record, p.Seq)
	}

	// Same files, store up to date, history's last deploy has this
	// content: nothing to record.
	h := NewHistory()
	h.Deploys = []DeployRecord{{Seq: 7, ID: "x", ContentDigest: ContentDigest(local)}}
	remote = []RemoteObject{remoteOf("a.txt", bodyA, meta), remoteOf("b.txt", bodyB, meta)}
	p, err = ComputePlan(PlanInput{Local: local, Remote: remote, History: h, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pending() || p.Record || p.HistoryChanged {
		t.Errorf("no-change push: pending %v record %v history changed %v; want all false", p.Pending(), p.Record, p.HistoryChanged)
	}

	// Store up to date but the last recorded deploy is another content
	// (an earlier run uploaded everything and failed to record): record.
	h.Deploys[0].ContentDigest = "sha256:other"
	p, err = ComputePlan(PlanInput{Local: local, Remote: remote, History: h, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pending() || !p.Record || p.Seq != 8 {
		t.Errorf("unrecorded content: pending %v record %v seq %d; want false true 8", p.Pending(), p.Record, p.Seq)
	}
}

func TestPlanHistoryTracksAssets(t *testing.T) {
	h := NewHistory()
	h.Deploys = []DeployRecord{{Seq: 1, ID: "a", ContentDigest: "sha256:x"}}
	h.Assets["gone.0c1d2e3f4a.css"] = Asset{LastDeploy: 1} // no longer in the store
	h.Assets["old.0c1d2e3f4a.css"] = Asset{LastDeploy: 1}
	local := []*LocalFile{file("new.3f9a1c0e2b.css", bodyA, metaCSS, true), file("index.html", bodyB, Metadata{}, false)}
	remote := []RemoteObject{remoteOf("old.0c1d2e3f4a.css", bodyA, metaCSS)}
	p, err := ComputePlan(PlanInput{Local: local, Remote: remote, History: h, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Asset{
		"new.3f9a1c0e2b.css": {LastDeploy: 2},
		"old.0c1d2e3f4a.css": {LastDeploy: 1, UnreferencedSince: t0},
	}
	if d := cmp.Diff(want, p.History.Assets); d != "" {
		t.Errorf("history assets (-want +got):\n%s", d)
	}
	if !p.HistoryChanged {
		t.Error("HistoryChanged = false; want true")
	}
	if _, ok := h.Assets["gone.0c1d2e3f4a.css"]; !ok {
		t.Error("ComputePlan modified its input history")
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	meta := Metadata{ContentType: "text/plain"}
	tests := []struct {
		name  string
		local []*LocalFile
		want  string
	}{
		{"duplicate key", []*LocalFile{file("a.txt", "1", meta, false), file("a.txt", "2", meta, false)}, `two files for key "a.txt"`},
		{"absolute key", []*LocalFile{file("/a.txt", "1", meta, false)}, "must be relative"},
		{"dot-dot", []*LocalFile{file("a/../b.txt", "1", meta, false)}, `".." segment`},
		{"state dir", []*LocalFile{file(".cdnctl/history.json", "1", meta, false)}, "reserved"},
		{"no hash", []*LocalFile{{Key: "a.txt"}}, "missing SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ComputePlan(PlanInput{Local: tt.local, Now: t0, Options: DefaultPlanOptions()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFingerprintedName(t *testing.T) {
	tests := map[string]bool{
		"app.3f9a1c0e.js":            true,
		"css/app.3f9a1c0e2b.css":     true,
		"css/app.3f9a1c0e2b.css.br":  true,
		"logo-0badc0de42.png":        true,
		"chunk_deadbeef1.js":         true,
		"app.js":                     false,
		"report.20231123.pdf":        false, // digits only
		"deadbeefcafe.txt":           false, // letters only
		"app.3f9a1c0.js":             false, // 7 digits
		"app.3F9A1C0E.js":            false, // upper case is not how hashes are written
		"index.html":                 false,
		"3f9a1c0e2b":                 true, // no extension: the whole name is the hash
		"img/photo-2024-01-01.jpg":   false,
		"vendor.abcdef0123456789.js": true,
	}
	for name, want := range tests {
		if got := fingerprintedName(name); got != want {
			t.Errorf("fingerprintedName(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestPlanRetentionKeyedOnLiveDeploys: an asset's retention counts the
// deploys that replaced the entry points since a deploy named it; a
// deploy recorded when it started names its assets even if it was
// interrupted (killed while uploading entry points), whatever their
// names look like.
func TestPlanRetentionKeyedOnLiveDeploys(t *testing.T) {
	day := 24 * time.Hour
	// Deploys 1..5; statuses by seq.
	hist := func(statuses map[int]string, assets map[string]Asset) *History {
		h := NewHistory()
		for i := 1; i <= 5; i++ {
			h.Deploys = append(h.Deploys, DeployRecord{Seq: i, ID: fmt.Sprintf("d%d", i), Status: statuses[i], ContentDigest: "sha256:old"})
		}
		h.Assets = assets
		return h
	}
	const digits = "js/a145.3336109849.js"  // all digits: no hex letter in the hash
	unknown := foreign(digits, bodyA, md5A) // listed without headers (an index lost with kill -9)
	for _, tc := range []struct {
		name       string
		history    *History
		retention  Retention
		wantOp     Op
		wantDetail string
	}{
		{"all-digit asset of the interrupted last deploy", hist(map[int]string{5: deploystate.StatusRunning}, map[string]Asset{digits: {LastDeploy: 5}}),
			DefaultRetention(), OpRetain, "unreferenced for 1 of 3 deploys"},
		{"even with no age limit", hist(map[int]string{5: deploystate.StatusInterrupted}, map[string]Asset{digits: {LastDeploy: 5}}),
			Retention{Deploys: 2}, OpRetain, "1 of 2 deploys"},
		{"interrupted attempts do not age an asset", hist(map[int]string{3: deploystate.StatusInterrupted, 4: deploystate.StatusInterrupted, 5: deploystate.StatusRunning},
			map[string]Asset{digits: {LastDeploy: 2, UnreferencedSince: t0.Add(-30 * day)}}), Retention{Deploys: 2}, OpRetain, "1 of 2 deploys"},
		{"complete deploys do", hist(nil, map[string]Asset{digits: {LastDeploy: 4, UnreferencedSince: t0.Add(-30 * day)}}),
			Retention{Deploys: 2}, OpDelete, "2 of 2 deploys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultPlanOptions()
			opts.Retention = tc.retention
			p, err := ComputePlan(PlanInput{Remote: []RemoteObject{unknown}, History: tc.history, Now: t0, Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			c := findChange(t, p, digits)
			if c.Op != tc.wantOp || !strings.Contains(c.Detail, tc.wantDetail) {
				t.Errorf("%s: %s/%s %q; want %s (%q)", digits, c.Op, c.Reason, c.Detail, tc.wantOp, tc.wantDetail)
			}
		})
	}
}

// TestPlanRecordsAfterAnInterruptedDeploy: a rerun with the same content
// as an interrupted deploy records a deploy of its own, which completes.
func TestPlanRecordsAfterAnInterruptedDeploy(t *testing.T) {
	f := file("index.html", bodyA, Metadata{ContentType: "text/html", CacheControl: "no-cache"}, false)
	digest := ContentDigest([]*LocalFile{f})
	h := NewHistory()
	h.Deploys = []DeployRecord{{Seq: 1, ID: "d1", Status: deploystate.StatusRunning, ContentDigest: digest}}
	p, err := ComputePlan(PlanInput{Local: []*LocalFile{f}, Remote: []RemoteObject{remoteOf("index.html", bodyA, f.Meta)}, History: h, Now: t0, Options: DefaultPlanOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pending() || !p.Record || p.Seq != 2 {
		t.Errorf("plan: pending %v, record %v, seq %d; want nothing to upload, deploy 2 recorded", p.Pending(), p.Record, p.Seq)
	}
}
