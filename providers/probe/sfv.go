package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sfMember is one member of a Structured Field List (RFC 8941 §3.1): an
// item (inner lists are parsed and kept as Inner) with its parameters in
// order.
type sfMember struct {
	Value  any // string (token or string), int64, float64, bool, []byte
	Token  bool
	Inner  []sfMember
	Params []sfParam
}

type sfParam struct {
	Key   string
	Value any // true when the parameter has no value
	Token bool
}

func (m sfMember) param(key string) (any, bool) {
	for _, p := range m.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// parseSFList parses a Structured Field List (RFC 8941 §4.2.1). Several
// field lines are joined with ", " first, as §4.2 requires.
func parseSFList(lines []string) ([]sfMember, error) {
	p := &sfParser{s: strings.Join(lines, ", ")}
	p.skipSP()
	var out []sfMember
	if p.done() {
		return nil, nil
	}
	for {
		m, err := p.member()
		if err != nil {
			return out, err
		}
		out = append(out, m)
		p.skipOWS()
		if p.done() {
			return out, nil
		}
		if p.s[p.i] != ',' {
			return out, p.errorf("expected ',' after a member")
		}
		p.i++
		p.skipOWS()
		if p.done() {
			return out, p.errorf("trailing ','")
		}
	}
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *sfParser) member() (sfMember, error) {
	var m sfMember
	if !p.done() && p.s[p.i] == '(' {
		p.i++
		for {
			p.skipSP()
			if p.done() {
				return m, p.errorf("unterminated inner list")
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			v, tok, err := p.bareItem()
			if err != nil {
				return m, err
			}
			params, err := p.params()
			if err != nil {
				return m, err
			}
			m.Inner = append(m.Inner, sfMember{Value: v, Token: tok, Params: params})
			if !p.done() && p.s[p.i] != ' ' && p.s[p.i] != ')' {
				return m, p.errorf("expected ' ' or ')' in an inner list")
			}
		}
	} else {
		v, tok, err := p.bareItem()
		if err != nil {
			return m, err
		}
		m.Value, m.Token = v, tok
	}
	params, err := p.params()
	m.Params = params
	return m, err
}

func (p *sfParser) params() ([]sfParam, error) {
	var out []sfParam
	for !p.done() && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return out, err
		}
		var v any = true
		tok := false
		if !p.done() && p.s[p.i] == '=' {
			p.i++
			if v, tok, err = p.bareItem(); err != nil {
				return out, err
			}
		}
		// A repeated key overwrites the earlier value (§4.2.3.2).
		replaced := false
		for j := range out {
			if out[j].Key == key {
				out[j].Value, out[j].Token, replaced = v, tok, true
			}
		}
		if !replaced {
			out = append(out, sfParam{Key: key, Value: v, Token: tok})
		}
	}
	return out, nil
}

func (p *sfParser) key() (string, error) {
	start := p.i
	if p.done() || !(isLCAlpha(p.s[p.i]) || p.s[p.i] == '*') {
		return "", p.errorf("expected a parameter key")
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if !(isLCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

// bareItem parses an integer, decimal, string, token, byte sequence or
// boolean; tok reports a token (as opposed to a string).
func (p *sfParser) bareItem() (v any, tok bool, err error) {
	if p.done() {
		return nil, false, p.errorf("expected an item")
	}
	c := p.s[p.i]
	switch {
	case c == '-' || isDigit(c):
		v, err = p.number()
		return v, false, err
	case c == '"':
		v, err = p.str()
		return v, false, err
	case c == '*' || isAlpha(c):
		start := p.i
		p.i++
		for p.i < len(p.s) && (isTChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		return p.s[start:p.i], true, nil
	case c == ':':
		end := strings.IndexByte(p.s[p.i+1:], ':')
		if end < 0 {
			return nil, false, p.errorf("unterminated byte sequence")
		}
		b := []byte(p.s[p.i+1 : p.i+1+end])
		p.i += end + 2
		return b, false, nil
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return p.s[p.i-1] == '1', false, nil
		}
		return nil, false, p.errorf("expected ?0 or ?1")
	}
	return nil, false, p.errorf("unexpected %q", c)
}

func (p *sfParser) number() (any, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits, dot := 0, false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isDigit(c) {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
		p.i++
	}
	text := p.s[start:p.i]
	if digits == 0 || strings.HasSuffix(text, ".") {
		return nil, p.errorf("malformed number %q", text)
	}
	if dot {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errorf("malformed decimal %q", text)
		}
		return f, nil
	}
	if digits > 15 {
		return nil, p.errorf("integer %q has more than 15 digits", text)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, p.errorf("malformed integer %q", text)
	}
	return n, nil
}

func (p *sfParser) str() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return "", p.errorf("bad escape in a string")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", p.errorf("control or non-ASCII byte in a string")
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated string")
}

func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || c >= 'A' && c <= 'Z' }

// isTChar is RFC 9110 tchar.
func isTChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
