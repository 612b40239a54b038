package workload

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// csvParser reads a generic CSV log: time, client IP, method, URL,
// status, bytes, Cache-Control, in that order, or in any order (and any
// subset with time and url) named by a header row. Time is RFC 3339 or a
// Unix time (seconds, possibly fractional, or an integer in milliseconds,
// microseconds or nanoseconds); URL is a path or an absolute URL; fields
// may be double-quoted.
type csvParser struct {
	l      *Log
	cols   []int // column of each csv* field, -1 when absent
	fields [][]byte
	buf    []byte
}

// The fields of the generic CSV, in their default order.
const (
	csvTime = iota
	csvClient
	csvMethod
	csvURL
	csvStatus
	csvBytes
	csvCacheControl
	csvNumFields
)

var csvNames = map[string]int{
	"time": csvTime, "timestamp": csvTime, "date": csvTime,
	"client": csvClient, "clientip": csvClient, "ip": csvClient, "remoteaddr": csvClient,
	"method": csvMethod,
	"url":    csvURL, "uri": csvURL, "path": csvURL,
	"status": csvStatus, "statuscode": csvStatus,
	"bytes": csvBytes, "size": csvBytes, "bodybytes": csvBytes,
	"cachecontrol": csvCacheControl,
}

const csvWant = "time, client IP, method, URL, status, bytes, Cache-Control (or a header row naming the columns)"

func (p *csvParser) parse(line []byte, ev *Event) error {
	var err error
	p.fields, p.buf, err = splitCSV(line, p.fields[:0], p.buf[:0])
	if err != nil {
		return err
	}
	if p.cols == nil {
		p.cols = make([]int, csvNumFields)
		if _, terr := csvTimeValue(p.fields[0]); terr != nil && !isNumber(p.fields[0]) {
			// A header row.
			for i := range p.cols {
				p.cols[i] = -1
			}
			for i, f := range p.fields {
				name := strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(string(f))))
				if c, ok := csvNames[name]; ok {
					p.cols[c] = i
				}
			}
			if p.cols[csvTime] < 0 || p.cols[csvURL] < 0 {
				return fmt.Errorf("header row %q names no time or url column: want %s", line, csvWant)
			}
			return errIgnore
		}
		for i := range p.cols {
			p.cols[i] = i
		}
	}
	get := func(c int) []byte {
		i := p.cols[c]
		if i < 0 || i >= len(p.fields) {
			return nil
		}
		return bytes.TrimSpace(p.fields[i])
	}
	if len(p.fields) <= p.cols[csvURL] || len(p.fields) <= p.cols[csvTime] {
		return fmt.Errorf("%d fields: want %s", len(p.fields), csvWant)
	}
	t, err := csvTimeValue(get(csvTime))
	if err != nil {
		return err
	}
	ev.Time = t
	if a, err := netip.ParseAddr(string(get(csvClient))); err == nil {
		ev.Client = a
	}
	ev.Method = "GET"
	if m := get(csvMethod); len(m) > 0 {
		v, ok := methods[strings.ToUpper(string(m))]
		if !ok {
			return fmt.Errorf("method %q: want an HTTP method", m)
		}
		ev.Method = v
	}
	ev.Status = 200
	if s := get(csvStatus); len(s) > 0 {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 100 || n > 999 {
			return fmt.Errorf("status %q: want a three-digit HTTP status", s)
		}
		ev.Status = n
	}
	if b := get(csvBytes); len(b) > 0 && !bytes.Equal(b, []byte("-")) {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bytes %q: want a number of bytes", b)
		}
		ev.Size = n
	}
	if cc := get(csvCacheControl); len(cc) > 0 {
		ev.CacheControl = p.l.internString(cc)
	}
	host, path, ok := splitTarget(get(csvURL))
	if !ok {
		return fmt.Errorf("url %q: want a path starting with / or an http(s) URL", get(csvURL))
	}
	if len(host) > 0 {
		ev.Host = p.l.internHost(host)
	}
	p.l.intern(ev, path)
	return nil
}

func isNumber(b []byte) bool {
	_, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	return err == nil
}

// csvTimeValue reads an RFC 3339 time or a Unix time.
func csvTimeValue(b []byte) (int64, error) {
	s := string(bytes.TrimSpace(b))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return unixTime(n), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1e11 {
		sec, frac := math.Modf(f)
		return int64(sec)*1e9 + int64(math.Round(frac*1e9)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	return 0, fmt.Errorf("time %q: want an RFC 3339 time or a Unix time in seconds", s)
}

// splitCSV splits one CSV line into fields (RFC 4180 quoting within the
// line); quoted fields are unescaped into buf.
func splitCSV(line []byte, fields [][]byte, buf []byte) ([][]byte, []byte, error) {
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			start := len(buf)
			i++
			for {
				if i >= len(line) {
					return fields, buf, errors.New("unterminated quoted field")
				}
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						buf = append(buf, '"')
						i += 2
						continue
					}
					i++
					break
				}
				buf = append(buf, line[i])
				i++
			}
			fields = append(fields, buf[start:len(buf):len(buf)])
			if i < len(line) && line[i] != ',' {
				return fields, buf, errors.New("text after a quoted field")
			}
		} else {
			j := bytes.IndexByte(line[i:], ',')
			if j < 0 {
				fields = append(fields, line[i:])
				return fields, buf, nil
			}
			fields = append(fields, line[i:i+j])
			i += j
		}
		if i >= len(line) {
			return fields, buf, nil
		}
		i++ // the comma
		if i == len(line) {
			fields = append(fields, line[i:])
			return fields, buf, nil
		}
	}
}
