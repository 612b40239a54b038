package hashing

import (
	"bytes"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file finds the module specifiers and asset URLs of JavaScript: a
// conservative scanner, not a parser. It lexes just enough of the language
// (comments, string, template and regular expression literals, brackets)
// to see code as code, and matches these forms, each with a plain string
// literal (or a template literal without substitutions) as the URL:
//
//	import x, {y as z} from "./a.js"     import "./a.js"
//	export * from "./a.js"               export {x} from "./a.js"
//	import("./a.js")                     import.meta.resolve("./a.js")
//	new URL("./a.png", import.meta.url)  importScripts("./a.js", …)
//	new Worker("./w.js")                 new SharedWorker("./w.js")
//	navigator.serviceWorker.register("./sw.js")
//
// Only URL-like specifiers are references: "./", "../", "/" and http(s)
// URLs. Bare specifiers ("react") are resolved by import maps, which are
// rewritten where they are written.
//
// The URLs of workers are resolved against the page, not the script; in a
// script file the page is unknown, so a relative worker URL is not
// rewritten and the files it may name keep their names (ref.pin). A
// service worker's URL is never rewritten: its script keeps its name.

// pinKind says why a reference's target must keep its name.
type pinKind uint8

const (
	pinNone pinKind = iota
	// pinWorker: a relative new Worker()/new SharedWorker() URL in a
	// script file, resolved against a page the script does not know.
	pinWorker
	// pinServiceWorker: a service worker script, whose URL must stay the
	// same from one deployment to the next.
	pinServiceWorker
	// pinImportMapDir: a folder an import map maps a specifier prefix to
	// ("three/addons/": "./jsm/"); module files under it are named by
	// bare specifiers.
	pinImportMapDir
)

// jsTriggers are words one of which every form the scanner matches holds:
// a script holding none of them is not scanned.
var jsTriggers = [][]byte{[]byte("import"), []byte("export"), []byte("Worker"), []byte("register")}

// jsRefs returns the references of JavaScript src, which starts at byte off
// of its file. base is what module specifiers resolve against (the
// script's URL, or a page's base URL for an inline script). page is the
// base URL of the page running the script when known (inline scripts),
// nil otherwise; root is the site root, a guess of the page's folder.
func jsRefs(src []byte, off int, base, page, root *url.URL) []ref {
	if len(src) > math.MaxInt32 {
		return nil // beyond any script (token offsets are 32-bit)
	}
	found := false
	for _, t := range jsTriggers {
		if bytes.Contains(src, t) {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	m := jsMatcher{lx: jsLexer{src: src}, off: off, base: base, page: page, root: root}
	m.run()
	return m.refs
}

// jsTokKind is the kind of a JavaScript token.
type jsTokKind uint8

const (
	jsEOF jsTokKind = iota
	jsIdent
	jsString       // '…' or "…"
	jsTemplate     // a whole template literal without substitutions
	jsTemplatePart // "`…${" or "}…${"
	jsTemplateTail // "}…`"
	jsNumber
	jsRegExp
	jsPunct
)

type jsTok struct {
	start, end int32
	kind       jsTokKind
	nl         bool // a line terminator precedes the token
}

// brace kinds on the lexer's stack.
const (
	braceBlock = iota
	braceExpr
	braceSubst // ${ of a template literal
)

// jsLexer splits JavaScript into tokens. A slash starts a regular
// expression where an expression may start (decided from the previous
// token, like tokenizers without a parser do); a regular expression that
// reaches the end of its line was a division after all.
type jsLexer struct {
	src []byte
	pos int
	// prev is the previous token, for the regular expression decision.
	prev    jsTok
	braces  []byte
	parens  []bool // per open parenthesis: whether it follows if/while/for/with
	closeRe bool   // the last ")" or "}" closed a head or block: a regular expression may follow
}

func tok(kind jsTokKind, start, end int) jsTok {
	return jsTok{kind: kind, start: int32(start), end: int32(end)}
}

// jsIdentBytes marks the bytes identifiers (and numbers) are made of: any
// non-ASCII byte counts, and "\\" for escapes.
var jsIdentBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80 || c == '\\'
	}
	return t
}()

func isIdentByte(c byte) bool { return jsIdentBytes[c] }

// exprKeywords are the keywords after which an expression (and so a
// regular expression literal) may start.
func exprKeyword(w []byte) bool {
	switch string(w) {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
		"case", "do", "else", "yield", "await", "extends":
		return true
	}
	return false
}

// prevKw reports whether the previous token is a keyword after which an
// expression starts (asked only at a "/" or "{": most identifiers never
// are).
func (lx *jsLexer) prevKw() bool {
	return lx.prev.kind == jsIdent && exprKeyword(lx.src[lx.prev.start:lx.prev.end])
}

// regexAllowed reports whether a slash after the previous token starts a
// regular expression.
func (lx *jsLexer) regexAllowed() bool {
	switch lx.prev.kind {
	case jsEOF:
		return true
	case jsIdent:
		return lx.prevKw()
	case jsPunct:
		switch lx.src[lx.prev.start] {
		case ']':
			return false
		case ')', '}':
			return lx.closeRe
		case '+', '-':
			return lx.prev.end-lx.prev.start == 1 // not after ++ or --
		}
		return true
	case jsTemplatePart:
		return true // after "${"
	}
	return false
}

// next returns the next token.
func (lx *jsLexer) next() jsTok {
	src := lx.src
	nl := false
	for {
		// Spaces, line terminators and comments.
		for lx.pos < len(src) {
			c := src[lx.pos]
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				lx.pos++
				continue
			}
			if c == '\n' {
				nl = true
				lx.pos++
				continue
			}
			if c >= 0x80 {
				r, size := utf8.DecodeRune(src[lx.pos:])
				switch r {
				case 0xa0, 0xfeff, 0x1680, 0x202f, 0x205f, 0x3000:
					lx.pos += size
					continue
				case 0x2028, 0x2029:
					nl = true
					lx.pos += size
					continue
				}
				if r >= 0x2000 && r <= 0x200a {
					lx.pos += size
					continue
				}
			}
			break
		}
		if lx.pos >= len(src) {
			return jsTok{kind: jsEOF, start: int32(lx.pos), end: int32(lx.pos), nl: nl}
		}
		if src[lx.pos] == '/' && lx.pos+1 < len(src) {
			switch src[lx.pos+1] {
			case '/':
				lx.skipLine()
				continue
			case '*':
				end := bytes.Index(src[lx.pos+2:], []byte("*/"))
				if end < 0 {
					lx.pos = len(src)
				} else {
					if bytes.IndexByte(src[lx.pos+2:lx.pos+2+end], '\n') >= 0 {
						nl = true
					}
					lx.pos += 2 + end + 2
				}
				continue
			}
		}
		if src[lx.pos] == '#' && lx.pos == 0 && len(src) > 1 && src[1] == '!' {
			lx.skipLine() // hashbang
			continue
		}
		if src[lx.pos] == '<' && bytes.HasPrefix(src[lx.pos:], []byte("<!--")) || src[lx.pos] == '-' && (nl || lx.prev.kind == jsEOF) && bytes.HasPrefix(src[lx.pos:], []byte("-->")) {
			lx.skipLine() // HTML-like comments of classic scripts
			continue
		}
		break
	}
	t := lx.scan()
	t.nl = nl
	lx.prev = t
	return t
}

