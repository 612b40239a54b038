package origin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cdnctl/cdnctl/siterules"
)

// isRulesFile reports whether key is one of the site's rules files, which
// configure the origin and are never served.
func isRulesFile(key string) bool {
	return key == siterules.RedirectsFile || key == siterules.HeadersFile
}

// siteRules is one view of the folder's _redirects and _headers. It is
// immutable once published.
type siteRules struct {
	// The FileInfos the view was built from (nil: absent or not read).
	redirectsFI, headersFI fs.FileInfo

	redirects *siterules.Redirects // nil: none
	headers   *siterules.Headers   // nil: none
}

// rulesSource loads the rules files from a root and reloads them when they
// change. A file that no longer parses is reported and its last good
// rules stay in force, as a server keeps its configuration when a reload
// fails.
type rulesSource struct {
	root                     *os.Root
	readRedirects, readHeads bool
	warn                     func(msg string, args ...any)

	cur atomic.Pointer[siteRules]
	mu  sync.Mutex // serialises reloads
}

// load reads both files for the first time; an invalid one is an error.
func (s *rulesSource) load() error {
	next := &siteRules{}
	var errs []error
	if s.readRedirects {
		next.redirectsFI = statOrNil(s.root, siterules.RedirectsFile)
		if next.redirectsFI != nil {
			r, err := s.parseRedirects()
			errs = append(errs, err)
			next.redirects = r
		}
	}
	if s.readHeads {
		next.headersFI = statOrNil(s.root, siterules.HeadersFile)
		if next.headersFI != nil {
			h, err := s.parseHeaders()
			errs = append(errs, err)
			next.headers = h
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.cur.Store(next)
	return nil
}

// get returns the current rules, reloading a file that changed on disk.
// It costs a stat call per file read.
func (s *rulesSource) get() *siteRules {
	var rFI, hFI fs.FileInfo
	if s.readRedirects {
		rFI = statOrNil(s.root, siterules.RedirectsFile)
	}
	if s.readHeads {
		hFI = statOrNil(s.root, siterules.HeadersFile)
	}
	m := s.cur.Load()
	if sameStat(m.redirectsFI, rFI) && sameStat(m.headersFI, hFI) {
		return m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m = s.cur.Load(); sameStat(m.redirectsFI, rFI) && sameStat(m.headersFI, hFI) {
		return m
	}
	next := *m
	if !sameStat(m.redirectsFI, rFI) {
		next.redirectsFI = rFI
		switch r, err := s.parseRedirects(); {
		case rFI == nil:
			next.redirects = nil
		case err != nil:
			s.warn("origin: _redirects changed but is invalid; its previous rules stay in force", "err", err)
		default:
			next.redirects = r
		}
	}
	if !sameStat(m.headersFI, hFI) {
		next.headersFI = hFI
		switch h, err := s.parseHeaders(); {
		case hFI == nil:
			next.headers = nil
		case err != nil:
			s.warn("origin: _headers changed but is invalid; its previous rules stay in force", "err", err)
		default:
			next.headers = h
		}
	}
	s.cur.Store(&next)
	return &next
}

func (s *rulesSource) parseRedirects() (*siterules.Redirects, error) {
	b, err := s.read(siterules.RedirectsFile)
	if err != nil || b == nil {
		return nil, err
	}
	return siterules.ParseRedirects(b)
}

func (s *rulesSource) parseHeaders() (*siterules.Headers, error) {
	b, err := s.read(siterules.HeadersFile)
	if err != nil || b == nil {
		return nil, err
	}
	return siterules.ParseHeaders(b)
}

// read returns a rules file's content, nil when it does not exist.
func (s *rulesSource) read(name string) ([]byte, error) {
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, siterules.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}
