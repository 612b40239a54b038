package hashing

import (
	"fmt"
	"io/fs"
	"runtime"
	"strings"
)

// Content codings of precompressed copies.
const (
	EncodingBrotli = "br"
	EncodingGzip   = "gzip"
)

// DefaultCompressMinSize is the size under which files are not
// precompressed: below it the saving does not pay for a second request
// path.
const DefaultCompressMinSize = 1024

// Options configure Build and Fingerprint. The zero value fingerprints
// with the defaults and writes no precompressed copies.
type Options struct {
	// HashLength is the number of hex digits of the SHA-256 in a
	// fingerprinted name (MinHashLength to MaxHashLength;
	// 0 means DefaultHashLength).
	HashLength int
	// Keep lists globs of entry points, added to DefaultKeep unless
	// NoDefaultKeep is set: they keep their names.
	Keep          []string
	NoDefaultKeep bool
	// Prehashed lists globs of files already content-hashed by another
	// tool (a bundler's "assets/index-4f3a2b1c.js"): they keep their names
	// and bytes and are served as immutable, so the files they name keep
	// their names too. Most bundlers' outputs are recognised without it
	// (see Result.Detected).
	Prehashed []string
	// Exclude lists globs of files not copied, added to DefaultExclude.
	Exclude []string
	// AllowDotfiles lists globs of dotfiles copied anyway. The others
	// (package dotfile: ".env", ".npmrc", hidden folders, but not
	// ".well-known/") are not copied, and Result.Skipped lists them.
	AllowDotfiles []string
	// Rules attach headers and cache tags (see Rule).
	Rules []Rule
	// BaseURL is where the site is served ("https://www.example.com/"):
	// absolute URLs under it are rewritten like root-relative ones, and a
	// path in it is the prefix of root-relative URLs.
	BaseURL string
	// Strict makes a reference to a missing file an error instead of a
	// report.
	Strict bool
	// HashUnreferenced fingerprints the files that no file of the site
	// names too. By default, when the site has HTML pages, such files keep
	// their names (see builder.pinUnreferenced).
	HashUnreferenced bool
	// Encodings lists the precompressed copies to write next to each
	// compressible file: EncodingBrotli (".br", quality 11) and
	// EncodingGzip (".gz", level 9). Each is kept only when smaller.
	Encodings []string
	// CompressMinSize is the smallest file precompressed (0 means
	// DefaultCompressMinSize).
	CompressMinSize int64
	// ManifestName is the manifest's path in the output
	// (DefaultManifestName if empty).
	ManifestName string
	// ViteManifest, when set, is the path of a Vite-compatible manifest
	// written as well (".vite/manifest.json").
	ViteManifest string
	// Workers bounds how many files are processed at once (0 means twice
	// the number of CPUs).
	Workers int
	// Progress, if set, is told how far the build is: when each phase
	// starts, then after each file (see Progress). It is called from the
	// build's workers, one call at a time: it must return quickly (store
	// the counts; draw elsewhere).
	Progress func(Progress)
}

// compiledOptions are Options checked and ready to use.
type compiledOptions struct {
	hashLen                  int
	keep, prehashed, exclude Globs
	allowDotfiles            Globs
	rules                    []compiledRule
	baseURL                  string
	strict                   bool
	hashUnreferenced         bool
	brotli, gzip             bool
	minSize                  int64
	manifest, vite           string
	workers                  int
}

// Validate checks the options: hash length, globs, rules, base URL,
// encodings and manifest paths. Its errors name the faulty option
// ("rules[2].match[0]: glob …").
func (o Options) Validate() error {
	_, err := o.compile()
	return err
}

func (o Options) compile() (*compiledOptions, error) {
	c := &compiledOptions{
		hashLen:          o.HashLength,
		baseURL:          o.BaseURL,
		strict:           o.Strict,
		hashUnreferenced: o.HashUnreferenced,
		minSize:          o.CompressMinSize,
		manifest:         o.ManifestName,
		vite:             o.ViteManifest,
		workers:          o.Workers,
	}
	if c.hashLen == 0 {
		c.hashLen = DefaultHashLength
	}
	if c.hashLen < MinHashLength || c.hashLen > MaxHashLength {
		return nil, fmt.Errorf("hash length %d: want %d to %d hex digits", o.HashLength, MinHashLength, MaxHashLength)
	}
	var err error
	// The user's globs are compiled on their own so that an error names
	// the position in the list the user wrote, not in the defaults + list.
	if c.keep, err = compileGlobs("keep", o.Keep); err != nil {
		return nil, err
	}
	if !o.NoDefaultKeep {
		defaults, err := compileGlobs("default keep", DefaultKeep())
		if err != nil {
			return nil, err
		}
		c.keep = append(defaults, c.keep...)
	}
	if c.prehashed, err = compileGlobs("prehashed", o.Prehashed); err != nil {
		return nil, err
	}
	if c.exclude, err = compileGlobs("exclude", append(DefaultExclude(), o.Exclude...)); err != nil {
		return nil, err
	}
	if c.allowDotfiles, err = compileGlobs("allow dotfiles", o.AllowDotfiles); err != nil {
		return nil, err
	}
	if c.rules, err = compileRules(o.Rules); err != nil {
		return nil, err
	}
	if _, err := newSite(o.BaseURL, nil); err != nil {
		return nil, err
	}
	for _, e := range o.Encodings {
		switch strings.ToLower(strings.TrimSpace(e)) {
		case "br", "brotli":
			c.brotli = true
		case "gzip", "gz":
			c.gzip = true
		case "none", "":
			if len(o.Encodings) > 1 {
				return nil, fmt.Errorf("compress: %q cannot be combined with other encodings", e)
			}
		default:
			return nil, fmt.Errorf("compress: unknown encoding %q: want br, gzip or none", e)
		}
	}
	if c.minSize == 0 {
		c.minSize = DefaultCompressMinSize
	}
	if c.minSize < 0 {
		return nil, fmt.Errorf("compress min size %d: want a positive number of bytes", o.CompressMinSize)
	}
	if c.manifest == "" {
		c.manifest = DefaultManifestName
	}
	if err := checkOutputName("manifest name", c.manifest); err != nil {
		return nil, err
	}
	if c.vite != "" {
		if err := checkOutputName("vite manifest", c.vite); err != nil {
			return nil, err
		}
		if c.vite == c.manifest {
			return nil, fmt.Errorf("vite manifest %q: same path as the manifest", c.vite)
		}
	}
	if c.workers <= 0 {
		c.workers = 2 * runtime.GOMAXPROCS(0)
	}
	return c, nil
}

func checkOutputName(what, name string) error {
	if !fs.ValidPath(name) || name == "." || strings.HasPrefix(name, ".cdnctl/") || name == stateDir {
		return fmt.Errorf("%s %q: want a relative slash-separated path inside the output folder", what, name)
	}
	return nil
}
