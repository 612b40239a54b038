// Package s3 is cdnctl's origin store on Amazon S3 and S3-compatible
// services (Cloudflare R2, MinIO, versitygw): it lists a bucket prefix
// with one request per 1,000 objects, keeps what cdnctl wrote in an index
// object so that a no-change push needs no per-object request, uploads
// with bounded concurrency (multipart for large files), verifies every
// upload's SHA-256, updates headers in place with CopyObject, deletes in
// batches of 1,000, and retries throttling and network errors with
// exponential backoff and jitter.
package s3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/providers"
)

// Defaults of Config.
const (
	DefaultMultipartThreshold = 64 << 20 // files this size and larger go multipart
	DefaultPartSize           = 16 << 20
	// MinPartSize and MaxPartSize are S3's limits on a part (the last
	// part may be smaller).
	MinPartSize        = 5 << 20
	MaxPartSize        = 5 << 30
	DefaultMaxAttempts = 8
	// maxCopySize is the largest object CopyObject can copy; larger ones
	// are sent again for a header change.
	maxCopySize = 5 << 30
	// deleteBatch is DeleteObjects' limit.
	deleteBatch = 1000
)

// Metadata keys cdnctl writes on every object (x-amz-meta-…).
const (
	metaSHA256 = "cdnctl-sha256"
	metaTags   = "cdnctl-tags"
	// metaMD5 is rclone's name for the base64 MD5 of a multipart upload's
	// body (whose ETag is not an MD5): cdnctl writes it on its multipart
	// uploads so that `rclone check` can verify them, and reads it on
	// objects rclone uploaded to recognise unchanged bodies.
	metaMD5 = "md5chksum"
)

// Config says which bucket and how to reach it. Credentials come from the
// AWS default chain (environment, shared config and profiles, SSO, web
// identity, container and instance roles) unless Credentials is set; they
// are never printed or logged.
type Config struct {
	Bucket string
	// Prefix is the key prefix the site lives under ("" for the bucket's
	// root); slashes around it are ignored.
	Prefix string
	// StateBucket and StatePrefix say where the deploy state lives
	// (docs/deploy.md#state). Both empty: DefaultStatePrefix in the same
	// bucket. StateBucket empty: the same bucket. The state may not
	// overlap the site's prefix, except as <prefix>/.cdnctl.
	StateBucket string
	StatePrefix string
	// Endpoint is an S3-compatible service's URL (R2, MinIO, versitygw);
	// it implies path-style addressing unless VirtualHostStyle is set.
	Endpoint         string
	VirtualHostStyle bool
	Region           string
	Profile          string
	// Credentials overrides the default chain (tests).
	Credentials aws.CredentialsProvider
	// HTTPClient overrides the SDK's (tests count requests with it).
	HTTPClient *http.Client
	// Concurrency is the number of parallel requests expected; it sizes
	// the connection pool and multipart part uploads.
	Concurrency int
	// MultipartThreshold and PartSize tune multipart uploads
	// (DefaultMultipartThreshold, DefaultPartSize if 0; parts ≥ 5 MiB).
	MultipartThreshold int64
	PartSize           int64
	// MaxAttempts per request, the first included (DefaultMaxAttempts if
	// 0). Retries back off exponentially with full jitter from RetryBase
	// (250 ms if 0) up to RetryMax (20 s if 0).
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	Logger      *slog.Logger
}

// Store is an S3 bucket prefix used as origin storage.
type Store struct {
	client    *awss3.Client
	tm        *transfermanager.Client
	bucket    string
	prefix    string // "" or "site/" (with the slash)
	endpoint  string
	region    string
	threshold int64
	log       *slog.Logger
	retries   atomic.Int64 // see Retries

	state *stateArea // where the deploy state is

	mu    sync.Mutex // guards the fields below
	idx   *providers.ObjectIndex
	dirty bool
}

