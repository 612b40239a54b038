// Package cloudfront invalidates a CloudFront distribution's caches with
// CreateInvalidation (paths, wildcard paths and "#tag" cache tags), batched
// to the limits on invalidations in progress, with many paths collapsed
// into a few wildcards when that is cheaper, and waits for completion with
// GetInvalidation. Credentials come from the AWS default chain (env, shared
// config and profiles, SSO, IMDS) and are never printed.
package cloudfront

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/cdnctl/cdnctl/providers"
)

// Provider is the provider name in records and errors.
const Provider = "cloudfront"

// Collapsing defaults: more than DefaultCollapseAbove paths are folded into
// at most DefaultCollapseTo wildcards (one batch: the wildcard limit).
const (
	DefaultCollapseAbove = 100
	DefaultCollapseTo    = MaxWildcardsInProgress
	// statusCompleted is the Status of a finished invalidation; it is
	// compared without regard to case (moto answers "COMPLETED").
	statusCompleted = "Completed"
)

// Config is one distribution to invalidate. Zero values have the
// documented defaults.
type Config struct {
	DistributionID string
	// Hostnames the distribution serves (its aliases): a URL on another
	// host is refused, since invalidating its path here would not purge it.
	// Empty: any host is accepted.
	Hostnames []string
	// OriginPath is the distribution's origin path ("/site"): object keys
	// are mapped to viewer paths by removing it (see providers.KeyPaths).
	OriginPath string
	// CollapseAbove: when a purge has more paths than this, they are folded
	// into at most CollapseTo wildcards (0: 100 and 15). A negative
	// CollapseAbove never collapses.
	CollapseAbove int
	CollapseTo    int
	// Profile and Region select the AWS shared-config profile and region
	// (the default chain otherwise; CloudFront's API lives in us-east-1).
	Profile string
	Region  string
	// Endpoint overrides the API endpoint (a proxy or a test server).
	Endpoint string
	// HTTPClient sends the API requests (nil: the SDK's).
	HTTPClient *http.Client
	// Retry is the policy for throttling, 5xx and network errors (zero: 5
	// attempts, 250 ms base, 20 s cap).
	Retry providers.Backoff
	// Busy is the policy while CloudFront refuses a batch because too many
	// invalidations are in progress (zero: 20 tries, 5 s to 60 s apart:
	// never sooner than 5 s, an invalidation takes that long at least).
	Busy providers.Backoff
	// Poll spaces GetInvalidation polls, while waiting for completion and
	// for room under the in-progress limits (zero: until the context is
	// done, 2 s base, 20 s cap).
	Poll providers.Backoff
	// Logger receives progress and retry logs (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// api is the part of the CloudFront SDK client the purger uses.
type api interface {
	CreateInvalidation(ctx context.Context, in *cloudfront.CreateInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	GetInvalidation(ctx context.Context, in *cloudfront.GetInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error)
}

// Purger invalidates one distribution. It implements providers.Purger and
// providers.PurgeWaiter.
type Purger struct {
	cfg    Config
	api    api
	logger *slog.Logger
	now    func() time.Time
	// creds are checked once before the first batch (nil: not checked;
	// tests' fakes need none).
	creds awssdk.CredentialsProvider
}

// ErrCredentials is a purge that could not start: the AWS default chain
// found no usable credentials.
var ErrCredentials = errors.New("no usable AWS credentials")

var distributionIDRe = regexp.MustCompile(`^[A-Z0-9]{8,32}$`)

// New loads the AWS configuration (default chain, cfg.Profile, cfg.Region)
// and returns a Purger. Credentials are resolved on the first request, so
// a dry run needs none.
func New(ctx context.Context, cfg Config) (*Purger, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloudfront: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1" // CloudFront is global; its API is signed for us-east-1
	}
	client := cloudfront.NewFromConfig(awsCfg, func(o *cloudfront.Options) {
		// cdnctl retries itself, to honour its limits and record attempts.
		o.Retryer = awssdk.NopRetryer{}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(cfg.Endpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	p, err := newPurger(client, cfg)
	if err != nil {
		return nil, err
	}
	p.creds = awsCfg.Credentials
	return p, nil
}

// checkCredentials resolves the credentials once, before any batch: a
// missing chain is one clear error instead of every batch failing (and
// retrying) on the same lookup.
func (p *Purger) checkCredentials(ctx context.Context) error {
	if p.creds == nil {
		return nil
	}
	if _, err := p.creds.Retrieve(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		profile := "default"
		if p.cfg.Profile != "" {
			profile = p.cfg.Profile
		}
		p.logger.Debug("cloudfront: credentials", "err", err)
		return fmt.Errorf("%s: %w: looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared config and SSO (profile %s) and the container and EC2 roles; set AWS_PROFILE (or the entry's profile, --profile) or the access key variables; nothing was purged", Provider, ErrCredentials, profile)
	}
	return nil
}

// newPurger checks cfg and fills in defaults; tests give it a fake api.
func newPurger(a api, cfg Config) (*Purger, error) {
	if !distributionIDRe.MatchString(cfg.DistributionID) {
		return nil, fmt.Errorf("cloudfront: distribution ID %q: want the ID shown in the console, such as E2QWRUHAPOMQZL", cfg.DistributionID)
	}
	if cfg.Endpoint != "" {
		if u, err := url.Parse(cfg.Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("cloudfront: endpoint %q: want an http(s) URL", cfg.Endpoint)
		}
	}
	for i, h := range cfg.Hostnames {
		if h == "" || strings.ContainsAny(h, "/:") {
			return nil, fmt.Errorf("cloudfront: hostname %q: want a bare hostname such as www.example.com", h)
		}
		cfg.Hostnames[i] = strings.ToLower(h)
	}
	if cfg.CollapseAbove == 0 {
		cfg.CollapseAbove = DefaultCollapseAbove
	}
	if cfg.CollapseTo == 0 {
		cfg.CollapseTo = DefaultCollapseTo
	}
	if cfg.CollapseTo < 1 || cfg.CollapseTo > MaxWildcardsInProgress {
		return nil, fmt.Errorf("cloudfront: collapse_to %d: want 1 to %d wildcards", cfg.CollapseTo, MaxWildcardsInProgress)
	}
	if cfg.Busy.Attempts == 0 {
		cfg.Busy.Attempts = 20
	}
	if cfg.Busy.Base == 0 {
		cfg.Busy.Base = 5 * time.Second
	}
	if cfg.Busy.Max == 0 {
		cfg.Busy.Max = time.Minute
	}
	if cfg.Busy.Min == 0 {
		cfg.Busy.Min = cfg.Busy.Base
	}
	if cfg.Poll.Attempts == 0 {
		cfg.Poll.Attempts = -1
	}
	if cfg.Poll.Base == 0 {
		cfg.Poll.Base = 2 * time.Second
	}
	if cfg.Poll.Max == 0 {
		cfg.Poll.Max = 20 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Purger{cfg: cfg, api: a, logger: logger, now: cfg.Now}, nil
}

// Plan maps the request to invalidation paths, collapses them into
// wildcards when there are more than CollapseAbove, and splits them into
// batches that fit the in-progress limits. Purging by host, soft purges
// and header variants are refused: CloudFront cannot do them.
func (p *Purger) Plan(req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	switch {
	case len(req.Hosts) > 0:
		return nil, providers.NotSupported(Provider, "purge by host", "a distribution invalidates paths on all its hostnames at once: give paths, or --all")
	case req.Soft:
		return nil, providers.NotSupported(Provider, "soft purge", "an invalidation removes the objects; purge without --soft")
	case len(req.Headers) > 0:
		return nil, providers.NotSupported(Provider, "purge one header variant", "an invalidation removes every variant of a path")
	case len(req.CPCodes) > 0:
		return nil, providers.NotSupported(Provider, "purge by CP code", "CP codes are Akamai's; give paths, tags or --all")
	case req.Empty():
		return nil, fmt.Errorf("%s: %w: nothing to purge", Provider, providers.ErrInvalidPurge)
	}
	rec := &providers.PurgeRecord{
		Provider:   Provider,
		Target:     p.cfg.DistributionID,
		Everything: req.Everything,
		Status:     providers.PurgePlanned,
	}
	var paths, tags []string
	if req.Everything {
		if n := req.Count(); n > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("/* covers the %d other items; they are not sent", n))
		}
		paths = []string{"/*"}
	} else {
		for _, raw := range req.URLs {
			pth, err := p.itemPath(raw)
			if err != nil {
				return nil, err
			}
			paths = append(paths, pth)
		}
		for _, key := range req.Keys {
			if strings.Contains(key, "*") {
				return nil, providers.InvalidPurge(Provider, key, "CloudFront reads * as a wildcard, so this key cannot be invalidated alone")
			}
			kps, err := providers.KeyPaths(key, p.cfg.OriginPath)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", Provider, err)
			}
			for _, kp := range kps {
				pth, err := checkedPath(key, escapePath((&url.URL{Path: kp}).EscapedPath()))
				if err != nil {
					return nil, err
				}
				paths = append(paths, pth)
			}
		}
		for _, raw := range req.Prefixes {
			pth, err := p.itemPath(strings.TrimSuffix(raw, "*"))
			if err != nil {
				return nil, err
			}
			paths = append(paths, pth+"*")
		}
		seen := map[string]bool{}
		for _, t := range req.Tags {
			item, err := tagItem(t)
			if err != nil {
				return nil, err
			}
			// CloudFront matches tags without regard to case: #CSS and
			// #css are one tag, invalidated (and billed) once.
			if k := strings.ToLower(item); !seen[k] {
				seen[k] = true
				tags = append(tags, item)
			}
		}
	}
	paths = providers.DedupePaths(paths)
	if p.cfg.CollapseAbove >= 0 && len(paths) > p.cfg.CollapseAbove {
		if collapsed := providers.CollapsePaths(paths, p.cfg.CollapseTo); len(collapsed) < len(paths) {
			rec.Notes = append(rec.Notes, fmt.Sprintf("collapsed %d paths into %d (more than collapse_above %d)", len(paths), len(collapsed), p.cfg.CollapseAbove))
			paths = collapsed
		}
	}
	items := append(paths, providers.DedupePaths(tags)...)
	for _, b := range splitBatches(items) {
		rec.Batches = append(rec.Batches, providers.PurgeBatch{Kind: providers.KindPaths, Items: b, Status: providers.PurgePlanned})
	}
	if n := len(rec.Batches); n > 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("%d batches: each waits until the invalidations before it leave room under the in-progress limits (%d paths, %d wildcards)", n, MaxFilesInProgress, MaxWildcardsInProgress))
	}
	billable := len(items)
	rec.EstimatedBillablePaths = &billable
	return rec, nil
}

