package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/providers"
)

// headers is a LocalFile's metadata as S3 request fields: the headers S3
// stores natively, and the rest as user metadata (x-amz-meta-*), with
// cdnctl's hash and tags.
type headers struct {
	contentType, cacheControl, contentEncoding *string
	contentDisposition, contentLanguage        *string
	expires                                    *time.Time
	metadata                                   map[string]string
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func headersFor(f *providers.LocalFile) (headers, error) {
	m := f.Meta.Normalize()
	for name, v := range map[string]string{"Content-Type": m.ContentType, "Cache-Control": m.CacheControl, "Content-Encoding": m.ContentEncoding} {
		if err := checkASCII(f.Key, name, v); err != nil {
			return headers{}, err
		}
	}
	h := headers{
		contentType:     optional(m.ContentType),
		cacheControl:    optional(m.CacheControl),
		contentEncoding: optional(m.ContentEncoding),
		metadata:        map[string]string{metaSHA256: f.SHA256},
	}
	if len(m.Tags) > 0 {
		h.metadata[metaTags] = encodeMeta(strings.Join(m.Tags, ","))
	}
	for k, v := range m.Headers {
		switch k {
		case "Content-Disposition", "Content-Language":
			if err := checkASCII(f.Key, k, v); err != nil {
				return headers{}, err
			}
			if k == "Content-Disposition" {
				h.contentDisposition = aws.String(v)
			} else {
				h.contentLanguage = aws.String(v)
			}
		case "Expires":
			if t, err := http.ParseTime(v); err == nil {
				h.expires = aws.Time(t)
				continue
			}
			h.metadata[strings.ToLower(k)] = encodeMeta(v)
		default:
			h.metadata[strings.ToLower(k)] = encodeMeta(v)
		}
	}
	return h, nil
}

// encodeMeta makes a user metadata value ASCII the way S3 itself does
// (RFC 2047 encoded-words, "=?UTF-8?B?…?="), so that every client reads
// the same value; ASCII values are unchanged. metadataOf decodes them.
func encodeMeta(v string) string {
	if isASCII(v) {
		return v
	}
	return mime.BEncoding.Encode("UTF-8", v)
}

func isASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return false
		}
	}
	return true
}

// checkASCII refuses a non-ASCII value for a header S3 serves as is: HTTP
// header values are ASCII (RFC 9110 §5.5), and S3 rejects or mangles
// others.
func checkASCII(key, name, v string) error {
	if isASCII(v) {
		return nil
	}
	hint := ""
	if name == "Content-Disposition" {
		hint = ` (for a non-ASCII file name use RFC 6266's filename*=UTF-8''percent-encoded)`
	}
	return fmt.Errorf("s3: %s: %s %q: non-ASCII characters are not allowed in this header%s", key, name, v, hint)
}

// metadataOf turns a HeadObject response back into Metadata: the inverse
// of headersFor.
func metadataOf(out *awss3.HeadObjectOutput) providers.Metadata {
	m := providers.Metadata{
		ContentType:     aws.ToString(out.ContentType),
		CacheControl:    aws.ToString(out.CacheControl),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		Headers:         map[string]string{},
	}
	if v := aws.ToString(out.ContentDisposition); v != "" {
		m.Headers["Content-Disposition"] = v
	}
	if v := aws.ToString(out.ContentLanguage); v != "" {
		m.Headers["Content-Language"] = v
	}
	if v := aws.ToString(out.ExpiresString); v != "" {
		m.Headers["Expires"] = v
	}
	for k, v := range out.Metadata {
		// RFC 2047 encoded-words: encodeMeta's, and S3's own for
		// non-ASCII metadata that other clients sent.
		if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
			v = d
		}
		switch k = strings.ToLower(k); k {
		case metaSHA256, metaMD5, "mtime", "btime":
			// cdnctl's hashes; rclone's modification and birth times
			// (bookkeeping, not headers).
		case metaTags:
			m.Tags = strings.Split(v, ",")
			sort.Strings(m.Tags)
		default:
			m.Headers[http.CanonicalHeaderKey(k)] = v
		}
	}
	return m.Normalize()
}

// metadataValue looks a user metadata key up whatever its case (the SDK
// returns keys as the server sent them).
func metadataValue(m map[string]string, key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