// New loads the AWS configuration and returns a store for cfg.Bucket.
// It sends no request.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := validBucket(cfg.Bucket); err != nil {
		return nil, err
	}
	var loadOpts []func(*awsconfig.LoadOptions) error
	if cfg.Profile != "" {
		loadOpts = append(loadOpts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		loadOpts = append(loadOpts, awsconfig.WithCredentialsProvider(cfg.Credentials))
	}
	endpoint, err := NormalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	cfg.Endpoint = endpoint
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("s3: no AWS region configured: pass --region, set AWS_REGION, or set region in the profile")
		}
		awsCfg.Region = "us-east-1" // S3-compatible services accept it (R2: "auto")
	}
	concurrency := max(cfg.Concurrency, providers.DefaultConcurrency)
	var httpClient awss3.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * concurrency
		t.MaxIdleConnsPerHost = 2 * concurrency
	})
	if cfg.HTTPClient != nil {
		httpClient = cfg.HTTPClient
	}
	backoff := providers.Backoff{Base: cfg.RetryBase, Max: cfg.RetryMax}
	attempts := cfg.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	s := &Store{}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		o.APIOptions = append(o.APIOptions, s.watchRetries)
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = !cfg.VirtualHostStyle
		}
		o.HTTPClient = httpClient
		// Checksums only where we give them (uploads: SHA-256) or the API
		// requires them; many S3-compatible services reject the SDK's
		// default CRC32 trailers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.Backoff = sdkBackoff{backoff}
			// No client-side retry quota: a throttled bulk upload must
			// keep backing off, not fail fast.
			so.RateLimiter = noRateLimit{}
			so.Retryables = append(so.Retryables, retry.RetryableHTTPStatusCode{Codes: map[int]struct{}{429: {}}})
			so.Retryables = append([]retry.IsErrorRetryable{noRetryUnreachable{}}, so.Retryables...)
		})
	})
	threshold := cfg.MultipartThreshold
	if threshold <= 0 {
		threshold = DefaultMultipartThreshold
	}
	partSize := cfg.PartSize
	if partSize <= 0 {
		partSize = DefaultPartSize
	}
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.MultipartUploadThreshold = threshold
		o.Concurrency = 4
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		o.FailTimeout = 30 * time.Second // abort the upload even after ^C
	})
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.client, s.tm, s.bucket, s.prefix = client, tm, cfg.Bucket, prefix
	s.endpoint, s.region, s.threshold, s.log = cfg.Endpoint, awsCfg.Region, threshold, log
	st, err := s.newStateArea(cfg.StateBucket, cfg.StatePrefix)
	if err != nil {
		return nil, err
	}
	s.state = st
	return s, nil
}

// validBucket checks the bucket name rules that matter for a clear error
// before any request.
func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("s3: bucket name %q: want 3 to 63 characters", b)
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return fmt.Errorf("s3: bucket name %q: want lower-case letters, digits, '-' and '.'", b)
		}
	}
	return nil
}

// String names the target for messages: s3://bucket/prefix.
func (s *Store) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *Store) key(k string) string { return s.prefix + k }

// sdkBackoff adapts providers.Backoff (full jitter) to the SDK retryer.
type sdkBackoff struct{ b providers.Backoff }

func (s sdkBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return s.b.Delay(attempt - 1), nil
}

type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// Listing: ListObjectsV2 returns at most listPage keys per request; a
// large listing is split into ranges listed listParallel at a time.
const (
	listPage     = 1000
	listParallel = 8
)

