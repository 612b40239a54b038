package providers

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"testing"
)

// s3MultipartETag is the ETag S3 gives body uploaded in parts of part
// bytes, computed the plain way.
func s3MultipartETag(body []byte, part int) string {
	var sums []byte
	n := 0
	for off := 0; off < len(body); off += part {
		s := md5.Sum(body[off:min(off+part, len(body))])
		sums = append(sums, s[:]...)
		n++
	}
	return fmt.Sprintf("%x-%d", md5.Sum(sums), n)
}

type bytesReadSeekCloser struct{ *bytes.Reader }

func (bytesReadSeekCloser) Close() error { return nil }

func TestMatchMultipartETag(t *testing.T) {
	const mib = 1 << 20
	body := make([]byte, 17*mib+123)
	for i := range body {
		body[i] = byte(i*31) ^ byte(i>>11)
	}
	reads := 0
	f := &LocalFile{Key: "big.bin", Size: int64(len(body)), Open: func() (io.ReadSeekCloser, error) {
		reads++
		return bytesReadSeekCloser{bytes.NewReader(body)}, nil
	}}
	other := bytes.Clone(body)
	other[len(other)-1]++
	tests := []struct {
		name  string
		etag  string
		want  int64
		reads int
	}{
		{"aws cli, 8 MiB parts", `"` + s3MultipartETag(body, 8*mib) + `"`, 8 * mib, 1},
		{"rclone, 5 MiB parts", s3MultipartETag(body, 5*mib), 5 * mib, 1},
		{"s3cmd, 15 MiB parts", s3MultipartETag(body, 15*mib), 15 * mib, 1},
		{"cdnctl, 16 MiB parts", s3MultipartETag(body, 16*mib), 16 * mib, 1},
		{"one part", s3MultipartETag(body, 64*mib), 32 * mib, 1}, // every size ≥ the body gives the same ETag
		{"other bytes", s3MultipartETag(other, 8*mib), 0, 1},
		{"unusual part size", s3MultipartETag(body, 6*mib), 0, 1}, // 3 parts, as with 8 MiB: read, no match
		{"part count no usual size gives", s3MultipartETag(body, 7*mib)[:33] + "9", 0, 0},
		{"not a multipart ETag", s3MultipartETag(body, 8*mib)[:32], 0, 0},
		{"garbage", "xyz-2", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads = 0
			got, err := matchMultipartETag(f, tt.etag)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 && got != 0 || tt.want != 0 && got == 0 {
				t.Errorf("matchMultipartETag(%q) = %d; want %d", tt.etag, got, tt.want)
			}
			if reads != tt.reads {
				t.Errorf("%d reads of the body; want %d", reads, tt.reads)
			}
		})
	}
}
