package siterules

// Target is a redirect or rewrite target ("/blog/:year/:splat",
// "https://example.com/:splat") that uses the captures of a Pattern, as the
// target of a _redirects rule does. Other packages' rules (the edge rules
// of localedge/edgerules) reuse it.
type Target struct {
	text string
	t    template
}

// ParseTarget parses a target that may use the placeholders and splat p
// captures; a reference to anything else is an error.
func ParseTarget(to string, p *Pattern) (Target, error) {
	captured := map[string]bool{}
	for _, n := range p.names {
		captured[n] = true
	}
	t, err := parseTemplate(to, captured)
	if err != nil {
		return Target{}, err
	}
	return Target{text: to, t: t}, nil
}

// String returns the target as written.
func (t Target) String() string { return t.text }

// Absolute reports whether the target is an http(s) URL.
func (t Target) Absolute() bool { return t.t.absolute }

// HasQuery reports whether the target gives a query ("?…").
func (t Target) HasQuery() bool { return t.t.hasQuery }

// Expand returns the target with the captured values, escaped for the part
// of the URL (path or query) where they appear.
func (t Target) Expand(caps Captures) string { return t.t.expand(caps) }

// ExpandValue replaces the :placeholders (and :splat) of a header value by
// what a pattern captured, as _headers values do; other colons stay.
func ExpandValue(v string, caps Captures) string { return expandValue(v, caps) }

// Names returns the names the pattern captures, in order ("splat" for *).
func (p *Pattern) Names() []string { return append([]string(nil), p.names...) }
