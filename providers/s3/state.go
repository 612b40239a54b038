package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cdnctl/cdnctl/providers"
)

// StateRoot is the top-level prefix under which a bucket keeps the
// state of the sites it holds under prefixes: a site at s3://b/www keeps
// it at s3://b/cdnctl-state/www, outside what a CDN with origin path /www
// serves.
const StateRoot = "cdnctl-state"

// DefaultStatePrefix is where the state of a site at prefix lives in its
// bucket by default: StateRoot/prefix, a sibling of the site; for a site
// at the bucket's root there is no place outside it, so .cdnctl under it
// (a CDN in front of the bucket must refuse /.cdnctl/, and deploys check
// that it does).
func DefaultStatePrefix(prefix string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return providers.StateDir
	}
	return StateRoot + "/" + prefix
}

// ErrStateLocation is wrapped by New when the configured state location
// overlaps the site.
var ErrStateLocation = errors.New("bad state location")

// stateArea is a bucket prefix holding deploy state (providers.State).
// Conditional writes are S3's If-None-Match: * and If-Match; a service
// that answers them with 501 Not Implemented gets a read-compare-write
// instead, with a warning (two deploys racing may then both proceed).
type stateArea struct {
	s      *Store // its client, region and logger
	bucket string
	prefix string // with a trailing slash
	loc    providers.StateLocation

	warnOnce sync.Once
	// emulate is set once the service refused a conditional request.
	mu      sync.Mutex
	emulate bool
}

// newStateArea checks and builds the state location of s.
func (s *Store) newStateArea(bucket, prefix string) (*stateArea, error) {
	if bucket == "" {
		bucket = s.bucket
	} else if err := validBucket(bucket); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateLocation, err)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix == "" && bucket == s.bucket {
		prefix = DefaultStatePrefix(s.prefix)
	}
	st := s.stateAt(bucket, prefix)
	if bucket != s.bucket {
		return st, nil
	}
	site := strings.TrimSuffix(s.prefix, "/")
	legacy := s.prefix + providers.StateDir
	switch {
	case prefix == legacy:
	case within(prefix, site):
		return nil, fmt.Errorf("s3: %w: %s is inside the site %s: the CDN would serve it and push would delete it; use a prefix outside the site (default s3://%s/%s) or another bucket",
			ErrStateLocation, st.loc.URL, s, s.bucket, DefaultStatePrefix(site))
	case within(site, prefix):
		return nil, fmt.Errorf("s3: %w: %s contains the site %s; use a prefix beside it (default s3://%s/%s) or another bucket",
			ErrStateLocation, st.loc.URL, s, s.bucket, DefaultStatePrefix(site))
	}
	return st, nil
}

// within reports whether prefix a is b or under it ("" contains
// everything).
func within(a, b string) bool {
	return b == "" || a == b || strings.HasPrefix(a, b+"/")
}

// stateAt returns the state area at bucket/prefix (no checks).
func (s *Store) stateAt(bucket, prefix string) *stateArea {
	prefix = strings.Trim(prefix, "/")
	st := &stateArea{s: s, bucket: bucket, prefix: prefix + "/"}
	st.loc.URL = "s3://" + bucket + "/" + prefix
	if bucket == s.bucket {
		st.loc.Key = prefix
		st.loc.InSite = within(prefix, strings.TrimSuffix(s.prefix, "/"))
	}
	return st
}

func (a *stateArea) key(name string) string { return a.prefix + name }

func (a *stateArea) url(name string) string { return "s3://" + a.bucket + "/" + a.key(name) }

// The Store's state is its stateArea's.

// ReadState implements providers.StateStore.
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	return s.state.ReadState(ctx, name)
}

// WriteState implements providers.StateStore.
func (s *Store) WriteState(ctx context.Context, name string, data []byte) error {
	return s.state.WriteState(ctx, name, data)
}

// DeleteState implements providers.StateStore.
func (s *Store) DeleteState(ctx context.Context, name string) error {
	return s.state.DeleteState(ctx, name)
}

