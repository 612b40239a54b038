package siteaudit

// The scanner finds URL-like strings in the text of a file without parsing
// its language: a token is a run of bytes that can be part of a URL,
// between delimiters (white space, quotes, brackets, parentheses, "=", ",",
// ";", "&", "|", "^", "\"). So it sees a URL wherever it is written — an
// attribute, url(), a string literal, a JSON value, a string inside a
// string (an RSC payload in a script), a comment in a script — and also
// many strings that are no URL at all ("text/html", "a.b.c"), which the
// resolver drops because they name no file of the site.
//
// Escapes that hide a "/" are undone inside a token: "\/" (JSON, and
// scripts that escape "</script>"), "\u002f" and "\x2f" (JavaScript),
// "&#47;", "&#x2f;" and "&sol;" (HTML character references). Any other
// backslash escape or character reference ends the token ("\"" inside a
// string, "&quot;" around a URL in an escaped feed entry).
//
// In HTML only what the browser reads as URLs or code is scanned: tags
// (with their attributes) and the content of <script> and <style>; the
// text of the page and its comments are not (a page that says "put your
// logo in /img/logo.png" does not ask for it). Everything else is scanned
// whole.
//
// The scanner works on a stream: Write may be called with any split of
// the file, and Close ends it.

// maxToken bounds a token's length: longer runs (data: URIs, base64,
// minified code without delimiters) are dropped, not URLs of the site.
const maxToken = 2048

// delim marks the bytes that end a token.
var delim = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r\f\v\"'`()<>[]{}=,;&|^\\") {
		t[c] = true
	}
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t[0x7f] = true
	return t
}()

// HTML states.
const (
	htmlText    = iota // page text: not scanned
	htmlTagName        // after "<": reading the tag name
	htmlTag            // inside a tag: scanned
	htmlComment        // inside <!-- -->: not scanned
	htmlRaw            // content of <script> or <style>: scanned
)

type scanner struct {
	html bool
	emit func(tok []byte, line int)

	line    int // current line, 1-based
	tok     []byte
	tokLine int  // line where tok started
	drop    bool // tok overflowed: drop it at its end

	// A pending escape ("\", "&") after which the token may go on.
	esc    []byte
	escing bool

	// HTML.
	hs      int
	name    []byte // tag name being read (lower case, bounded)
	quote   byte   // quote of the attribute value being read, or 0
	raw     string // "script" or "style": the end tag htmlRaw waits for
	rawEnd  int    // bytes of "</"+raw matched so far
	dashes  int    // consecutive "-" seen in a comment
	endTag  bool   // the tag being read is an end tag
	rawNext string // the tag being read opens raw content
}

func newScanner(html bool, emit func(tok []byte, line int)) *scanner {
	return &scanner{html: html, emit: emit, line: 1, tok: make([]byte, 0, 256), name: make([]byte, 0, 16)}
}

// Write scans p.
func (s *scanner) Write(p []byte) (int, error) {
	if !s.html {
		for _, c := range p {
			s.scan(c)
		}
		return len(p), nil
	}
	for _, c := range p {
		s.scanHTML(c)
	}
	return len(p), nil
}

// Close ends the file.
func (s *scanner) Close() error {
	s.flushEscape()
	s.end()
	return nil
}

