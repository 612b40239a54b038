package workload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Log formats Open reads.
const (
	FormatAuto       = "auto"       // detected from the first line
	FormatCombined   = "combined"   // nginx / Apache combined (or common), optionally with $request_time and $upstream_cache_status
	FormatCloudFront = "cloudfront" // CloudFront standard logs (W3C, tab-separated, #Fields header)
	FormatCloudflare = "cloudflare" // Cloudflare Logpush HTTP requests, JSON lines
	FormatCSV        = "csv"        // time, client IP, method, URL, status, bytes, Cache-Control
)

// Formats lists the formats Open reads, for help texts.
var Formats = []string{FormatAuto, FormatCombined, FormatCloudFront, FormatCloudflare, FormatCSV}

// LogOptions configure how access logs are read.
type LogOptions struct {
	// Format is one of the Format constants ("" is FormatAuto).
	Format string
	// Host is the host of requests whose log line names none (nginx and
	// Apache log the path only). Default DefaultHost.
	Host string
	// SkipBadLines continues after a malformed line (reported to
	// OnBadLine) instead of stopping with its error.
	SkipBadLines bool
	// OnBadLine is told about each malformed line skipped.
	OnBadLine func(err error)
}

// LineError is a malformed line of a log.
type LineError struct {
	File string
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// errIgnore marks a well-formed line that is no request to replay (a
// comment, a request line nginx could not parse).
var errIgnore = errors.New("ignored line")

// lineParser turns one line into an event (Time, Method, Host, Path,
// Client, Status, Size, CacheControl, Observed).
type lineParser interface {
	parse(line []byte, ev *Event) error
}

// Log is a Source reading one access log, streamed.
type Log struct {
	name    string
	opts    LogOptions
	f       io.Closer
	r       *bufio.Reader
	p       lineParser
	line    int64
	urls    map[string]*urlState // interned paths and what is known of them
	hosts   map[string]string
	strs    map[string]string
	pending *Event    // a request held back behind its change event
	key     []byte    // scratch: host and path
	last    *urlState // the URL of the line just parsed
	bad     int64
	ignored int64
	err     error
}

// urlState is what a log told about one URL so far.
type urlState struct {
	path string
	id   uint64
	size int64 // the body size of its last complete 200 response (-1: none yet)
}

// Open opens an access log (gzip or plain, detected from its first bytes)
// as a Source.
func Open(path string, opts LogOptions) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	l, err := NewLog(filepath.Base(path), f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.f = f
	return l, nil
}

// NewLog reads an access log from r; name is used in error messages.
func NewLog(name string, r io.Reader, opts LogOptions) (*Log, error) {
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("workload: %s: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	l := &Log{name: name, opts: opts, r: br, urls: make(map[string]*urlState), hosts: make(map[string]string), strs: make(map[string]string)}
	format := opts.Format
	if format == "" || format == FormatAuto {
		first, _ := br.Peek(4096)
		format = detectFormat(first)
		if format == "" {
			return nil, fmt.Errorf("workload: %s: cannot tell the log format from its first line; give --format (%s)", name, strings.Join(Formats[1:], ", "))
		}
	}
	switch format {
	case FormatCombined:
		l.p = &combinedParser{l: l}
	case FormatCloudFront:
		l.p = &cloudFrontParser{l: l}
	case FormatCloudflare:
		l.p = &cloudflareParser{l: l}
	case FormatCSV:
		l.p = &csvParser{l: l}
	default:
		return nil, fmt.Errorf("workload: format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	return l, nil
}

// detectFormat guesses the format of a log from its beginning.
func detectFormat(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSpace(line)
	switch {
	case bytes.HasPrefix(line, []byte("#Version")) || bytes.HasPrefix(line, []byte("#Fields")):
		return FormatCloudFront
	case bytes.HasPrefix(line, []byte("{")):
		return FormatCloudflare
	}
	if sp := bytes.IndexByte(line, ' '); sp > 0 {
		if _, err := netip.ParseAddr(string(line[:sp])); err == nil && bytes.Contains(line, []byte(" [")) && bytes.Contains(line, []byte("] \"")) {
			return FormatCombined
		}
	}
	if bytes.Count(line, []byte(",")) >= 1 {
		return FormatCSV
	}
	return ""
}

// Close closes the log file.
func (l *Log) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Info implements Source.
func (l *Log) Info() Info { return Info{Name: l.name} }

// BadLines is how many malformed lines were skipped; Ignored how many
// lines held no request to replay (comments, unparsable request lines).
func (l *Log) BadLines() int64 { return l.bad }

// Ignored is how many lines held no request to replay.
func (l *Log) Ignored() int64 { return l.ignored }

// Read implements Source.
func (l *Log) Read(evs []Event) (int, error) {
	n := 0
	if l.pending != nil && len(evs) > 0 {
		evs[0] = *l.pending
		l.pending = nil
		n = 1
	}
	for n < len(evs) && l.err == nil {
		raw, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: read it whole.
			long := append([]byte(nil), raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = l.r.ReadSlice('\n')
				long = append(long, raw...)
			}
			raw = long
		}
		if len(raw) > 0 {
			l.line++
			if perr := l.parseLine(raw, evs, &n); perr != nil {
				l.err = perr
				break
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.err = fmt.Errorf("workload: %s: %w", l.name, err)
			} else {
				l.err = io.EOF
			}
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, l.err
}

// parseLine parses one line into evs[*n] (and a change before it).
func (l *Log) parseLine(raw []byte, evs []Event, n *int) error {
	line := bytes.TrimRight(raw, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	ev := &evs[*n]
	*ev = Event{Kind: Request, Region: -1, Type: -1, ChangedType: -1}
	if err := l.p.parse(line, ev); err != nil {
		if errors.Is(err, errIgnore) {
			l.ignored++
			return nil
		}
		lerr := &LineError{File: l.name, Line: l.line, Err: err}
		if !l.opts.SkipBadLines {
			return lerr
		}
		l.bad++
		if l.opts.OnBadLine != nil {
			l.opts.OnBadLine(lerr)
		}
		return nil
	}
	if ev.Host == "" {
		ev.Host = l.opts.Host
	}
	// What the origin answers: a 304 or 206 to a client was a whole 200
	// for the cache; the size is that of the object.
	st := l.last
	switch ev.Status {
	case 304, 206, 0:
		ev.Status = 200
		if st != nil && st.size >= 0 {
			ev.Size = st.size
		}
	case 200:
		if ev.Method == "HEAD" {
			if st != nil && st.size >= 0 {
				ev.Size = st.size
			}
			break
		}
		if st != nil && st.size >= 0 && st.size != ev.Size && ev.Method == "GET" {
			// The object changed at the origin: a change event first.
			st.size = ev.Size
			l.pending = &Event{}
			*l.pending = *ev
			*ev = Event{Kind: Change, Time: ev.Time, Host: ev.Host, Changed: []string{ev.Path}, Region: -1, Type: -1, ChangedType: -1}
			if *n+1 < len(evs) {
				evs[*n+1] = *l.pending
				l.pending = nil
				*n += 2
			} else {
				*n++
			}
			return nil
		}
		if st != nil && ev.Method == "GET" {
			st.size = ev.Size
		}
	}
	*n++
	return nil
}

// intern sets ev.Path to the interned copy of path (one string per
// distinct URL however many lines name it) and ev.Object to the URL's
// number, and records what the log knows of the URL. ev.Host, Status,
// Size and Method must be set.
func (l *Log) intern(ev *Event, path []byte) {
	host := ev.Host
	if host == "" {
		host = l.opts.Host
	}
	l.key = append(append(append(l.key[:0], host...), 0), path...)
	st, ok := l.urls[string(l.key)]
	if !ok {
		st = &urlState{path: string(path), size: -1, id: uint64(len(l.urls)) + 1}
		if ev.Status == 200 && ev.Method == "GET" {
			st.size = ev.Size
		}
		l.urls[string(l.key)] = st
	}
	ev.Path, ev.Object = st.path, st.id
	l.last = st
}

// internHost returns the interned copy of a host name.
func (l *Log) internHost(h []byte) string {
	if s, ok := l.hosts[string(h)]; ok {
		return s
	}
	s := strings.ToLower(string(h))
	l.hosts[string(h)] = s
	return s
}

// internString returns the interned copy of a field value.
func (l *Log) internString(b []byte) string {
	if s, ok := l.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	l.strs[s] = s
	return s
}

// observedStatus maps a cache status a CDN logged to "hit", "miss" or "".
func observedStatus(s string) string {
	switch strings.ToLower(s) {
	case "hit", "stale", "updating", "revalidated", "refreshhit":
		return "hit"
	case "miss", "expired":
		return "miss"
	}
	return ""
}