// ReadStateVersion implements providers.StateVersions.
func (s *Store) ReadStateVersion(ctx context.Context, name string) ([]byte, string, error) {
	return s.state.ReadStateVersion(ctx, name)
}

// WriteStateIf implements providers.StateVersions.
func (s *Store) WriteStateIf(ctx context.Context, name string, data []byte, version string) (string, error) {
	return s.state.WriteStateIf(ctx, name, data, version)
}

// DeleteStateIf implements providers.StateVersions.
func (s *Store) DeleteStateIf(ctx context.Context, name, version string) error {
	return s.state.DeleteStateIf(ctx, name, version)
}

// ListState implements providers.State.
func (s *Store) ListState(ctx context.Context) ([]string, error) { return s.state.ListState(ctx) }

// StateLocation implements providers.State.
func (s *Store) StateLocation() providers.StateLocation { return s.state.loc }

// FormerStates implements providers.FormerStates: the .cdnctl/ folder
// under the site (where cdnctl kept the state before origin.state), and
// the default location when another one is configured.
func (s *Store) FormerStates() []providers.State {
	var out []providers.State
	seen := map[string]bool{s.state.loc.URL: true}
	for _, p := range []string{s.prefix + providers.StateDir, DefaultStatePrefix(s.prefix)} {
		st := s.stateAt(s.bucket, p)
		if !seen[st.loc.URL] {
			seen[st.loc.URL] = true
			out = append(out, st)
		}
	}
	return out
}

// ReadState implements providers.StateStore.
func (a *stateArea) ReadState(ctx context.Context, name string) ([]byte, error) {
	data, _, err := a.ReadStateVersion(ctx, name)
	return data, err
}

// ReadStateVersion implements providers.StateVersions; the version is the
// object's ETag.
func (a *stateArea) ReadStateVersion(ctx context.Context, name string) ([]byte, string, error) {
	out, err := a.s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(a.key(name))})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, "", fmt.Errorf("s3: %s: %w", a.url(name), providers.ErrStateNotFound)
		}
		return nil, "", a.s.explainAt("read", a.url(name), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("s3: read %s: %w", a.url(name), err)
	}
	return data, unquote(aws.ToString(out.ETag)), nil
}

// WriteState implements providers.StateStore.
func (a *stateArea) WriteState(ctx context.Context, name string, data []byte) error {
	if _, err := a.put(ctx, name, data, nil, nil); err != nil {
		return a.s.explainAt("write", a.url(name), err)
	}
	return nil
}

func (a *stateArea) put(ctx context.Context, name string, data []byte, ifMatch, ifNoneMatch *string) (string, error) {
	sum := sha256Hex(data)
	raw, _ := hex.DecodeString(sum)
	out, err := a.s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:         aws.String(a.bucket),
		Key:            aws.String(a.key(name)),
		Body:           bytes.NewReader(data),
		ContentLength:  aws.Int64(int64(len(data))),
		ContentType:    aws.String("application/json"),
		CacheControl:   aws.String("no-store"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(raw)),
		IfMatch:        ifMatch,
		IfNoneMatch:    ifNoneMatch,
	}, withPayloadHash(sum))
	if err != nil {
		return "", err
	}
	return unquote(aws.ToString(out.ETag)), nil
}

// WriteStateIf implements providers.StateVersions with If-None-Match: *
// (create) or If-Match: <ETag> (replace). 412 Precondition Failed, and
// 409 ConditionalRequestConflict (a concurrent conditional write), are
// conflicts.
func (a *stateArea) WriteStateIf(ctx context.Context, name string, data []byte, version string) (string, error) {
	if a.emulating() {
		return a.writeCompared(ctx, name, data, version)
	}
	var ifMatch, ifNoneMatch *string
	if version == "" {
		ifNoneMatch = aws.String("*")
	} else {
		ifMatch = aws.String(`"` + version + `"`)
	}
	etag, err := a.put(ctx, name, data, ifMatch, ifNoneMatch)
	switch {
	case err == nil:
		return etag, nil
	case isConflict(err) || version != "" && isNoSuchKey(err):
		return "", fmt.Errorf("s3: write %s: %w", a.url(name), providers.ErrStateConflict)
	case notImplemented(err):
		a.startEmulating()
		return a.writeCompared(ctx, name, data, version)
	}
	return "", a.s.explainAt("write", a.url(name), err)
}

