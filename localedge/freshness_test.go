package localedge

import (
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func date(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestFreshnessLifetime(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		h         http.Header
		want      time.Duration
		heuristic bool
	}{
		{"§4.2.1 s-maxage over max-age", 200, hdr("Cache-Control", "max-age=3600, s-maxage=1"), time.Second, false},
		{"§4.2.1 s-maxage over shorter max-age", 200, hdr("Cache-Control", "max-age=1, s-maxage=3600"), time.Hour, false},
		{"§4.2.1 max-age over Expires", 200, hdr("Cache-Control", "max-age=60", "Expires", date(time.Hour), "Date", date(0)), time.Minute, false},
		{"§4.2.1 max-age=0 over future Expires", 200, hdr("Cache-Control", "max-age=0", "Expires", date(time.Hour), "Date", date(0)), 0, false},
		{"§4.2.1 Expires minus Date", 200, hdr("Expires", date(90*time.Second), "Date", date(0)), 90 * time.Second, false},
		{"§4.2.1 Expires without Date uses response time", 200, hdr("Expires", date(30*time.Second)), 30 * time.Second, false},
		{"§5.3 invalid Expires means expired", 200, hdr("Expires", "0", "Last-Modified", date(-24*time.Hour)), 0, false},
		{"§5.3 past Expires", 200, hdr("Expires", date(-time.Hour), "Date", date(0)), 0, false},
		{"§4.2.2 heuristic 10% of Last-Modified age", 200, hdr("Last-Modified", date(-10*time.Hour), "Date", date(0)), time.Hour, true},
		{"§4.2.2 heuristic capped", 200, hdr("Last-Modified", date(-100*24*time.Hour), "Date", date(0)), 24 * time.Hour, true},
		{"§4.2.2 no heuristic without Last-Modified", 200, hdr("Date", date(0)), 0, true},
		{"§4.2.2 no heuristic for 201", 201, hdr("Last-Modified", date(-10*time.Hour)), 0, true},
		{"§4.2.2 heuristic for 404", 404, hdr("Last-Modified", date(-10*time.Hour)), time.Hour, true},
		{"§4.2.2 heuristic when public", 599, hdr("Cache-Control", "public", "Last-Modified", date(-10*time.Hour)), time.Hour, true},
		{"§4.2.2 no heuristic for unknown status", 599, hdr("Last-Modified", date(-10*time.Hour)), 0, true},
		{"§4.2.1 invalid max-age is stale", 200, hdr("Cache-Control", "max-age=abc", "Last-Modified", date(-10*time.Hour)), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ParseCacheControl(tt.h.Values("Cache-Control"))
			got, heur := FreshnessLifetime(tt.status, tt.h, d, t0, Heuristic{})
			if got != tt.want || heur != tt.heuristic {
				t.Errorf("FreshnessLifetime(%d, %v) = %v, %v; want %v, %v", tt.status, tt.h, got, heur, tt.want, tt.heuristic)
			}
		})
	}
}

