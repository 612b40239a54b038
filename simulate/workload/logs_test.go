package workload

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func readLog(t *testing.T, path string, opts LogOptions) []Event {
	t.Helper()
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	evs, err := ReadAll(l)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestNginxCacheLog reads what nginx wrote as a caching proxy.
func TestNginxCacheLog(t *testing.T) {
	evs := readLog(t, "testdata/nginx-cache.log", LogOptions{})
	// 11 lines: the "GARBAGE" request line is no request.
	if len(evs) != 10 {
		t.Fatalf("%d events; want 10", len(evs))
	}
	first := evs[0]
	if first.Method != "GET" || first.Host != DefaultHost || first.Path != "/index.html" || first.Status != 200 ||
		first.Size != 35 || first.Observed != "miss" || first.Client.String() != "127.0.0.1" {
		t.Errorf("first event %+v", first)
	}
	if evs[1].Observed != "hit" || evs[1].Object != first.Object {
		t.Errorf("second event: observed %q, object %d; want hit, the same object as the first", evs[1].Observed, evs[1].Object)
	}
	if evs[2].Path != "/img/logo.png?v=2" || evs[2].Size != 20000 {
		t.Errorf("third event %q %d; want /img/logo.png?v=2 of 20000 bytes (the user agent has escaped quotes)", evs[2].Path, evs[2].Size)
	}
	// The 206 is the whole object for the cache.
	if evs[5].Status != 200 || evs[5].Size != 20000 {
		t.Errorf("range request: status %d size %d; want 200 and 20000", evs[5].Status, evs[5].Size)
	}
	if evs[7].Status != 404 || evs[8].Method != "POST" {
		t.Errorf("404 and POST: %+v %+v", evs[7], evs[8])
	}
	want := time.Date(2026, 12, 7, 14, 59, 21, 0, time.UTC).UnixNano()
	if first.Time != want {
		t.Errorf("time %v; want %v", time.Unix(0, first.Time).UTC(), time.Unix(0, want).UTC())
	}
}

func TestApacheCombinedLog(t *testing.T) {
	evs := readLog(t, "testdata/apache-combined.log", LogOptions{Host: "site.test"})
	if len(evs) != 5 {
		t.Fatalf("%d events; want 5", len(evs))
	}
	if evs[1].Path != "/img/logo.png" || evs[1].Host != "site.test" || evs[1].Observed != "" {
		t.Errorf("second event %+v", evs[1])
	}
	if evs[3].Method != "HEAD" || evs[4].Path != "/app.css?x=%20y" {
		t.Errorf("HEAD and query: %+v %+v", evs[3], evs[4])
	}
}

func TestCloudFrontLog(t *testing.T) {
	evs := readLog(t, "testdata/cloudfront.log", LogOptions{})
	// The 000 status (the viewer went away) is no request.
	if len(evs) != 4 {
		t.Fatalf("%d events; want 4", len(evs))
	}
	e := evs[0]
	if e.Host != "www.example.com" || e.Path != "/index.html" || e.Size != 78 || e.Observed != "hit" ||
		e.Time != time.Date(2019, 12, 4, 21, 2, 31, 0, time.UTC).UnixNano() {
		t.Errorf("first event %+v", e)
	}
	if evs[2].Path != "/img/banner.jpg?v=3" || evs[2].Observed != "miss" || evs[2].Size != 4301 {
		t.Errorf("third event %+v", evs[2])
	}
	if evs[3].Method != "HEAD" || evs[3].Observed != "hit" || evs[3].Client.String() != "2001:db8::7" {
		t.Errorf("fourth event %+v", evs[3])
	}
}

func TestCloudflareLogpush(t *testing.T) {
	evs := readLog(t, "testdata/cloudflare.json", LogOptions{})
	if len(evs) != 3 {
		t.Fatalf("%d events; want 3", len(evs))
	}
	wantTimes := []time.Time{
		time.Unix(0, 1733580000123000000), time.Date(2024, 12, 7, 14, 0, 1, 0, time.UTC), time.Unix(1733580002, 0),
	}
	for i, e := range evs {
		if e.Time != wantTimes[i].UnixNano() {
			t.Errorf("event %d: time %v; want %v", i, time.Unix(0, e.Time).UTC(), wantTimes[i].UTC())
		}
	}
	if evs[0].Size != 1024 || evs[0].Observed != "hit" || evs[1].CacheControl != "public, max-age=3600" || evs[1].Path != "/img/a.png?w=200" {
		t.Errorf("events %+v %+v", evs[0], evs[1])
	}
	if evs[2].Method != "POST" || evs[2].Host != "api.example.com" || evs[2].Observed != "" || evs[2].Status != 201 {
		t.Errorf("third event %+v", evs[2])
	}
}

func TestGenericCSV(t *testing.T) {
	evs := readLog(t, "testdata/generic.csv", LogOptions{})
	if len(evs) != 3 {
		t.Fatalf("%d events; want 3", len(evs))
	}
	if evs[0].CacheControl != "public, max-age=60" || evs[0].Time != time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("first event %+v", evs[0])
	}
	if evs[1].Host != "static.example.test" || evs[1].Path != "/app.js?v=1" || evs[1].Time != evs[0].Time+int64(1500*time.Millisecond) {
		t.Errorf("second event %+v", evs[1])
	}
	// Milliseconds since the epoch; a HEAD's size is the object's.
	if evs[2].Time != evs[0].Time+int64(2*time.Second) || evs[2].Size != 5120 {
		t.Errorf("third event %+v", evs[2])
	}
}

