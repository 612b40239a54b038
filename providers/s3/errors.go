package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	msg := err.Error()
	if strings.Contains(msg, "get credentials") || strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") {
		return fmt.Errorf("s3: %s %s: %w: no usable AWS credentials were found (set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is available): %v", op, target, ErrCredentials, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, target, err)
}