// writeCompared is WriteStateIf for services without conditional writes:
// read, compare, write (not atomic).
func (a *stateArea) writeCompared(ctx context.Context, name string, data []byte, version string) (string, error) {
	_, cur, err := a.ReadStateVersion(ctx, name)
	if err != nil && !errors.Is(err, providers.ErrStateNotFound) {
		return "", err
	}
	if cur != version {
		return "", fmt.Errorf("s3: write %s: %w", a.url(name), providers.ErrStateConflict)
	}
	etag, err := a.put(ctx, name, data, nil, nil)
	if err != nil {
		return "", a.s.explainAt("write", a.url(name), err)
	}
	return etag, nil
}

func (a *stateArea) emulating() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.emulate
}

func (a *stateArea) startEmulating() {
	a.mu.Lock()
	a.emulate = true
	a.mu.Unlock()
	a.warnOnce.Do(func() {
		a.s.log.Warn("s3: the service does not support conditional writes (If-None-Match, If-Match): the deploy lock is best effort, and two deploys started at the same moment may both run", "state", a.loc.URL)
	})
}

// DeleteState implements providers.StateStore.
func (a *stateArea) DeleteState(ctx context.Context, name string) error {
	_, err := a.s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(a.key(name))})
	if err != nil {
		return a.s.explainAt("delete", a.url(name), err)
	}
	return nil
}

// DeleteStateIf implements providers.StateVersions with DeleteObject
// If-Match.
func (a *stateArea) DeleteStateIf(ctx context.Context, name, version string) error {
	if !a.emulating() {
		_, err := a.s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{
			Bucket: aws.String(a.bucket), Key: aws.String(a.key(name)), IfMatch: aws.String(`"` + version + `"`),
		})
		switch {
		case err == nil, isNoSuchKey(err):
			return nil
		case isConflict(err):
			return fmt.Errorf("s3: delete %s: %w", a.url(name), providers.ErrStateConflict)
		case !notImplemented(err):
			return a.s.explainAt("delete", a.url(name), err)
		}
		a.startEmulating()
	}
	_, cur, err := a.ReadStateVersion(ctx, name)
	if errors.Is(err, providers.ErrStateNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur != version {
		return fmt.Errorf("s3: delete %s: %w", a.url(name), providers.ErrStateConflict)
	}
	return a.DeleteState(ctx, name)
}

// ListState implements providers.State.
func (a *stateArea) ListState(ctx context.Context) ([]string, error) {
	var names []string
	p := awss3.NewListObjectsV2Paginator(a.s.client, &awss3.ListObjectsV2Input{Bucket: aws.String(a.bucket), Prefix: aws.String(a.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, a.s.explainAt("list", a.loc.URL, err)
		}
		for _, o := range page.Contents {
			if n := strings.TrimPrefix(aws.ToString(o.Key), a.prefix); n != "" && !strings.HasSuffix(n, "/") {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// StateLocation implements providers.State.
func (a *stateArea) StateLocation() providers.StateLocation { return a.loc }

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isConflict(err error) bool {
	switch apiCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	st := httpStatus(err)
	return st == http.StatusPreconditionFailed || st == http.StatusConflict
}

func isNoSuchKey(err error) bool {
	var nsk *types.NoSuchKey
	code := apiCode(err)
	return errors.As(err, &nsk) || code == "NoSuchKey" || code == "" && httpStatus(err) == http.StatusNotFound
}

func notImplemented(err error) bool {
	return apiCode(err) == "NotImplemented" || httpStatus(err) == http.StatusNotImplemented
}

var _ providers.State = (*stateArea)(nil)