// Purge creates one invalidation per batch. Before a batch that would
// exceed the in-progress limits together with this purge's earlier
// batches, it waits for those to complete. A batch refused because other
// invalidations fill the limits is retried with the Busy policy.
func (p *Purger) Purge(ctx context.Context, rec *providers.PurgeRecord) error {
	if rec.Status != providers.PurgePlanned {
		return fmt.Errorf("%s: purge: record is %s, not planned", Provider, rec.Status)
	}
	if err := p.checkCredentials(ctx); err != nil {
		return err
	}
	rec.StartedAt = p.now()
	ref := callerRefPrefix(rec.StartedAt)
	return providers.SendBatches(ctx, rec, p.now, func(ctx context.Context, i int, b *providers.PurgeBatch) error {
		if err := p.waitForRoom(ctx, rec, i); err != nil {
			b.Status = providers.PurgeSkipped
			return err
		}
		b.Ref = fmt.Sprintf("%s-%d", ref, i+1)
		if err := p.create(ctx, b); err != nil {
			p.logger.Warn("cloudfront invalidation failed", "batch", i+1, "paths", len(b.Items), "err", err)
			return err
		}
		p.logger.Info("cloudfront invalidation created", "batch", i+1, "id", b.ID, "paths", len(b.Items), "status", b.Status)
		return nil
	})
}