func (lx *jsLexer) skipLine() {
	if i := bytes.IndexByte(lx.src[lx.pos:], '\n'); i >= 0 {
		lx.pos += i
	} else {
		lx.pos = len(lx.src)
	}
}

// scan reads the token at lx.pos (not a space or comment).
func (lx *jsLexer) scan() jsTok {
	src := lx.src
	start := lx.pos
	c := src[start]
	switch {
	case isIdentByte(c) && !(c >= '0' && c <= '9'):
		i := start + 1
		for i < len(src) && isIdentByte(src[i]) {
			i++
		}
		lx.pos = i
		return tok(jsIdent, start, i)
	case c >= '0' && c <= '9' || c == '.' && start+1 < len(src) && src[start+1] >= '0' && src[start+1] <= '9':
		i := start + 1
		for i < len(src) && (isIdentByte(src[i]) || src[i] == '.' || (src[i] == '+' || src[i] == '-') && (src[i-1] == 'e' || src[i-1] == 'E') && !isHexLiteral(src[start:i])) {
			i++
		}
		lx.pos = i
		return tok(jsNumber, start, i)
	case c == '"' || c == '\'':
		lx.pos = scanString(src, start)
		return tok(jsString, start, lx.pos)
	case c == '`':
		return lx.template(start, start+1)
	case c == '/':
		if lx.regexAllowed() {
			if end, ok := scanRegExp(src, start); ok {
				lx.pos = end
				return tok(jsRegExp, start, end)
			}
		}
	case c == '{':
		kind := byte(braceBlock)
		if lx.braceIsExpr() {
			kind = braceExpr
		}
		lx.braces = append(lx.braces, kind)
	case c == '}':
		if n := len(lx.braces); n > 0 {
			kind := lx.braces[n-1]
			lx.braces = lx.braces[:n-1]
			if kind == braceSubst {
				return lx.template(start, start+1)
			}
			lx.closeRe = kind == braceBlock
		} else {
			lx.closeRe = true
		}
	case c == '(':
		head := false
		if lx.prev.kind == jsIdent {
			switch string(src[lx.prev.start:lx.prev.end]) {
			case "if", "while", "for", "with":
				head = true
			}
		}
		lx.parens = append(lx.parens, head)
	case c == ')':
		lx.closeRe = false
		if n := len(lx.parens); n > 0 {
			lx.closeRe = lx.parens[n-1]
			lx.parens = lx.parens[:n-1]
		}
	case c == '+' || c == '-' || c == '=' || c == '?':
		// ++ -- => ?. are tokens of their own; the rest needs no pairing.
		if start+1 < len(src) {
			d := src[start+1]
			if d == c && c != '=' && c != '?' || c == '=' && d == '>' || c == '?' && d == '.' && !(start+2 < len(src) && src[start+2] >= '0' && src[start+2] <= '9') {
				lx.pos = start + 2
				return tok(jsPunct, start, start+2)
			}
		}
	}
	lx.pos = start + 1
	return tok(jsPunct, start, start+1)
}

