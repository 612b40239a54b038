package localedge

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestPlanRanges(t *testing.T) {
	for _, tt := range []struct {
		in   []byteRange
		size int64
		want []byteRange
	}{
		{[]byteRange{{0, 10}}, 100, []byteRange{{0, 10}}},
		{[]byteRange{{0, 100}}, 100, []byteRange{{0, 100}}},
		// More bytes than the representation: the whole of it, with 200.
		{[]byteRange{{0, 100}, {0, 100}}, 100, nil},
		{[]byteRange{{0, 60}, {50, 50}}, 100, nil},
		// Overlapping and adjacent ranges are merged, in ascending order.
		{[]byteRange{{0, 30}, {20, 30}}, 100, []byteRange{{0, 50}}},
		{[]byteRange{{10, 10}, {0, 10}}, 100, []byteRange{{0, 20}}},
		{[]byteRange{{50, 10}, {0, 10}}, 100, []byteRange{{0, 10}, {50, 10}}},
		{[]byteRange{{0, 5}, {90, 10}, {2, 5}, {40, 1}}, 100, []byteRange{{0, 7}, {40, 1}, {90, 10}}},
		// Disjoint ranges stay apart, even close ones.
		{[]byteRange{{0, 1}, {10, 1}}, 11, []byteRange{{0, 1}, {10, 1}}},
	} {
		in := slices.Clone(tt.in)
		if got := planRanges(in, tt.size); !slices.Equal(got, tt.want) {
			t.Errorf("planRanges(%v, %d) = %v; want %v", tt.in, tt.size, got, tt.want)
		}
	}
}

// Issue 12: Range: bytes=0-,0-,… (64 ranges) on a cached 8 MB object made
// a 512 MB 206 for a 299-byte request. Ranges adding up to more than the
// object now get the object once, with 200; overlapping ones are merged.
func TestMultiRangeAmplification(t *testing.T) {
	const size = 256 << 10
	o := newOrigin(t, nil)
	body := strings.Repeat("0123456789abcdef", size/16)
	o.static("/big", 200, body, "Cache-Control", "max-age=100", "ETag", `"b1"`, "Content-Type", "video/mp4")
	_, srv := newProxy(t, o.URL, nil, nil)
	get(t, srv.URL+"/big") // stored

	attack := "bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 64), ",")
	for _, tt := range []struct {
		name, rng    string
		status       int
		contentRange string
		length       int
	}{
		{"64 whole ranges", attack, 200, "", size},
		{"two halves overlapping", fmt.Sprintf("bytes=0-%d,%d-", size/2, size/2-10), 200, "", size},
		{"overlapping, merged", "bytes=0-99,50-149", 206, "bytes 0-149/262144", 150},
		{"adjacent, merged", "bytes=100-199,0-99", 206, "bytes 0-199/262144", 200},
		{"suffix over everything", "bytes=-100,0-", 200, "", size},
	} {
		r, got := get(t, srv.URL+"/big", "Range", tt.rng)
		if r.StatusCode != tt.status || r.Header.Get("Content-Range") != tt.contentRange || len(got) != tt.length {
			t.Errorf("%s: %d, Content-Range %q, %d bytes; want %d %q %d", tt.name, r.StatusCode, r.Header.Get("Content-Range"), len(got), tt.status, tt.contentRange, tt.length)
		}
		if tt.status == 206 && got != body[:tt.length] {
			t.Errorf("%s: wrong bytes", tt.name)
		}
	}
	// Disjoint ranges asked out of order: one part each, in ascending order.
	r, got := get(t, srv.URL+"/big", "Range", "bytes=1000-1009,0-9")
	i, j := strings.Index(got, "Content-Range: bytes 0-9/262144"), strings.Index(got, "Content-Range: bytes 1000-1009/262144")
	if r.StatusCode != http.StatusPartialContent || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges") || i < 0 || j < i || len(got) > 1000 {
		t.Errorf("disjoint ranges = %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), got)
	}
	if n := o.count("/big"); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}
