package commands

import (
	"fmt"

	"github.com/cdnctl/cdnctl/hashing"
)

// FingerprintConfig is the `fingerprint:` section of cdnctl.yaml (see
// docs/config.md). Flags of `cdnctl fingerprint` override it.
type FingerprintConfig struct {
	// Src and Out are the default source and output folders.
	Src string `yaml:"src" json:"src"`
	Out string `yaml:"out" json:"out"`
	// HashLength is the number of hex digits of the SHA-256 in a
	// fingerprinted name.
	HashLength int `yaml:"hash_length" json:"hash_length"`
	// Keep adds entry points (globs) to the built-in ones, unless
	// NoDefaultKeep drops those.
	Keep          []string `yaml:"keep" json:"keep"`
	NoDefaultKeep bool     `yaml:"no_default_keep" json:"no_default_keep"`
	// Prehashed are globs of files another tool already content-hashed.
	Prehashed []string `yaml:"prehashed" json:"prehashed"`
	// Exclude are globs of files not copied.
	Exclude []string `yaml:"exclude" json:"exclude"`
	// AllowDotfiles are globs of dotfiles copied anyway.
	AllowDotfiles []string `yaml:"allow_dotfiles" json:"allow_dotfiles"`
	// Rules attach Cache-Control, Content-Type, headers and cache tags.
	Rules []hashing.Rule `yaml:"rules" json:"rules"`
	// BaseURL is where the site is served.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// Strict makes references to missing files an error.
	Strict bool `yaml:"strict" json:"strict"`
	// HashUnreferenced fingerprints files no file of the site names too.
	HashUnreferenced bool `yaml:"hash_unreferenced" json:"hash_unreferenced"`
	// Compress lists the precompressed copies: br, gzip, or none.
	Compress []string `yaml:"compress" json:"compress"`
	// CompressMinSize is the smallest file precompressed, in bytes.
	CompressMinSize int64 `yaml:"compress_min_size" json:"compress_min_size"`
	// Manifest is the manifest's path in the output.
	Manifest string `yaml:"manifest" json:"manifest"`
	// ViteManifest, when set, is the path of a Vite-compatible manifest.
	ViteManifest string `yaml:"vite_manifest" json:"vite_manifest"`
	// Audit is what the end-of-run audit's findings do: AuditError (the
	// default) fails the run, AuditWarn only reports them.
	Audit string `yaml:"audit" json:"audit"`
}

// What the audit's findings do (fingerprint.audit, --audit).
const (
	AuditError = "error"
	AuditWarn  = "warn"
)

// checkAudit checks an audit mode.
func checkAudit(mode string) error {
	switch mode {
	case AuditError, AuditWarn:
		return nil
	}
	return fmt.Errorf("audit %q: want %s (findings fail the run) or %s (they are only reported)", mode, AuditError, AuditWarn)
}

func defaultFingerprintConfig() FingerprintConfig {
	return FingerprintConfig{
		HashLength:      hashing.DefaultHashLength,
		Compress:        []string{hashing.EncodingBrotli, hashing.EncodingGzip},
		CompressMinSize: hashing.DefaultCompressMinSize,
		Manifest:        hashing.DefaultManifestName,
		Audit:           AuditError,
	}
}

// options turns the section into build options, checked.
func (c FingerprintConfig) options() (hashing.Options, error) {
	o := hashing.Options{
		HashLength:       c.HashLength,
		Keep:             c.Keep,
		NoDefaultKeep:    c.NoDefaultKeep,
		Prehashed:        c.Prehashed,
		Exclude:          c.Exclude,
		AllowDotfiles:    c.AllowDotfiles,
		Rules:            c.Rules,
		BaseURL:          c.BaseURL,
		Strict:           c.Strict,
		HashUnreferenced: c.HashUnreferenced,
		Encodings:        compressList(c.Compress),
		CompressMinSize:  c.CompressMinSize,
		ManifestName:     c.Manifest,
		ViteManifest:     c.ViteManifest,
	}
	if c.CompressMinSize <= 0 {
		return o, fmt.Errorf("compress_min_size %d: want a positive number of bytes", c.CompressMinSize)
	}
	if err := checkAudit(c.Audit); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// compressList reads "none" (or nothing) as no precompression.
func compressList(l []string) []string {
	if len(l) == 1 && l[0] == "none" {
		return nil
	}
	return l
}
