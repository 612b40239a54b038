package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// Messages: each is the result of one tea.Cmd (I/O) or a timer.
type (
	// tickMsg reloads statistics and the page shown.
	tickMsg struct{ seq int }
	// statsMsg carries GET /api/v1/stats.
	statsMsg struct {
		resp localedge.StatsResponse
		at   time.Time
		err  error
	}
	// pageMsg carries a page of GET /api/v1/entries for query; seq drops
	// answers to queries the user has since changed.
	pageMsg struct {
		seq   int
		query adminclient.ListQuery
		page  localedge.EntryPage
		// cursor is where to put the selection (-1: the last row).
		cursor int
		err    error
	}
	// detailMsg carries GET /api/v1/entry.
	detailMsg struct {
		detail localedge.EntryDetail
		err    error
	}
	// planMsg is a purge ready to confirm, with the number of entries it
	// affects.
	planMsg struct {
		plan *purgePlan
		err  error
	}
	// purgedMsg is the outcome of a confirmed purge.
	purgedMsg struct {
		plan   *purgePlan
		purged int
		pops   int
		took   time.Duration
		err    error
	}
)

// purgePlan is a purge waiting for confirmation.
type purgePlan struct {
	// What names the target for people: `entry http://h/a.css`, `tag
	// "css"`, `prefix "/assets/"`, `the 42 entries matching "x"`.
	What string
	// Count is how many cached entries (key × PoP) it affects now.
	Count int
	// Pops are the PoPs it applies to (nil: every PoP and the shield).
	Pops []string
	// Req is the purge; URLs are sent in batches of at most
	// localedge.MaxEntryLimit.
	Req localedge.PurgeRequest
}

// withTimeout returns a function that derives a request context from the
// inspector's, for a Cmd to call when it runs.
func (m *Model) withTimeout(d time.Duration) func() (context.Context, context.CancelFunc) {
	base := m.ctx
	return func() (context.Context, context.CancelFunc) { return context.WithTimeout(base, d) }
}

func (m *Model) tickCmd() tea.Cmd {
	seq := m.tickSeq
	return tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return tickMsg{seq: seq} })
}

func (m *Model) statsCmd() tea.Cmd {
	client, now := m.opts.Client, m.opts.Now
	newCtx := m.withTimeout(requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		resp, err := client.Stats(ctx)
		return statsMsg{resp: resp, at: now(), err: err}
	}
}

// pageCmd loads the page at offset for the current query.
func (m *Model) pageCmd(offset, cursor int) tea.Cmd {
	m.pageSeq++
	q := m.listQuery()
	q.Offset = max(offset, 0)
	m.requested = q
	seq, client := m.pageSeq, m.opts.Client
	m.loading = true
	newCtx := m.withTimeout(requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		page, err := client.Entries(ctx, q)
		return pageMsg{seq: seq, query: q, page: page, cursor: cursor, err: err}
	}
}

func (m *Model) detailCmd(e localedge.EntryInfo) tea.Cmd {
	client := m.opts.Client
	newCtx := m.withTimeout(requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		d, err := client.Entry(ctx, e.Pop, e.Key)
		return detailMsg{detail: d, err: err}
	}
}

// planOneCmd prepares purging one entry's URL everywhere it is cached.
func (m *Model) planOneCmd(e localedge.EntryInfo) tea.Cmd {
	client := m.opts.Client
	newCtx := m.withTimeout(requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		d, err := client.Entry(ctx, e.Pop, e.Key)
		if err != nil {
			return planMsg{err: fmt.Errorf("entry %s: %w", e.URL, err)}
		}
		return planMsg{plan: &purgePlan{
			What:  fmt.Sprintf("%s from %s", e.URL, strings.Join(d.PopsHolding, ", ")),
			Count: len(d.PopsHolding),
			Req:   localedge.PurgeRequest{URLs: []string{e.URL}},
		}}
	}
}

// planTagCmd counts the entries carrying tag (on the PoP shown, or all).
func (m *Model) planTagCmd(tag string) tea.Cmd {
	client, pop := m.opts.Client, m.pop
	newCtx := m.withTimeout(requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		page, err := client.Entries(ctx, adminclient.ListQuery{Pop: pop, Filter: "tag:" + tag, Limit: 1})
		if err != nil {
			return planMsg{err: fmt.Errorf("count tag %q: %w", tag, err)}
		}
		return planMsg{plan: &purgePlan{What: fmt.Sprintf("tag %q%s", tag, onPop(pop)), Count: page.Total,
			Pops: popList(pop), Req: localedge.PurgeRequest{Tags: []string{tag}}}}
	}
}

// planPrefixCmd counts the entries under a path or URL prefix: the
// listing narrows by substring, then each candidate's path or URL is
// checked.
func (m *Model) planPrefixCmd(prefix string) tea.Cmd {
	client, pop := m.opts.Client, m.pop
	newCtx := m.withTimeout(6 * requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		count := 0
		err := eachEntry(ctx, client, adminclient.ListQuery{Pop: pop, Filter: prefix}, func(e localedge.EntryInfo) bool {
			if matchesPrefix(e, prefix) {
				count++
			}
			return true
		})
		if err != nil {
			return planMsg{err: fmt.Errorf("count prefix %q: %w", prefix, err)}
		}
		return planMsg{plan: &purgePlan{What: fmt.Sprintf("prefix %q%s", prefix, onPop(pop)), Count: count,
			Pops: popList(pop), Req: localedge.PurgeRequest{Prefixes: []string{prefix}}}}
	}
}

