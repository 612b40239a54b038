package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// TestStateSuite runs the state suite against versitygw, which implements
// If-None-Match and If-Match on PutObject and DeleteObject: each writer
// has a client of its own.
func TestStateSuite(t *testing.T) {
	t.Run("SiblingPrefix", func(t *testing.T) {
		storetest.RunState(t, func(t *testing.T) func() providers.State {
			bucket := newBucket(t)
			return func() providers.State { return open(t, testConfig(bucket, "www", nil)) }
		})
	})
	t.Run("OtherBucket", func(t *testing.T) {
		storetest.RunState(t, func(t *testing.T) func() providers.State {
			site, state := newBucket(t), newBucket(t)
			return func() providers.State {
				cfg := testConfig(site, "", nil)
				cfg.StateBucket, cfg.StatePrefix = state, "sites/www"
				return open(t, cfg)
			}
		})
	})
}

func TestStateLocation(t *testing.T) {
	bucket := newBucket(t)
	for _, tc := range []struct {
		prefix, stateBucket, statePrefix string
		want                             providers.StateLocation
		wantErr                          string
	}{
		{prefix: "www", want: providers.StateLocation{URL: "s3://" + bucket + "/cdnctl-state/www", Key: "cdnctl-state/www"}},
		{prefix: "sites/www", want: providers.StateLocation{URL: "s3://" + bucket + "/cdnctl-state/sites/www", Key: "cdnctl-state/sites/www"}},
		{prefix: "", want: providers.StateLocation{URL: "s3://" + bucket + "/.cdnctl", Key: ".cdnctl", InSite: true}},
		{prefix: "www", statePrefix: "www/.cdnctl", want: providers.StateLocation{URL: "s3://" + bucket + "/www/.cdnctl", Key: "www/.cdnctl", InSite: true}},
		{prefix: "www", statePrefix: "private/www", want: providers.StateLocation{URL: "s3://" + bucket + "/private/www", Key: "private/www"}},
		{prefix: "www", stateBucket: "state-bucket", statePrefix: "www", want: providers.StateLocation{URL: "s3://state-bucket/www"}},
		{prefix: "www", statePrefix: "www/state", wantErr: "inside the site"},
		{prefix: "", statePrefix: "state", wantErr: "inside the site"},
		{prefix: "a/www", statePrefix: "a", wantErr: "contains the site"},
	} {
		cfg := testConfig(bucket, tc.prefix, nil)
		cfg.StateBucket, cfg.StatePrefix = tc.stateBucket, tc.statePrefix
		s, err := New(context.Background(), cfg)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("prefix %q, state %q %q: %v; want an error saying %q", tc.prefix, tc.stateBucket, tc.statePrefix, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("prefix %q, state %q %q: %v", tc.prefix, tc.stateBucket, tc.statePrefix, err)
			continue
		}
		if got := s.StateLocation(); got != tc.want {
			t.Errorf("prefix %q, state %q %q: StateLocation() = %+v; want %+v", tc.prefix, tc.stateBucket, tc.statePrefix, got, tc.want)
		}
	}
}

// TestNoStateUnderTheServedPrefix pushes to a prefix and checks, with a
// raw client, that every state object is outside it: a CDN whose origin
// path is the prefix cannot serve any of it.
func TestNoStateUnderTheServedPrefix(t *testing.T) {
	bucket := newBucket(t)
	st := open(t, testConfig(bucket, "www", nil))
	if _, _, err := pushSite(t, st, site, providers.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := srv.Client(nil)
	out, err := raw.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var state, served int
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		switch {
		case strings.HasPrefix(k, "cdnctl-state/www/"):
			state++
		case strings.HasPrefix(k, "www/.cdnctl"):
			t.Errorf("state object %s under the served prefix www/", k)
		case strings.HasPrefix(k, "www/"):
			served++
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	if state < 3 || served != len(site) {
		t.Errorf("%d state objects under cdnctl-state/www/, %d site objects under www/; want the index, history and snapshot, and %d", state, served, len(site))
	}
}

// TestLockRace: deploys with clients of their own take the lock at once
// on versitygw; one gets it, the others are told who holds it.
func TestLockRace(t *testing.T) {
	bucket := newBucket(t)
	ctx := context.Background()
	const n = 5
	var (
		wg    sync.WaitGroup
		locks = make([]*providers.Lock, n)
		errs  = make([]error, n)
	)
	start := make(chan struct{})
	for i := range n {
		st := open(t, testConfig(bucket, "www", nil))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h := deploystate.Holder{User: "ci", Host: fmt.Sprintf("runner-%d", i), PID: 1}
			locks[i], _, errs[i] = providers.AcquireLock(ctx, st, providers.LockOptions{Operation: "deploy", Holder: h})
		}()
	}
	close(start)
	wg.Wait()
	held := 0
	for i := range n {
		var le *providers.LockedError
		switch {
		case errs[i] == nil:
			held++
			defer locks[i].Release(ctx)
		case errors.As(errs[i], &le):
			if !strings.Contains(le.Error(), "holds the lock on s3://"+bucket+"/cdnctl-state/www") {
				t.Errorf("deploy %d: %v; want it to name the lock's location", i, le)
			}
		default:
			t.Errorf("deploy %d: %v; want the lock or a *LockedError", i, errs[i])
		}
	}
	if held != 1 {
		t.Errorf("%d of %d concurrent deploys hold the lock; want 1", held, n)
	}
}