// List implements providers.Lister: ListObjectsV2 pages (1,000 objects
// each) and, concurrently with the first page, one GET of the index. A
// listed object whose ETag and size match its index entry is unchanged
// since cdnctl wrote it, so its recorded SHA-256 and headers hold; others
// are listed with only what S3 says (size, ETag).
//
// When the first page is not the last, the rest is listed in parallel
// ranges cut at every 1,000th key the index knows, so that each range
// is about one page: the request count stays one per 1,000 objects (plus
// one per range whose objects changed since), and the wall time is a few
// round trips instead of one per page.
func (s *Store) List(ctx context.Context) ([]providers.RemoteObject, error) {
	var (
		first *awss3.ListObjectsV2Output
		idx   *providers.ObjectIndex
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		idx, err = s.readIndex(gctx)
		return err
	})
	g.Go(func() error {
		var err error
		first, err = s.listPage(gctx, "", nil)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	objs, _ := s.collect(nil, first.Contents, "")
	if aws.ToBool(first.IsTruncated) && len(first.Contents) > 0 {
		last := aws.ToString(first.Contents[len(first.Contents)-1].Key)
		rest, err := s.listAfter(ctx, last, first.NextContinuationToken, idx)
		if err != nil {
			return nil, err
		}
		objs = append(objs, rest...)
	}

	listed := make(map[string]bool, len(objs))
	for i := range objs {
		o := &objs[i]
		listed[o.Key] = true
		if e, ok := idx.Objects[o.Key]; ok && e.ETag != "" && e.ETag == o.ETag && e.Size == o.Size {
			o.SHA256, o.Meta, o.MetaKnown = e.SHA256, e.Metadata, true
			if needsMD5(o.ETag, e.MD5, o.Size) {
				// A multipart upload recorded without md5chksum (by an
				// older cdnctl): its headers are written again, with
				// md5chksum, so that rclone can verify it.
				o.MetaKnown = false
			}
		}
	}
	// Forget entries of objects deleted behind cdnctl's back (saved with
	// the next change; a no-change push writes nothing).
	for k := range idx.Objects {
		if !listed[k] {
			delete(idx.Objects, k)
		}
	}
	s.mu.Lock()
	s.idx = idx
	s.mu.Unlock()
	return objs, nil
}

// needsMD5 reports whether an object cdnctl wrote lacks md5chksum and
// should get it with a header update: a multipart ETag, no MD5 recorded,
// and a size CopyObject can copy and UpdateMetadata adds md5chksum at.
func needsMD5(etag, md5sum string, size int64) bool {
	return strings.Contains(etag, "-") && md5sum == "" && size >= MinPartSize && size < maxCopySize
}

// listPage sends one ListObjectsV2 request.
func (s *Store) listPage(ctx context.Context, startAfter string, token *string) (*awss3.ListObjectsV2Output, error) {
	in := &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix), ContinuationToken: token}
	if token == nil && startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, s.explain("list", "", err)
	}
	return out, nil
}

// collect appends the listed objects up to and including upTo (a full
// key; "" for no bound), skipping cdnctl's state and folder markers. It
// reports whether the range is complete: a key past the bound, or the
// bound itself, was seen.
func (s *Store) collect(objs []providers.RemoteObject, contents []types.Object, upTo string) ([]providers.RemoteObject, bool) {
	state := s.prefix + providers.StateDir + "/"
	reached := false
	for _, o := range contents {
		k := aws.ToString(o.Key)
		if upTo != "" && k > upTo {
			return objs, true
		}
		reached = upTo != "" && k == upTo
		if strings.HasPrefix(k, state) || strings.HasSuffix(k, "/") {
			continue
		}
		objs = append(objs, providers.RemoteObject{
			Key:          strings.TrimPrefix(k, s.prefix),
			Size:         aws.ToInt64(o.Size),
			ETag:         unquote(aws.ToString(o.ETag)),
			LastModified: aws.ToTime(o.LastModified),
		})
	}
	return objs, reached
}

