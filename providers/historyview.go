package providers

import (
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
)

// Deploy states as `cdnctl history` shows them.
const (
	DeployComplete    = "complete"
	DeployRunning     = "running"     // recorded running, and its lock is held
	DeployInterrupted = "interrupted" // stopped before completing (or its process is gone)
	DeployRolledBack  = "rolled back" // was live until a rollback replaced it
)

// HistoryEntry is one deploy with what it means now.
type HistoryEntry struct {
	deploystate.DeployRecord
	// State is DeployComplete, DeployRunning, DeployInterrupted or
	// DeployRolledBack.
	State string `json:"state"`
	// Live marks the deploy whose files the site serves: the newest
	// complete one.
	Live bool `json:"live"`
}

// HistoryEntries returns the deploys of h, newest first, each with its
// state: a record still running is running while lock (the state's
// current lock, nil if none) is held by it and not stale at now, and
// interrupted otherwise; a complete deploy that a rollback replaced is
// rolled back.
func HistoryEntries(h *History, lock *deploystate.Lock, now time.Time) []HistoryEntry {
	out := make([]HistoryEntry, len(h.Deploys))
	rolledBack := map[string]bool{}
	var live string // the live deploy as of each record, oldest first
	for _, d := range h.Deploys {
		if !d.Complete() {
			continue
		}
		if d.RollbackOf != "" && live != "" && live != d.RollbackOf {
			rolledBack[live] = true
		}
		live = d.ID
	}
	for i, d := range h.Deploys {
		e := HistoryEntry{DeployRecord: d, State: DeployComplete, Live: d.Complete() && d.ID == live}
		switch {
		case d.Status == deploystate.StatusRunning && lock != nil && lock.DeployID == d.ID && !lock.Stale(now):
			e.State = DeployRunning
		case !d.Complete():
			e.State = DeployInterrupted
		case rolledBack[d.ID]:
			e.State = DeployRolledBack
		}
		out[len(h.Deploys)-1-i] = e
	}
	return out
}
