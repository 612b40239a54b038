package commands

import (
	"fmt"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/s3"
)

// OriginConfig is the `origin:` section of cdnctl.yaml: where `cdnctl
// push` (and deploy) upload the site, and how. docs/config.md documents
// every key.
type OriginConfig struct {
	// Target is s3://bucket/prefix, file:///path, or a folder (--to).
	Target string `yaml:"target"`
	// State is where the deploy state (history, snapshots, lock,
	// rollback copies) lives: s3://bucket/prefix for an S3 target, a
	// folder for a folder target. Empty: beside the site
	// (docs/deploy.md#state).
	State string `yaml:"state"`
	// LockStaleAfter is how long a deploy lock may go unrefreshed before
	// another deploy takes it over.
	LockStaleAfter time.Duration `yaml:"lock_stale_after"`
	// Endpoint is an S3-compatible service's URL (R2, MinIO); path-style
	// addressing unless VirtualHostStyle.
	Endpoint         string `yaml:"endpoint"`
	VirtualHostStyle bool   `yaml:"virtual_host_style"`
	Region           string `yaml:"region"`
	Profile          string `yaml:"profile"`
	Concurrency      int    `yaml:"concurrency"`
	// MultipartThreshold and PartSize (bytes) tune S3 multipart uploads.
	MultipartThreshold int64 `yaml:"multipart_threshold"`
	PartSize           int64 `yaml:"part_size"`
	// MaxDeletes caps deletions per push (-1: no cap, 0: never delete).
	MaxDeletes int `yaml:"max_deletes"`
	// Protect lists key prefixes push never deletes.
	Protect []string `yaml:"protect"`
	// KeepDeploys and KeepFor: an old fingerprinted asset is deleted only
	// once no deploy among the last KeepDeploys referenced it and it has
	// been unreferenced for KeepFor.
	KeepDeploys int           `yaml:"keep_deploys"`
	KeepFor     time.Duration `yaml:"keep_for"`
	// Manifest is the fingerprint manifest's name in the site folder.
	Manifest string `yaml:"manifest"`
	// Exclude, EntryPoints and Order are globs (see docs/push.md).
	Exclude     []string `yaml:"exclude"`
	EntryPoints []string `yaml:"entry_points"`
	Order       []string `yaml:"order"`
	// AllowDotfiles are globs of dotfiles uploaded anyway (the others, but
	// .well-known/, are left out and listed).
	AllowDotfiles []string `yaml:"allow_dotfiles"`
	// Precompressed is siblings, none, gzip or br.
	Precompressed string       `yaml:"precompressed"`
	Rules         []OriginRule `yaml:"rules"`
}

// OriginRule sets headers on the files matching one of its globs. The
// first rule that matches a file is the one applied (fingerprint rules, by
// contrast, all apply in order: docs/config.md#rules).
type OriginRule struct {
	// Match is one glob or a list of globs (as fingerprint.rules[].match).
	Match         []string          `yaml:"match"`
	CacheControl  string            `yaml:"cache_control"`
	ContentType   string            `yaml:"content_type"`
	Tags          []string          `yaml:"tags"`
	Headers       map[string]string `yaml:"headers"`
	Precompressed string            `yaml:"precompressed"`
}

func defaultOriginConfig() OriginConfig {
	return OriginConfig{
		Concurrency:        providers.DefaultConcurrency,
		MultipartThreshold: s3.DefaultMultipartThreshold,
		PartSize:           s3.DefaultPartSize,
		MaxDeletes:         providers.DefaultMaxDeletes,
		LockStaleAfter:     providers.DefaultLockStale,
		KeepDeploys:        providers.DefaultRetention().Deploys,
		KeepFor:            providers.DefaultRetention().Age,
		EntryPoints:        providers.DefaultEntryPoints(),
		Precompressed:      providers.PrecompressedSiblings,
	}
}

// compiledOrigin is an OriginConfig checked and turned into the options of
// the providers package.
type compiledOrigin struct {
	plan providers.PlanOptions
	scan providers.ScanOptions
}

