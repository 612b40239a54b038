// Package esi processes the Edge Side Includes subset Varnish implements
// (ESI Language Specification 1.0, W3C note 2001): <esi:include src alt
// onerror="continue"/>, <esi:remove>…</esi:remove>, <!--esi … --> and
// <esi:comment/>. The processor is streamed: it writes a page's bytes as
// they come, holding back at most MaxTag bytes (an unfinished tag), and
// calls a fetch function for each include, which writes the fragment
// itself; the edge (localedge.Proxy.ESI) fetches fragments through its own
// cache.
//
// Other ESI elements (esi:try, esi:choose, esi:vars, esi:inline) are not
// supported, as in Varnish: their tags are removed and their content is
// kept.
package esi

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
)

// MaxTag bounds an ESI tag (from "<esi:" to ">"): a longer one is not a
// tag, and is written as it is.
const MaxTag = 8 << 10

// Include is an <esi:include> element.
type Include struct {
	Src string
	// Alt is fetched when Src fails ("" when not given).
	Alt string
	// Continue is onerror="continue": when Src (and Alt) fail, the
	// include is left out instead of failing the page.
	Continue bool
}

// Fetch fetches src and writes the fragment to the page (through the
// Processor's writer); an error means the fragment is not usable, and
// should be returned before anything was written when possible.
type Fetch func(src string) error

// ErrInclude is wrapped by the error of an include that failed without
// onerror="continue": the page cannot be completed (the ESI specification
// makes this a failure of the whole page; Varnish aborts the response).
var ErrInclude = errors.New("esi: include failed")

// Processor rewrites an ESI page written to it.
type Processor struct {
	w     io.Writer
	fetch Fetch
	// OnSkip is told about includes left out (onerror="continue") and
	// unsupported elements; nil: nothing.
	OnSkip func(what string, err error)

	buf      []byte // held back: the start of a possible tag
	inRemove bool   // inside <esi:remove>: dropped
	inComm   bool   // inside <!--esi: the closing --> is dropped
	err      error
}

// NewProcessor returns a processor writing the processed page to w.
func NewProcessor(w io.Writer, fetch Fetch) *Processor {
	return &Processor{w: w, fetch: fetch}
}

// Write processes the next bytes of the page.
func (p *Processor) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n := len(b)
	if len(p.buf) > 0 {
		p.buf = append(p.buf, b...)
		b = p.buf
		p.buf = nil
	}
	rest, err := p.process(b, false)
	if err != nil {
		p.err = err
		return 0, err
	}
	if len(rest) > 0 {
		p.buf = append(p.buf[:0], rest...)
	}
	return n, nil
}

// Close processes what is held back (an unfinished tag is written as it
// is).
func (p *Processor) Close() error {
	if p.err != nil {
		return p.err
	}
	b := p.buf
	p.buf = nil
	if _, err := p.process(b, true); err != nil {
		p.err = err
	}
	return p.err
}

var (
	openers = [][]byte{[]byte("<esi:"), []byte("</esi:"), []byte("<!--esi")}
	endComm = []byte("-->")
)

