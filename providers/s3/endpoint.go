package s3

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// NormalizeEndpoint reads an S3-compatible endpoint as a user writes it: a
// URL (http://127.0.0.1:7070, https://ACCOUNT.r2.cloudflarestorage.com), or
// host[:port] without a scheme, which is http:// on loopback (a local
// MinIO or versitygw) and https:// elsewhere.
func NormalizeEndpoint(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if !strings.Contains(v, "://") {
		host := v
		if h, _, err := net.SplitHostPort(v); err == nil {
			host = h
		}
		scheme := "https://"
		if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
			scheme = "http://"
		}
		v = scheme + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("s3: endpoint %q: want a URL such as https://ACCOUNT.r2.cloudflarestorage.com or http://127.0.0.1:7070", v)
	}
	return v, nil
}

// unreachable reports whether err is a connection that cannot succeed by
// trying again soon: nothing listens at the address, or its name does not
// resolve.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// noRetryUnreachable stops the retryer from backing off for seconds on an
// endpoint where nothing listens: the error is reported at once.
type noRetryUnreachable struct{}

func (noRetryUnreachable) IsErrorRetryable(err error) aws.Ternary {
	if unreachable(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

var _ retry.IsErrorRetryable = noRetryUnreachable{}