// listAfter lists every key after last: in parallel ranges when the index
// knows enough keys past it, else page after page from token.
func (s *Store) listAfter(ctx context.Context, last string, token *string, idx *providers.ObjectIndex) ([]providers.RemoteObject, error) {
	var known []string
	for k := range idx.Objects {
		if full := s.prefix + k; full > last {
			known = append(known, full)
		}
	}
	if len(known) <= listPage {
		return s.listRange(ctx, last, "", token)
	}
	sort.Strings(known)
	var bounds []string // inclusive upper bound of each range but the last
	for i := listPage - 1; i < len(known)-1; i += listPage {
		bounds = append(bounds, known[i])
	}
	parts := make([][]providers.RemoteObject, len(bounds)+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listParallel)
	for i := range parts {
		lo, hi := last, ""
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		g.Go(func() error {
			var err error
			parts[i], err = s.listRange(gctx, lo, hi, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var objs []providers.RemoteObject
	for _, p := range parts {
		objs = append(objs, p...)
	}
	return objs, nil
}

// listRange lists the keys in (after, upTo] ("" upTo: to the end),
// continuing from token if given.
func (s *Store) listRange(ctx context.Context, after, upTo string, token *string) ([]providers.RemoteObject, error) {
	var objs []providers.RemoteObject
	for {
		page, err := s.listPage(ctx, after, token)
		if err != nil {
			return nil, err
		}
		var stop bool
		objs, stop = s.collect(objs, page.Contents, upTo)
		if stop || !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return objs, nil
		}
		token = page.NextContinuationToken
	}
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// readIndex GETs the index; a missing one is empty.
func (s *Store) readIndex(ctx context.Context) (*providers.ObjectIndex, error) {
	data, err := s.ReadState(ctx, providers.IndexName)
	if errors.Is(err, providers.ErrStateNotFound) {
		return providers.NewObjectIndex(), nil
	}
	if err != nil {
		return nil, err
	}
	idx, err := providers.ParseObjectIndex(data)
	if err != nil {
		// A damaged index costs a full re-verification, not a failure.
		s.log.Warn("s3: ignoring a damaged object index; objects will be verified again", "index", s.state.url(providers.IndexName), "err", err)
		return providers.NewObjectIndex(), nil
	}
	return idx, nil
}

// index returns the index, reading it if List has not. Callers must not
// hold s.mu.
func (s *Store) index(ctx context.Context) (*providers.ObjectIndex, error) {
	s.mu.Lock()
	idx := s.idx
	s.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	idx, err := s.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		s.idx = idx
	}
	return s.idx, nil
}

func (s *Store) record(ctx context.Context, f *providers.LocalFile, etag string, h headers) error {
	if _, err := s.index(ctx); err != nil {
		return err
	}
	e := providers.EntryFor(f, unquote(etag))
	if raw, err := base64.StdEncoding.DecodeString(h.metadata[metaMD5]); err == nil && len(raw) == md5.Size {
		e.MD5 = hex.EncodeToString(raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.Objects[f.Key] = e
	s.dirty = true
	return nil
}

// Put implements providers.Putter. Small files go in one PutObject whose
// body S3 verifies twice: against the signed payload hash and the
// x-amz-checksum-sha256 header, both f.SHA256. Large files go multipart
// (transfermanager), each part checksummed; the SHA-256 is recorded in
// the object's metadata either way.
func (s *Store) Put(ctx context.Context, f *providers.LocalFile) error {
	if err := providers.ValidateKey(f.Key); err != nil {
		return fmt.Errorf("s3: put: %w", err)
	}
	sum, err := hex.DecodeString(f.SHA256)
	if err != nil || len(sum) != 32 {
		return fmt.Errorf("s3: put %s: bad SHA-256 %q", f.Key, f.SHA256)
	}
	body, err := f.Open()
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", f.Key, err)
	}
	defer body.Close()
	h, err := headersFor(f)
	if err != nil {
		return err
	}
	var etag string
	if f.Size < s.threshold {
		out, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
			Bucket:             aws.String(s.bucket),
			Key:                aws.String(s.key(f.Key)),
			Body:               body,
			ContentLength:      aws.Int64(f.Size),
			ContentType:        h.contentType,
			CacheControl:       h.cacheControl,
			ContentEncoding:    h.contentEncoding,
			ContentDisposition: h.contentDisposition,
			ContentLanguage:    h.contentLanguage,
			Expires:            h.expires,
			Metadata:           h.metadata,
			ChecksumSHA256:     aws.String(base64.StdEncoding.EncodeToString(sum)),
		}, withPayloadHash(f.SHA256))
		if err != nil {
			return s.explain("put", f.Key, err)
		}
		etag = aws.ToString(out.ETag)
	} else {
		if err := s.addMD5(f, h.metadata); err != nil {
			return err
		}
		out, err := s.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket:             aws.String(s.bucket),
			Key:                aws.String(s.key(f.Key)),
			Body:               body,
			ContentLength:      aws.Int64(f.Size),
			ContentType:        h.contentType,
			CacheControl:       h.cacheControl,
			ContentEncoding:    h.contentEncoding,
			ContentDisposition: h.contentDisposition,
			ContentLanguage:    h.contentLanguage,
			Expires:            h.expires,
			Metadata:           h.metadata,
		})
		if err != nil {
			return s.explain("put", f.Key, err)
		}
		etag = aws.ToString(out.ETag)
	}
	return s.record(ctx, f, etag, h)
}

