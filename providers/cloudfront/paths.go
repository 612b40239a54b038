package cloudfront

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/cdnctl/cdnctl/providers"
)

// Limits of the invalidation API.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-tags.html
const (
	// MaxFilesInProgress is the number of individual paths (tags count as
	// paths) a distribution may have in invalidations in progress.
	MaxFilesInProgress = 3000
	// MaxWildcardsInProgress is the number of wildcard paths in progress,
	// independent of the individual ones.
	MaxWildcardsInProgress = 15
	// maxPathLength is the longest invalidation path.
	maxPathLength = 4000
	// MaxTagLength is the longest cache tag.
	MaxTagLength = 256
	// MaxTagsPerObject is how many tags CloudFront keeps per cached
	// object; it ignores the others.
	MaxTagsPerObject = 50
)

// itemPaths turns one URL or path given by the user into the invalidation
// path CloudFront expects.
func (p *Purger) itemPath(raw string) (string, error) {
	if strings.Contains(raw, "#") {
		return "", providers.InvalidPurge(Provider, raw, "a fragment (#…) never reaches the CDN; remove it (tags are given with --tag)")
	}
	if strings.HasPrefix(raw, "/") {
		// A path: taken as written, only escaped where it must be.
		return checkedPath(raw, escapePath(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", providers.InvalidPurge(Provider, raw, "not a URL: "+err.Error())
	}
	var p0 string
	switch {
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		if err := p.checkHost(raw, u.Host); err != nil {
			return "", err
		}
		p0 = u.EscapedPath()
		if p0 == "" {
			p0 = "/"
		}
		if u.RawQuery != "" || u.ForceQuery {
			p0 += "?" + u.RawQuery
		}
	default:
		return "", providers.InvalidPurge(Provider, raw, "want a path starting with / or an http(s) URL")
	}
	return checkedPath(raw, escapePath(p0))
}

func (p *Purger) checkHost(raw, hostport string) error {
	if host, ok := providers.ServedHost(p.cfg.Hostnames, hostport); !ok {
		return providers.InvalidPurge(Provider, raw, fmt.Sprintf("host %s is not served by distribution %s (hostnames: %s)", host, p.cfg.DistributionID, strings.Join(p.cfg.Hostnames, ", ")))
	}
	return nil
}

// checkedPath enforces CloudFront's rules on an escaped path: it starts
// with "/", "*" appears only at its end, and it is at most 4,000
// characters long.
func checkedPath(raw, p string) (string, error) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "", providers.InvalidPurge(Provider, raw, "an invalidation path starts with /")
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		return "", providers.InvalidPurge(Provider, raw, "CloudFront allows the * wildcard only at the end of a path")
	case len(p) > maxPathLength:
		return "", providers.InvalidPurge(Provider, raw, fmt.Sprintf("the path is %d characters long; CloudFront allows %d", len(p), maxPathLength))
	}
	return p, nil
}

// escapePath percent-encodes what CloudFront requires in an invalidation
// path: non-ASCII and control characters, and the characters RFC 1738
// §2.2 calls unsafe (space < > " # % { } | \ ^ ~ [ ] `). Valid
// percent-escapes are kept (and upper-cased), so escaping is idempotent and
// "/a%20b" and "/a b" name the same object. The query separator "?", "*"
// and the reserved characters stay as they are.
func escapePath(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte('%')
			b.WriteByte(upper(s[i+1]))
			b.WriteByte(upper(s[i+2]))
			i += 2
			continue
		}
		if unsafe(c) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unsafe(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	return strings.IndexByte("\"<>#%{}|\\^~[]`", c) >= 0
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// tagItem is the invalidation item of a cache tag: "#" and the tag. A tag
// invalidation has no * wildcard (the whole tag is matched, without regard
// to case).
func tagItem(tag string) (string, error) {
	if err := CheckTag(tag); err != nil {
		return "", fmt.Errorf("%s: %w: %w", Provider, providers.ErrInvalidPurge, err)
	}
	if strings.Contains(tag, "*") {
		return "", providers.InvalidPurge(Provider, tag, "CloudFront tag invalidations match the whole tag; they have no * wildcard")
	}
	return "#" + tag, nil
}

// CheckTag applies CloudFront's rules for a cache tag: visible ASCII
// (33–126) without commas, 1 to 256 characters. The error states the rule.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-tags.html
func CheckTag(tag string) error {
	if tag == "" || len(tag) > MaxTagLength {
		return fmt.Errorf("%q: a CloudFront cache tag has 1 to %d characters", tag, MaxTagLength)
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; c < 33 || c > 126 || c == ',' {
			return fmt.Errorf("%q: a CloudFront cache tag is visible ASCII (33–126) without commas", tag)
		}
	}
	return nil
}

// CheckTags applies CheckTag to each tag of one object, and CloudFront's
// limit of 50 tags per cached object.
func CheckTags(tags []string) error {
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
	}
	if len(tags) > MaxTagsPerObject {
		return fmt.Errorf("%d tags: CloudFront keeps %d per cached object and ignores the rest", len(tags), MaxTagsPerObject)
	}
	return nil
}

// splitBatches groups invalidation items into the fewest batches that each
// fit the in-progress limits: MaxWildcardsInProgress wildcards and
// MaxFilesInProgress other items (paths and tags).
func splitBatches(items []string) [][]string {
	var wild, files []string
	for _, it := range items {
		if providers.IsWildcard(it) {
			wild = append(wild, it)
		} else {
			files = append(files, it)
		}
	}
	w := providers.Chunk(wild, MaxWildcardsInProgress)
	f := providers.Chunk(files, MaxFilesInProgress)
	out := make([][]string, max(len(w), len(f)))
	for i := range out {
		if i < len(w) {
			out[i] = append(out[i], w[i]...)
		}
		if i < len(f) {
			out[i] = append(out[i], f[i]...)
		}
	}
	return out
}

// counts returns the wildcard and individual items of a batch.
func counts(items []string) (wild, files int) {
	for _, it := range items {
		if providers.IsWildcard(it) {
			wild++
		} else {
			files++
		}
	}
	return wild, files
}