func TestCorrectedInitialAge(t *testing.T) {
	// RFC 9111 §4.2.3.
	tests := []struct {
		name          string
		h             http.Header
		req, resp     time.Time
		want          time.Duration
		wantAgeHeader int64
		ageOK         bool
	}{
		{"no Date no Age", hdr(), t0, t0, 0, 0, false},
		{"Age plus response delay", hdr("Age", "30", "Date", date(0)), t0, t0.Add(2 * time.Second), 32 * time.Second, 30, true},
		{"apparent age from Date", hdr("Date", date(-10*time.Second)), t0, t0, 10 * time.Second, 0, false},
		{"apparent age larger than corrected Age", hdr("Date", date(-100*time.Second), "Age", "5"), t0, t0, 100 * time.Second, 5, true},
		{"Date in the future: apparent age 0", hdr("Date", date(time.Hour)), t0, t0, 0, 0, false},
		{"§5.1 first member of a list", hdr("Age", "7200, 0"), t0, t0, 2 * time.Hour, 7200, true},
		{"§5.1 first of two lines", hdr("Age", "0", "Age", "7200"), t0, t0, 0, 0, true},
		{"§5.1 non-numeric ignored", hdr("Age", "abc"), t0, t0, 0, 0, false},
		{"§5.1 negative ignored", hdr("Age", "-7200"), t0, t0, 0, 0, false},
		{"§5.1 float ignored", hdr("Age", "7200.0"), t0, t0, 0, 0, false},
		{"§1.2.2 huge Age is 2^31", hdr("Age", "999999999999"), t0, t0, (1 << 31) * time.Second, 1 << 31, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CorrectedInitialAge(tt.h, tt.req, tt.resp); got != tt.want {
				t.Errorf("CorrectedInitialAge(%v) = %v; want %v", tt.h, got, tt.want)
			}
			if got, ok := AgeValue(tt.h); got != tt.wantAgeHeader || ok != tt.ageOK {
				t.Errorf("AgeValue(%v) = %d, %v; want %d, %v", tt.h, got, ok, tt.wantAgeHeader, tt.ageOK)
			}
			// The parsed form gives the same age.
			if got := InitialAge(DateValue(tt.h, tt.resp), tt.wantAgeHeader, tt.req, tt.resp); got != tt.want {
				t.Errorf("InitialAge(%v) = %v; want %v", tt.h, got, tt.want)
			}
		})
	}
	if got := CurrentAge(10*time.Second, t0, t0.Add(5*time.Second)); got != 15*time.Second {
		t.Errorf("CurrentAge(10s, +5s resident) = %v; want 15s", got)
	}
}

func TestParseHTTPDate(t *testing.T) {
	// RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 and asctime formats.
	want := time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)
	for _, s := range []string{
		"Thu, 18 Aug 2050 02:01:18 GMT",
		"Thursday, 18-Aug-50 02:01:18 GMT",
		"Thu Aug 18 02:01:18 2050",
		"THU, 18 AUG 2050 02:01:18 GMT",
		"Thu, 18 Aug 2050 02:01:18 gmt",
	} {
		if got, ok := ParseHTTPDate(s); !ok || !got.Equal(want) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if got, ok := ParseHTTPDate("Thu Aug  8 02:01:18 2050"); !ok || !got.Equal(time.Date(2050, 8, 8, 2, 1, 18, 0, time.UTC)) {
		t.Errorf("ParseHTTPDate(asctime with a one-digit day) = %v, %v", got, ok)
	}
	for _, s := range []string{"", "0", "-1", "tomorrow", "Thu, 18 Aug 2050 25:01:18 GMT",
		"Thu, 18 Aug 2050 2:01:18 GMT",    // time-of-day is 2DIGIT ":" 2DIGIT ":" 2DIGIT
		"Thu, 18  Aug  2050 02:01:18 GMT", // single spaces only
		"Thu, 18-Aug-2050 02:01:18 GMT",   // IMF-fixdate date1 uses spaces
		"Thu 18 Aug 2050 02:01:18 GMT",    // missing comma
		"Thu, 18 Aug 50 02:01:18 GMT",     // IMF-fixdate has a four-digit year
		"Thu, 18 Aug 2050 02:01:18 UTC",   // only GMT
		"Thu, 18 Aug 2050 02:01:18 AEST",
		"Thu, 18 Aug 2050 02.01.18 GMT",
		"Thu, 8 Aug 2050 02:01:18 GMT",
	} {
		if got, ok := ParseHTTPDate(s); ok {
			t.Errorf("ParseHTTPDate(%q) = %v; want invalid", s, got)
		}
	}
}