// process handles b and returns the bytes to hold back (a possible tag
// not yet complete); final: nothing comes after b.
func (p *Processor) process(b []byte, final bool) ([]byte, error) {
	for len(b) > 0 {
		// The next byte that may start something: '<', or '-' of the
		// "-->" closing an <!--esi comment.
		i := bytes.IndexByte(b, '<')
		if p.inComm {
			if j := bytes.Index(b, endComm); j >= 0 && (i < 0 || j < i) {
				if err := p.emit(b[:j]); err != nil {
					return nil, err
				}
				p.inComm = false
				b = b[j+len(endComm):]
				continue
			}
			if i < 0 {
				// Hold back a trailing "-" or "--" that may start "-->".
				k := len(b)
				for k > 0 && len(b)-k < 2 && b[k-1] == '-' && !final {
					k--
				}
				if err := p.emit(b[:k]); err != nil {
					return nil, err
				}
				return b[k:], nil
			}
		}
		if i < 0 {
			return nil, p.emit(b)
		}
		if err := p.emit(b[:i]); err != nil {
			return nil, err
		}
		b = b[i:]
		kind, complete := opener(b)
		if kind < 0 {
			if !complete && !final {
				return b, nil // too short to tell
			}
			if err := p.emit(b[:1]); err != nil {
				return nil, err
			}
			b = b[1:]
			continue
		}
		if kind == 2 { // <!--esi
			if !p.inRemove {
				p.inComm = true
			}
			b = b[len(openers[2]):]
			continue
		}
		end := bytes.IndexByte(b, '>')
		if end < 0 {
			if len(b) <= MaxTag && !final {
				return b, nil
			}
			// Not a tag after all: written as it is.
			if err := p.emit(b[:1]); err != nil {
				return nil, err
			}
			b = b[1:]
			continue
		}
		tag := b[:end+1]
		b = b[end+1:]
		if err := p.element(tag, kind == 1); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// opener reports which opener b starts with (-1: none) and whether b is
// long enough to tell.
func opener(b []byte) (int, bool) {
	for k, o := range openers {
		n := min(len(b), len(o))
		if bytes.Equal(b[:n], o[:n]) {
			if n == len(o) {
				return k, true
			}
			return -1, false
		}
	}
	return -1, true
}

// element handles one ESI tag (closing: "</esi:…>").
func (p *Processor) element(tag []byte, closing bool) error {
	s := string(tag)
	name := s[len("<esi:"):]
	if closing {
		name = s[len("</esi:"):]
	}
	name = strings.TrimRight(name, "/>")
	attrs := ""
	if i := strings.IndexAny(name, " \t\r\n"); i >= 0 {
		name, attrs = name[:i], name[i:]
	}
	switch {
	case name == "remove" && closing:
		p.inRemove = false
		return nil
	case name == "remove":
		p.inRemove = true
		return nil
	case p.inRemove:
		return nil
	case name == "include" && !closing:
		return p.include(parseAttrs(attrs))
	case name == "comment" || name == "include":
		return nil
	}
	if p.OnSkip != nil && !closing {
		p.OnSkip("unsupported element esi:"+name, nil)
	}
	return nil
}

func (p *Processor) include(attrs map[string]string) error {
	inc := Include{Src: attrs["src"], Alt: attrs["alt"], Continue: strings.EqualFold(attrs["onerror"], "continue")}
	if inc.Src == "" {
		if p.OnSkip != nil {
			p.OnSkip("esi:include without src", nil)
		}
		return nil
	}
	err := p.fetch(inc.Src)
	if err != nil && inc.Alt != "" {
		if p.OnSkip != nil {
			p.OnSkip("esi:include src="+inc.Src+" failed, trying alt="+inc.Alt, err)
		}
		err = p.fetch(inc.Alt)
	}
	switch {
	case err == nil:
		return nil
	case inc.Continue:
		if p.OnSkip != nil {
			p.OnSkip("esi:include src="+inc.Src+" left out (onerror=continue)", err)
		}
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrInclude, inc.Src, err)
}

func (p *Processor) emit(b []byte) error {
	if len(b) == 0 || p.inRemove {
		return nil
	}
	_, err := p.w.Write(b)
	return err
}

// parseAttrs reads name="value" (or 'value', or unquoted) pairs, with
// HTML character references decoded in values.
func parseAttrs(s string) map[string]string {
	m := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\r\n/")
		if s == "" {
			return m
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return m
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t\r\n")
		var val string
		if s != "" && (s[0] == '"' || s[0] == '\'') {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return m
			}
			val, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexAny(s, " \t\r\n")
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSuffix(s[:end], "/"), s[end:]
		}
		m[name] = html.UnescapeString(val)
	}
}

// Enabled reports whether Surrogate-Control field lines ask the surrogate
// named token to process ESI: a content directive listing ESI/1.0, untargeted
// or targeted at token (`content="ESI/1.0"` or `content="ESI/1.0";token`,
// W3C Edge Architecture Specification 1.0).
func Enabled(surrogateControl []string, token string) bool {
	for _, line := range surrogateControl {
		for _, d := range splitDirectives(line) {
			name, val, _ := strings.Cut(d, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "content") {
				continue
			}
			val = strings.TrimSpace(val)
			target := ""
			if strings.HasPrefix(val, `"`) {
				if end := strings.IndexByte(val[1:], '"'); end >= 0 {
					val, target = val[1:1+end], val[2+end:]
				}
			} else {
				val, target, _ = strings.Cut(val, ";")
				target = ";" + target
			}
			target = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(target), ";"))
			if target != "" && !strings.EqualFold(target, token) {
				continue
			}
			for _, c := range strings.Fields(val) {
				if strings.EqualFold(c, "ESI/1.0") {
					return true
				}
			}
		}
	}
	return false
}

// splitDirectives splits a field line at the commas outside quotes.
func splitDirectives(line string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, line[start:i])
				start = i + 1
			}
		}
	}
	return append(out, line[start:])
}

// Capability is the Surrogate-Capability value an edge sends upstream to
// say it processes ESI (`cdnctl="Surrogate/1.0 ESI/1.0"`).
func Capability(token string) string {
	return token + `="Surrogate/1.0 ESI/1.0"`
}
