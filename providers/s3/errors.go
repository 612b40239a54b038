package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Errors callers (and tests) can tell apart with errors.Is. The messages
// wrapping them say what to do; none contains a credential.
var (
	ErrBucketNotFound = errors.New("bucket does not exist")
	ErrCredentials    = errors.New("credentials missing or rejected")
	ErrAccessDenied   = errors.New("access denied")
	ErrWrongRegion    = errors.New("bucket is in another region")
)

// explain turns an SDK error into one that names the target and says what
// to check. Cancellation passes through (wrapped) untouched.
func (s *Store) explain(op, key string, err error) error {
	target := s.String()
	if key != "" {
		target = "s3://" + s.bucket + "/" + s.key(key)
	}
	return s.explainAt(op, target, err)
}

// explainAt is explain for a target named in full.
func (s *Store) explainAt(op, target string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3: %s %s: %w", op, target, err)
	}
	where := " (region " + s.region
	if s.endpoint != "" {
		where += ", endpoint " + s.endpoint
	}
	where += ")"
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch code {
		case "NoSuchBucket":
			bucket, _, _ := strings.Cut(strings.TrimPrefix(target, "s3://"), "/")
			return fmt.Errorf("s3: %s %s: %w: %q%s; create it or check the target URL, --endpoint and --region", op, target, ErrBucketNotFound, bucket, where)
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidSecurity",
			"XAdminUserNotFound": // versitygw's InvalidAccessKeyId
			return fmt.Errorf("s3: %s %s: %w: the service answered %s%s; check AWS_PROFILE / --profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or refresh the session", op, target, ErrCredentials, code, where)
		case "AccessDenied", "AllAccessDisabled", "Forbidden":
			return fmt.Errorf("s3: %s %s: %w (%s)%s; the credentials work but may not %s here: check the bucket policy and IAM permissions", op, target, ErrAccessDenied, code, where, op)
		case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
			return fmt.Errorf("s3: %s %s: %w (%s)%s; pass the bucket's region with --region", op, target, ErrWrongRegion, code, where)
		}
	}
	if unreachable(err) || isNetError(err) {
		return s.explainNetwork(op, target, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "get credentials") || strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") {
		return fmt.Errorf("s3: %s %s: %w: no usable AWS credentials were found (set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is available): %v", op, target, ErrCredentials, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, target, err)
}

// ErrUnreachable is a storage endpoint cdnctl could not connect to.
var ErrUnreachable = errors.New("cannot connect")

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// explainNetwork says where cdnctl could not connect, after how many
// tries, and what to check, instead of the SDK's "exceeded maximum number
// of attempts, 8, https response error … dial tcp …".
func (s *Store) explainNetwork(op, target string, err error) error {
	where := "the S3 endpoint of region " + s.region
	fix := "check the network, or the region (--region)"
	if s.endpoint != "" {
		where = s.endpoint
		fix = "is the service running there? check --endpoint (origin.endpoint)"
	}
	tries := "1 try"
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) && maxErr.Attempt > 1 {
		tries = fmt.Sprintf("%d tries", maxErr.Attempt)
	}
	var why string
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused: nothing listens there"
	case errors.As(err, &dns) && dns.IsNotFound:
		why = fmt.Sprintf("no such host %q", dns.Name)
		fix = "check the host name of the endpoint (--endpoint, origin.endpoint)"
	case errors.Is(err, syscall.ECONNRESET):
		why = "connection reset"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			why = "timed out"
		} else {
			why = "network error"
		}
	}
	return fmt.Errorf("s3: %s %s: %w to %s (%s) after %s; %s", op, target, ErrUnreachable, where, why, tries, fix)
}
