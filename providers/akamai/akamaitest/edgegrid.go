package akamaitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// This file is an independent implementation of the EdgeGrid
// EG1-HMAC-SHA256 signature, written from Akamai's specification
// (https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid)
// and checked against the published test vectors (testdata/edgegrid), so
// that the fake can verify what cdnctl's signer (Akamai's
// AkamaiOPEN-edgegrid-golang) sends by recomputing it.

// Credentials are an API client's EdgeGrid credentials.
type Credentials struct {
	ClientToken, ClientSecret, AccessToken string
}

// StringToSign is the data an EG1 signature covers, tab-separated: the
// method, scheme, host, path with query, the canonical signed headers, the
// content hash and the Authorization header up to (not including) its
// signature. authNoSig is that header.
func StringToSign(method, scheme, host, pathQuery, canonHeaders, contentHash, authNoSig string) string {
	return strings.Join([]string{
		strings.ToUpper(method), strings.ToLower(scheme), strings.ToLower(host), pathQuery,
		canonHeaders, contentHash, authNoSig,
	}, "\t")
}

// CanonicalHeaders is the signed-headers field: each header of toSign
// present in h, in toSign's order sorted by name, as
// "name:value" with the name lower-cased and the value trimmed with inner
// runs of whitespace collapsed to one space, joined by tabs.
func CanonicalHeaders(h http.Header, toSign []string) string {
	names := append([]string(nil), toSign...)
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var parts []string
	for _, n := range names {
		v := h.Get(n)
		if v == "" {
			continue
		}
		v = strings.Join(strings.Fields(v), " ")
		parts = append(parts, strings.ToLower(n)+":"+v)
	}
	return strings.Join(parts, "\t")
}

// ContentHash is the base64 SHA-256 of a POST body's first maxBody bytes,
// and empty for other methods and empty bodies.
func ContentHash(method string, body []byte, maxBody int) string {
	if !strings.EqualFold(method, http.MethodPost) || len(body) == 0 {
		return ""
	}
	if maxBody > 0 && len(body) > maxBody {
		body = body[:maxBody]
	}
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// AuthHeader is the Authorization header without its signature:
// "EG1-HMAC-SHA256 client_token=…;access_token=…;timestamp=…;nonce=…;".
func AuthHeader(clientToken, accessToken, timestamp, nonce string) string {
	return fmt.Sprintf("EG1-HMAC-SHA256 client_token=%s;access_token=%s;timestamp=%s;nonce=%s;", clientToken, accessToken, timestamp, nonce)
}

// Signature is base64(HMAC-SHA256(signing key, string to sign)), the
// signing key being base64(HMAC-SHA256(client secret, timestamp)).
func Signature(clientSecret, timestamp, stringToSign string) string {
	key := hmacBase64([]byte(clientSecret), timestamp)
	return hmacBase64([]byte(key), stringToSign)
}

func hmacBase64(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// authRe parses an EG1 Authorization header.
var authRe = regexp.MustCompile(`^EG1-HMAC-SHA256 client_token=([^;]+);access_token=([^;]+);timestamp=([^;]+);nonce=([^;]+);signature=([A-Za-z0-9+/=]+)$`)

// TimestampLayout is EdgeGrid's timestamp: "20140321T19:34:21+0000", UTC.
const TimestampLayout = "20060102T15:04:05-0700"

// Errors of Verify.
var (
	ErrMalformed = errors.New("malformed EG1-HMAC-SHA256 Authorization header")
	ErrTokens    = errors.New("unknown client_token or access_token")
	ErrTimestamp = errors.New("timestamp too far from the server's clock")
	ErrSignature = errors.New("the signature does not match")
)

// Signed is what a verified Authorization header said.
type Signed struct {
	Timestamp time.Time
	Nonce     string
}

// Verify checks the EG1 signature of a request received by a server:
// scheme is the scheme the server was reached by, body the request body.
// The timestamp must be within skew of now.
func Verify(r *http.Request, scheme string, body []byte, c Credentials, toSign []string, maxBody int, now time.Time, skew time.Duration) (Signed, error) {
	m := authRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return Signed{}, ErrMalformed
	}
	clientToken, accessToken, ts, nonce, sig := m[1], m[2], m[3], m[4], m[5]
	if clientToken != c.ClientToken || accessToken != c.AccessToken {
		return Signed{}, ErrTokens
	}
	t, err := time.Parse(TimestampLayout, ts)
	if err != nil {
		return Signed{}, fmt.Errorf("%w: timestamp %q", ErrMalformed, ts)
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return Signed{}, fmt.Errorf("%w: %s off", ErrTimestamp, d.Round(time.Second))
	}
	pq := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		pq += "?" + r.URL.RawQuery
	}
	sts := StringToSign(r.Method, scheme, r.Host, pq, CanonicalHeaders(r.Header, toSign), ContentHash(r.Method, body, maxBody), AuthHeader(clientToken, accessToken, ts, nonce))
	want := Signature(c.ClientSecret, ts, sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Signed{}, ErrSignature
	}
	return Signed{Timestamp: t, Nonce: nonce}, nil
}
