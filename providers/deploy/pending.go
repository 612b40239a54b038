package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cdnctl/cdnctl/providers"
)

// PendingName is the state file (under .cdnctl/) recording a deploy whose
// purge has not been confirmed yet: written before the first upload,
// removed once every CDN was purged (and verified). The next deploy finds
// it and purges its keys again, so a deploy interrupted after switching
// entry points is finished by the next run.
const PendingName = "deploy-pending.json"

// pendingDeploy is the content of PendingName.
type pendingDeploy struct {
	Version int       `json:"version"`
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	// Keys are the logical keys to purge at every CDN.
	Keys []string `json:"keys"`
}

func readPending(ctx context.Context, s providers.StateStore) (*pendingDeploy, error) {
	data, err := s.ReadState(ctx, PendingName)
	if errors.Is(err, providers.ErrStateNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pendingDeploy
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", PendingName, err)
	}
	if p.Version != SchemaVersion {
		return nil, fmt.Errorf("%s: version %d: want %d", PendingName, p.Version, SchemaVersion)
	}
	return &p, nil
}

func writePending(ctx context.Context, s providers.StateStore, p *pendingDeploy) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := s.WriteState(ctx, PendingName, append(data, '\n')); err != nil {
		return fmt.Errorf("record the deploy as pending: %w", err)
	}
	return nil
}
