package workload

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// combinedParser reads the NCSA combined log format of nginx and Apache
// (and the common format, without referer and user agent):
//
//	203.0.113.7 - - [10/Oct/2025:13:55:36 -0700] "GET /a.css HTTP/1.1" 200 2326 "https://example.test/" "Mozilla/5.0"
//
// followed optionally by nginx's $request_time and $upstream_cache_status
// (or Varnish's and Apache's cache status words), in any order.
type combinedParser struct {
	l        *Log
	lastTime []byte
	lastNS   int64
}

const combinedWant = `IP - user [day/Mon/year:hh:mm:ss zone] "METHOD /path HTTP/1.1" status bytes "referer" "user agent"`

func (p *combinedParser) parse(line []byte, ev *Event) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return fmt.Errorf("not a combined log line: want %s", combinedWant)
	}
	if a, err := netip.ParseAddr(string(line[:sp])); err == nil {
		ev.Client = a
	}
	open := bytes.IndexByte(line, '[')
	if open < 0 {
		return fmt.Errorf("no [time]: want %s", combinedWant)
	}
	closeAt := bytes.IndexByte(line[open:], ']')
	if closeAt < 0 {
		return fmt.Errorf("unterminated [time]: want %s", combinedWant)
	}
	ts := line[open+1 : open+closeAt]
	if bytes.Equal(ts, p.lastTime) {
		ev.Time = p.lastNS
	} else {
		t, err := parseCLFTime(ts)
		if err != nil {
			return err
		}
		p.lastTime = append(p.lastTime[:0], ts...)
		p.lastNS = t
		ev.Time = t
	}
	rest := line[open+closeAt+1:]
	rest = bytes.TrimLeft(rest, " ")
	req, rest, ok := quoted(rest)
	if !ok {
		return fmt.Errorf("no quoted request line after the time: want %s", combinedWant)
	}
	statusF, rest := nextField(rest)
	sizeF, rest := nextField(rest)
	if len(sizeF) == 0 {
		return fmt.Errorf("no status and size after the request line: want %s", combinedWant)
	}
	status, err := strconv.Atoi(string(statusF))
	if err != nil || status < 100 || status > 999 {
		return fmt.Errorf("status %q: want a three-digit HTTP status", statusF)
	}
	ev.Status = status
	if !bytes.Equal(sizeF, []byte("-")) {
		n, err := strconv.ParseInt(string(sizeF), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("size %q: want a number of bytes or -", sizeF)
		}
		ev.Size = n
	}
	// After the size: "referer" "user agent", then extra fields.
	for i := 0; i < 2; i++ {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || rest[0] != '"' {
			break
		}
		if _, rest, ok = quoted(rest); !ok {
			return errors.New("unterminated quoted field after the size")
		}
	}
	for {
		var f []byte
		if f, rest = nextField(rest); len(f) == 0 {
			break
		}
		if o := observedStatus(string(f)); o != "" {
			ev.Observed = o
		}
	}
	// The request line: METHOD target PROTOCOL. Lines nginx logs for
	// requests it could not parse ("-", garbage) are not requests.
	method, target, ok := splitRequestLine(req)
	if !ok {
		return errIgnore
	}
	ev.Method = method
	host, path, ok := splitTarget(target)
	if !ok {
		return errIgnore
	}
	if len(host) > 0 {
		ev.Host = p.l.internHost(host)
	}
	p.l.intern(ev, path)
	return nil
}

// nextField returns the field of b up to the next blank (space or tab),
// leading blanks skipped, and what follows it.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// quoted reads a double-quoted field (backslash escapes allowed) at the
// start of b and returns its content and what follows.
func quoted(b []byte) (field, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, b, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[1:i], b[i+1:], true
		}
	}
	return nil, b, false
}

// methods interns the request methods a log may name.
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
	"OPTIONS": "OPTIONS", "TRACE": "TRACE", "CONNECT": "CONNECT", "PURGE": "PURGE", "PROPFIND": "PROPFIND",
}

// splitRequestLine splits "GET /path HTTP/1.1" into its method (an
// interned string) and target.
func splitRequestLine(req []byte) (string, []byte, bool) {
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 {
		return "", nil, false
	}
	m, ok := methods[string(req[:sp])]
	if !ok {
		return "", nil, false
	}
	target := req[sp+1:]
	if end := bytes.LastIndexByte(target, ' '); end > 0 && bytes.HasPrefix(target[end+1:], []byte("HTTP/")) {
		target = target[:end]
	}
	if len(target) == 0 || bytes.IndexByte(target, ' ') >= 0 {
		return "", nil, false
	}
	return m, target, true
}

// splitTarget splits a request target into its host (absolute form only)
// and path with query, without the fragment.
func splitTarget(t []byte) (host, path []byte, ok bool) {
	if i := bytes.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	if len(t) > 0 && t[0] == '/' {
		return nil, t, true
	}
	for _, scheme := range [][]byte{[]byte("http://"), []byte("https://")} {
		if len(t) >= len(scheme) && bytes.EqualFold(t[:len(scheme)], scheme) {
			rest := t[len(scheme):]
			i := bytes.IndexAny(rest, "/?")
			if i < 0 {
				return rest, []byte("/"), len(rest) > 0
			}
			if rest[i] == '?' {
				return rest[:i], append([]byte("/"), rest[i:]...), i > 0
			}
			return rest[:i], rest[i:], i > 0
		}
	}
	return nil, nil, false
}

var monthIndex = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// parseCLFTime parses a common log format time, "10/Oct/2025:13:55:36
// -0700", into Unix nanoseconds.
func parseCLFTime(b []byte) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("time %q: want day/Mon/year:hh:mm:ss zone, as in 10/Oct/2025:13:55:36 -0700", b)
	}
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return bad()
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	day, ok1 := num(b[0:2])
	month, ok2 := monthIndex[string(b[3:6])]
	year, ok3 := num(b[7:11])
	hh, ok4 := num(b[12:14])
	mm, ok5 := num(b[15:17])
	ss, ok6 := num(b[18:20])
	zh, ok7 := num(b[22:24])
	zm, ok8 := num(b[24:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || (b[21] != '+' && b[21] != '-') ||
		day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59 {
		return bad()
	}
	offset := (zh*60 + zm) * 60
	if b[21] == '-' {
		offset = -offset
	}
	t := time.Date(year, month, day, hh, mm, ss, 0, time.UTC)
	return t.UnixNano() - int64(offset)*int64(time.Second), nil
}
