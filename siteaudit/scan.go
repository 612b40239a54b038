package siteaudit

import "bytes"

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
// text of the page, its comments and the content of the elements the
// browser shows as text (<textarea>, <title>, <iframe>…: see
// textElements) are not (a page that says "put your logo in
// /img/logo.png" does not ask for it). Everything else is scanned whole.
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

// runStop marks the bytes that stop a run of token bytes: the delimiters
// and the starts of escapes ("\\", "&").
var runStop = func() (t [256]bool) {
	t = delim
	t['\\'], t['&'] = true, true
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
	// js: the file is a script, whose lines starting with "//" are
	// comments (as are those of inline scripts in HTML).
	js bool
	// Line comments: lineStart is set while only blanks were seen on
	// the line; lc is the state of a line starting with "/" (lcSlash),
	// "//" (lcPrefix: reading what follows, which may be a
	// sourceMappingURL), or a comment (lcSkip).
	lineStart bool
	lc        int
	lcBuf     []byte
	emit      func(t token)
	// bases, if set, are the base names a token must be able to name to
	// be emitted (see baseSet.mayName): a quick filter, as most tokens
	// name no file.
	bases *baseSet

	line    int // current line, 1-based
	tok     []byte
	tokLine int  // line where tok started
	drop    bool // tok overflowed: drop it at its end
	open    byte // the byte before tok
	last    byte // the last delimiter seen

	// A pending escape ("\", "&") after which the token may go on.
	esc    []byte
	escing bool

	// HTML.
	hs      int
	name    []byte // tag name being read (lower case, bounded)
	quote   byte   // quote of the attribute value being read, or 0
	raw     string // "script", "style" or a text element: the end tag htmlRaw waits for
	rawText bool   // raw is a text element: its content is not scanned
	rawEnd  int    // bytes of "</"+raw matched so far
	dashes  int    // consecutive "-" seen in a comment
	endTag  bool   // the tag being read is an end tag
	rawNext string // the tag being read opens raw content
}

// token is a URL-like string found by the scanner.
type token struct {
	text []byte // valid during the emit call only
	line int
	// open and close are the bytes around it: the delimiters, or for an
	// escape the escaped character ('"' of \") or the "&" that starts a
	// character reference. 0 at the start and end of a region.
	open, close byte
	// inTag is set for a token in an HTML tag (an attribute).
	inTag bool
}

// quoted reports whether the token is the whole of a string, a url(…)
// argument, an attribute value, a value after "=" (an unquoted
// attribute, sourceMappingURL=), or the start of a string that is a URL
// with a query its script completes ("ngsw.json?ngsw-cache-bust=" +
// Math.random(), "data.json?v=" + version).
func (t token) quoted() bool {
	switch {
	case t.inTag, t.open == '=':
		return true
	case t.open == t.close && (t.open == '"' || t.open == '\'' || t.open == '`'):
		return true
	case (t.open == '"' || t.open == '\'' || t.open == '`') && t.close == '=' && bytes.IndexByte(t.text, '?') > 0:
		return true
	case t.open == '(' && t.close == ')':
		return true
	case t.open == ';' && t.close == '&': // &quot;…&quot;
		return true
	}
	return false
}

// Line comment states.
const (
	lcNone = iota
	lcSlash
	lcPrefix
	lcSkip
)

// sourceMapComments start the comments that are references.
var sourceMapComments = []string{"# sourceMappingURL=", "@ sourceMappingURL="}

func newScanner(html, js bool, emit func(t token)) *scanner {
	return &scanner{html: html, js: js, lineStart: true, emit: emit, line: 1, tok: make([]byte, 0, 256), name: make([]byte, 0, 16)}
}

// comments reports whether lines starting with "//" are comments here.
func (s *scanner) comments() bool {
	return s.js && !s.html || s.html && s.hs == htmlRaw && s.raw == "script"
}

