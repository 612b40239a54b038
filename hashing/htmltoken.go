package hashing

import "bytes"

// htmlTokenType is the kind of a token htmlTokenizer returns.
type htmlTokenType uint8

const (
	htmlEnd            htmlTokenType = iota // no more tokens (x/net/html's ErrorToken)
	htmlText                                // text, raw text included
	htmlStartTag                            // "<a href=…>"
	htmlSelfClosingTag                      // "<br/>"
	htmlEndTag                              // "</a>"
	htmlOther                               // a comment or a doctype
)

// htmlTokenizer splits an HTML document into the tokens
// golang.org/x/net/html's Tokenizer gives, with the same boundaries and
// types (comments and doctypes both htmlOther), but reads no attribute
// lists: htmlScan reads the tags it needs with scanAttrs. That tokenizer
// allocates twice per attribute of every tag; this one does not
// allocate, and skips text with bytes.IndexByte. FuzzHTMLTokenizer checks
// the two agree on any input.
//
// It follows the WHATWG tokenizer's states as x/net/html implements
// them: raw text after <script>, <style>, <textarea>, <title>, <iframe>,
// <noembed>, <noframes>, <noscript>, <xmp> and <plaintext> (self-closing
// or not), the script data escape states, comments ending in "-->",
// "--!>" or at "<!-->", and a tag not closed before the end of the
// document ends the tokens (its bytes are not returned).
type htmlTokenizer struct {
	src    []byte
	pos    int    // the next byte to read
	eof    bool   // a read went past the end
	rawTag string // the raw text element just opened, in lower case
	// The attribute names of the tag being read that the x/net tokenizer
	// keeps (the first of each name, ignoring ASCII case), and the end of
	// the last one's value: a "/" there does not make the tag
	// self-closing.
	keys       [][2]int
	keySet     map[string]bool // keys, once there are many
	lastValEnd int
}

// manyKeys is the number of attribute names above which a tag's names are
// looked up in a map rather than compared one by one.
const manyKeys = 32

func newHTMLTokenizer(src []byte) *htmlTokenizer { return &htmlTokenizer{src: src} }

// readByte returns the next byte, or false at the end of the document.
func (z *htmlTokenizer) readByte() (byte, bool) {
	if z.pos >= len(z.src) {
		z.eof = true
		return 0, false
	}
	c := z.src[z.pos]
	z.pos++
	return c, true
}

// afterNextLT moves past the next "<" and reads the byte after it; false
// at the end of the document.
func (z *htmlTokenizer) afterNextLT() (byte, bool) {
	i := bytes.IndexByte(z.src[z.pos:], '<')
	if i < 0 {
		z.pos, z.eof = len(z.src), true
		return 0, false
	}
	z.pos += i + 1
	return z.readByte()
}

// next returns the type of the next token; it ends at z.pos.
func (z *htmlTokenizer) next() htmlTokenType {
	start := z.pos
	if z.eof {
		return htmlEnd
	}
	if z.rawTag != "" {
		if z.rawTag == "plaintext" {
			z.pos, z.eof = len(z.src), true
		} else {
			z.readRawText()
		}
		if z.pos > start {
			return htmlText
		}
	}
	for {
		c, ok := z.afterNextLT()
		if !ok {
			break
		}
		var tt htmlTokenType
		switch {
		case isASCIIAlpha(c):
			tt = htmlStartTag
		case c == '/':
			tt = htmlEndTag
		case c == '!' || c == '?':
			tt = htmlOther
		default:
			z.pos--
			continue
		}
		if x := z.pos - len("<a"); start < x {
			z.pos = x // the text before the tag first
			return htmlText
		}
		switch tt {
		case htmlStartTag:
			return z.readStartTag()
		case htmlEndTag:
			c, ok = z.readByte()
			if !ok {
				return z.textOrEnd(start)
			}
			if c == '>' {
				return htmlOther // "</>" is dropped as a comment
			}
			if isASCIIAlpha(c) {
				if !z.readTag(false) {
					return htmlEnd
				}
				return htmlEndTag
			}
			z.pos--
			z.readUntilCloseAngle()
			return htmlOther
		default:
			if c == '!' {
				z.readMarkupDeclaration()
				return htmlOther
			}
			z.pos--
			z.readUntilCloseAngle()
			return htmlOther
		}
	}
	return z.textOrEnd(start)
}

