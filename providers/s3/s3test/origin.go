package s3test

import (
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Origin returns an http.Handler that serves a bucket prefix the way a
// CDN reads a private bucket (CloudFront's origin access control): each
// GET or HEAD becomes a SigV4-signed GetObject or HeadObject of
// prefix/path, with the object's Content-Type, Cache-Control,
// Content-Encoding, ETag and Last-Modified, its cdnctl tags as Cache-Tag,
// and If-None-Match and If-Modified-Since passed on (a 304 comes back as
// a 304). A path ending in "/" reads its index.html. The local edge can
// use it as its upstream, so tests run deploy → S3 → edge → client
// offline without making the bucket public.
func (s *Server) Origin(bucket, prefix string) http.Handler { return s.origin(bucket, prefix, true) }

// PublicOrigin is Origin without its refusal of /.cdnctl/: a CDN (or a
// public bucket) that serves every key under prefix, as CloudFront and
// Cloudflare do unless told otherwise. Tests use it to check that cdnctl
// notices its state being served.
func (s *Server) PublicOrigin(bucket, prefix string) http.Handler {
	return s.origin(bucket, prefix, false)
}

func (s *Server) origin(bucket, prefix string, hideState bool) http.Handler {
	client := s.Client(nil)
	prefix = strings.Trim(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") {
			p = path.Join(p, "index.html")
		}
		key := strings.TrimPrefix(p, "/")
		if key == "" || hideState && (key == ".cdnctl" || strings.HasPrefix(key, ".cdnctl/")) {
			http.NotFound(w, r)
			return
		}
		if prefix != "" {
			key = prefix + "/" + key
		}
		in := &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
		if v := r.Header.Get("If-None-Match"); v != "" {
			in.IfNoneMatch = aws.String(v)
		}
		if v := r.Header.Get("If-Modified-Since"); v != "" {
			if t, err := http.ParseTime(v); err == nil {
				in.IfModifiedSince = aws.Time(t)
			}
		}
		out, err := client.GetObject(r.Context(), in)
		if err != nil {
			var nsk *types.NoSuchKey
			var re *smithyhttp.ResponseError
			switch {
			case errors.As(err, &nsk):
				http.NotFound(w, r)
			case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified:
				if v := re.Response.Header.Get("ETag"); v != "" {
					w.Header().Set("ETag", v)
				}
				w.WriteHeader(http.StatusNotModified)
			case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound:
				http.NotFound(w, r)
			default:
				http.Error(w, "origin: "+err.Error(), http.StatusBadGateway)
			}
			return
		}
		defer out.Body.Close()
		h := w.Header()
		set := func(name string, v *string) {
			if v != nil && *v != "" {
				h.Set(name, *v)
			}
		}
		set("Content-Type", out.ContentType)
		set("Cache-Control", out.CacheControl)
		set("Content-Encoding", out.ContentEncoding)
		set("ETag", out.ETag)
		if out.LastModified != nil {
			h.Set("Last-Modified", out.LastModified.UTC().Format(http.TimeFormat))
		}
		if out.ContentLength != nil {
			h.Set("Content-Length", strconv.FormatInt(*out.ContentLength, 10))
		}
		if tags := out.Metadata["cdnctl-tags"]; tags != "" {
			h.Set("Cache-Tag", tags)
		}
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			io.Copy(w, out.Body)
		}
	})
}