// planMatchingCmd prepares purging everything the current filter lists.
// A filter that is exactly one tag or one host becomes that purge; any
// other is purged URL by URL, from a full listing.
func (m *Model) planMatchingCmd() tea.Cmd {
	client, pop, filter := m.opts.Client, m.pop, strings.TrimSpace(m.filter)
	newCtx := m.withTimeout(6 * requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		plan := &purgePlan{Pops: popList(pop)}
		terms := strings.Fields(filter)
		if len(terms) == 1 {
			if v, ok := strings.CutPrefix(terms[0], "tag:"); ok {
				plan.Req.Tags = []string{v}
			} else if v, ok := strings.CutPrefix(terms[0], "host:"); ok {
				plan.Req.Hosts = []string{v}
			}
		}
		if filter == "" {
			plan.Req.All = true
		}
		what := fmt.Sprintf("matching %q", filter)
		if filter == "" {
			what = "in the cache"
		}
		if !plan.Req.Empty() {
			page, err := client.Entries(ctx, adminclient.ListQuery{Pop: pop, Filter: filter, Limit: 1})
			if err != nil {
				return planMsg{err: err}
			}
			plan.Count = page.Total
			plan.What = fmt.Sprintf("%s %s%s", allEntries(page.Total), what, onPop(pop))
			return planMsg{plan: plan}
		}
		seen := map[string]bool{}
		err := eachEntry(ctx, client, adminclient.ListQuery{Pop: pop, Filter: filter}, func(e localedge.EntryInfo) bool {
			plan.Count++
			if !seen[e.URL] {
				seen[e.URL] = true
				plan.Req.URLs = append(plan.Req.URLs, e.URL)
			}
			return len(plan.Req.URLs) < maxPurgeURLs
		})
		if err != nil {
			return planMsg{err: err}
		}
		if len(plan.Req.URLs) >= maxPurgeURLs {
			return planMsg{err: fmt.Errorf("more than %d URLs match %q: narrow the filter, or purge by tag, host or prefix", maxPurgeURLs, filter)}
		}
		plan.What = fmt.Sprintf("%s %s%s", allEntries(plan.Count), what, onPop(pop))
		return planMsg{plan: plan}
	}
}

// purgeCmd runs a confirmed plan, URLs in batches.
func (m *Model) purgeCmd(plan *purgePlan, soft bool) tea.Cmd {
	client, now := m.opts.Client, m.opts.Now
	newCtx := m.withTimeout(6 * requestTimeout)
	return func() tea.Msg {
		ctx, cancel := newCtx()
		defer cancel()
		start := now()
		req := plan.Req
		req.Soft = soft
		var batches []localedge.PurgeRequest
		if len(req.URLs) > 0 {
			for chunk := range slices.Chunk(req.URLs, localedge.MaxEntryLimit) {
				b := req
				b.URLs = chunk
				batches = append(batches, b)
			}
		} else {
			batches = []localedge.PurgeRequest{req}
		}
		out := purgedMsg{plan: plan}
		for _, b := range batches {
			resp, err := client.Purge(ctx, localedge.AdminPurgeRequest{PurgeRequest: b, PoPs: plan.Pops})
			if err != nil {
				out.err = err
				break
			}
			out.purged += resp.Purged
			out.pops = len(resp.PoPs)
		}
		out.took = now().Sub(start)
		return out
	}
}

// eachEntry pages through a listing (1000 at a time) until fn returns
// false or the listing ends.
func eachEntry(ctx context.Context, client API, q adminclient.ListQuery, fn func(localedge.EntryInfo) bool) error {
	q.Limit = localedge.MaxEntryLimit
	for {
		page, err := client.Entries(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if !fn(e) {
				return nil
			}
		}
		q.Offset += len(page.Entries)
		if len(page.Entries) == 0 || q.Offset >= page.Total {
			return nil
		}
	}
}

// matchesPrefix applies the admin API's prefix rule: a path prefix
// matches the path on every host, a URL prefix the URL.
func matchesPrefix(e localedge.EntryInfo, prefix string) bool {
	if strings.HasPrefix(prefix, "/") {
		return strings.HasPrefix(e.Path, prefix)
	}
	return strings.HasPrefix(e.URL, prefix)
}

func allEntries(n int) string {
	if n == 1 {
		return "the 1 entry"
	}
	return fmt.Sprintf("all %d entries", n)
}

func onPop(pop string) string {
	if pop == "" {
		return ""
	}
	return " on " + pop
}

func popList(pop string) []string {
	if pop == "" {
		return nil
	}
	return []string{pop}
}

// describeError turns an admin API error into the line the UI shows.
func describeError(err error) string {
	switch {
	case errors.Is(err, adminclient.ErrUnauthorized):
		return "admin token rejected: start cdnctl inspect with the token cdnctl serve printed (--token or $CDNCTL_ADMIN_TOKEN)"
	case errors.Is(err, adminclient.ErrUnreachable):
		return err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "the admin API did not answer in time"
	}
	return err.Error()
}