func (z *htmlTokenizer) textOrEnd(start int) htmlTokenType {
	if start < z.pos {
		return htmlText
	}
	return htmlEnd
}

func isASCIIAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func (z *htmlTokenizer) skipSpace() {
	for {
		c, ok := z.readByte()
		if !ok {
			return
		}
		if !isASCIISpace(c) {
			z.pos--
			return
		}
	}
}

// rawTextElements are the elements whose content is raw text (or
// escapable raw text) to the tokenizer.
var rawTextElements = []string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// readStartTag reads a start tag whose "<" and first letter are read.
func (z *htmlTokenizer) readStartTag() htmlTokenType {
	nameStart := z.pos - 1
	if !z.readTag(true) {
		return htmlEnd
	}
	name := z.src[nameStart:z.nameEnd(nameStart)]
	for _, t := range rawTextElements {
		if asciiFold(name, t) {
			z.rawTag = t
			break
		}
	}
	if z.src[z.pos-2] == '/' && (len(z.keys) == 0 || z.pos-2 != z.lastValEnd-1) {
		return htmlSelfClosingTag
	}
	return htmlStartTag
}

// nameEnd returns where the tag name starting at start ends.
func (z *htmlTokenizer) nameEnd(start int) int {
	i := start
	for i < len(z.src) && !isASCIISpace(z.src[i]) && z.src[i] != '/' && z.src[i] != '>' {
		i++
	}
	return i
}

// readTag reads a tag's name and attributes up to its ">", the first
// letter of the name being read; false if the document ends first.
func (z *htmlTokenizer) readTag(keep bool) bool {
	z.keys = z.keys[:0]
	clear(z.keySet)
	// The name.
	for {
		c, ok := z.readByte()
		if !ok {
			return false
		}
		if isASCIISpace(c) {
			break
		}
		if c == '/' || c == '>' {
			z.pos--
			break
		}
	}
	if z.skipSpace(); z.eof {
		return false
	}
	for {
		c, ok := z.readByte()
		if !ok || c == '>' {
			break
		}
		z.pos--
		ks, ke := z.readAttrKey()
		ve := z.readAttrVal()
		if keep && ks != ke && !z.seenKey(ks, ke) {
			z.keys = append(z.keys, [2]int{ks, ke})
			z.lastValEnd = ve
		}
		if z.skipSpace(); z.eof {
			break
		}
	}
	return !z.eof
}

// seenKey reports whether the tag has a kept attribute named like
// src[ks:ke], and records the name if it is new in keySet when in use.
func (z *htmlTokenizer) seenKey(ks, ke int) bool {
	key := z.src[ks:ke]
	if len(z.keys) < manyKeys {
		for _, k := range z.keys {
			if asciiFold(z.src[k[0]:k[1]], key) {
				return true
			}
		}
		return false
	}
	if z.keySet == nil {
		z.keySet = make(map[string]bool)
	}
	if len(z.keySet) == 0 {
		for _, k := range z.keys {
			z.keySet[lowerASCII(z.src[k[0]:k[1]])] = true
		}
	}
	lk := lowerASCII(key)
	if z.keySet[lk] {
		return true
	}
	z.keySet[lk] = true
	return false
}

// asciiFold reports whether a and b are equal but for the case of ASCII
// letters (bytes.EqualFold also folds other letters, as the tokenizer
// does not).
func asciiFold[S ~string | ~[]byte](a []byte, b S) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lowerASCIIByte(a[i]) != lowerASCIIByte(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCIIByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lowerASCII returns b with its ASCII letters in lower case.
func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lowerASCIIByte(c)
	}
	return string(out)
}

// readAttrKey reads an attribute name: a leading "=" belongs to it.
func (z *htmlTokenizer) readAttrKey() (start, end int) {
	start = z.pos
	for {
		c, ok := z.readByte()
		if !ok {
			return start, z.pos
		}
		switch c {
		case '=':
			if start+1 == z.pos {
				continue
			}
			z.pos--
			return start, z.pos
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			z.pos--
			return start, z.pos
		}
	}
}

