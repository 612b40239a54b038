// Package providers holds the vocabulary shared by cdnctl's origin stores
// and CDN purgers: small capability interfaces that providers/s3,
// providers/cloudfront, providers/cloudflare and providers/local implement,
// and the pure functions (the upload plan, purge batching) over them.
package providers

import "errors"

// ErrNotSupported is returned, wrapped with the provider and operation, when
// a provider cannot do what was asked (CloudFront purging by host). It is
// returned before any request is sent.
var ErrNotSupported = errors.New("not supported by provider")
