// Package s3test runs a real S3-compatible server for tests: versitygw
// (an S3 gateway over a plain folder that enforces SigV4 and keeps
// headers and metadata) on a free loopback port, with a temporary root
// and random credentials. It finds the binary on PATH or in the CI cache,
// or builds the pinned version into the cache once.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Module is the versitygw version the tests use (../shared/DEPENDENCIES.md).
const Module = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Region is the region the server answers for.
const Region = "us-east-1"

// Server is a running versitygw.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:PORT).
	Endpoint  string
	AccessKey string
	SecretKey string
	// Dir is the folder the buckets live in.
	Dir string
	// AccessLog is the file requests are logged to, when asked for.
	AccessLog string

	cmd  *exec.Cmd
	done chan error
}

// CacheBin is where CI keeps built tools: $CDNCTL_CACHE/bin, by default
// ~/.cache/cdnctl-ci/bin (the same place .ci/run installs them).
func CacheBin() string {
	if c := os.Getenv("CDNCTL_CACHE"); c != "" {
		return filepath.Join(c, "bin")
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = filepath.Join(os.TempDir(), "cache")
	}
	return filepath.Join(dir, "cdnctl-ci", "bin")
}

// Binary returns the path of a versitygw binary: on PATH, in CacheBin, or
// built there with `go install` (a few minutes, once; concurrent callers
// wait on a lock file).
func Binary(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	bin := CacheBin()
	p := filepath.Join(bin, "versitygw")
	if isExecutable(p) {
		return p, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("s3test: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(bin, ".versitygw.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(p) { // built while we waited
		return p, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", Module)
	cmd.Dir = os.TempDir() // outside any module: install exactly the pinned version
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("s3test: go install %s: %v\n%s", Module, err, out)
	}
	return p, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Options tune Start.
type Options struct {
	// Dir is the root folder (a new temporary folder if empty; removed by
	// Close only in that case).
	Dir string
	// AccessLog, if set, is a file versitygw logs every request to.
	AccessLog string
}

// Start runs versitygw on a free port of 127.0.0.1 and waits until it
// answers. Close stops it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "versitygw-"); err != nil {
			return nil, fmt.Errorf("s3test: %w", err)
		}
	}
	s := &Server{AccessKey: "AK" + randomHex(9), SecretKey: randomHex(20), Dir: dir, AccessLog: opts.AccessLog, done: make(chan error, 1)}
	// A few tries: the free port can be taken between probe and bind.
	for attempt := 0; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		args := []string{"--access", s.AccessKey, "--secret", s.SecretKey, "--port", addr, "--region", Region, "--quiet", "--keep-alive"}
		if s.AccessLog != "" {
			args = append(args, "--access-log", s.AccessLog)
		}
		args = append(args, "posix", dir)
		s.cmd = exec.Command(bin, args...)
		var stderr strings.Builder
		s.cmd.Stderr = &stderr
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("s3test: start %s: %w", bin, err)
		}
		go func() { s.done <- s.cmd.Wait() }()
		s.Endpoint = "http://" + addr
		err = s.waitReady(ctx)
		if err == nil {
			return s, nil
		}
		s.stop()
		if attempt >= 2 {
			return nil, fmt.Errorf("s3test: versitygw did not start: %v\n%s", err, stderr.String())
		}
		s.done = make(chan error, 1)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("s3test: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls until the server answers HTTP, it exits, or 15 s pass.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Close stops the server and removes its folder if Start created it.
func (s *Server) Close() error {
	s.stop()
	if strings.HasPrefix(filepath.Base(s.Dir), "versitygw-") {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// Credentials returns a provider of the server's credentials.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Client returns an S3 client for the server (httpClient may be nil).
func (s *Server) Client(httpClient awss3.HTTPClient) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                s.Credentials(),
		HTTPClient:                 httpClient,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates a bucket with a unique name starting with prefix
// and returns the name.
func (s *Server) CreateBucket(ctx context.Context, prefix string) (string, error) {
	name := strings.ToLower(prefix) + "-" + randomHex(4)
	if _, err := s.Client(nil).CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return "", fmt.Errorf("s3test: create bucket %s: %w", name, err)
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var errLockTimeout = errors.New("s3test: timed out waiting for another build of versitygw")
