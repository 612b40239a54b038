package verify

import (
	"net/url"
	"sort"
	"strings"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
)

// Site is a deployed site as verify sees it: each file under the key
// clients request it by (its logical key: precompressed siblings are
// variants of it), with the hashes it may be served with.
type Site struct {
	files map[string]*siteFile
}

type siteFile struct {
	fingerprinted bool
	// sha256 is the body without content coding ("" when only an encoded
	// body is stored and no manifest says what it decodes to).
	sha256  string
	encoded map[string]string
}

// NewSite indexes files (a scanned folder, or a deploy's snapshot).
// manifest, when not nil, gives the decoded hash of files stored only
// encoded (push --precompressed gzip).
func NewSite(files []*providers.LocalFile, manifest *hashing.Manifest) *Site {
	var byPath map[string]hashing.Entry
	if manifest != nil {
		byPath = manifest.ByPath()
	}
	s := &Site{files: map[string]*siteFile{}}
	for _, f := range files {
		lk := providers.LogicalKey(f)
		sf := s.files[lk]
		if sf == nil {
			sf = &siteFile{}
			s.files[lk] = sf
		}
		ce := f.Meta.ContentEncoding
		if f.Key == lk {
			sf.fingerprinted = f.Fingerprinted
			if ce == "" {
				sf.sha256 = f.SHA256
			} else if e, ok := byPath[lk]; ok && e.Path == lk {
				sf.sha256 = e.SHA256
			}
		}
		if ce != "" {
			if sf.encoded == nil {
				sf.encoded = map[string]string{}
			}
			sf.encoded[ce] = f.SHA256
		}
	}
	return s
}

// Has reports whether key is a file of the site.
func (s *Site) Has(key string) bool { return s.files[key] != nil }

// Fingerprinted reports whether key is a fingerprinted file of the site.
func (s *Site) Fingerprinted(key string) bool {
	f := s.files[key]
	return f != nil && f.fingerprinted
}

// Keys returns the logical keys, sorted: un-fingerprinted files (entry
// points and the like) and fingerprinted assets.
func (s *Site) Keys() (entries, assets []string) {
	for k, f := range s.files {
		if f.fingerprinted {
			assets = append(assets, k)
		} else {
			entries = append(entries, k)
		}
	}
	sort.Strings(entries)
	sort.Strings(assets)
	return entries, assets
}

// Expect is one site path and the content it must be served with.
type Expect struct {
	// Path is the URL path relative to the site's root ("/about/").
	Path string `json:"path"`
	Key  string `json:"key"`
	// SHA256 is the body's hash without content coding; Encoded the
	// stored precompressed bodies' hashes.
	SHA256  string            `json:"sha256"`
	Encoded map[string]string `json:"-"`
}

// Expect returns what keys must be served as: one Expect per URL path of
// each key (an index document is also its folder). Keys not in the site,
// or with no known decoded hash, are left out.
func (s *Site) Expect(keys []string) []Expect {
	out := []Expect{}
	for _, k := range keys {
		f := s.files[k]
		if f == nil || f.sha256 == "" {
			continue
		}
		paths, err := providers.KeyPaths(k, "")
		if err != nil {
			continue
		}
		for _, p := range paths {
			out = append(out, Expect{Path: p, Key: k, SHA256: f.sha256, Encoded: f.encoded})
		}
	}
	return out
}

// Checks turns expectations into checks of the URLs under base.
func Checks(base *url.URL, exp []Expect) []Check {
	out := make([]Check, len(exp))
	for i, e := range exp {
		u := *base
		u.Path = strings.TrimSuffix(base.Path, "/") + e.Path
		out[i] = Check{URL: u.String(), Key: e.Key, SHA256: e.SHA256, Encoded: e.Encoded}
	}
	return out
}
