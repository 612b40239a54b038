package localedge

import (
	"net/http"
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
		if ok != v.Present {
			return false
		}
		if ok && NormalizeFieldValue(values) != v.Value {
			return false
		}
	}
	return true
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
func NormalizeAcceptEncoding(values []string) []string {
	const brBit, zstdBit, gzipBit = 1, 2, 4
	var accepted, mentioned int
	star := false
	for _, line := range values {
		for rest := line; rest != ""; {
			var member string
			member, rest, _ = strings.Cut(rest, ",")
			coding, params, _ := strings.Cut(member, ";")
			coding = strings.TrimSpace(coding)
			q := 1.0
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						q = f
					}
				}
			}
			bit := 0
			switch {
			case strings.EqualFold(coding, "br"):
				bit = brBit
			case strings.EqualFold(coding, "zstd"):
				bit = zstdBit
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				bit = gzipBit
			case coding == "*":
				star = q > 0
				continue
			default:
				continue
			}
			mentioned |= bit
			if q > 0 {
				accepted |= bit
			} else {
				accepted &^= bit
			}
		}
	}
	if star {
		accepted |= (brBit | zstdBit | gzipBit) &^ mentioned
	}
	return aeForms[accepted]
}
