package localedge

import (
	"strings"
	"testing"
)

// FuzzDirectives feeds arbitrary field values to the directive parsers:
// they must not panic, and what they return must be in range. Seeds are in
// testdata/fuzz/FuzzDirectives; run with go test -fuzz=FuzzDirectives.
func FuzzDirectives(f *testing.F) {
	for _, s := range []string{
		"max-age=3600", `max-age="3600", private="Set-Cookie, X-A"`, "no-cache, no-store, must-revalidate",
		`extension="max-age=100", max-age=1`, "max-age =1", "s-maxage=99999999999999999999", "",
		"stale-while-revalidate=30, stale-if-error", `no-cache="a, b`, "max-age=10, max-age=20",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inRange := func(name string, v int64) {
			if v < -1 || v > maxDelta {
				t.Fatalf("%s = %d out of range for %q", name, v, s)
			}
		}
		d := ParseCacheControl([]string{s})
		inRange("max-age", d.MaxAge)
		inRange("s-maxage", d.SMaxAge)
		inRange("stale-while-revalidate", d.StaleWhileRevalidate)
		inRange("stale-if-error", d.StaleIfError)
		for _, f := range append(d.NoCacheFields, d.PrivateFields...) {
			if !isToken(f) {
				t.Fatalf("field name %q is not a token (input %q)", f, s)
			}
		}
		if d.NoCache && len(d.NoCacheFields) > 0 {
			t.Fatalf("both unqualified and qualified no-cache for %q", s)
		}
		r := ParseRequestCacheControl([]string{s, s})
		inRange("request max-age", r.MaxAge)
		inRange("max-stale", r.MaxStale)
		inRange("min-fresh", r.MinFresh)
		if cd, ok := ParseCDNCacheControl([]string{s}); ok {
			inRange("cdn max-age", cd.MaxAge)
			inRange("cdn s-maxage", cd.SMaxAge)
		}
		parseDirectiveList(s, func(name, arg string, hasArg, ok bool) {
			if name == "" || name != strings.ToLower(name) || !isToken(name) {
				t.Fatalf("directive name %q from %q", name, s)
			}
			if !hasArg && arg != "" {
				t.Fatalf("argument %q without '=' in %q", arg, s)
			}
		})
	})
}

// FuzzKeyBuild checks the cache key builder on arbitrary request targets:
// no panic, and a built key is stable (rebuilding from its own parts gives
// the same key), so two spellings of one URL never split or collide
// unexpectedly. Seeds are in testdata/fuzz/FuzzKeyBuild.
func FuzzKeyBuild(f *testing.F) {
	f.Add("www.example.test", "/a/b", "x=1&y=2", false)
	f.Add("WWW.Example.test:80", "/a/./b/../%7ec", "q=%c3%a9&utm_source=x", true)
	f.Add("[::1]:8080", "/%zz/..", "a=%", false)
	f.Add("h", "", "", true)
	f.Fuzz(func(t *testing.T, host, path, query string, sorted bool) {
		opts := KeyOptions{SortQuery: sorted, IgnoreParams: []string{"utm_source"}}
		k, err := opts.Build("http", host, path, query, nil)
		if err != nil {
			return
		}
		if !strings.HasPrefix(k.Key, "http://"+k.Host+"/") || !strings.HasPrefix(k.Path, "/") {
			t.Fatalf("Build(%q, %q, %q) = %+v: malformed", host, path, query, k)
		}
		for _, c := range k.Key {
			if c <= ' ' || c == 0x7f || c >= 0x80 {
				t.Fatalf("Build(%q, %q, %q).Key = %q contains %q", host, path, query, k.Key, c)
			}
		}
		for _, seg := range strings.Split(k.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("Build(%q, %q, %q).Path = %q keeps a dot segment", host, path, query, k.Path)
			}
		}
		again, err := opts.Build(k.Scheme, k.Host, k.Path, k.RawQuery, nil)
		if err != nil || again != k {
			t.Fatalf("rebuild of %+v = %+v, %v; want the same key", k, again, err)
		}
	})
}

// FuzzAcceptLanguage checks that the normal form is stable (normalising
// it again changes nothing), so one preference is always one variant, and
// that any two orders of the same members give the same form.
func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"en, de", "en-US,en;q=0.9,de;q=0.8", "*;q=0.1, fr;q=0", "da;level=1;q=0.7", " EN ,de;q=1.0", "x;q=abc,,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeAcceptLanguage([]string{s})
		if again := NormalizeAcceptLanguage(got); again[0] != got[0] {
			t.Fatalf("NormalizeAcceptLanguage(%q) = %q, then %q: not stable", s, got[0], again[0])
		}
		parts := strings.Split(s, ",")
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		// Reversing the order changes which of two spellings of one range
		// comes first, and the first is kept: compare only lists of
		// distinct ranges.
		if seen := map[string]bool{}; distinctRanges(parts, seen) {
			if rev := NormalizeAcceptLanguage([]string{strings.Join(parts, ",")}); rev[0] != got[0] {
				t.Fatalf("order matters: %q gives %q, reversed %q", s, got[0], rev[0])
			}
		}
	})
}

func distinctRanges(parts []string, seen map[string]bool) bool {
	for _, p := range parts {
		tag, _, _ := strings.Cut(p, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		if seen[tag] {
			return false
		}
		seen[tag] = true
	}
	return true
}

// FuzzRanges checks the Range and Content-Range parsers on arbitrary
// values: ranges lie within the representation, and the plan that answers
// them sends no byte twice and never more than the representation.
func FuzzRanges(f *testing.F) {
	f.Add("bytes=0-,0-,0-", int64(8<<20))
	f.Add("bytes=-1,5-9,0-0,2-", int64(11))
	f.Add("bytes=100-199,0-99", int64(1000))
	f.Add("bytes 0-9/100", int64(0))
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 || size > 1<<50 {
			return
		}
		if first, last, complete, ok := parseContentRange(s); ok && (first < 0 || last < first || last >= complete) {
			t.Fatalf("parseContentRange(%q) = %d-%d/%d", s, first, last, complete)
		}
		ranges, err := parseRange(s, size)
		if err != nil {
			return
		}
		for _, r := range ranges {
			if r.start < 0 || r.length <= 0 || r.start+r.length > size {
				t.Fatalf("parseRange(%q, %d) = %v: %v outside the representation", s, size, ranges, r)
			}
		}
		var sum int64
		plan := planRanges(ranges, size)
		for i, r := range plan {
			sum += r.length
			if i > 0 && r.start <= plan[i-1].start+plan[i-1].length {
				t.Fatalf("planRanges(%v) = %v: not ascending and apart", ranges, plan)
			}
		}
		if sum > size {
			t.Fatalf("planRanges(%v, %d) = %v: %d bytes", ranges, size, plan, sum)
		}
	})
}
