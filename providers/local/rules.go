package local

import (
	"fmt"
	"io"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/siterules"
)

// CheckFile implements providers.FileChecker: the site's rules files at
// the folder's root (_redirects, _headers), which `cdnctl serve` applies
// to this folder, must parse, so that a push never leaves the served site
// with rules it cannot read (the origin would keep the previous ones).
// Other files are not looked at.
func (s *Store) CheckFile(f *providers.LocalFile) error {
	var parse func([]byte) error
	switch f.Key {
	case siterules.RedirectsFile:
		parse = func(b []byte) error { _, err := siterules.ParseRedirects(b); return err }
	case siterules.HeadersFile:
		parse = func(b []byte) error { _, err := siterules.ParseHeaders(b); return err }
	default:
		return nil
	}
	if f.Open == nil || f.Meta.ContentEncoding != "" {
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, siterules.MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("%s: %w", f.Key, err)
	}
	if err := parse(b); err != nil {
		return fmt.Errorf("%w\n(cdnctl serve applies %s to this folder; fix it, or leave it out with origin.exclude)", err, f.Key)
	}
	return nil
}

var _ providers.FileChecker = (*Store)(nil)