func isHexLiteral(b []byte) bool {
	return len(b) > 1 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')
}

// braceIsExpr guesses whether a "{" opens an object literal (after an
// operator, "(", "[", ",", ":" or a keyword such as return) rather than
// a block.
func (lx *jsLexer) braceIsExpr() bool {
	switch lx.prev.kind {
	case jsEOF:
		return false
	case jsIdent:
		return lx.prevKw() && string(lx.src[lx.prev.start:lx.prev.end]) != "do" && string(lx.src[lx.prev.start:lx.prev.end]) != "else"
	case jsPunct:
		switch lx.src[lx.prev.start] {
		case ')', ';', '{', '}':
			return false
		case '=':
			return lx.prev.end-lx.prev.start == 1 // "=>" opens a body
		}
		return true
	case jsTemplatePart:
		return true
	}
	return false
}

// template scans template characters from i (after "`" or the "}" ending
// a substitution) to the closing "`" or the next "${".
func (lx *jsLexer) template(start, i int) jsTok {
	src := lx.src
	whole := src[start] == '`'
	for i < len(src) {
		switch src[i] {
		case '\\':
			i += 2
			continue
		case '`':
			lx.pos = i + 1
			if whole {
				return tok(jsTemplate, start, i+1)
			}
			return tok(jsTemplateTail, start, i+1)
		case '$':
			if i+1 < len(src) && src[i+1] == '{' {
				lx.braces = append(lx.braces, braceSubst)
				lx.pos = i + 2
				return tok(jsTemplatePart, start, i+2)
			}
		}
		i++
	}
	lx.pos = len(src)
	return tok(jsTemplateTail, start, len(src))
}