// callerRefPrefix starts every CallerReference of one purge: a timestamp
// and random bits, so two purges never share one. The batch number ends it.
func callerRefPrefix(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "cdnctl-" + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// create sends one batch: transient errors are retried with the Retry
// policy inside, "too many invalidations in progress" with the Busy policy
// outside. Retries reuse the batch's CallerReference, so an invalidation
// whose answer was lost is returned, not created twice.
func (p *Purger) create(ctx context.Context, b *providers.PurgeBatch) error {
	start := p.now()
	defer func() { b.DurationMS = p.now().Sub(start).Milliseconds() }()
	busy := p.cfg.Busy
	busy.OnRetry = func(attempt int, d time.Duration, err error) {
		p.logger.Info("cloudfront: too many invalidations in progress; waiting", "attempt", attempt, "in", d.Round(time.Second))
	}
	return providers.Retry(ctx, busy, func(ctx context.Context) error {
		retryPolicy := p.cfg.Retry
		retryPolicy.OnRetry = func(attempt int, d time.Duration, err error) {
			p.logger.Info("cloudfront: retrying", "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
			if p.cfg.Retry.OnRetry != nil {
				p.cfg.Retry.OnRetry(attempt, d, err)
			}
		}
		err := providers.Retry(ctx, retryPolicy, func(ctx context.Context) error {
			b.Attempts++
			n := int32(len(b.Items))
			out, err := p.api.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
				DistributionId: awssdk.String(p.cfg.DistributionID),
				InvalidationBatch: &types.InvalidationBatch{
					CallerReference: awssdk.String(b.Ref),
					Paths:           &types.Paths{Quantity: &n, Items: b.Items},
				},
			})
			if err != nil {
				b.RequestID = requestIDOf(err)
				return classify(err)
			}
			if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
				b.RequestID = id
			}
			if out.Invalidation == nil || out.Invalidation.Id == nil {
				return fmt.Errorf("%s: CreateInvalidation answered without an invalidation ID", Provider)
			}
			b.ID = *out.Invalidation.Id
			b.Status = providers.PurgeInProgress
			if completed(out.Invalidation.Status) {
				b.Status = providers.PurgeCompleted
			}
			return nil
		})
		var tooMany *types.TooManyInvalidationsInProgress
		if errors.As(err, &tooMany) {
			return providers.Retryable(err, 0)
		}
		return err
	})
}