func (s *scanner) scanHTML(c byte) {
	switch s.hs {
	case htmlText:
		if c == '<' {
			s.hs, s.name, s.endTag = htmlTagName, s.name[:0], false
		}
		if c == '\n' {
			s.line++
		}
	case htmlTagName:
		switch {
		case c == '/' && len(s.name) == 0 && !s.endTag:
			s.endTag = true
		case c == '!' || c == '-' || c == '?' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ':':
			if len(s.name) < cap(s.name) {
				s.name = append(s.name, lower(c))
			}
			if string(s.name) == "!--" {
				s.hs, s.dashes = htmlComment, 0
			}
		case len(s.name) == 0:
			// "a < b" in the text.
			s.hs = htmlText
			s.scanHTML(c)
		default:
			s.rawNext = ""
			if !s.endTag && (string(s.name) == "script" || string(s.name) == "style") {
				s.rawNext = string(s.name)
			}
			s.hs, s.quote = htmlTag, 0
			s.scanHTML(c)
		}
	case htmlTag:
		switch {
		case s.quote != 0 && c == s.quote:
			s.quote = 0
		case s.quote == 0 && (c == '"' || c == '\''):
			s.quote = c
		case s.quote == 0 && c == '>':
			s.flushEscape()
			s.end()
			if s.rawNext != "" {
				s.hs, s.raw, s.rawEnd = htmlRaw, s.rawNext, 0
			} else {
				s.hs = htmlText
			}
			return
		}
		s.scan(c)
	case htmlComment:
		switch {
		case c == '-':
			s.dashes++
		case c == '>' && s.dashes >= 2:
			s.hs = htmlText
		default:
			s.dashes = 0
		}
		if c == '\n' {
			s.line++
		}
	case htmlRaw:
		// Look for "</script" (or "</style"), case-insensitively.
		switch {
		case s.rawEnd == 0 && c == '<':
			s.rawEnd = 1
		case s.rawEnd == 1 && c == '/':
			s.rawEnd = 2
		case s.rawEnd >= 2 && s.rawEnd-2 < len(s.raw) && lower(c) == s.raw[s.rawEnd-2]:
			s.rawEnd++
			if s.rawEnd-2 == len(s.raw) {
				// The token is "/scrip": not a URL.
				s.tok, s.drop = s.tok[:0], false
				s.hs, s.name, s.endTag, s.rawNext, s.quote = htmlTag, append(s.name[:0], s.raw...), true, "", 0
				return
			}
		default:
			s.rawEnd = 0
			if c == '<' {
				s.rawEnd = 1
			}
		}
		s.scan(c)
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scan adds c to the current token or ends it.
func (s *scanner) scan(c byte) {
	if s.escing {
		s.escape(c)
		return
	}
	if c == '\\' || c == '&' {
		s.escing, s.esc = true, append(s.esc[:0], c)
		return
	}
	if delim[c] {
		s.end()
		if c == '\n' {
			s.line++
		}
		return
	}
	s.add(c)
}

func (s *scanner) add(c byte) {
	if len(s.tok) == 0 {
		s.tokLine = s.line
	}
	if len(s.tok) >= maxToken {
		s.drop = true
		return
	}
	s.tok = append(s.tok, c)
}

// end emits the current token, if any.
func (s *scanner) end() {
	if len(s.tok) > 0 && !s.drop {
		s.emit(s.tok, s.tokLine)
	}
	s.tok, s.drop = s.tok[:0], false
}

// slashEscapes are the escapes read as "/" inside a token.
var slashEscapes = []string{`\/`, `\u002f`, `\u002F`, `\x2f`, `\x2F`, "&#47;", "&#x2f;", "&#x2F;", "&#X2F;", "&sol;", "&#047;"}

// slashEscape reports whether e is one of slashEscapes (full) or the start
// of one (more). A run of backslashes counts as one: "\\\/" is a "/" in a
// string inside a string.
func slashEscape(e []byte) (full, more bool) {
	for len(e) > 1 && e[0] == '\\' && e[1] == '\\' {
		e = e[1:]
	}
	for _, k := range slashEscapes {
		if len(k) >= len(e) && k[:len(e)] == string(e) {
			if len(k) == len(e) {
				return true, false
			}
			more = true
		}
	}
	return false, more
}

// escape reads c as part of a pending escape.
func (s *scanner) escape(c byte) {
	s.esc = append(s.esc, c)
	full, more := slashEscape(s.esc)
	if full {
		s.escing = false
		s.add('/')
		return
	}
	if more && len(s.esc) < 16 {
		return
	}
	// Not a "/": the escape ends the token. Its bytes are not scanned
	// again, except the last one when it may start something ("\"" ends
	// a string, "&" a new escape).
	s.escing = false
	s.end()
	last := s.esc[len(s.esc)-1]
	if s.esc[0] == '\\' {
		// "\n", "\"", "\\x": the escaped character is consumed.
		if last == '\n' {
			s.line++
		}
		return
	}
	s.scan(last)
}

// flushEscape ends a pending escape at the end of a region.
func (s *scanner) flushEscape() {
	if s.escing {
		s.escing = false
		s.end()
		for _, c := range s.esc[1:] {
			if c == '\n' {
				s.line++
			}
		}
	}
}