// lineComment reads c on a line that starts with "/".
func (s *scanner) lineComment(c byte) {
	switch s.lc {
	case lcNone:
		s.lc = lcSlash
	case lcSlash:
		if c == '/' {
			s.end('/')
			s.lc, s.lcBuf = lcPrefix, s.lcBuf[:0]
			return
		}
		// "/" then something else: a regular expression, a division.
		s.lc, s.lineStart = lcNone, false
		s.scan('/')
		s.scan(c)
	case lcPrefix, lcSkip:
		if c == '\n' {
			s.lc, s.lineStart, s.last = lcNone, true, '\n'
			s.line++
			return
		}
		if s.lc == lcSkip {
			return
		}
		s.lcBuf = append(s.lcBuf, c)
		for _, p := range sourceMapComments {
			if len(s.lcBuf) <= len(p) && p[:len(s.lcBuf)] == string(s.lcBuf) {
				if len(s.lcBuf) == len(p) {
					// The rest of the line is a reference.
					s.lc, s.lineStart, s.last = lcNone, false, '='
				}
				return
			}
		}
		s.lc = lcSkip
	}
}

// Write scans p.
func (s *scanner) Write(p []byte) (int, error) {
	if s.html || s.bases == nil {
		return s.write(p)
	}
	// Outside HTML, every line starts in the same state (no token, no
	// escape, no line comment): a line that cannot name one of the bases
	// is skipped, but for its line count.
	n := len(p)
	for len(p) > 0 {
		k := bytes.IndexByte(p, '\n')
		if k < 0 {
			s.write(p) // a line that may go on in the next write
			break
		}
		line := p[:k+1]
		p = p[k+1:]
		if !s.lineStart || len(s.tok) > 0 || s.drop || s.escing || s.lc != lcNone || s.bases.lineMayName(line) {
			s.write(line)
			continue
		}
		s.line++
		s.last = '\n'
	}
	return n, nil
}

// write scans p, byte by byte or run by run.
func (s *scanner) write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case s.escing && !s.html:
			s.escape(c)
			i++
		case s.html && s.hs == htmlText:
			// Page text is skipped up to the next tag.
			k := bytes.IndexByte(p[i:], '<')
			if k < 0 {
				s.line += bytes.Count(p[i:], newline)
				return len(p), nil
			}
			s.line += bytes.Count(p[i:i+k], newline)
			i += k
			s.scanHTML('<')
			i++
		case !s.escing && !runStop[c] && s.lc == lcNone && !(s.lineStart && c == '/') &&
			(!s.html || s.hs == htmlTag || s.hs == htmlRaw && s.rawEnd == 0 && !s.rawText):
			// A run of token bytes, added at once.
			j := i + 1
			for j < len(p) && !runStop[p[j]] {
				j++
			}
			s.addRun(p[i:j])
			s.lineStart = false
			i = j
		case s.html:
			s.scanHTML(c)
			i++
		case delim[c] && c != '\n' && c != '\\' && c != '&' && !s.escing && s.lc == lcNone:
			// A delimiter on a line (what scan does with it, without
			// the cases that cannot apply).
			if c != ' ' && c != '\t' && c != '\r' {
				s.lineStart = false
			}
			s.end(c)
			s.last = c
			i++
		default:
			s.scan(c)
			i++
		}
	}
	return len(p), nil
}

var newline = []byte{'\n'}

// addRun adds token bytes to the current token.
func (s *scanner) addRun(run []byte) {
	if len(s.tok) == 0 {
		s.tokLine, s.open = s.line, s.last
	}
	if len(s.tok)+len(run) > maxToken {
		s.drop = true
		return
	}
	s.tok = append(s.tok, run...)
}

