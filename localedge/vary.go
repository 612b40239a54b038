package localedge

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// VaryFields returns the request fields a response varies on (RFC 9110
// §12.5.5), canonicalised and without duplicates, and whether the list
// contains "*" (which no request matches, RFC 9111 §4.1).
func VaryFields(h http.Header) (names []string, star bool) {
	for _, line := range h["Vary"] {
		for _, f := range strings.Split(line, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
				continue
			case f == "*":
				star = true
				continue
			case !isToken(f):
				continue
			}
			f = http.CanonicalHeaderKey(f)
			dup := false
			for _, n := range names {
				if n == f {
					dup = true
					break
				}
			}
			if !dup {
				names = append(names, f)
			}
		}
	}
	return names, star
}

// VaryValue is the normalised value of one selecting request field.
type VaryValue struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Present bool   `json:"present"`
}

// NormalizeFieldValue combines a request field's lines into one value and
// removes whitespace around list commas, so "1,2", " 1, 2 " and two lines
// "1" and "2" select the same stored response (RFC 9111 §4.1: "a cache MAY
// normalize ... combining multiple field lines ... and removing whitespace").
func NormalizeFieldValue(values []string) string {
	if len(values) == 1 && !strings.ContainsAny(values[0], ", \t") {
		return values[0]
	}
	var b strings.Builder
	first := true
	for _, line := range values {
		for _, part := range strings.Split(line, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			b.WriteString(part)
			first = false
		}
	}
	return b.String()
}

// SelectingValues captures the request's values of the fields a response
// varies on (VaryFields), for storing with that response.
func SelectingValues(req http.Header, names []string) []VaryValue {
	if len(names) == 0 {
		return nil
	}
	out := make([]VaryValue, len(names))
	for i, n := range names {
		values, ok := req[n]
		out[i] = VaryValue{Name: n, Present: ok}
		if ok {
			out[i].Value = NormalizeFieldValue(values)
		}
	}
	return out
}

// VaryMatches reports whether a request matches the selecting field values
// stored with a response (RFC 9111 §4.1): each field present in both with
// equal normalised values, or absent from both.
func VaryMatches(stored []VaryValue, req http.Header) bool {
	for _, v := range stored {
		values, ok := req[v.Name]
		if !fieldMatches(v, values, ok) {
			return false
		}
	}
	return true
}

// fieldMatches compares a request field's lines (present: ok) with a
// stored selecting value.
func fieldMatches(v VaryValue, values []string, ok bool) bool {
	if ok != v.Present {
		return false
	}
	return !ok || NormalizeFieldValue(values) == v.Value
}

// variantID names a variant by its selecting values, for use as a stable
// identifier inside one cache key ("" for a response without Vary).
func variantID(values []VaryValue) string {
	if len(values) == 0 {
		return ""
	}
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(v.Name)
		if v.Present {
			b.WriteByte('=')
			b.WriteString(v.Value)
		}
	}
	return b.String()
}

// aeForms are the canonical Accept-Encoding values, indexed by a bit set
// of br (1), zstd (2) and gzip (4). Shared: never modified.
var aeForms = [8][]string{
	{"identity"}, {"br"}, {"zstd"}, {"br, zstd"},
	{"gzip"}, {"br, gzip"}, {"zstd, gzip"}, {"br, zstd, gzip"},
}

