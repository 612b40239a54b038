package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// The SDK's retryer retries throttled (503 SlowDown, 429), failed (500)
// and timed-out requests on its own, and says nothing: a throttled
// upload is silent until it finally fails. Two middlewares make each
// retry visible: one in the Initialize step notes the operation and the
// object key, one right after the SDK's retry middleware ("Retry", in
// the Finalize step) runs once per attempt, remembers why the attempt
// failed, and logs a warning when the next one starts.

// retryKey is the stack value of an operation's retryWatch.
type retryKey struct{}

// retryWatch follows the attempts of one operation.
type retryWatch struct {
	op, key string

	mu      sync.Mutex // guards the fields below (attempts run one after another)
	attempt int
	lastErr error
}

// Retries returns how many requests the store sent again after a
// throttled, failed or timed-out attempt, since it was opened.
func (s *Store) Retries() int64 { return s.retries.Load() }

// watchRetries adds the two middlewares to an operation's stack.
func (s *Store) watchRetries(stack *middleware.Stack) error {
	start := middleware.InitializeMiddlewareFunc("cdnctlRetryWatch", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		w := &retryWatch{op: middleware.GetOperationName(ctx), key: objectKey(in.Parameters)}
		return next.HandleInitialize(middleware.WithStackValue(ctx, retryKey{}, w), in)
	})
	if err := stack.Initialize.Add(start, middleware.After); err != nil {
		return err
	}
	attempt := middleware.FinalizeMiddlewareFunc("cdnctlRetryLog", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		w, _ := middleware.GetStackValue(ctx, retryKey{}).(*retryWatch)
		if w == nil {
			return next.HandleFinalize(ctx, in)
		}
		w.mu.Lock()
		w.attempt++
		n, prev := w.attempt, w.lastErr
		w.mu.Unlock()
		if n > 1 {
			s.retries.Add(1)
			s.log.Warn("s3: retrying", "op", w.op, "key", w.key, "attempt", n, "reason", retryReason(prev))
		}
		out, md, err := next.HandleFinalize(ctx, in)
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		return out, md, err
	})
	// Inside the retry loop: once per attempt.
	return stack.Finalize.Insert(attempt, "Retry", middleware.After)
}

// objectKey is the bucket key an operation's input names ("" when it
// names none, or several).
func objectKey(params any) string {
	var k *string
	switch in := params.(type) {
	case *awss3.PutObjectInput:
		k = in.Key
	case *awss3.GetObjectInput:
		k = in.Key
	case *awss3.HeadObjectInput:
		k = in.Key
	case *awss3.DeleteObjectInput:
		k = in.Key
	case *awss3.CopyObjectInput:
		k = in.Key
	case *awss3.CreateMultipartUploadInput:
		k = in.Key
	case *awss3.UploadPartInput:
		k = in.Key
	case *awss3.CompleteMultipartUploadInput:
		k = in.Key
	case *awss3.AbortMultipartUploadInput:
		k = in.Key
	}
	if k == nil {
		return ""
	}
	return *k
}

// retryReason says in a few words why an attempt failed: the service's
// error code and status ("SlowDown (HTTP 503): Please reduce your
// request rate."), or what happened to the connection.
func retryReason(err error) string {
	if err == nil {
		return "unknown"
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		s := api.ErrorCode()
		if status != 0 {
			s += fmt.Sprintf(" (HTTP %d)", status)
		}
		if m := api.ErrorMessage(); m != "" {
			s += ": " + m
		}
		return s
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection dropped"
	case status != 0:
		return fmt.Sprintf("HTTP %d", status)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:] // the innermost cause
	}
	return msg
}