// readAttrVal reads an attribute's "= value", if any, and returns where
// the value ends (where it would start when there is none).
func (z *htmlTokenizer) readAttrVal() (end int) {
	end = z.pos
	if z.skipSpace(); z.eof {
		return end
	}
	c, ok := z.readByte()
	if !ok || c == '/' {
		return end
	}
	if c != '=' {
		z.pos--
		return end
	}
	if z.skipSpace(); z.eof {
		return end
	}
	q, ok := z.readByte()
	if !ok {
		return end
	}
	switch q {
	case '>':
		z.pos--
		return end
	case '\'', '"':
		i := bytes.IndexByte(z.src[z.pos:], q)
		if i < 0 {
			z.pos, z.eof = len(z.src), true
			return z.pos
		}
		z.pos += i + 1
		return z.pos - 1
	}
	for {
		c, ok := z.readByte()
		if !ok {
			return z.pos
		}
		switch c {
		case ' ', '\n', '\r', '\t', '\f':
			return z.pos - 1
		case '>':
			z.pos--
			return z.pos
		}
	}
}

// readRawText reads the text of the raw text element z.rawTag up to its
// end tag (not read) or the end of the document.
func (z *htmlTokenizer) readRawText() {
	defer func() { z.rawTag = "" }()
	if z.rawTag == "script" {
		z.readScript()
		return
	}
	for {
		c, ok := z.afterNextLT()
		if !ok {
			return
		}
		if c != '/' {
			z.pos--
			continue
		}
		if z.readRawEndTag() || z.eof {
			return
		}
	}
}

// readRawEndTag reads the rest of "</" + z.rawTag and a byte that ends a
// tag name; if they are there it goes back to the "<" and returns true.
func (z *htmlTokenizer) readRawEndTag() bool {
	for i := 0; i < len(z.rawTag); i++ {
		c, ok := z.readByte()
		if !ok {
			return false
		}
		if c != z.rawTag[i] && c != z.rawTag[i]-('a'-'A') {
			z.pos--
			return false
		}
	}
	c, ok := z.readByte()
	if !ok {
		return false
	}
	switch c {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		z.pos -= len("</>") + len(z.rawTag)
		return true
	}
	z.pos--
	return false
}

// scriptState is a state of the script data tokenizer.
type scriptState uint8

const (
	scriptData scriptState = iota
	scriptLessThan
	scriptEscapeStart
	scriptEscapeStartDash
	scriptEscaped
	scriptEscapedDash
	scriptEscapedDashDash
	scriptEscapedLessThan
	scriptDoubleEscapeStart
	scriptDoubleEscaped
	scriptDoubleEscapedDash
	scriptDoubleEscapedDashDash
	scriptDoubleEscapedLessThan
)