// addMD5 sets md5chksum, the base64 MD5 of f's body, in metadata (the
// scan computed it with the SHA-256 for large files).
func (s *Store) addMD5(f *providers.LocalFile, metadata map[string]string) error {
	sum, err := f.BodyMD5()
	if err == nil && !providers.IsMD5Hex(sum) {
		err = fmt.Errorf("bad MD5 %q", sum)
	}
	if err != nil {
		return fmt.Errorf("s3: put %s: md5: %w", f.Key, err)
	}
	raw, _ := hex.DecodeString(sum)
	metadata[metaMD5] = base64.StdEncoding.EncodeToString(raw)
	return nil
}

// CheckFile implements providers.FileChecker: f's headers can be sent to
// S3 (no non-ASCII value in a header S3 serves as is).
func (s *Store) CheckFile(f *providers.LocalFile) error {
	_, err := headersFor(f)
	return err
}

// TimeGranularity implements providers.TimeGranularity: LastModified is
// kept to the second.
func (s *Store) TimeGranularity() time.Duration { return time.Second }

// withPayloadHash signs a PutObject with the body's known SHA-256 instead
// of reading the file once more to compute it; S3 rejects a body that
// does not match (XAmzContentSHA256Mismatch).
func withPayloadHash(sha string) func(*awss3.Options) {
	return func(o *awss3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("cdnctlPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, sha), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// UpdateMetadata implements providers.MetadataUpdater with CopyObject onto
// itself (MetadataDirective REPLACE): no body is sent.
func (s *Store) UpdateMetadata(ctx context.Context, f *providers.LocalFile) error {
	if err := providers.ValidateKey(f.Key); err != nil {
		return fmt.Errorf("s3: update: %w", err)
	}
	if f.Size >= maxCopySize {
		return s.Put(ctx, f)
	}
	h, err := headersFor(f)
	if err != nil {
		return err
	}
	if f.Size >= MinPartSize {
		// REPLACE drops every metadata key: write md5chksum again on
		// anything that may be a multipart upload (whatever the threshold
		// was when it was written; the scan has the MD5 of such files).
		if err := s.addMD5(f, h.metadata); err != nil {
			return err
		}
	}
	out, err := s.client.CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket:             aws.String(s.bucket),
		Key:                aws.String(s.key(f.Key)),
		CopySource:         aws.String(copySource(s.bucket, s.key(f.Key))),
		MetadataDirective:  types.MetadataDirectiveReplace,
		ContentType:        h.contentType,
		CacheControl:       h.cacheControl,
		ContentEncoding:    h.contentEncoding,
		ContentDisposition: h.contentDisposition,
		ContentLanguage:    h.contentLanguage,
		Expires:            h.expires,
		Metadata:           h.metadata,
	})
	if err != nil {
		return s.explain("update headers of", f.Key, err)
	}
	etag := ""
	if out.CopyObjectResult != nil {
		etag = aws.ToString(out.CopyObjectResult.ETag)
	}
	if etag == "" {
		// Without the new ETag the index cannot vouch for the object:
		// leave it out, the next push will HEAD it.
		s.mu.Lock()
		if s.idx != nil {
			delete(s.idx.Objects, f.Key)
			s.dirty = true
		}
		s.mu.Unlock()
		return nil
	}
	return s.record(ctx, f, etag, h)
}

// copySource is "bucket/key" with the key percent-encoded except for
// unreserved characters and slashes (as botocore does: a "+" must be
// %2B, or servers read it as a space).
func copySource(bucket, key string) string {
	var b strings.Builder
	b.WriteString(bucket)
	b.WriteByte('/')
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Stat implements providers.Stater with HeadObject: for objects the index
// cannot vouch for (uploaded by another tool, or changed since).
func (s *Store) Stat(ctx context.Context, key string) (providers.RemoteObject, error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(key))})
	if err != nil {
		return providers.RemoteObject{}, s.explain("stat", key, err)
	}
	o := providers.RemoteObject{
		Key: key, Size: aws.ToInt64(out.ContentLength), ETag: unquote(aws.ToString(out.ETag)),
		Meta: metadataOf(out), MetaKnown: true, LastModified: aws.ToTime(out.LastModified),
	}
	if raw, err := base64.StdEncoding.DecodeString(metadataValue(out.Metadata, metaMD5)); err == nil && len(raw) == 16 {
		o.MD5 = hex.EncodeToString(raw)
	}
	if o.MD5 == "" && needsMD5(o.ETag, "", o.Size) {
		// Headers to write again, with md5chksum (see List).
		o.MetaKnown = false
	}
	if sha := metadataValue(out.Metadata, metaSHA256); len(sha) == 64 {
		o.SHA256 = strings.ToLower(sha)
		// Written by cdnctl: remember it, so the next push needs no HEAD.
		if _, err := s.index(ctx); err == nil && o.ETag != "" {
			s.mu.Lock()
			s.idx.Objects[key] = providers.IndexEntry{SHA256: o.SHA256, Size: o.Size, Metadata: o.Meta.Normalize(), ETag: o.ETag, MD5: o.MD5}
			s.dirty = true
			s.mu.Unlock()
		}
	}
	return o, nil
}

