package localedge

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestEvaluatePreconditions(t *testing.T) {
	// RFC 9110 §13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match,
	// If-Modified-Since; RFC 9111 §4.3.2 for a cache answering them.
	stored := hdr("ETag", `"abcdef"`, "Last-Modified", date(-time.Hour), "Date", date(0))
	weak := hdr("ETag", `W/"abcdef"`)
	noLM := hdr("Date", date(0))
	tests := []struct {
		name   string
		req    http.Header
		stored http.Header
		status int
		want   int
	}{
		{"§13.1.2 If-None-Match matches", hdr("If-None-Match", `"abcdef"`), stored, 200, 304},
		{"§13.1.2 If-None-Match one of several", hdr("If-None-Match", `"1234", "abcdef", "5678"`), stored, 200, 304},
		{"§13.1.2 If-None-Match weak comparison", hdr("If-None-Match", `W/"abcdef"`), weak, 200, 304},
		{"§13.1.2 If-None-Match weak vs strong", hdr("If-None-Match", `W/"abcdef"`), stored, 200, 304},
		{"§13.1.2 If-None-Match unquoted tolerated", hdr("If-None-Match", `abcdef`), stored, 200, 304},
		{"§13.1.2 If-None-Match *", hdr("If-None-Match", `*`), stored, 200, 304},
		{"§13.1.2 If-None-Match no match", hdr("If-None-Match", `"zzz"`), stored, 200, 0},
		{"§13.2.2 If-None-Match takes precedence over If-Modified-Since", hdr("If-None-Match", `"zzz"`, "If-Modified-Since", date(0)), stored, 200, 0},
		{"§13.1.3 If-Modified-Since not modified", hdr("If-Modified-Since", date(-time.Hour)), stored, 200, 304},
		{"§13.1.3 If-Modified-Since later date", hdr("If-Modified-Since", date(-30*time.Minute)), stored, 200, 304},
		{"§13.1.3 If-Modified-Since modified", hdr("If-Modified-Since", date(-2*time.Hour)), stored, 200, 0},
		{"RFC 9111 §4.3.2 no Last-Modified: Date", hdr("If-Modified-Since", date(-time.Hour)), noLM, 200, 0},
		{"RFC 9111 §4.3.2 no Last-Modified: Date not newer", hdr("If-Modified-Since", date(time.Minute)), noLM, 200, 304},
		{"§13.1.3 invalid If-Modified-Since ignored", hdr("If-Modified-Since", "yesterday"), stored, 200, 0},
		{"§13.1.1 If-Match fails", hdr("If-Match", `"zzz"`), stored, 200, 412},
		{"§13.1.1 If-Match strong match", hdr("If-Match", `"abcdef"`), stored, 200, 0},
		{"§13.1.1 If-Match weak never matches", hdr("If-Match", `W/"abcdef"`), weak, 200, 412},
		{"§13.1.4 If-Unmodified-Since fails", hdr("If-Unmodified-Since", date(-2*time.Hour)), stored, 200, 412},
		{"§13.2.1 only for 2xx", hdr("If-None-Match", `"abcdef"`), stored, 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EvaluatePreconditions(tt.req, tt.status, tt.stored, t0); got != tt.want {
				t.Errorf("EvaluatePreconditions(%v, %d, %v) = %d; want %d", tt.req, tt.status, tt.stored, got, tt.want)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	// RFC 9110 §14.1.2.
	tests := []struct {
		in   string
		size int64
		want []byteRange
		err  error
	}{
		{"bytes=0-1", 11, []byteRange{{0, 2}}, nil},
		{"bytes=1-", 11, []byteRange{{1, 10}}, nil},
		{"bytes=-1", 11, []byteRange{{10, 1}}, nil},
		{"bytes=-100", 11, []byteRange{{0, 11}}, nil},
		{"bytes=5-100", 11, []byteRange{{5, 6}}, nil},
		{"bytes=0-0, -1", 11, []byteRange{{0, 1}, {10, 1}}, nil},
		{"BYTES = 0-1", 11, []byteRange{{0, 2}}, nil},
		{"bytes=20-", 11, nil, errNoOverlap},
		{"bytes=-0", 11, nil, errNoOverlap},
		{"bytes=5-2", 11, nil, errInvalidRange},
		{"bytes=a-b", 11, nil, errInvalidRange},
		{"items=0-1", 11, nil, errInvalidRange},
		{"bytes=", 11, nil, errInvalidRange},
		{"bytes=+1-2", 11, nil, errInvalidRange},
	}
	for _, tt := range tests {
		got, err := parseRange(tt.in, tt.size)
		if err != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseRange(%q, %d) = %v, %v; want %v, %v", tt.in, tt.size, got, err, tt.want, tt.err)
		}
	}
}

func TestIfRangeMatches(t *testing.T) {
	// RFC 9110 §13.1.5: strong ETag comparison or an exact date.
	h := hdr("ETag", `"v1"`, "Last-Modified", date(-time.Hour))
	tests := []struct {
		v    string
		want bool
	}{
		{"", true},
		{`"v1"`, true},
		{`"v2"`, false},
		{`W/"v1"`, false},
		{date(-time.Hour), true},
		{date(0), false},
		{"garbage", false},
	}
	for _, tt := range tests {
		if got := ifRangeMatches(tt.v, h); got != tt.want {
			t.Errorf("ifRangeMatches(%q) = %v; want %v", tt.v, got, tt.want)
		}
	}
}
