package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// PurgeRequest says what to remove from a CDN's caches. Its fields combine:
// one request may name URLs, prefixes and tags at once. Providers check it
// in Plan and refuse what they cannot do before any request is sent.
type PurgeRequest struct {
	// URLs are absolute URLs ("https://www.example.com/app.css") or paths
	// ("/app.css"). A path means that path on every hostname the target
	// serves. A query string is part of the URL; a fragment is an error.
	URLs []string `json:"urls,omitempty"`
	// Keys are origin object keys as push stored them ("site/app.css").
	// Each provider maps a key to the URLs it caches through the target's
	// origin path; an index document ("blog/index.html") also maps to its
	// directory URL ("/blog/"). See KeyPaths.
	Keys []string `json:"keys,omitempty"`
	// Prefixes purge everything under a path or URL prefix ("/assets/",
	// "https://www.example.com/assets/").
	Prefixes []string `json:"prefixes,omitempty"`
	// Tags purge every object whose response carried the tag (Cache-Tag,
	// Surrogate-Key or the header a CloudFront distribution reads).
	Tags []string `json:"tags,omitempty"`
	// Hosts purge everything cached for these hostnames.
	Hosts []string `json:"hosts,omitempty"`
	// CPCodes purge everything served under these Akamai content
	// provider codes.
	CPCodes []int `json:"cp_codes,omitempty"`
	// Everything purges the whole zone, distribution or edge.
	Everything bool `json:"everything,omitempty"`
	// Soft marks entries stale instead of removing them, so they can still
	// be served while they are revalidated.
	Soft bool `json:"soft,omitempty"`
	// Headers select a cache-key variant of every URL (Cloudflare keys on
	// CF-Device-Type, CF-IPCountry, Accept-Language and Origin).
	Headers map[string]string `json:"headers,omitempty"`
}

// Count is the number of items the request names (Everything counts as
// none: it has no items).
func (r PurgeRequest) Count() int {
	return len(r.URLs) + len(r.Keys) + len(r.Prefixes) + len(r.Tags) + len(r.Hosts) + len(r.CPCodes)
}

// Empty reports whether the request names nothing to purge.
func (r PurgeRequest) Empty() bool { return !r.Everything && r.Count() == 0 }

// Purger removes content from a CDN's caches. Plan is pure: it checks the
// request against what the provider can do and splits it into the batches
// Purge would send, so --dry-run and confirmation prompts need no network
// and no credentials. Purge sends the planned batches.
//
// Optional capabilities are found by type assertion: PurgeWaiter.
type Purger interface {
	// Plan returns the record of a purge not yet sent (Status
	// PurgePlanned). Errors wrap ErrNotSupported (the provider cannot do
	// it) or ErrInvalidPurge (an item is malformed).
	Plan(req PurgeRequest) (*PurgeRecord, error)
	// Purge sends the batches of rec, a record returned by Plan, and
	// updates rec as it goes: rec is the record of what happened even when
	// an error is returned. A batch that failed leaves a *PurgeError that
	// names the items not purged.
	Purge(ctx context.Context, rec *PurgeRecord) error
}

// PurgeWaiter is implemented by purgers whose purges complete after Purge
// returns (CloudFront invalidations). Wait polls until every batch of rec
// has completed or ctx is done, calling progress (if not nil) after each
// round of polls.
type PurgeWaiter interface {
	Wait(ctx context.Context, rec *PurgeRecord, progress func(PurgeProgress)) error
}

// PurgeProgress is reported while waiting for a purge to complete.
type PurgeProgress struct {
	Completed int           // batches completed
	Total     int           // batches sent
	Elapsed   time.Duration // since waiting began
}

// ErrInvalidPurge is wrapped by errors about a malformed purge item (a
// path without a leading slash, a wildcard in the middle of a path).
var ErrInvalidPurge = errors.New("invalid purge request")

// NotSupported returns the error a provider gives, before sending anything,
// for something it cannot purge: "cloudfront: purge by host: not supported
// by provider (hint)". It wraps ErrNotSupported.
func NotSupported(provider, what, hint string) error {
	if hint != "" {
		return fmt.Errorf("%s: %s: %w (%s)", provider, what, ErrNotSupported, hint)
	}
	return fmt.Errorf("%s: %s: %w", provider, what, ErrNotSupported)
}

// InvalidPurge returns an error about one malformed item, wrapping
// ErrInvalidPurge: `cloudflare: "/x": <reason>`.
func InvalidPurge(provider, item, reason string) error {
	return fmt.Errorf("%s: %w: %q: %s", provider, ErrInvalidPurge, item, reason)
}

// ServedHost returns the lower-case host of a URL's host[:port] and
// whether it is one of hostnames (any host when hostnames is empty), for
// providers that refuse URLs their target does not serve.
func ServedHost(hostnames []string, hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	return host, len(hostnames) == 0 || slices.Contains(hostnames, host)
}