// readScript reads a script's text up to its "</script" (not read): the
// WHATWG script data states, "<!--" and "<script" inside it included.
func (z *htmlTokenizer) readScript() {
	state := scriptData
	for {
		if state == scriptData {
			// The common state: skip to the next "<".
			i := bytes.IndexByte(z.src[z.pos:], '<')
			if i < 0 {
				z.pos, z.eof = len(z.src), true
				return
			}
			z.pos += i + 1
			state = scriptLessThan
			continue
		}
		if state == scriptDoubleEscapeStart {
			z.pos--
			state = scriptDoubleEscaped
			for i := 0; i < len("script"); i++ {
				c, ok := z.readByte()
				if !ok {
					return
				}
				if c != "script"[i] && c != "SCRIPT"[i] {
					z.pos--
					state = scriptEscaped
					break
				}
			}
			if state == scriptEscaped {
				continue
			}
			c, ok := z.readByte()
			if !ok {
				return
			}
			switch c {
			case ' ', '\n', '\r', '\t', '\f', '/', '>':
			default:
				z.pos--
				state = scriptEscaped
			}
			continue
		}
		c, ok := z.readByte()
		if !ok {
			return
		}
		switch state {
		case scriptLessThan:
			switch c {
			case '/':
				if z.readRawEndTag() || z.eof {
					return
				}
				state = scriptData
			case '!':
				state = scriptEscapeStart
			default:
				z.pos--
				state = scriptData
			}
		case scriptEscapeStart:
			if c == '-' {
				state = scriptEscapeStartDash
			} else {
				z.pos--
				state = scriptData
			}
		case scriptEscapeStartDash:
			if c == '-' {
				state = scriptEscapedDashDash
			} else {
				z.pos--
				state = scriptData
			}
		case scriptEscaped, scriptEscapedDash, scriptEscapedDashDash:
			state = escapedStep(state, scriptEscaped, scriptEscapedDash, scriptEscapedDashDash, scriptEscapedLessThan, c)
		case scriptEscapedLessThan:
			switch {
			case c == '/':
				if z.readRawEndTag() || z.eof {
					return
				}
				state = scriptEscaped
			case isASCIIAlpha(c):
				state = scriptDoubleEscapeStart
			default:
				z.pos--
				state = scriptData
			}
		case scriptDoubleEscaped, scriptDoubleEscapedDash, scriptDoubleEscapedDashDash:
			state = escapedStep(state, scriptDoubleEscaped, scriptDoubleEscapedDash, scriptDoubleEscapedDashDash, scriptDoubleEscapedLessThan, c)
		case scriptDoubleEscapedLessThan:
			if c != '/' {
				z.pos--
				state = scriptDoubleEscaped
				break
			}
			// "</script" ends the double escape, not the script.
			if z.readRawEndTag() {
				z.pos += len("</script>")
				state = scriptEscaped
			} else if z.eof {
				return
			} else {
				state = scriptDoubleEscaped
			}
		}
	}
}

// escapedStep is the step on c from state, one of the escaped states
// base, dash and dashDash (or their double-escaped twins): "-" goes on
// to dash then dashDash, "<" to lessThan, ">" after "--" back to script
// data, anything else back to base.
func escapedStep(state, base, dash, dashDash, lessThan scriptState, c byte) scriptState {
	switch {
	case c == '-' && state == base:
		return dash
	case c == '-':
		return dashDash
	case c == '<':
		return lessThan
	case c == '>' && state == dashDash:
		return scriptData
	}
	return base
}

// readComment reads a comment whose "<!--" is read, up to its "-->",
// "--!>", the ">" of "<!-->" or "<!--->", or the end of the document.
func (z *htmlTokenizer) readComment() {
	dashes, beginning := 0, true
	for {
		c, ok := z.readByte()
		if !ok {
			return
		}
		switch c {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return
			}
		case '!':
			if dashes >= 2 {
				c, ok = z.readByte()
				if !ok || c == '>' {
					return
				}
				if c == '-' {
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
}

// readUntilCloseAngle reads up to and with the next ">".
func (z *htmlTokenizer) readUntilCloseAngle() {
	i := bytes.IndexByte(z.src[z.pos:], '>')
	if i < 0 {
		z.pos, z.eof = len(z.src), true
		return
	}
	z.pos += i + 1
}

// readMarkupDeclaration reads what follows "<!": a comment, a doctype, or
// anything else up to ">" (CDATA sections are not recognised in HTML
// content).
func (z *htmlTokenizer) readMarkupDeclaration() {
	var c [2]byte
	for i := range c {
		b, ok := z.readByte()
		if !ok {
			return
		}
		c[i] = b
	}
	if c[0] == '-' && c[1] == '-' {
		z.readComment()
		return
	}
	z.pos -= 2
	start := z.pos
	const doctype = "DOCTYPE"
	for i := 0; i < len(doctype); i++ {
		b, ok := z.readByte()
		if !ok {
			z.pos, z.eof = start, false
			z.readUntilCloseAngle()
			return
		}
		if b != doctype[i] && b != doctype[i]+('a'-'A') {
			z.pos = start
			z.readUntilCloseAngle()
			return
		}
	}
	if z.skipSpace(); z.eof {
		return
	}
	z.readUntilCloseAngle()
}
