package providers

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// S3 sets a multipart upload's ETag to the MD5 of the concatenated MD5s
// of its parts, then "-" and the number of parts. Knowing the part size,
// the ETag of a local file can be computed and compared: as strong a
// check as a single-part ETag. The part size is not recorded anywhere, so
// the sizes the common clients use are tried, those that give the ETag's
// number of parts.
var multipartPartSizes = func() []int64 {
	const mib = 1 << 20
	sizes := []int64{
		5 * mib,  // rclone (--s3-chunk-size), the S3 minimum
		15 * mib, // s3cmd
	}
	// The AWS CLI and SDKs (boto3, s3transfer): 8 MiB, doubled until the
	// file fits in 10,000 parts; cdnctl: 16 MiB.
	for p := int64(8 * mib); p <= 5<<30; p *= 2 {
		sizes = append(sizes, p)
	}
	return sizes
}()

// parseMultipartETag splits "<32 hex>-<parts>"; ok is false for anything
// else.
func parseMultipartETag(etag string) (sum string, parts int64, ok bool) {
	etag = strings.ToLower(strings.Trim(etag, `"`))
	sum, n, found := strings.Cut(etag, "-")
	if !found || !IsMD5Hex(sum) {
		return "", 0, false
	}
	parts, err := strconv.ParseInt(n, 10, 64)
	if err != nil || parts < 1 || parts > 10000 {
		return "", 0, false
	}
	return sum, parts, true
}

// multipartCandidates returns the part sizes of multipartPartSizes that
// split size bytes into exactly parts parts.
func multipartCandidates(size, parts int64) []int64 {
	var out []int64
	for _, p := range multipartPartSizes {
		if (size+p-1)/p == parts {
			out = append(out, p)
		}
	}
	return out
}

// matchMultipartETag reports whether f's body has the multipart ETag etag
// when split in one of the common part sizes, reading f once; it returns
// the matching part size, or 0 (also when no part size fits, without
// reading f).
func matchMultipartETag(f *LocalFile, etag string) (int64, error) {
	want, parts, ok := parseMultipartETag(etag)
	if !ok {
		return 0, nil
	}
	sizes := multipartCandidates(f.Size, parts)
	if len(sizes) == 0 {
		return 0, nil
	}
	if f.Open == nil {
		return 0, fmt.Errorf("%s: no body to hash", f.Key)
	}
	r, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	type state struct {
		size int64
		part hash.Hash // MD5 of the current part
		all  hash.Hash // MD5 of the part MD5s
		left int64     // bytes left in the current part
	}
	states := make([]*state, len(sizes))
	for i, p := range sizes {
		states[i] = &state{size: p, part: md5.New(), all: md5.New(), left: p}
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		for _, s := range states {
			b := buf[:n]
			for len(b) > 0 {
				k := min(int64(len(b)), s.left)
				s.part.Write(b[:k])
				b, s.left = b[k:], s.left-k
				if s.left == 0 {
					s.all.Write(s.part.Sum(nil))
					s.part.Reset()
					s.left = s.size
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	for _, s := range states {
		if s.left != s.size { // a last, shorter part
			s.all.Write(s.part.Sum(nil))
		}
		if hex.EncodeToString(s.all.Sum(nil)) == want {
			return s.size, nil
		}
	}
	return 0, nil
}