// scanString returns the end of the string literal starting at start. An
// unterminated string ends at its line's end.
func scanString(src []byte, start int) int {
	q := src[start]
	i := start + 1
	for i < len(src) {
		switch src[i] {
		case q:
			return i + 1
		case '\\':
			i += 2
			if i-1 < len(src) && src[i-1] == '\r' && i < len(src) && src[i] == '\n' {
				i++
			}
			continue
		case '\n':
			return i
		}
		i++
	}
	return len(src)
}

// scanRegExp returns the end of the regular expression literal starting
// at start (flags included), or false when the line ends first.
func scanRegExp(src []byte, start int) (int, bool) {
	i := start + 1
	class := false
	for i < len(src) {
		switch src[i] {
		case '\\':
			i += 2
			continue
		case '\n', '\r':
			return 0, false
		case '[':
			class = true
		case ']':
			class = false
		case '/':
			if !class {
				i++
				for i < len(src) && isIdentByte(src[i]) {
					i++
				}
				return i, true
			}
		}
		i++
	}
	return 0, false
}

// jsMatcher finds the reference forms in the token stream.
type jsMatcher struct {
	lx               jsLexer
	off              int
	base, page, root *url.URL
	refs             []ref

	back    jsTok // a token read ahead and given back
	hasBack bool
	// hist holds the last 4 tokens next returned, hist[head] the last
	// (see h).
	hist [4]jsTok
	head uint8
}

// h returns the token next returned last (i = 0), the one before it (1)…
// up to 3.
func (m *jsMatcher) h(i uint8) jsTok { return m.hist[(m.head-i)&3] }

func (m *jsMatcher) next() jsTok {
	var t jsTok
	if m.hasBack {
		t, m.hasBack = m.back, false
	} else {
		t = m.lx.next()
	}
	m.head++
	m.hist[m.head&3] = t
	return t
}

// unread gives back the token next returned last.
func (m *jsMatcher) unread() {
	m.back, m.hasBack = m.h(0), true
	m.hist[m.head&3] = jsTok{} // becomes the oldest
	m.head--
}

func (m *jsMatcher) text(t jsTok) string { return string(m.lx.src[t.start:t.end]) }

func (m *jsMatcher) is(t jsTok, s string) bool {
	return t.kind != jsEOF && int(t.end-t.start) == len(s) && string(m.lx.src[t.start:t.end]) == s
}

func (m *jsMatcher) isPunct(t jsTok, c byte) bool {
	return t.kind == jsPunct && t.end-t.start == 1 && m.lx.src[t.start] == c
}

// afterDot reports whether the current token follows "." or "?.": a
// property name, not a keyword.
func (m *jsMatcher) afterDot() bool {
	p := m.h(1)
	return p.kind == jsPunct && (m.is(p, ".") || m.is(p, "?."))
}

// statementStart reports whether the current token can start a statement
// of the top level (where import and export declarations are).
func (m *jsMatcher) statementStart() bool {
	p := m.h(1)
	return p.kind == jsEOF || m.h(0).nl || m.isPunct(p, ';') || m.isPunct(p, '}')
}

func (m *jsMatcher) run() {
	for {
		t := m.next()
		switch {
		case t.kind == jsEOF:
			return
		case t.kind != jsIdent || !jsTriggerWord(m.lx.src[t.start:t.end]) || m.afterDot() && !m.is(t, "register"):
		case m.is(t, "import"):
			m.importForm()
		case m.is(t, "export"):
			if m.statementStart() {
				m.exportForm()
			}
		case m.is(t, "new"):
			m.newForm()
		case m.is(t, "importScripts"):
			if m.nextPunct('(') {
				m.callArgs(64, pinNone, m.base, false)
			}
		case m.is(t, "register"):
			if m.afterDot() && m.is(m.h(2), "serviceWorker") && m.nextPunct('(') {
				m.callArgs(1, pinServiceWorker, nil, false)
			}
		}
	}
}

