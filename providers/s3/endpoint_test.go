package s3

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestNormalizeEndpoint(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"", "", ""},
		{"http://127.0.0.1:7070", "http://127.0.0.1:7070", ""},
		{"127.0.0.1:7070", "http://127.0.0.1:7070", ""},
		{"localhost:9000", "http://localhost:9000", ""},
		{"[::1]:9000", "http://[::1]:9000", ""},
		{"acct.r2.cloudflarestorage.com", "https://acct.r2.cloudflarestorage.com", ""},
		{"minio.internal:9000", "https://minio.internal:9000", ""},
		{"ftp://x", "", "want a URL"},
		{"http://", "", "want a URL"},
	}
	for _, tt := range tests {
		got, err := NormalizeEndpoint(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeEndpoint(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestUnreachableEndpoint: nothing listens at the endpoint; the error comes
// at once (no 15 s of silent retries), says where and after how many
// tries, and what to check.
func TestUnreachableEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nothing listens on
	s, err := New(context.Background(), Config{
		Bucket: "example-bucket", Endpoint: addr, // no scheme: http on loopback
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.List(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("List = %v; want ErrUnreachable", err)
	}
	for _, want := range []string{"http://" + addr, "connection refused", "after 1 try", "--endpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "exceeded maximum number of attempts") {
		t.Errorf("error %q: the SDK's words, not ours", err)
	}
}