// PurgeStatus is the state of a purge or of one of its batches.
type PurgeStatus string

const (
	PurgePlanned    PurgeStatus = "planned"     // not sent yet (dry run)
	PurgeInProgress PurgeStatus = "in_progress" // accepted, not yet applied everywhere
	PurgeCompleted  PurgeStatus = "completed"   // applied
	PurgeFailed     PurgeStatus = "failed"      // rejected or never accepted
	PurgeSkipped    PurgeStatus = "skipped"     // not sent: the purge was cancelled first
	PurgePartial    PurgeStatus = "partial"     // record only: some batches failed
)

// Batch kinds: what the items of a batch are.
const (
	KindFiles      = "files"      // URLs
	KindPaths      = "paths"      // CloudFront invalidation paths (and #tags)
	KindPrefixes   = "prefixes"   // URL or path prefixes
	KindTags       = "tags"       // cache tags
	KindHosts      = "hosts"      // hostnames
	KindCPCodes    = "cpcodes"    // Akamai CP codes
	KindEverything = "everything" // the whole zone
	KindMixed      = "mixed"      // several kinds in one request (local edge)
)

// PurgeBatch is one API request of a purge.
type PurgeBatch struct {
	Kind  string   `json:"kind"`
	Items []string `json:"items,omitempty"`
	// Headers are sent with every file of the batch (cache-key variants).
	Headers map[string]string `json:"headers,omitempty"`
	// Ref is the idempotency reference sent with the batch (CloudFront's
	// CallerReference): a retry reuses it, so a retried request whose
	// first answer was lost does not purge twice.
	Ref string `json:"ref,omitempty"`
	// ID is what the provider calls this purge: the CloudFront
	// invalidation ID, the Cloudflare purge ID, the Fastly or Akamai
	// purge ID, the local edge's purge ID.
	ID string `json:"id,omitempty"`
	// ItemIDs are per-item purge IDs, where one request purges several
	// items each with its own ID (Fastly's batch surrogate-key purge):
	// item → purge ID.
	ItemIDs map[string]string `json:"item_ids,omitempty"`
	// RequestID identifies the API request for the provider's support
	// (x-amz-request-id, CF-Ray, Fastly's X-Request-Id, Akamai's
	// supportId).
	RequestID string `json:"request_id,omitempty"`
	// EstimatedSeconds is the provider's estimate of how long the purge
	// takes to apply everywhere after it was accepted (Akamai's
	// estimatedSeconds).
	EstimatedSeconds int         `json:"estimated_seconds,omitempty"`
	Status           PurgeStatus `json:"status"`
	Attempts         int         `json:"attempts,omitempty"`
	// Purged is the number of cache entries removed, where the provider
	// says (the local edge); Pops breaks it down per PoP.
	Purged *int       `json:"purged,omitempty"`
	Pops   []PopCount `json:"pops,omitempty"`
	Error  string     `json:"error,omitempty"`
	// DurationMS is how long the batch took to be accepted (and, for a
	// synchronous API, applied), retries included.
	DurationMS int64 `json:"duration_ms"`
}

// PopCount is how many entries one PoP purged.
type PopCount struct {
	Name   string `json:"name"`
	Purged int    `json:"purged"`
}

