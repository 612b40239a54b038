package deploystate

import (
	"encoding/json"
	"fmt"
	"time"
)

// LockVersion is the schema version of Lock.
const LockVersion = 1

// Lock is the content of LockName while a deploy or push runs: who holds
// it and since when. The holder rewrites it (Refreshed) every
// StaleAfter/5; a lock not refreshed for StaleAfter is stale and the next
// deploy takes it over.
type Lock struct {
	Version int `json:"version"`
	// Token is random and unique to one holding: the holder recognises
	// its own lock by it.
	Token string `json:"token"`
	// Operation is "deploy", "push" or "rollback"; DeployID the deploy's
	// ID once it is planned ("" while planning).
	Operation string    `json:"operation"`
	DeployID  string    `json:"deploy_id,omitempty"`
	Holder    Holder    `json:"holder"`
	Started   time.Time `json:"started"`
	Refreshed time.Time `json:"refreshed"`
	// StaleAfterSeconds is how long after Refreshed others may take the
	// lock over.
	StaleAfterSeconds int64 `json:"stale_after_seconds"`
}

// Holder says who holds a lock.
type Holder struct {
	// User and Host: "alice" on "laptop".
	User string `json:"user"`
	Host string `json:"host"`
	// PID is the process; Namespace names where PIDs are meaningful (on
	// Linux its PID namespace and boot), so that another process on the
	// same machine can tell whether the holder is still running.
	PID       int    `json:"pid"`
	Namespace string `json:"namespace,omitempty"`
	// CI describes the CI job, when there is one ("GitHub Actions run 42
	// on runner-3").
	CI string `json:"ci,omitempty"`
}

// String is "user@host", with the CI job in parentheses when there is one.
func (h Holder) String() string {
	s := h.User
	if s == "" {
		s = "someone"
	}
	if h.Host != "" {
		s += "@" + h.Host
	}
	if h.CI != "" {
		s += " (" + h.CI + ")"
	}
	return s
}

// StaleAfter returns the lock's staleness timeout.
func (l *Lock) StaleAfter() time.Duration {
	return time.Duration(l.StaleAfterSeconds) * time.Second
}

// Stale reports whether the holder has not refreshed the lock for longer
// than its timeout at now.
func (l *Lock) Stale(now time.Time) bool {
	return l.StaleAfterSeconds > 0 && now.Sub(l.Refreshed) > l.StaleAfter()
}

// ParseLock decodes a lock, checking its version.
func ParseLock(data []byte) (*Lock, error) {
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("deploy lock: %w", err)
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("deploy lock: version %d: want %d", l.Version, LockVersion)
	}
	return &l, nil
}

// Marshal encodes the lock as indented JSON.
func (l *Lock) Marshal() ([]byte, error) {
	b, err := marshalIndent(l)
	if err != nil {
		return nil, fmt.Errorf("deploy lock: %w", err)
	}
	return b, nil
}
