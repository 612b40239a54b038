package origin

import (
	"strconv"
	"strings"
)

// Content codings the handler serves from precompressed siblings, in order
// of preference when the client weighs them equally, with the file suffix
// of each sibling ("app.css.br").
var siblingCodings = [...]struct{ coding, suffix string }{
	{"br", ".br"},
	{"zstd", ".zst"},
	{"gzip", ".gz"},
}

const identity = "identity"

// implicitIdentity is the weight of identity when the field neither lists
// it nor has "*": below any listed coding, above refusal.
const implicitIdentity = 0.0001

// acceptEncoding is a parsed Accept-Encoding field (RFC 9110 §12.5.3).
type acceptEncoding struct {
	present bool               // the request had the field at all
	q       map[string]float64 // coding (lower case) → weight
}

// parseAcceptEncoding parses every Accept-Encoding field line of a request.
// Malformed members are ignored; "x-gzip" is gzip (RFC 9110 §8.4.1.3).
func parseAcceptEncoding(values []string) acceptEncoding {
	ae := acceptEncoding{present: len(values) > 0}
	for _, v := range values {
		for member := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(member, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			if coding == "x-gzip" {
				coding = "gzip"
			}
			q, ok := parseQ(params)
			if !ok {
				continue
			}
			if ae.q == nil {
				ae.q = make(map[string]float64)
			}
			// A coding listed twice keeps its highest weight.
			if old, seen := ae.q[coding]; !seen || q > old {
				ae.q[coding] = q
			}
		}
	}
	return ae
}

// parseQ reads the weight from the parameters after a coding (";q=0.5").
// No q parameter means 1; an invalid one makes the member invalid.
func parseQ(params string) (float64, bool) {
	q := 1.0
	for p := range strings.SplitSeq(params, ";") {
		name, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || f < 0 || f > 1 {
			return 0, false
		}
		q = f
	}
	return q, true
}

// weight returns how acceptable coding is to the client.
func (ae acceptEncoding) weight(coding string) float64 {
	if q, ok := ae.q[coding]; ok {
		return q
	}
	if q, ok := ae.q["*"]; ok {
		return q
	}
	if coding == identity {
		// Identity is acceptable unless excluded (RFC 9110 §12.5.3), but a
		// client that lists codings prefers them: the least weight above 0.
		return implicitIdentity
	}
	return 0
}

// negotiate picks the content coding to serve among the available ones
// ("br", "zstd", "gzip"; identity is always available). A request without
// Accept-Encoding gets identity: it is what curl and other simple clients
// can read, even though the RFC would allow any coding. Among equally
// weighted codings br wins, then zstd, then gzip, and any compressed coding
// beats identity. When nothing is acceptable the answer is identity, as
// RFC 9110 §12.5.3 recommends over a 406.
func negotiate(ae acceptEncoding, available []string) string {
	if !ae.present {
		return identity
	}
	best, bestQ := identity, ae.weight(identity)
	for _, sc := range siblingCodings {
		if !contains(available, sc.coding) {
			continue
		}
		q := ae.weight(sc.coding)
		if q > 0 && (q > bestQ || (q == bestQ && best == identity)) {
			best, bestQ = sc.coding, q
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