func TestStorable(t *testing.T) {
	// RFC 9111 §3 (storing responses), §3.5 (Authorization), §4.1 (Vary: *).
	none := noRequestDirectives
	tests := []struct {
		name   string
		req    http.Header
		reqd   RequestDirectives
		status int
		h      http.Header
		want   bool
		reason string
	}{
		{"§3 explicit freshness", hdr(), none, 200, hdr("Cache-Control", "max-age=60"), true, ""},
		{"§3 heuristically cacheable status", hdr(), none, 404, hdr(), true, ""},
		{"§3 Expires makes any status storable", hdr(), none, 302, hdr("Expires", date(time.Hour)), true, ""},
		{"§3 s-maxage makes any status storable", hdr(), none, 500, hdr("Cache-Control", "s-maxage=60"), true, ""},
		{"§3 not heuristically cacheable, no freshness", hdr(), none, 302, hdr(), false, "uncacheable-status"},
		{"§3 no-cache with default-cacheable status is stored", hdr(), none, 200, hdr("Cache-Control", "no-cache"), true, ""},
		{"§5.2.2.5 no-store", hdr(), none, 200, hdr("Cache-Control", "max-age=60, no-store"), false, "no-store"},
		{"§5.2.2.7 private", hdr(), none, 200, hdr("Cache-Control", "private, max-age=60"), false, "private"},
		{"§5.2.2.7 qualified private stores the rest", hdr(), none, 200, hdr("Cache-Control", `private="Set-Cookie", max-age=60`), true, ""},
		{"§5.2.1.5 request no-store", hdr(), RequestDirectives{MaxAge: -1, MaxStale: -1, MinFresh: -1, StaleIfError: -1, NoStore: true}, 200, hdr("Cache-Control", "max-age=60"), false, "request-no-store"},
		{"§3.5 Authorization", hdr("Authorization", "x"), none, 200, hdr("Cache-Control", "max-age=60"), false, "authorization"},
		{"§3.5 Authorization with public", hdr("Authorization", "x"), none, 200, hdr("Cache-Control", "max-age=60, public"), true, ""},
		{"§3.5 Authorization with s-maxage", hdr("Authorization", "x"), none, 200, hdr("Cache-Control", "s-maxage=60"), true, ""},
		{"§3.5 Authorization with must-revalidate", hdr("Authorization", "x"), none, 200, hdr("Cache-Control", "max-age=60, must-revalidate"), true, ""},
		{"§4.1 Vary: *", hdr(), none, 200, hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"), false, "vary-star"},
		{"§5.2.2.3 must-understand overrides no-store", hdr(), none, 200, hdr("Cache-Control", "max-age=60, no-store, must-understand"), true, ""},
		{"§5.2.2.3 must-understand with unknown status", hdr(), none, 299, hdr("Cache-Control", "max-age=60, no-store, must-understand"), false, "must-understand"},
		{"§3 206 is not stored whole", hdr(), none, 206, hdr("Cache-Control", "max-age=60"), false, "partial-or-not-modified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ParseCacheControl(tt.h.Values("Cache-Control"))
			got, reason := Storable(tt.req, tt.reqd, tt.status, tt.h, d)
			if got != tt.want || reason != tt.reason {
				t.Errorf("Storable(%v, %d, %v) = %v, %q; want %v, %q", tt.req, tt.status, tt.h, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestAllowsStale(t *testing.T) {
	// RFC 9111 §4.2.4 and §5.2.2.2/8/10; RFC 5861 extensions.
	tests := []struct {
		cc        string
		extension bool
		want      bool
	}{
		{"max-age=1", false, true},
		{"max-age=1, must-revalidate", false, false},
		{"max-age=1, must-revalidate, stale-while-revalidate=5", true, false},
		{"max-age=1, proxy-revalidate", false, false},
		{"max-age=1, no-cache", false, false},
		{"s-maxage=1", false, false},
		{"s-maxage=1, stale-while-revalidate=5", true, true},
	}
	for _, tt := range tests {
		d := ParseCacheControl([]string{tt.cc})
		if got := d.allowsStale(tt.extension); got != tt.want {
			t.Errorf("allowsStale(%q, extension=%v) = %v; want %v", tt.cc, tt.extension, got, tt.want)
		}
	}
}