// Delete implements providers.Deleter with DeleteObjects, 1,000 keys per
// request.
func (s *Store) Delete(ctx context.Context, keys []string) error {
	var failed []string
	for len(keys) > 0 {
		n := min(len(keys), deleteBatch)
		batch := keys[:n]
		keys = keys[n:]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(s.key(k))}
		}
		out, err := s.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
			Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return s.explain("delete", "", err)
		}
		bad := map[string]bool{}
		for _, e := range out.Errors {
			k := strings.TrimPrefix(aws.ToString(e.Key), s.prefix)
			bad[k] = true
			failed = append(failed, fmt.Sprintf("%s (%s: %s)", k, aws.ToString(e.Code), aws.ToString(e.Message)))
		}
		s.mu.Lock()
		if s.idx != nil {
			for _, k := range batch {
				if !bad[k] {
					delete(s.idx.Objects, k)
					s.dirty = true
				}
			}
		}
		s.mu.Unlock()
	}
	if len(failed) > 0 {
		return fmt.Errorf("s3: %s: %d objects not deleted: %s", s, len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// Commit implements providers.Committer: it writes the index when objects
// changed since the last commit.
func (s *Store) Commit(ctx context.Context) error {
	s.mu.Lock()
	if !s.dirty || s.idx == nil {
		s.mu.Unlock()
		return nil
	}
	data, err := s.idx.Marshal()
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.WriteState(ctx, providers.IndexName, data); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

var (
	_ providers.Store           = (*Store)(nil)
	_ providers.MetadataUpdater = (*Store)(nil)
	_ providers.Stater          = (*Store)(nil)
	_ providers.FileChecker     = (*Store)(nil)
	_ providers.TimeGranularity = (*Store)(nil)
	_ providers.FormerStates    = (*Store)(nil)
)