// jsTriggerWord reports whether an identifier may start a form run
// matches.
func jsTriggerWord(w []byte) bool {
	switch len(w) {
	case 3:
		return w[0] == 'n' && string(w) == "new"
	case 6:
		return (w[0] == 'i' || w[0] == 'e') && (string(w) == "import" || string(w) == "export")
	case 8:
		return w[0] == 'r' && string(w) == "register"
	case 13:
		return w[0] == 'i' && string(w) == "importScripts"
	}
	return false
}

// nextPunct reads the next token if it is the punctuator c.
func (m *jsMatcher) nextPunct(c byte) bool {
	if m.isPunct(m.next(), c) {
		return true
	}
	m.unread()
	return false
}

// nextWord reads the next token if it is s.
func (m *jsMatcher) nextWord(s string) bool {
	if m.is(m.next(), s) {
		return true
	}
	m.unread()
	return false
}

// literal returns the source of a string literal or of a template literal
// without substitutions, and whether t is one.
func (m *jsMatcher) literal(t jsTok) (raw string, ok bool) {
	switch t.kind {
	case jsString:
		if t.end-t.start < 2 || m.lx.src[t.end-1] != m.lx.src[t.start] {
			return "", false // unterminated
		}
	case jsTemplate:
	default:
		return "", false
	}
	return m.text(t), true
}

// importForm matches after "import": a declaration, import(), or
// import.meta.resolve().
func (m *jsMatcher) importForm() {
	decl := m.statementStart()
	t := m.next()
	switch {
	case m.isPunct(t, '('):
		m.callArgs(1, pinNone, m.base, true)
		return
	case m.isPunct(t, '.'):
		if m.nextWord("meta") && m.nextPunct('.') && m.nextWord("resolve") && m.nextPunct('(') {
			m.callArgs(1, pinNone, m.base, true)
		}
		return
	case !decl:
		m.unread()
		return
	}
	if raw, ok := m.literal(t); ok && t.kind == jsString {
		m.add(t, raw, m.base, pinNone, true) // import "x"
		return
	}
	m.unread()
	m.fromClause()
}

// exportForm matches after "export": export * from "x", export {…}
// from "x".
func (m *jsMatcher) exportForm() {
	t := m.next()
	m.unread()
	if m.isPunct(t, '*') || m.isPunct(t, '{') {
		m.fromClause()
	}
}

// fromClause reads an import or export clause (names, "*", "as", braces,
// commas) up to from "x". Anything else ends the match.
func (m *jsMatcher) fromClause() {
	depth := 0
	for range 4096 {
		t := m.next()
		switch {
		case t.kind == jsIdent && depth == 0 && m.is(t, "from"):
			s := m.next()
			if raw, ok := m.literal(s); ok && s.kind == jsString {
				m.add(s, raw, m.base, pinNone, true)
				return
			}
			m.unread() // import from from "x"
		case t.kind == jsIdent:
		case m.isPunct(t, '{'):
			depth++
		case m.isPunct(t, '}') && depth > 0:
			depth--
		case m.isPunct(t, '*') || m.isPunct(t, ','):
		case t.kind == jsString && depth > 0:
		default:
			m.unread()
			return
		}
	}
}

// newForm matches after "new": new URL("x", import.meta.url),
// new Worker("x"…), new SharedWorker("x"…).
func (m *jsMatcher) newForm() {
	// new URL(…) as the argument of serviceWorker.register(…)
	inRegister := m.isPunct(m.h(1), '(') && m.is(m.h(2), "register")
	name := m.next()
	if name.kind != jsIdent || !m.nextPunct('(') {
		if name.kind != jsIdent {
			m.unread()
		}
		return
	}
	switch m.text(name) {
	case "URL":
		s := m.next()
		raw, ok := m.literal(s)
		if !ok {
			m.unread()
			return
		}
		if !m.nextPunct(',') || !m.nextWord("import") || !m.nextPunct('.') || !m.nextWord("meta") || !m.nextPunct('.') || !m.nextWord("url") {
			return
		}
		end := m.next()
		m.unread()
		if !m.isPunct(end, ')') && !m.isPunct(end, ',') {
			return
		}
		pin := pinNone
		if inRegister {
			pin = pinServiceWorker
		}
		m.add(s, raw, m.base, pin, false)
	case "Worker", "SharedWorker":
		m.callArgs(1, pinWorker, nil, false)
	}
}

