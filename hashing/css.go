package hashing

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// cssRefs returns the URLs of a style sheet (or of an inline style
// attribute's declarations): url(), @import "…", image-set("…") and a
// /*# sourceMappingURL=… */ comment. src starts at byte off of the file.
func cssRefs(src []byte, off int, base *url.URL) []ref {
	var refs []ref
	// The lexer appends a NUL past the end of the slice it is given: hand
	// it a copy so src (part of a larger document) is never written to.
	buf := make([]byte, len(src), len(src)+1)
	copy(buf, src)
	l := css.NewLexer(parse.NewInputBytes(buf))
	pos := 0
	// state for @import "x" and image-set("x" 1x)
	afterImport := false
	imageSetDepth := 0 // depth of the innermost image-set( while inside one
	depth := 0
	for {
		tt, text := l.Next()
		if tt == css.ErrorToken {
			break
		}
		start := pos
		pos += len(text)
		switch tt {
		case css.WhitespaceToken:
			continue
		case css.CommentToken:
			if r, ok := sourceMappingComment(text, off+start, base); ok {
				refs = append(refs, r)
			}
			continue
		case css.AtKeywordToken:
			afterImport = strings.EqualFold(string(text), "@import")
			continue
		case css.URLToken:
			if r, ok := cssURLToken(text, off+start, base); ok {
				refs = append(refs, r)
			}
		case css.StringToken:
			if afterImport || imageSetDepth > 0 && depth == imageSetDepth {
				if r, ok := cssStringRef(text, off+start, base); ok {
					refs = append(refs, r)
				}
			}
		case css.FunctionToken:
			depth++
			name := strings.ToLower(string(text))
			if name == "image-set(" || name == "-webkit-image-set(" {
				imageSetDepth = depth
			}
		case css.LeftParenthesisToken:
			depth++
		case css.RightParenthesisToken:
			if depth == imageSetDepth {
				imageSetDepth = 0
			}
			if depth > 0 {
				depth--
			}
		}
		afterImport = false
	}
	return refs
}

// cssURLToken returns the reference of a url(…) token.
func cssURLToken(text []byte, off int, base *url.URL) (ref, bool) {
	i := bytes.IndexByte(text, '(')
	j := bytes.LastIndexByte(text, ')')
	if i < 0 {
		return ref{}, false
	}
	if j < i {
		j = len(text) // url( at the end of the input
	}
	inner := text[i+1 : j]
	lead := len(inner) - len(bytes.TrimLeft(inner, " \t\n\r\f"))
	inner = bytes.TrimSpace(inner)
	start := off + i + 1 + lead
	if len(inner) > 0 && (inner[0] == '"' || inner[0] == '\'') {
		return cssStringRef(inner, start, base)
	}
	raw := string(inner)
	r := ref{start: start, end: start + len(inner), text: raw, url: raw, base: base, kind: refResource}
	if strings.IndexByte(raw, '\\') >= 0 {
		r.url = cssUnescape(raw)
		r.encode = quoteCSS
	}
	return r, r.url != ""
}

// cssStringRef returns the reference of a quoted string token ("a.png").
func cssStringRef(text []byte, off int, base *url.URL) (ref, bool) {
	if len(text) < 2 {
		return ref{}, false
	}
	q := text[0]
	end := len(text)
	if text[end-1] == q {
		end--
	}
	raw := string(text[1:end])
	r := ref{start: off + 1, end: off + end, text: raw, url: raw, base: base, kind: refResource}
	if strings.IndexByte(raw, '\\') >= 0 {
		r.url = cssUnescape(raw)
		// Replace the whole string token, quotes included.
		r.start, r.end = off, off+len(text)
		r.text = string(text)
		r.encode = quoteCSS
	}
	return r, r.url != ""
}

// quoteCSS writes s as a double-quoted CSS string.
func quoteCSS(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20 || c == 0x7f:
			b.WriteString("\\" + strconv.FormatInt(int64(c), 16) + " ")
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// cssUnescape decodes CSS escapes ("\31 " and "\)").
func cssUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		if s[i] == '\n' {
			continue // an escaped newline is removed
		}
		j := i
		for j < len(s) && j-i < 6 && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			continue
		}
		n, _ := strconv.ParseUint(s[i:j], 16, 32)
		if n == 0 || n > 0x10ffff || n >= 0xd800 && n <= 0xdfff {
			n = 0xfffd
		}
		b.WriteRune(rune(n))
		if j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
			j++
		}
		i = j - 1
	}
	return b.String()
}

// sourceMappingComment finds "# sourceMappingURL=…" in a /* comment */
// that starts at byte off.
func sourceMappingComment(text []byte, off int, base *url.URL) (ref, bool) {
	body := bytes.TrimPrefix(text, []byte("/*"))
	body = bytes.TrimSuffix(body, []byte("*/"))
	lead := len(text) - len(bytes.TrimPrefix(text, []byte("/*")))
	start, end, ok := sourceMappingValue(body)
	if !ok {
		return ref{}, false
	}
	u := string(body[start:end])
	return ref{start: off + lead + start, end: off + lead + end, text: u, url: u, base: base, kind: refResource}, true
}

// sourceMappingValue finds the URL of "# sourceMappingURL=URL" (or the
// old "@ sourceMappingURL=") at the start of a comment body.
func sourceMappingValue(body []byte) (start, end int, ok bool) {
	t := bytes.TrimLeft(body, " \t")
	if len(t) == 0 || t[0] != '#' && t[0] != '@' {
		return 0, 0, false
	}
	t = t[1:]
	t2 := bytes.TrimLeft(t, " \t")
	if len(t2) == len(t) {
		return 0, 0, false
	}
	const key = "sourceMappingURL="
	if !bytes.HasPrefix(t2, []byte(key)) {
		return 0, 0, false
	}
	start = len(body) - len(t2) + len(key)
	end = start
	for end < len(body) && !isASCIISpace(body[end]) && !(body[end] == '*' && end+1 < len(body) && body[end+1] == '/') {
		end++
	}
	return start, end, end > start
}
