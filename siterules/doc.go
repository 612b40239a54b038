// Package siterules reads the two rules files of a static site, in the
// formats Netlify introduced and Cloudflare Pages adopted: _redirects
// (redirects and rewrites) and _headers (response headers by URL pattern).
// Both are parsed strictly: every line that is not understood is an error
// naming the file and line ("_redirects:12: unknown status \"30\"; want
// 301, 302, 303, 307, 308 or 200"), never skipped.
//
// Matching is a pure function of the request's host, path and query, so
// the rules are tested without a server; the folder origin
// (localedge/origin) applies them.
//
// Limits are Cloudflare Pages': 2,000 static and 100 dynamic redirects
// (with a splat or a placeholder) of at most 1,000 characters per line, and
// 100 header rules of at most 2,000 characters per line.
package siterules

import (
	"errors"
	"fmt"
)

// File names, at the root of the site.
const (
	RedirectsFile = "_redirects"
	HeadersFile   = "_headers"
)

// Limits of the files (Cloudflare Pages').
const (
	MaxStaticRedirects  = 2000
	MaxDynamicRedirects = 100
	MaxRedirectLine     = 1000
	MaxHeaderRules      = 100
	MaxHeaderLine       = 2000
	// MaxFileSize bounds what is read of either file: far more than the
	// rule limits allow, with comments.
	MaxFileSize = 4 << 20
)

// maxErrors is how many line errors a parse reports before summing up.
const maxErrors = 20

// LineError is a problem on one line of a rules file.
type LineError struct {
	File string // "_redirects"
	Line int    // 1-based
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// errorList collects line errors, up to maxErrors.
type errorList struct {
	file  string
	errs  []error
	extra int
}

func (l *errorList) add(line int, format string, args ...any) {
	if len(l.errs) == maxErrors {
		l.extra++
		return
	}
	l.errs = append(l.errs, &LineError{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error {
	if l.extra > 0 {
		l.errs = append(l.errs, fmt.Errorf("%s: %d more errors", l.file, l.extra))
	}
	return errors.Join(l.errs...)
}