// callArgs matches up to max literal arguments after "(", each followed
// by "," or ")". A nil base means the URLs resolve against the page (a
// worker's or a service worker's). module says they are module
// specifiers.
func (m *jsMatcher) callArgs(max int, pin pinKind, base *url.URL, module bool) {
	for range max {
		s := m.next()
		raw, ok := m.literal(s)
		if !ok {
			m.unread()
			return
		}
		end := m.next()
		m.unread()
		if !m.isPunct(end, ')') && !m.isPunct(end, ',') {
			return
		}
		if base == nil {
			m.addPage(s, raw, pin)
		} else {
			m.add(s, raw, base, pin, module)
		}
		if m.isPunct(end, ')') {
			return
		}
		m.next() // the comma
	}
}

// addPage adds a URL resolved against the page: a worker's is rewritten
// when the page is known or the URL does not depend on it; otherwise the
// files it may name (relative to the script or to the site root) keep
// their names, as does a service worker's script.
func (m *jsMatcher) addPage(s jsTok, raw string, pin pinKind) {
	val, ok := jsUnquote(raw)
	if !ok {
		return
	}
	relative := isRelativePath(val)
	switch {
	case pin == pinWorker && m.page != nil:
		m.add(s, raw, m.page, pinNone, false)
	case pin == pinWorker && !relative:
		m.add(s, raw, m.base, pinNone, false)
	case m.page != nil:
		m.add(s, raw, m.page, pin, false)
	default:
		m.add(s, raw, m.base, pin, false)
		if relative && m.root != nil {
			m.add(s, raw, m.root, pin, false)
		}
	}
}

// isRelativePath reports whether a URL-like value is relative to its base
// path (not "/…" or "http(s)://…").
func isRelativePath(v string) bool {
	return !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://")
}

// add records the URL of the literal token s. A module specifier must be
// URL-like (see urlLike).
func (m *jsMatcher) add(s jsTok, raw string, base *url.URL, pin pinKind, module bool) {
	val, ok := jsUnquote(raw)
	if !ok || module && !urlLike(val) || strings.TrimSpace(val) == "" {
		return
	}
	inner := raw[1 : len(raw)-1]
	r := ref{start: m.off + int(s.start) + 1, end: m.off + int(s.end) - 1, text: inner, url: val, base: base, kind: refResource, pin: pin}
	if inner != val {
		q := raw[0]
		r.start, r.end, r.text = m.off+int(s.start), m.off+int(s.end), raw
		r.encode = func(u string) string { return jsQuote(u, q) }
	}
	m.refs = append(m.refs, r)
}

// urlLike reports whether a module specifier is a URL rather than a bare
// name: "./x", "../x", "/x" or an http(s) URL.
func urlLike(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "/") ||
		strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// jsUnquote returns the value of a string literal (quotes included in
// raw), or false for one it cannot decode.
func jsUnquote(raw string) (string, bool) {
	if len(raw) < 2 {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if strings.IndexByte(s, '\\') < 0 {
		if raw[0] == '`' && strings.Contains(s, "${") {
			return "", false
		}
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0':
			b.WriteByte(0)
		case '\n':
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case 'x':
			if i+2 >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(v))
			i += 2
		case 'u':
			var hex string
			if i+1 < len(s) && s[i+1] == '{' {
				j := strings.IndexByte(s[i:], '}')
				if j < 0 {
					return "", false
				}
				hex = s[i+2 : i+j]
				i += j
			} else {
				if i+4 >= len(s) {
					return "", false
				}
				hex = s[i+1 : i+5]
				i += 4
			}
			v, err := strconv.ParseUint(hex, 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", false
			}
			b.WriteRune(rune(v))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// jsQuote writes s as a string literal with quote q.
func jsQuote(s string, q byte) string {
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case q == '`' && c == '$':
			b.WriteString(`\$`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}