// compile validates c; errors name the key (origin.xxx) and what was
// expected.
func (c OriginConfig) compile() (*compiledOrigin, error) {
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		return nil, fmt.Errorf("origin.concurrency %d: want 1 to 1024", c.Concurrency)
	}
	if c.MultipartThreshold < s3.MinPartSize {
		return nil, fmt.Errorf("origin.multipart_threshold %d: want at least %d bytes (5 MiB, S3's smallest part)", c.MultipartThreshold, s3.MinPartSize)
	}
	if c.PartSize < s3.MinPartSize || c.PartSize > s3.MaxPartSize {
		return nil, fmt.Errorf("origin.part_size %d: want %d (5 MiB) to %d (5 GiB) bytes", c.PartSize, s3.MinPartSize, s3.MaxPartSize)
	}
	if c.MaxDeletes < -1 {
		return nil, fmt.Errorf("origin.max_deletes %d: want -1 (no limit) or more", c.MaxDeletes)
	}
	if c.KeepDeploys < 0 {
		return nil, fmt.Errorf("origin.keep_deploys %d: want 0 or more", c.KeepDeploys)
	}
	if c.LockStaleAfter < 10*time.Second {
		return nil, fmt.Errorf("origin.lock_stale_after %s: want 10s or more (the lock is refreshed every fifth of it)", c.LockStaleAfter)
	}
	if c.KeepFor < 0 {
		return nil, fmt.Errorf("origin.keep_for %s: want 0 or more", c.KeepFor)
	}
	if !providers.ValidPrecompressed(c.Precompressed) {
		return nil, fmt.Errorf("origin.precompressed %q: want siblings, none, gzip or br", c.Precompressed)
	}
	exclude, err := hashing.CompileGlobs(c.Exclude)
	if err != nil {
		return nil, fmt.Errorf("origin.exclude: %w", err)
	}
	entry, err := hashing.CompileGlobs(c.EntryPoints)
	if err != nil {
		return nil, fmt.Errorf("origin.entry_points: %w", err)
	}
	order, err := hashing.CompileGlobs(c.Order)
	if err != nil {
		return nil, fmt.Errorf("origin.order: %w", err)
	}
	allowDot, err := hashing.CompileGlobs(c.AllowDotfiles)
	if err != nil {
		return nil, fmt.Errorf("origin.allow_dotfiles: %w", err)
	}
	var rules []providers.HeaderRule
	for i, r := range c.Rules {
		if len(r.Match) == 0 {
			return nil, fmt.Errorf("origin.rules[%d].match: want a glob or a list of globs", i)
		}
		if !providers.ValidPrecompressed(r.Precompressed) {
			return nil, fmt.Errorf("origin.rules[%d].precompressed %q: want siblings, none, gzip or br", i, r.Precompressed)
		}
		// A rule of several globs is that rule once per glob, in a row:
		// with first-match-wins, the same as one rule matching any.
		for _, m := range r.Match {
			g, err := hashing.CompileGlob(m)
			if err != nil {
				return nil, fmt.Errorf("origin.rules[%d].match: %w", i, err)
			}
			rules = append(rules, providers.HeaderRule{
				Match: g, CacheControl: r.CacheControl, ContentType: r.ContentType,
				Tags: r.Tags, Headers: r.Headers, Precompressed: r.Precompressed,
			})
		}
	}
	return &compiledOrigin{
		plan: providers.PlanOptions{
			MaxDeletes: c.MaxDeletes,
			Protected:  c.Protect,
			Retention:  providers.Retention{Deploys: c.KeepDeploys, Age: c.KeepFor},
			Ordering:   providers.Ordering{Order: order, EntryPoints: entry},
		},
		scan: providers.ScanOptions{
			Manifest: c.Manifest, Exclude: exclude, EntryPoints: entry,
			Rules: rules, Precompressed: c.Precompressed, AllowDotfiles: allowDot,
		},
	}, nil
}
