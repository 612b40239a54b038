package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// The ways other tools write objects, reproduced request for request with
// the SDK so that these tests need neither CLI (interop_cli_test.go runs
// the real ones when they are installed).
const (
	// awsSingle: `aws s3 cp` under its 8 MiB multipart threshold: a
	// PutObject with a guessed Content-Type and no metadata.
	awsSingle = "aws-single"
	// awsMultipart: `aws s3 cp` from 8 MiB: 8 MiB parts, no metadata;
	// the ETag is "<md5 of part md5s>-<parts>".
	awsMultipart = "aws-multipart"
	// rcloneSingle: `rclone copy` under --s3-upload-cutoff (200 MiB):
	// PutObject with Content-MD5 and the source's mtime as metadata.
	rcloneSingle = "rclone-single"
	// rcloneMultipart: `rclone copy` from the cutoff: 5 MiB chunks, mtime
	// and md5chksum (base64 MD5 of the whole body) as metadata.
	rcloneMultipart = "rclone-multipart"
)

// putLike stores body at key the way tool does.
func putLike(t *testing.T, c *awss3.Client, tool, bucket, key string, body []byte) {
	t.Helper()
	ctx := context.Background()
	sum := md5.Sum(body)
	md5b64 := base64.StdEncoding.EncodeToString(sum[:])
	const mtime = "1700000000.123456789"
	var err error
	switch tool {
	case awsSingle:
		_, err = c.PutObject(ctx, &awss3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("text/plain"),
		})
	case rcloneSingle:
		_, err = c.PutObject(ctx, &awss3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("text/plain; charset=utf-8"),
			ContentMD5: &md5b64, Metadata: map[string]string{"mtime": mtime},
		})
	case awsMultipart:
		err = multipartPut(ctx, c, bucket, key, body, 8<<20, nil)
	case rcloneMultipart:
		err = multipartPut(ctx, c, bucket, key, body, 5<<20, map[string]string{"mtime": mtime, metaMD5: md5b64})
	default:
		t.Fatalf("unknown tool %q", tool)
	}
	if err != nil {
		t.Fatalf("put %s like %s: %v", key, tool, err)
	}
}

func multipartPut(ctx context.Context, c *awss3.Client, bucket, key string, body []byte, partSize int, meta map[string]string) error {
	up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket: &bucket, Key: &key, ContentType: aws.String("application/octet-stream"), Metadata: meta,
	})
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for i := 0; i*partSize < len(body); i++ {
		chunk := body[i*partSize : min((i+1)*partSize, len(body))]
		out, err := c.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket: &bucket, Key: &key, UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)),
			Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(len(chunk))),
		})
		if err != nil {
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// pattern returns n bytes that differ with seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed ^ byte(i>>13)
	}
	return b
}

