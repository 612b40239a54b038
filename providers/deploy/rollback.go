package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// ErrNoRollbackTarget is returned when the history has no deploy to roll
// back to.
var ErrNoRollbackTarget = errors.New("no previous deploy to roll back to")

// PlanRollback plans re-pointing the origin to a previous deploy: the
// objects its snapshot lists are restored — fingerprinted assets must
// still be in the origin (retention keeps them for a while), the
// un-fingerprinted files (entry points) are written back from the copies
// deploy kept — and then purged, warmed and verified like any deploy. id
// is a deploy ID from the history; "" means the deploy before the last.
// Everything is checked before anything changes: a missing asset or copy
// fails the plan.
func (d *Deployer) PlanRollback(ctx context.Context, id string) (*Plan, error) {
	start := time.Now()
	cfg := d.cfg
	if cfg.Store == nil {
		return nil, errors.New("deploy: no origin store")
	}
	p := d.newPlan("rollback")
	p.step(StepFingerprint).Reason = "a rollback restores recorded objects"
	pusher := d.newPusher("rollback")
	var (
		remote *providers.Remote
		edges  [][]prewarm.Edge
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		remote, err = pusher.Fetch(gctx)
		return err
	})
	g.Go(func() error {
		var err error
		edges, err = d.findEdges(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	target, err := rollbackTarget(remote.History, id)
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	snap, err := providers.ReadSnapshot(ctx, cfg.Store, target)
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	files, err := d.snapshotFiles(ctx, snap, remote.Objects)
	if err != nil {
		return nil, fmt.Errorf("rollback to %s: %w", target.ID, err)
	}
	p.RollbackOf = target.ID
	p.Site.Source = "deploy " + target.ID
	p.Site.Dir = ""
	pusher.RollbackOf = target.ID
	pusher.ManifestDigest = target.ManifestDigest
	p.Site.ManifestDigest = target.ManifestDigest
	if target.GitCommit != "" {
		p.Site.GitCommit = target.GitCommit
	}
	bodies := map[string]string{}
	for k, e := range snap.Objects {
		if e.Body != "" {
			bodies[k] = e.Body
		}
	}
	if err := d.finishPlan(ctx, p, pusher, files, nil, remote, edges, snap.Objects); err != nil {
		return nil, err
	}
	// The copies the target kept are the rollback's too: nothing to write.
	p.copies = nil
	pusher.Bodies = bodies
	p.Site.RollbackCopies = len(bodies)
	p.DurationMS = time.Since(start).Milliseconds()
	return p, nil
}

// rollbackTarget finds the deploy to roll back to.
func rollbackTarget(h *providers.History, id string) (*providers.DeployRecord, error) {
	if id != "" {
		d := h.Find(id)
		if d == nil {
			var ids []string
			for i := len(h.Deploys) - 1; i >= 0 && len(ids) < 5; i-- {
				ids = append(ids, h.Deploys[i].ID)
			}
			return nil, fmt.Errorf("no deploy %q in the history (latest: %s)", id, strings.Join(ids, ", "))
		}
		if last := h.Last(); last != nil && last.ContentDigest == d.ContentDigest {
			return nil, fmt.Errorf("deploy %s serves the same content as the current one (%s): nothing to roll back", id, last.ID)
		}
		return d, nil
	}
	last := h.Last()
	if last == nil {
		return nil, ErrNoRollbackTarget
	}
	for i := len(h.Deploys) - 2; i >= 0; i-- {
		if h.Deploys[i].ContentDigest != last.ContentDigest {
			return &h.Deploys[i], nil
		}
	}
	return nil, fmt.Errorf("%w: the history has no deploy with other content than %s", ErrNoRollbackTarget, last.ID)
}

// snapshotFiles turns a snapshot into the files to push: bodies come from
// the origin itself when the object there is unchanged, else from the
// rollback copy, read (and checked) now so that nothing is missing once
// the push starts.
func (d *Deployer) snapshotFiles(ctx context.Context, snap *providers.DeploySnapshot, objects []providers.RemoteObject) ([]*providers.LocalFile, error) {
	present := make(map[string]providers.RemoteObject, len(objects))
	for _, o := range objects {
		present[o.Key] = o
	}
	keys := make([]string, 0, len(snap.Objects))
	for k := range snap.Objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	files := make([]*providers.LocalFile, len(keys))
	var missing []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.Concurrency)
	for i, k := range keys {
		e := snap.Objects[k]
		f := &providers.LocalFile{Key: k, SHA256: e.SHA256, Size: e.Size, Meta: e.Metadata, Fingerprinted: e.Fingerprinted, Path: "deploy " + snap.ID}
		files[i] = f
		o, ok := present[k]
		same := ok && o.Size == e.Size && (o.SHA256 == "" || strings.EqualFold(o.SHA256, e.SHA256))
		switch {
		case e.Fingerprinted && same:
			// Retained: the push plan keeps it (or updates its headers).
			f.Open = func() (io.ReadSeekCloser, error) {
				return nil, fmt.Errorf("%s: no copy of the body to upload again (the origin holds it)", k)
			}
		case e.Fingerprinted:
			missing = append(missing, k)
		case e.Body == "" && same && strings.EqualFold(o.SHA256, e.SHA256):
			f.Open = func() (io.ReadSeekCloser, error) {
				return nil, fmt.Errorf("%s: no rollback copy of the body", k)
			}
		case e.Body == "":
			return nil, fmt.Errorf("%s changed since and its deploy kept no copy of it (deployed by push, or with rollback copies off): cannot restore it", k)
		default:
			g.Go(func() error {
				data, err := d.cfg.Store.ReadState(gctx, e.Body)
				if err != nil {
					return fmt.Errorf("%s: rollback copy %s: %w", k, e.Body, err)
				}
				sum := sha256.Sum256(data)
				if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, e.SHA256) {
					return fmt.Errorf("%s: rollback copy %s has SHA-256 %.12s…, want %.12s…", k, e.Body, got, e.SHA256)
				}
				f.Size = int64(len(data))
				f.Open = func() (io.ReadSeekCloser, error) { return nopCloser{bytes.NewReader(data)}, nil }
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 3 {
			more = fmt.Sprintf(" and %d more", len(missing)-3)
			missing = missing[:3]
		}
		return nil, fmt.Errorf("fingerprinted assets no longer in the origin (deleted after retention): %s%s", strings.Join(missing, ", "), more)
	}
	return files, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
