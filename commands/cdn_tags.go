package commands

import (
	"fmt"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/akamai"
	"github.com/cdnctl/cdnctl/providers/cloudflare"
	"github.com/cdnctl/cdnctl/providers/cloudfront"
	"github.com/cdnctl/cdnctl/providers/fastly"
)

// cdnTags is what the configured CDNs need of cache tags: the rule each
// applies to one object's tags, and the response headers they read tags
// from, which push writes as object metadata.
type cdnTags struct {
	checks  []cdnTagCheck
	headers []providers.TagHeader
}

type cdnTagCheck struct {
	cdn   string // "cdns entry prod (cloudfront)"
	check func(tags []string) error
}

// tagRulesOf collects the tag rules and headers of cdns. The local edge
// takes any tag the fingerprint rules allow and reads them from the
// headers the local origin sets, so it adds neither.
func tagRulesOf(cdns []CDNConfig) cdnTags {
	var t cdnTags
	seen := map[string]bool{}
	for _, c := range cdns {
		var check func([]string) error
		var header *providers.TagHeader
		switch c.Provider {
		case providerCloudFront:
			// The distribution's CacheTagConfig names the header: for an
			// S3 origin, x-amz-meta-cdnctl-tags, which push writes.
			check = cloudfront.CheckTags
		case providerCloudflare:
			check = cloudflare.CheckTags
		case providerFastly:
			check = fastly.CheckKeys
			header = &providers.TagHeader{Name: fastly.TagHeader, Sep: " "}
		case providerAkamai:
			check = akamai.CheckTags
			header = &providers.TagHeader{Name: akamai.TagHeader, Sep: ", "}
		default:
			continue
		}
		t.checks = append(t.checks, cdnTagCheck{cdn: fmt.Sprintf("cdns entry %s (%s)", c.Name, c.Provider), check: check})
		if header != nil && !seen[header.Name] {
			seen[header.Name] = true
			t.headers = append(t.headers, *header)
		}
	}
	return t
}

// check applies every CDN's rule to one object's tags; the error names the
// CDN and states its rule.
func (t cdnTags) check(tags []string) error {
	for _, c := range t.checks {
		if err := c.check(tags); err != nil {
			return fmt.Errorf("%s cannot match this tag: %w", c.cdn, err)
		}
	}
	return nil
}

// scanOptions adds the tag rules and headers to a push or deploy scan.
func (t cdnTags) scanOptions(o *providers.ScanOptions) {
	if len(t.checks) > 0 {
		o.CheckTags = t.check
	}
	o.TagHeaders = append(o.TagHeaders, t.headers...)
}

// checkRules refuses, before anything is built, fingerprint rules whose
// tags a configured CDN cannot match (a non-ASCII tag, for one, reaches S3
// metadata as one RFC 2047 encoded word that no CDN splits into tags).
// Limits on the number of tags per object are checked per file when
// pushing.
func (t cdnTags) checkRules(rules []hashing.Rule) error {
	for i, r := range rules {
		for j, tag := range r.Tags {
			if err := t.check([]string{tag}); err != nil {
				return fmt.Errorf("rules[%d].tags[%d]: %w", i, j, err)
			}
		}
	}
	return nil
}