// Close ends the file.
func (s *scanner) Close() error {
	s.flushEscape()
	s.end(0)
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
			if !s.endTag && (string(s.name) == "script" || string(s.name) == "style" || textElements[string(s.name)]) {
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
			s.end(c)
			s.last, s.lineStart, s.lc = c, false, lcNone
			if s.rawNext != "" {
				s.hs, s.raw, s.rawEnd, s.rawText = htmlRaw, s.rawNext, 0, textElements[s.rawNext]
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
				s.tok, s.drop, s.lc = s.tok[:0], false, lcNone
				s.hs, s.name, s.endTag, s.rawNext, s.quote = htmlTag, append(s.name[:0], s.raw...), true, "", 0
				return
			}
		default:
			s.rawEnd = 0
			if c == '<' {
				s.rawEnd = 1
			}
		}
		if s.rawText {
			if c == '\n' {
				s.line++
			}
			return
		}
		s.scan(c)
	}
}

// textElements are the elements whose content the browser reads as text
// (what they show), never as markup: a tag written inside one names no
// file (RCDATA and raw text elements, but script and style).
var textElements = map[string]bool{"textarea": true, "title": true, "xmp": true, "iframe": true, "noembed": true, "noframes": true}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scan adds c to the current token or ends it.
func (s *scanner) scan(c byte) {
	if (s.lc != lcNone || s.lineStart && c == '/') && s.comments() {
		s.lineComment(c)
		return
	}
	switch c {
	case '\n':
		s.lineStart = true
	case ' ', '\t', '\r':
	default:
		s.lineStart = false
	}
	if s.escing {
		s.escape(c)
		return
	}
	if c == '\\' || c == '&' {
		s.escing, s.esc = true, append(s.esc[:0], c)
		return
	}
	if delim[c] {
		s.end(c)
		s.last = c
		if c == '\n' {
			s.line++
		}
		return
	}
	s.add(c)
}

func (s *scanner) add(c byte) {
	if len(s.tok) == 0 {
		s.tokLine, s.open = s.line, s.last
	}
	if len(s.tok) >= maxToken {
		s.drop = true
		return
	}
	s.tok = append(s.tok, c)
}

// end emits the current token, if any, which close ends.
func (s *scanner) end(close byte) {
	if len(s.tok) > 0 && !s.drop && (s.bases == nil || s.bases.mayName(s.tok)) {
		s.emit(token{text: s.tok, line: s.tokLine, open: s.open, close: close, inTag: s.html && s.hs == htmlTag})
	}
	s.tok, s.drop = s.tok[:0], false
}

// The escapes read as "/" inside a token, by their first byte.
var (
	backslashEscapes = []string{`\/`, `\u002f`, `\u002F`, `\x2f`, `\x2F`}
	refEscapes       = []string{"&#47;", "&#047;", "&#x2f;", "&#x2F;", "&#X2F;", "&sol;"}
)

// slashEscape reports whether e is one of those escapes (full) or the
// start of one (more). A run of backslashes counts as one: "\\\/" is a "/"
// in a string inside a string.
func slashEscape(e []byte) (full, more bool) {
	for len(e) > 1 && e[0] == '\\' && e[1] == '\\' {
		e = e[1:]
	}
	cands := refEscapes
	if e[0] == '\\' {
		cands = backslashEscapes
	}
next:
	for _, k := range cands {
		if len(k) < len(e) {
			continue
		}
		for i := 1; i < len(e); i++ {
			if k[i] != e[i] {
				continue next
			}
		}
		if len(k) == len(e) {
			return true, false
		}
		more = true
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
	last := s.esc[len(s.esc)-1]
	if s.esc[0] == '\\' {
		// "\n", "\"", "\\x": the escaped character is consumed.
		s.end(last)
		s.last = last
		if last == '\n' {
			s.line++
		}
		return
	}
	s.end('&')
	s.last = '&'
	s.scan(last)
}

// flushEscape ends a pending escape at the end of a region.
func (s *scanner) flushEscape() {
	if s.escing {
		s.escing = false
		s.end(s.esc[0])
		for _, c := range s.esc[1:] {
			if c == '\n' {
				s.line++
			}
		}
	}
}