// TestGzipAndDetection: the format and gzip are recognised from the first
// bytes.
func TestGzipAndDetection(t *testing.T) {
	plain, err := os.ReadFile("testdata/nginx-cache.log")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	l, err := NewLog("access.log.gz", &gz, LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ReadAll(l)
	if err != nil || len(evs) != 10 {
		t.Fatalf("gzip: %d events, %v; want 10", len(evs), err)
	}
	for name, want := range map[string]string{
		"testdata/cloudfront.log": FormatCloudFront, "testdata/cloudflare.json": FormatCloudflare,
		"testdata/generic.csv": FormatCSV, "testdata/apache-combined.log": FormatCombined,
	} {
		b, _ := os.ReadFile(name)
		if got := detectFormat(b); got != want {
			t.Errorf("detectFormat(%s) = %q; want %q", name, got, want)
		}
	}
	if _, err := NewLog("x", strings.NewReader("hello world\n"), LogOptions{}); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("an unknown format: %v; want an error suggesting --format", err)
	}
}

// TestBadLines: a malformed line stops the read with its file and line,
// unless skipped, when it is reported and counted.
func TestBadLines(t *testing.T) {
	log := `203.0.113.1 - - [07/Dec/2026:14:59:21 +0000] "GET /a HTTP/1.1" 200 35 "-" "curl"
203.0.113.1 - - [07/Dec/2026:14:59:21 +0000] "GET /b HTTP/1.1" abc 35 "-" "curl"
203.0.113.1 - - [31/Foo/2026:14:59:21 +0000] "GET /c HTTP/1.1" 200 35 "-" "curl"
203.0.113.1 - - [07/Dec/2026:14:59:22 +0000] "GET /d HTTP/1.1" 200 35 "-" "curl"
`
	l, err := NewLog("access.log", strings.NewReader(log), LogOptions{Format: FormatCombined})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadAll(l)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || err.Error() != `access.log:2: status "abc": want a three-digit HTTP status` {
		t.Errorf("error %v; want access.log:2: status \"abc\": want a three-digit HTTP status", err)
	}
	var reported []string
	l, _ = NewLog("access.log", strings.NewReader(log), LogOptions{Format: FormatCombined, SkipBadLines: true, OnBadLine: func(err error) { reported = append(reported, err.Error()) }})
	evs, err := ReadAll(l)
	if err != nil || len(evs) != 2 || l.BadLines() != 2 || len(reported) != 2 || !strings.HasPrefix(reported[1], "access.log:3: time ") {
		t.Errorf("skipping: %d events, %d bad, %q, %v; want 2 events, 2 bad lines reported", len(evs), l.BadLines(), reported, err)
	}
}

// TestChangeInferred: a URL whose complete 200 responses change size has
// changed at the origin: a change event comes before the request.
func TestChangeInferred(t *testing.T) {
	log := "time,url,bytes\n1,/a,100\n2,/a,100\n3,/b,5\n4,/a,120\n5,/a,120\n"
	l, _ := NewLog("x.csv", strings.NewReader(log), LogOptions{})
	evs, err := ReadAll(l)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.Kind == Change {
			kinds = append(kinds, "change "+strings.Join(e.Changed, ","))
		} else {
			kinds = append(kinds, e.Path)
		}
	}
	if got := strings.Join(kinds, " "); got != "/a /a /b change /a /a /a" {
		t.Errorf("events %q; want a change of /a before its first 120-byte response", got)
	}
}

// TestMerge reads two logs in time order, keeping their objects apart.
func TestMerge(t *testing.T) {
	a, err := NewLog("a.csv", strings.NewReader("time,url\n1,/x\n3,/x\n5,/x\n"), LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLog("b.csv", strings.NewReader("time,url\n2,/y\n4,/y\n"), LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ReadAll(Merge(a, b))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range evs {
		order = append(order, e.Path)
	}
	if strings.Join(order, "") != "/x/y/x/y/x" || evs[0].Object == evs[1].Object {
		t.Errorf("merged %v (objects %d %d); want /x /y /x /y /x with distinct objects", order, evs[0].Object, evs[1].Object)
	}
}