// PurgeRecord is what a purge did (or, with Status PurgePlanned, would do):
// the provider, the target, every batch with its request IDs and result,
// and how long it took. Commands print it as a table or as JSON.
type PurgeRecord struct {
	Provider string `json:"provider"`
	// Target is what was purged: a CloudFront distribution ID, a
	// Cloudflare zone ID, a local edge's admin URL.
	Target string `json:"target"`
	// Name is the cdns entry of cdnctl.yaml the target came from.
	Name       string       `json:"name,omitempty"`
	Soft       bool         `json:"soft,omitempty"`
	Everything bool         `json:"everything,omitempty"`
	Status     PurgeStatus  `json:"status"`
	Batches    []PurgeBatch `json:"batches"`
	// EstimatedBillablePaths is CloudFront's count of invalidation paths
	// this purge is billed for (a wildcard or a tag counts as one; the
	// first 1,000 paths of a month are free for the account).
	EstimatedBillablePaths *int `json:"estimated_billable_paths,omitempty"`
	// Notes explain what Plan changed: wildcard collapsing, dropped
	// redundant items.
	Notes      []string  `json:"notes,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
}

// Items is the number of items in all batches: what a confirmation prompt
// counts.
func (r *PurgeRecord) Items() int {
	n := 0
	for _, b := range r.Batches {
		n += len(b.Items)
	}
	return n
}

// NotPurged lists the items of every batch that failed or was skipped, in
// batch order: exactly what is still cached.
func (r *PurgeRecord) NotPurged() []string {
	var out []string
	for _, b := range r.Batches {
		if b.Status == PurgeFailed || b.Status == PurgeSkipped {
			if b.Kind == KindEverything {
				out = append(out, "everything")
				continue
			}
			out = append(out, b.Items...)
		}
	}
	return out
}

// Settle sets r.Status from its batches: completed when every batch
// completed, in_progress while some are still being applied, partial when
// some failed and others did not, failed when none got through.
func (r *PurgeRecord) Settle() {
	var ok, pending, bad int
	for _, b := range r.Batches {
		switch b.Status {
		case PurgeCompleted:
			ok++
		case PurgeInProgress:
			pending++
		case PurgeFailed, PurgeSkipped:
			bad++
		case PurgePlanned:
			return // not sent: the record stays a plan
		}
	}
	switch {
	case bad > 0 && ok+pending > 0:
		r.Status = PurgePartial
	case bad > 0:
		r.Status = PurgeFailed
	case pending > 0:
		r.Status = PurgeInProgress
	default:
		r.Status = PurgeCompleted
	}
}

// Err returns a *PurgeError when batches failed or were skipped, naming the
// items not purged, with cause as the underlying error; nil otherwise.
func (r *PurgeRecord) Err(cause error) error {
	failed := 0
	for _, b := range r.Batches {
		if b.Status == PurgeFailed || b.Status == PurgeSkipped {
			failed++
		}
	}
	if failed == 0 {
		return cause
	}
	return &PurgeError{
		Provider:  r.Provider,
		Target:    r.Target,
		NotPurged: r.NotPurged(),
		Failed:    failed,
		Total:     len(r.Batches),
		Err:       cause,
	}
}

// PurgeError reports a purge that failed in part or in full. NotPurged
// names exactly the items that are still cached.
type PurgeError struct {
	Provider  string
	Target    string
	NotPurged []string
	Failed    int // batches failed or skipped
	Total     int // batches in the purge
	Err       error
}

// maxErrorItems bounds how many items Error() lists; NotPurged has them all.
const maxErrorItems = 10

func (e *PurgeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: purge of %s: %d of %d batches failed; not purged (%d): ",
		e.Provider, e.Target, e.Failed, e.Total, len(e.NotPurged))
	for i, it := range e.NotPurged {
		if i == maxErrorItems {
			fmt.Fprintf(&b, " … and %d more", len(e.NotPurged)-maxErrorItems)
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(it)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *PurgeError) Unwrap() error { return e.Err }

// Secret holds a credential. It prints, logs and marshals as "[redacted]",
// so a token in a config struct cannot leak through %v, slog or JSON.
// Reveal returns the value for the one place that sends it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// MarshalText keeps the secret out of JSON, YAML and slog output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return string(s) }

// SendBatches is the loop every purger runs in Purge: it calls send for
// each batch of rec in order and records the outcome. A batch whose send
// returns nil is completed unless send set another status (in_progress);
// one whose send fails is failed unless send marked it skipped. A failed
// batch does not stop the next ones; once ctx is done the batches left are
// skipped. Then rec is settled, its duration set from rec.StartedAt (set to
// now() when zero), and the result is rec.Err of the first error.
func SendBatches(ctx context.Context, rec *PurgeRecord, now func() time.Time, send func(ctx context.Context, i int, b *PurgeBatch) error) error {
	return SendBatchesN(ctx, rec, now, 1, send)
}

// SendBatchesN is SendBatches with up to n batches in flight at once, for
// APIs that take one item per request (Fastly's single-URL purge). send
// is then called from n goroutines, each with its own batch. With n < 2
// the batches go one after the other, in order, so a send may look at the
// batches before its own. The error is that of the lowest-numbered batch
// that failed.
func SendBatchesN(ctx context.Context, rec *PurgeRecord, now func() time.Time, n int, send func(ctx context.Context, i int, b *PurgeBatch) error) error {
	if rec.StartedAt.IsZero() {
		rec.StartedAt = now()
	}
	errs := make([]error, len(rec.Batches))
	one := func(i int) {
		b := &rec.Batches[i]
		if err := ctx.Err(); err != nil {
			b.Status, b.Error = PurgeSkipped, err.Error()
			errs[i] = err
			return
		}
		if err := send(ctx, i, b); err != nil {
			if b.Status != PurgeSkipped {
				b.Status = PurgeFailed
			}
			b.Error = err.Error()
			errs[i] = err
			return
		}
		if b.Status == PurgePlanned {
			b.Status = PurgeCompleted
		}
	}
	if n < 2 || len(rec.Batches) < 2 {
		for i := range rec.Batches {
			one(i)
		}
	} else {
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(n, len(rec.Batches)) {
			wg.Go(func() {
				for i := range next {
					one(i)
				}
			})
		}
		for i := range rec.Batches {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	var first error
	for _, err := range errs {
		if err != nil {
			first = err
			break
		}
	}
	rec.DurationMS = now().Sub(rec.StartedAt).Milliseconds()
	rec.Settle()
	return rec.Err(first)
}

// Unique returns items without repeats, in their first order.
func Unique(items []string) []string {
	seen := make(map[string]bool, len(items))
	out := items[:0:0]
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}