// TestObjectsWrittenByOtherTools: objects that `aws s3 cp` and `rclone
// copy` uploaded are recognised as unchanged when their bytes equal the
// local file's (by the ETag of a single-part upload, by rclone's
// md5chksum for a multipart one) and get cdnctl's headers without their
// body being sent; a different body of the same size is uploaded. An aws
// multipart upload has no MD5: its ETag matches the local file's split in
// 8 MiB parts when the bytes are equal, else the body is uploaded with the
// reason "unverifiable" rather than kept.
func TestObjectsWrittenByOtherTools(t *testing.T) {
	bucket := newBucket(t)
	c := &counter{}
	cfg := testConfig(bucket, "www", c)
	cfg.MultipartThreshold = 5 << 20
	cfg.PartSize = 5 << 20

	type object struct {
		tool   string
		local  []byte
		remote []byte // nil: the same as local
		op     providers.Op
		reason providers.Reason // checked for uploads
	}
	const mib = 1 << 20
	objects := map[string]object{
		"aws-same.txt":            {tool: awsSingle, local: []byte("same bytes\n"), op: providers.OpUpdate, reason: providers.ReasonMetadataUnknown},
		"aws-changed.txt":         {tool: awsSingle, local: []byte("new bytes\n"), remote: []byte("old bytes\n"), op: providers.OpUpload, reason: providers.ReasonETagChanged},
		"rclone-same.txt":         {tool: rcloneSingle, local: []byte("rclone wrote this\n"), op: providers.OpUpdate, reason: providers.ReasonMetadataUnknown},
		"rclone-changed.txt":      {tool: rcloneSingle, local: []byte("rclone wrote that\n"), remote: []byte("rclone wrote this\n"), op: providers.OpUpload, reason: providers.ReasonETagChanged},
		"rclone-multi-same.bin":   {tool: rcloneMultipart, local: pattern(6*mib, 1), op: providers.OpUpdate, reason: providers.ReasonMetadataUnknown},
		"rclone-multi-change.bin": {tool: rcloneMultipart, local: pattern(6*mib, 2), remote: pattern(6*mib, 3), op: providers.OpUpload, reason: providers.ReasonETagChanged},
		"aws-multi-same.bin":      {tool: awsMultipart, local: pattern(9*mib, 4), op: providers.OpUpdate, reason: providers.ReasonMetadataUnknown},
		"aws-multi-change.bin":    {tool: awsMultipart, local: pattern(9*mib, 5), remote: pattern(9*mib, 6), op: providers.OpUpload, reason: providers.ReasonUnverifiable},
	}
	raw := srv.Client(nil)
	local := storetest.Site{}
	for k, o := range objects {
		local[k] = string(o.local)
		remote := o.remote
		if remote == nil {
			remote = o.local
		}
		putLike(t, raw, o.tool, bucket, "www/"+k, remote)
	}
	head := func(key string) *awss3.HeadObjectOutput {
		t.Helper()
		out, err := raw.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("www/" + key)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if e := aws.ToString(head("aws-multi-same.bin").ETag); !strings.Contains(e, "-") {
		t.Fatalf("aws-style multipart ETag %s; want <hex>-<parts>", e)
	}

	plan, res, err := pushSite(t, open(t, cfg), local, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range plan.Changes {
		want, ok := objects[ch.Key]
		if !ok {
			continue
		}
		// A header update may name the first header that differs
		// rather than metadata-unknown.
		if ch.Op != want.op || ch.Op != providers.OpUpdate && ch.Reason != want.reason {
			t.Errorf("%s (written like %s): %s/%s (%s); want %s/%s", ch.Key, want.tool, ch.Op, ch.Reason, ch.Detail, want.op, want.reason)
		}
		if ch.Reason == providers.ReasonUnverifiable && !strings.Contains(ch.Detail, "md5chksum") {
			t.Errorf("%s: unverifiable detail %q; want it to say why", ch.Key, ch.Detail)
		}
	}
	if res.Uploaded != 4 || res.Updated != 4 {
		t.Errorf("result %+v; want 4 uploaded, 4 updated", res)
	}

	// Every object now has cdnctl's hash and headers, the bodies are the
	// local ones, and multipart objects carry a correct md5chksum
	// (rclone's, kept through the header update, or cdnctl's own).
	for k, o := range objects {
		h := head(k)
		if got := metadataValue(h.Metadata, metaSHA256); got != sha256Hex(o.local) {
			t.Errorf("%s: cdnctl-sha256 %q; want the local file's", k, got)
		}
		if _, ok := h.Metadata["mtime"]; ok {
			t.Errorf("%s: rclone's mtime metadata survived cdnctl's headers: %v", k, h.Metadata)
		}
		sum := md5.Sum(o.local)
		etag := strings.Trim(aws.ToString(h.ETag), `"`)
		if strings.Contains(etag, "-") {
			if got, want := h.Metadata[metaMD5], base64.StdEncoding.EncodeToString(sum[:]); got != want {
				t.Errorf("%s: multipart ETag %s with md5chksum %q; want %q", k, etag, got, want)
			}
		} else if etag != fmt.Sprintf("%x", sum) {
			t.Errorf("%s: ETag %s; want the body's MD5", k, etag)
		}
		get, err := raw.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: &bucket, Key: aws.String("www/" + k)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(get.Body)
		get.Body.Close()
		if !bytes.Equal(body, o.local) {
			t.Errorf("%s: stored body differs from the local file", k)
		}
	}

	// The next push finds nothing to do, with no per-object request.
	before := c.get()
	plan, _, err = pushSite(t, open(t, cfg), local, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pending() {
		t.Errorf("second push: %+v; want nothing to do", plan.Changes)
	}
	if d := c.get().Sub(before); d.Head+d.Put+d.Post+d.Copy != 0 {
		t.Errorf("second push requests %+v; want only list and index reads", d)
	}
}

// TestNonASCIIHeaders: user metadata (tags, other headers) that is not
// ASCII is stored RFC 2047-encoded, as S3 itself stores it, so every
// client reads the same ASCII value, and cdnctl decodes it back; a
// non-ASCII value of a header S3 serves as is fails with a clear error.
func TestNonASCIIHeaders(t *testing.T) {
	bucket := newBucket(t)
	cfg := testConfig(bucket, "", nil)
	rules := []providers.HeaderRule{{
		Match: hashing.MustCompileGlob("*.html"), Tags: []string{"café", "plain"},
		Headers: map[string]string{"X-Note": "naïve ünïcode"},
	}}
	local := storetest.Site{"index.html": "<h1>hi</h1>"}
	if _, _, err := pushSite(t, open(t, cfg), local, providers.ScanOptions{Rules: rules}); err != nil {
		t.Fatal(err)
	}
	head, err := srv.Client(nil).HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("index.html")})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range head.Metadata {
		if !isASCII(v) {
			t.Errorf("metadata %s = %q: not ASCII", k, v)
		}
	}
	if got, want := head.Metadata["x-note"], "=?UTF-8?b?"; !strings.HasPrefix(got, want) {
		t.Errorf("x-note = %q; want an RFC 2047 encoded-word", got)
	}
	st, err := open(t, cfg).Stat(context.Background(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Meta.Tags) != "[café plain]" || st.Meta.Headers["X-Note"] != "naïve ünïcode" {
		t.Errorf("Stat decoded tags %q, headers %v", st.Meta.Tags, st.Meta.Headers)
	}

	// Refused when planning (a dry run reports it), before any write.
	rules[0].Headers = map[string]string{"Content-Disposition": `attachment; filename="résumé.html"`}
	c := &counter{}
	_, _, err = pushSite(t, open(t, testConfig(bucket, "", c)), local.With(storetest.Site{"new.txt": "new"}), providers.ScanOptions{Rules: rules})
	if err == nil || !strings.Contains(err.Error(), "index.html") || !strings.Contains(err.Error(), "Content-Disposition") || !strings.Contains(err.Error(), "non-ASCII") {
		t.Errorf("non-ASCII Content-Disposition: err = %v; want it to name the key, the header and the problem", err)
	}
	if d := c.get(); d.Put+d.Post+d.Copy+d.Delete != 0 {
		t.Errorf("requests %+v after a refused plan; want no write", d)
	}
}

// TestMultipartWithoutMD5GetsIt: a multipart object cdnctl wrote before it
// wrote md5chksum gets it with one header update (no body sent), so that
// rclone can verify it; then pushes are no-ops again.
func TestMultipartWithoutMD5GetsIt(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t)
	c := &counter{}
	cfg := testConfig(bucket, "", c)
	cfg.MultipartThreshold = 5 << 20
	cfg.PartSize = 5 << 20
	big := pattern(6<<20, 7)
	local := storetest.Site{"big.bin": string(big)}
	if _, _, err := pushSite(t, open(t, cfg), local, providers.ScanOptions{}); err != nil {
		t.Fatal(err)
	}

	// As an older cdnctl left it: no md5chksum, none in the index.
	raw := srv.Client(nil)
	head, err := raw.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	meta := head.Metadata
	delete(meta, metaMD5)
	cp, err := raw.CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket: &bucket, Key: aws.String("big.bin"), CopySource: aws.String(bucket + "/big.bin"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: meta,
		ContentType: head.ContentType, CacheControl: head.CacheControl,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := open(t, cfg)
	data, err := st.ReadState(ctx, providers.IndexName)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := providers.ParseObjectIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	e := idx.Objects["big.bin"]
	if e.MD5 != fmt.Sprintf("%x", md5.Sum(big)) {
		t.Errorf("index MD5 = %q; want the body's", e.MD5)
	}
	e.MD5, e.ETag = "", strings.Trim(aws.ToString(cp.CopyObjectResult.ETag), `"`)
	if !strings.Contains(e.ETag, "-") {
		t.Skipf("the server gave the copy a single-part ETag %q: nothing to repair", e.ETag)
	}
	idx.Objects["big.bin"] = e
	if data, err = idx.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteState(ctx, providers.IndexName, data); err != nil {
		t.Fatal(err)
	}

	before := c.get()
	plan, res, err := pushSite(t, open(t, cfg), local, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].Op != providers.OpUpdate || res.BytesUploaded != 0 {
		t.Errorf("repair plan %+v, result %+v; want one header update", plan.Changes, res)
	}
	if d := c.get().Sub(before); d.Copy != 1 || d.Post != 0 || d.Put != 4 { // index, snapshot, history (running, complete)
		t.Errorf("repair requests %+v; want 1 copy, no multipart upload, 4 state writes", d)
	}
	head, err = raw.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(big)
	if got := head.Metadata[metaMD5]; got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("md5chksum after the repair = %q", got)
	}
	plan, _, err = pushSite(t, open(t, cfg), local, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pending() {
		t.Errorf("after the repair: %+v; want nothing to do", plan.Changes)
	}
}