// NormalizeAcceptEncoding reduces a request's Accept-Encoding to the
// content codings a CDN serves, in a canonical form: which of br, zstd and
// gzip are acceptable (q > 0, or through "*"), in that order, else
// "identity". Browsers send many spellings of the same preferences
// ("gzip, deflate, br, zstd"); with Vary: Accept-Encoding each spelling
// would be a stored variant of its own, which CDNs avoid this way. Every
// coding kept is acceptable to the client.
//
// Weights survive only as an order (RFC 9110 §12.5.3: the acceptable
// coding with the highest weight is preferred), and only when it differs
// from br, zstd, gzip (the order a server breaks ties in, so weights that
// agree with it change no choice): the codings are then listed by
// decreasing weight, the first group without a weight and the next ones
// with q=0.9, 0.8 ("gzip;q=1, br;q=0.5" becomes "gzip, br;q=0.9").
// Identity's own weight is not kept: identity is always acceptable here.
func NormalizeAcceptEncoding(values []string) []string {
	const brBit, zstdBit, gzipBit = 1, 2, 4
	var accepted, mentioned int
	var q [3]float64 // br, zstd, gzip
	star, starQ := false, 0.0
	for _, line := range values {
		for rest := line; rest != ""; {
			var member string
			member, rest, _ = strings.Cut(rest, ",")
			coding, params, _ := strings.Cut(member, ";")
			coding = strings.TrimSpace(coding)
			w := 1.0
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						w = f
					}
				}
			}
			bit, i := 0, 0
			switch {
			case strings.EqualFold(coding, "br"):
				bit, i = brBit, 0
			case strings.EqualFold(coding, "zstd"):
				bit, i = zstdBit, 1
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				bit, i = gzipBit, 2
			case coding == "*":
				star, starQ = w > 0, w
				continue
			default:
				continue
			}
			mentioned |= bit
			q[i] = w
			if w > 0 {
				accepted |= bit
			} else {
				accepted &^= bit
			}
		}
	}
	if star {
		for i, bit := range [3]int{brBit, zstdBit, gzipBit} {
			if mentioned&bit == 0 {
				accepted |= bit
				q[i] = starQ
			}
		}
	}
	// The common case: weights in the order br, zstd, gzip (or equal).
	ordered, prev := true, 2.0
	for i, bit := range [3]int{brBit, zstdBit, gzipBit} {
		if accepted&bit != 0 {
			ordered = ordered && q[i] <= prev
			prev = q[i]
		}
	}
	if ordered {
		return aeForms[accepted]
	}
	return []string{rankAcceptEncoding(accepted, q)}
}

// rankAcceptEncoding writes the accepted codings by decreasing weight,
// ties in the order br, zstd, gzip.
func rankAcceptEncoding(accepted int, q [3]float64) string {
	names := [3]string{"br", "zstd", "gzip"}
	order := make([]int, 0, 3)
	for i := range 3 {
		if accepted&(1<<i) != 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case q[a] > q[b]:
			return -1
		case q[a] < q[b]:
			return 1
		}
		return 0
	})
	var b strings.Builder
	rank := 0
	for j, i := range order {
		if j > 0 {
			b.WriteString(", ")
			if q[i] != q[order[j-1]] {
				rank++
			}
		}
		b.WriteString(names[i])
		if rank > 0 {
			b.WriteString(";q=0.")
			b.WriteByte(byte('9' - rank + 1))
		}
	}
	return b.String()
}

// NormalizeAcceptLanguage rewrites a request's Accept-Language in a
// canonical form, so that the spellings of one preference select one
// stored variant under Vary: Accept-Language: language ranges lower-cased
// (they are case-insensitive, RFC 4647 §2), whitespace removed, weights
// written without a redundant q=1 or trailing zeros, and the ranges sorted
// by weight, then alphabetically among equal weights, which RFC 9110
// §12.4.2 makes equal preferences ("en, de" and "de, en" ask for the
// same). Browsers send decreasing weights, so their order is kept. A range
// given twice keeps its first weight; parameters other than q are dropped.
// The normalised value is also what goes upstream, so the origin chooses
// from exactly what selects the stored response.
func NormalizeAcceptLanguage(values []string) []string {
	type member struct {
		tag string
		q   int // thousandths
	}
	var ms []member
	for _, line := range values {
		for _, part := range strings.Split(line, ",") {
			tag, params, _ := strings.Cut(part, ";")
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag == "" || !isToken(tag) {
				continue
			}
			q := 1000
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
						q = int(f*1000 + 0.5)
					}
				}
			}
			dup := false
			for _, m := range ms {
				if m.tag == tag {
					dup = true
					break
				}
			}
			if !dup {
				ms = append(ms, member{tag: tag, q: q})
			}
		}
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		if a.q != b.q {
			return b.q - a.q
		}
		return strings.Compare(a.tag, b.tag)
	})
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.tag)
		if m.q < 1000 {
			b.WriteString(";q=")
			b.WriteString(strings.TrimRight(strings.TrimRight(strconv.FormatFloat(float64(m.q)/1000, 'f', 3, 64), "0"), "."))
		}
	}
	return []string{b.String()}
}
