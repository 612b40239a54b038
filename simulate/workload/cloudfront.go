package workload

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// cloudFrontFields is the field order of CloudFront standard logs when a
// file has no #Fields line (the 33 fields of the reference, in order).
var cloudFrontFields = strings.Fields("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end")

// cloudFrontParser reads CloudFront standard logs: W3C extended format,
// tab-separated, with "#Version" and "#Fields" lines naming the fields.
type cloudFrontParser struct {
	l      *Log
	idx    map[string]int // field name → column
	fields [][]byte
}

func (p *cloudFrontParser) col(name string) []byte {
	i, ok := p.idx[name]
	if !ok || i >= len(p.fields) {
		return nil
	}
	v := p.fields[i]
	if len(v) == 1 && v[0] == '-' {
		return nil
	}
	return v
}

func (p *cloudFrontParser) parse(line []byte, ev *Event) error {
	if line[0] == '#' {
		if rest, ok := bytes.CutPrefix(line, []byte("#Fields:")); ok {
			p.idx = map[string]int{}
			for i, f := range strings.Fields(string(rest)) {
				p.idx[f] = i
			}
			for _, need := range []string{"date", "time", "cs-method", "cs-uri-stem", "sc-status"} {
				if _, ok := p.idx[need]; !ok {
					return fmt.Errorf("#Fields names no %s: a CloudFront standard log has date, time, cs-method, cs-uri-stem and sc-status", need)
				}
			}
		}
		return errIgnore
	}
	if p.idx == nil {
		p.idx = map[string]int{}
		for i, f := range cloudFrontFields {
			p.idx[f] = i
		}
	}
	p.fields = bytes.Split(line, []byte("\t"))
	if len(p.fields) < len(p.idx) {
		return fmt.Errorf("%d tab-separated fields; the #Fields line names %d", len(p.fields), len(p.idx))
	}
	date, clock := p.col("date"), p.col("time")
	t, err := time.Parse("2006-01-02 15:04:05", string(date)+" "+string(clock))
	if err != nil {
		return fmt.Errorf("date and time %q %q: want YYYY-MM-DD and hh:mm:ss (UTC)", date, clock)
	}
	ev.Time = t.UnixNano()
	if a, err := netip.ParseAddr(string(p.col("c-ip"))); err == nil {
		ev.Client = a
	}
	m, ok := methods[string(p.col("cs-method"))]
	if !ok {
		return fmt.Errorf("method %q: want an HTTP method", p.col("cs-method"))
	}
	ev.Method = m
	status, err := strconv.Atoi(string(p.col("sc-status")))
	if err != nil || status < 100 {
		// "000": the viewer went away before a response.
		return errIgnore
	}
	ev.Status = status
	size := p.col("sc-content-len")
	if size == nil {
		size = p.col("sc-bytes")
	}
	if size != nil {
		n, err := strconv.ParseInt(string(size), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("size %q: want a number of bytes", size)
		}
		ev.Size = n
	}
	if h := p.col("x-host-header"); h != nil {
		ev.Host = p.l.internHost(h)
	} else if h := p.col("cs(Host)"); h != nil {
		ev.Host = p.l.internHost(h)
	}
	stem := p.col("cs-uri-stem")
	if len(stem) == 0 || stem[0] != '/' {
		return fmt.Errorf("cs-uri-stem %q: want a path starting with /", stem)
	}
	path := stem
	if q := p.col("cs-uri-query"); q != nil {
		path = append(append(append([]byte(nil), stem...), '?'), q...)
	}
	p.l.intern(ev, path)
	ev.Observed = observedStatus(string(p.col("x-edge-result-type")))
	return nil
}
