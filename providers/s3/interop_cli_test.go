package s3

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// cliEnv runs the AWS CLI and rclone against the test server, offline:
// static keys, no shared config or profiles, an rclone remote "t" from
// the environment.
type cliEnv struct {
	t   *testing.T
	env []string
}

func newCLIEnv(t *testing.T, tools ...string) *cliEnv {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed: .ci/run installs awscli and rclone: %v", tool, err)
			}
			t.Skipf("%s not installed (apt-get install -y awscli rclone); CI runs this test", tool)
		}
	}
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws-config")
	rcloneConfig := filepath.Join(dir, "rclone.conf")
	if err := os.WriteFile(awsConfig, []byte("[default]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rcloneConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "RCLONE_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+awsConfig, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_PAGER=",
		"RCLONE_CONFIG="+rcloneConfig, "RCLONE_CONFIG_T_TYPE=s3", "RCLONE_CONFIG_T_PROVIDER=Other",
		"RCLONE_CONFIG_T_ENDPOINT="+srv.Endpoint, "RCLONE_CONFIG_T_ACCESS_KEY_ID="+srv.AccessKey,
		"RCLONE_CONFIG_T_SECRET_ACCESS_KEY="+srv.SecretKey, "RCLONE_CONFIG_T_REGION=us-east-1",
	)
	return &cliEnv{t: t, env: env}
}

// run runs a CLI and returns its combined output; a failure fails the
// test unless allowFail.
func (e *cliEnv) run(allowFail bool, name string, args ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if name == "aws" {
		args = append([]string{"--endpoint-url", srv.Endpoint}, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		e.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// TestWithRealCLIs checks a cdnctl push with the AWS CLI and rclone
// themselves, and that what they upload is recognised by cdnctl's plan.
// It runs only where both are installed (.ci/run installs them; under
// CI=true their absence is a failure).
func TestWithRealCLIs(t *testing.T) {
	e := newCLIEnv(t, "aws", "rclone")
	bucket := newBucket(t)
	cfg := testConfig(bucket, "www", nil)
	cfg.MultipartThreshold = 5 << 20
	cfg.PartSize = 5 << 20
	const mib = 1 << 20
	big := pattern(6*mib, 9)
	local := storetest.Site{
		"index.html":                "<!doctype html><h1>home</h1>",
		"css/app.3f9a1c0e2b.css":    "body{color:red}",
		"css/app.3f9a1c0e2b.css.br": "\x1b\x0e\x00\xf8\x25\x14\x82\x8c\xe2\x46", // any bytes: a precompressed sibling
		"video/clip.3f9a1c0e2b.bin": string(big),
	}
	dir := local.Write(t)
	// Just built: aws s3 sync must still find the objects (timed to the
	// second) no older than the files.
	now := time.Now()
	for k := range local {
		if err := os.Chtimes(filepath.Join(dir, k), now, now); err != nil {
			t.Fatal(err)
		}
	}
	set, err := providers.ScanDir(context.Background(), dir, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &providers.Pusher{Store: open(t, cfg), Options: providers.DefaultPlanOptions()}
	plan, err := p.Plan(context.Background(), set.Files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	remote := "t:" + bucket + "/www"

	// rclone verifies every object, the multipart one by md5chksum.
	out, _ := e.run(false, "rclone", "check", "--checksum", "--exclude", "/.cdnctl/**", dir, remote)
	if !strings.Contains(out, "0 differences found") || strings.Contains(out, "could not be checked") {
		t.Errorf("rclone check:\n%s", out)
	}
	out, _ = e.run(false, "rclone", "md5sum", remote+"/video")
	if want := fmt.Sprintf("%x  clip.3f9a1c0e2b.bin", md5.Sum(big)); !strings.Contains(out, want) {
		t.Errorf("rclone md5sum = %q; want %q", out, want)
	}
	out, _ = e.run(false, "rclone", "lsjson", "--metadata", remote+"/css/app.3f9a1c0e2b.css.br")
	var ls []struct {
		MimeType string
		Metadata map[string]string
	}
	if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls) != 1 {
		t.Fatalf("rclone lsjson: %v\n%s", err, out)
	}
	if m := ls[0].Metadata; ls[0].MimeType != "text/css; charset=utf-8" || m["content-encoding"] != "br" ||
		m["cache-control"] != providers.CacheControlImmutable || len(m["cdnctl-sha256"]) != 64 {
		t.Errorf("rclone lsjson --metadata: %+v", ls[0])
	}

	// The AWS CLI sees the headers, and its sync (size and time) has
	// nothing to do: the objects are no older than the files.
	out, _ = e.run(false, "aws", "s3api", "head-object", "--bucket", bucket, "--key", "www/video/clip.3f9a1c0e2b.bin")
	var head struct {
		ContentType, CacheControl, ETag string
		Metadata                        map[string]string
	}
	if err := json.Unmarshal([]byte(out), &head); err != nil {
		t.Fatalf("head-object: %v\n%s", err, out)
	}
	if head.ContentType != "application/octet-stream" || head.CacheControl != providers.CacheControlImmutable ||
		!strings.HasSuffix(head.ETag, `-2"`) || head.Metadata["md5chksum"] == "" || len(head.Metadata["cdnctl-sha256"]) != 64 {
		t.Errorf("aws s3api head-object: %+v", head)
	}
	out, _ = e.run(false, "aws", "s3", "sync", "--dryrun", "--exclude", ".cdnctl/*", dir, "s3://"+bucket+"/www")
	if strings.TrimSpace(out) != "" {
		t.Errorf("aws s3 sync --dryrun after a push wants to:\n%s", out)
	}

	// The other way: what aws s3 cp (8 MiB parts from 8 MiB) and rclone
	// copy (5 MiB chunks here) upload is recognised: headers rewritten,
	// no body sent.
	up := storetest.Site{
		"aws/big.bin":    string(pattern(9*mib, 10)),
		"aws/small.txt":  "from aws\n",
		"rclone/big.bin": string(pattern(6*mib, 11)),
		"rclone/s.txt":   "from rclone\n",
	}
	upDir := up.Write(t)
	e.run(false, "aws", "s3", "cp", "--recursive", "--only-show-errors", filepath.Join(upDir, "aws"), "s3://"+bucket+"/up/aws/")
	e.run(false, "rclone", "copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", filepath.Join(upDir, "rclone"), "t:"+bucket+"/up/rclone")
	cfg.Prefix = "up"
	set, err = providers.ScanDir(context.Background(), upDir, providers.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = &providers.Pusher{Store: open(t, cfg), Options: providers.DefaultPlanOptions()}
	plan, err = p.Plan(context.Background(), set.Files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.Op != providers.OpUpdate {
			t.Errorf("%s uploaded by another tool: %s/%s (%s); want a header update", c.Key, c.Op, c.Reason, c.Detail)
		}
	}
	res, err := p.Apply(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesUploaded != 0 {
		t.Errorf("%d bytes uploaded; want none", res.BytesUploaded)
	}
	out, _ = e.run(false, "rclone", "check", "--checksum", "--exclude", "/.cdnctl/**", upDir, "t:"+bucket+"/up")
	if !strings.Contains(out, "0 differences found") {
		t.Errorf("rclone check after cdnctl took over:\n%s", out)
	}
}