// completed reports whether an invalidation's Status says it finished.
// The API documents "Completed"; some implementations (moto) answer
// "COMPLETED".
func completed(status *string) bool {
	return strings.EqualFold(awssdk.ToString(status), statusCompleted)
}

// sdkRetryables are the errors the SDK's standard retryer retries
// (throttling codes, 5xx, connection errors), plus 429.
var sdkRetryables = append(retry.IsErrorRetryables{
	retry.RetryableHTTPStatusCode{Codes: map[int]struct{}{http.StatusTooManyRequests: {}}},
}, retry.DefaultRetryables...)

func classify(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if sdkRetryables.IsErrorRetryable(err) == awssdk.TrueTernary {
		return providers.Retryable(err, 0)
	}
	return err
}

func requestIDOf(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.ServiceRequestID()
	}
	return ""
}

// waitForRoom returns when batch i fits under the in-progress limits
// together with this purge's batches still in progress, polling those.
func (p *Purger) waitForRoom(ctx context.Context, rec *providers.PurgeRecord, i int) error {
	wantW, wantF := counts(rec.Batches[i].Items)
	fits := func() bool {
		w, f := 0, 0
		for _, b := range rec.Batches[:i] {
			if b.Status == providers.PurgeInProgress {
				bw, bf := counts(b.Items)
				w, f = w+bw, f+bf
			}
		}
		return w+wantW <= MaxWildcardsInProgress && f+wantF <= MaxFilesInProgress
	}
	if fits() {
		return nil
	}
	p.logger.Info("cloudfront: waiting for earlier batches to complete before the next", "batch", i+1)
	err := providers.Poll(ctx, p.cfg.Poll, func(ctx context.Context) (bool, error) {
		if err := p.refresh(ctx, rec.Batches[:i]); err != nil {
			return false, err
		}
		return fits(), nil
	})
	if err != nil {
		return fmt.Errorf("%s: waiting for earlier invalidations to leave room for batch %d: %w", Provider, i+1, err)
	}
	return nil
}

// refresh polls GetInvalidation for every batch in progress.
func (p *Purger) refresh(ctx context.Context, batches []providers.PurgeBatch) error {
	for j := range batches {
		b := &batches[j]
		if b.Status != providers.PurgeInProgress {
			continue
		}
		out, err := p.api.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{
			DistributionId: awssdk.String(p.cfg.DistributionID),
			Id:             awssdk.String(b.ID),
		})
		if err != nil {
			return fmt.Errorf("%s: get invalidation %s: %w", Provider, b.ID, classify(err))
		}
		if out.Invalidation != nil && completed(out.Invalidation.Status) {
			b.Status = providers.PurgeCompleted
		}
	}
	return nil
}

// Wait polls GetInvalidation until every batch of rec has completed or ctx
// is done, reporting progress after each round.
func (p *Purger) Wait(ctx context.Context, rec *providers.PurgeRecord, progress func(providers.PurgeProgress)) error {
	start := p.now()
	total := 0
	for _, b := range rec.Batches {
		if b.Status == providers.PurgeInProgress || b.Status == providers.PurgeCompleted {
			total++
		}
	}
	report := func() (done bool) {
		completed := 0
		for _, b := range rec.Batches {
			if b.Status == providers.PurgeCompleted {
				completed++
			}
		}
		if progress != nil {
			progress(providers.PurgeProgress{Completed: completed, Total: total, Elapsed: p.now().Sub(start)})
		}
		return completed == total
	}
	defer func() {
		if !rec.StartedAt.IsZero() {
			rec.DurationMS = p.now().Sub(rec.StartedAt).Milliseconds()
		}
		rec.Settle()
	}()
	if report() {
		return nil
	}
	err := providers.Poll(ctx, p.cfg.Poll, func(ctx context.Context) (bool, error) {
		if err := p.refresh(ctx, rec.Batches); err != nil {
			return false, err
		}
		return report(), nil
	})
	if err != nil {
		var pending []string
		for _, b := range rec.Batches {
			if b.Status == providers.PurgeInProgress {
				pending = append(pending, b.ID)
			}
		}
		return fmt.Errorf("%s: invalidations %s of distribution %s are still in progress (they complete on their own): %w",
			Provider, strings.Join(pending, ", "), p.cfg.DistributionID, err)
	}
	return nil
}
