package deploy

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/cdnctl/cdnctl/providers"
)

// planPurge decides how a CDN is purged of the changed keys and plans it
// with the provider (batches, limits, what it cannot do), so the plan
// shows exactly what will be sent.
//
// By URL is precise everywhere: each provider maps keys to its paths
// (index documents also as their folder), batches them to its API's
// limits, and CloudFront folds many paths into wildcards. By tag is one
// item per tag whatever the number of files; auto picks it only when it
// is as precise — the changed files' tags are carried by no unchanged
// file and every changed file has one — and names fewer items than URLs.
func (d *Deployer) planPurge(c CDN, keys []string, tagsOf map[string][]string) (Purge, error) {
	pu := Purge{CDN: c.Name, Provider: c.Provider, Keys: keys, By: PurgeURLs}
	if keys == nil {
		pu.Keys = []string{}
	}
	if len(keys) == 0 {
		return pu, nil
	}
	by := c.PurgeBy
	if by == "" {
		by = PurgeAuto
	}
	if by != PurgeAuto && by != PurgeURLs && by != PurgeTags {
		return pu, fmt.Errorf("deploy: cdn %s: purge by %q: want %s, %s or %s", c.Name, by, PurgeAuto, PurgeURLs, PurgeTags)
	}
	full := make([]string, len(keys))
	urls := 0
	for i, k := range keys {
		full[i] = d.prefixed(k)
		paths, err := providers.KeyPaths(full[i], c.OriginPath)
		if err != nil {
			return pu, fmt.Errorf("deploy: cdn %s: %w", c.Name, err)
		}
		urls += len(paths)
	}
	urlReq := providers.PurgeRequest{Keys: full}

	tags, untagged, precise := tagSelection(keys, tagsOf)
	req := urlReq
	switch {
	case by == PurgeTags:
		if len(tags) == 0 {
			pu.Why = "purge by tags asked, but no changed file carries a tag: by URL"
			break
		}
		req = providers.PurgeRequest{Tags: tags}
		pu.By, pu.Tags = PurgeTags, tags
		pu.Why = fmt.Sprintf("by tag, as configured (%d tags)", len(tags))
		if !precise {
			pu.Why += "; some unchanged files carry these tags and are purged too"
		}
		for _, k := range untagged {
			req.Keys = append(req.Keys, d.prefixed(k))
		}
		if len(untagged) > 0 {
			pu.Why += fmt.Sprintf("; %d untagged files by URL", len(untagged))
		}
	case by == PurgeAuto && precise && len(untagged) == 0 && len(tags) > 0 && len(tags) < urls:
		req = providers.PurgeRequest{Tags: tags}
		pu.By, pu.Tags = PurgeTags, tags
		pu.Why = fmt.Sprintf("by tag: %d tags select exactly the %d changed files, fewer items than their %d URLs", len(tags), len(keys), urls)
	default:
		pu.Why = fmt.Sprintf("by URL: %d URLs of %d changed files", urls, len(keys))
	}
	rec, err := c.Purger.Plan(req)
	if err != nil && pu.By == PurgeTags && errors.Is(err, providers.ErrNotSupported) {
		pu.By, pu.Tags = PurgeURLs, nil
		pu.Why = fmt.Sprintf("by URL (%d URLs): %v", urls, err)
		rec, err = c.Purger.Plan(urlReq)
	}
	if err != nil {
		return pu, fmt.Errorf("deploy: cdn %s: purge: %w", c.Name, err)
	}
	rec.Name = c.Name
	pu.Record = rec
	return pu, nil
}

// tagSelection returns the tags the changed keys carry, the changed keys
// without a tag, and whether no other file carries one of those tags.
func tagSelection(keys []string, tagsOf map[string][]string) (tags, untagged []string, precise bool) {
	changed := map[string]bool{}
	set := map[string]bool{}
	for _, k := range keys {
		changed[k] = true
		ts, known := tagsOf[k]
		if !known || len(ts) == 0 {
			untagged = append(untagged, k)
			continue
		}
		for _, t := range ts {
			set[t] = true
		}
	}
	precise = true
	for k, ts := range tagsOf {
		if changed[k] {
			continue
		}
		if slices.ContainsFunc(ts, func(t string) bool { return set[t] }) {
			precise = false
			break
		}
	}
	for t := range set {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags, untagged, precise
}
