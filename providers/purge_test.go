package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRecordSettle(t *testing.T) {
	tests := []struct {
		batches []PurgeStatus
		want    PurgeStatus
	}{
		{[]PurgeStatus{PurgeCompleted, PurgeCompleted}, PurgeCompleted},
		{[]PurgeStatus{PurgeCompleted, PurgeInProgress}, PurgeInProgress},
		{[]PurgeStatus{PurgeCompleted, PurgeFailed}, PurgePartial},
		{[]PurgeStatus{PurgeInProgress, PurgeSkipped}, PurgePartial},
		{[]PurgeStatus{PurgeFailed, PurgeSkipped}, PurgeFailed},
		{[]PurgeStatus{PurgePlanned, PurgePlanned}, PurgePlanned},
	}
	for _, tt := range tests {
		r := &PurgeRecord{Status: PurgePlanned}
		for _, s := range tt.batches {
			r.Batches = append(r.Batches, PurgeBatch{Status: s})
		}
		r.Settle()
		if r.Status != tt.want {
			t.Errorf("Settle(%v) = %s; want %s", tt.batches, r.Status, tt.want)
		}
	}
}

func TestRecordErrNamesItemsNotPurged(t *testing.T) {
	cause := errors.New("400 bad URL")
	r := &PurgeRecord{Provider: "cloudflare", Target: "zone1", Batches: []PurgeBatch{
		{Kind: KindFiles, Items: []string{"https://a/1", "https://a/2"}, Status: PurgeCompleted},
		{Kind: KindFiles, Items: []string{"https://a/3", "https://a/4"}, Status: PurgeFailed},
		{Kind: KindTags, Items: []string{"css"}, Status: PurgeSkipped},
		{Kind: KindEverything, Status: PurgeCompleted},
	}}
	if r.Items() != 5 {
		t.Errorf("Items() = %d; want 5", r.Items())
	}
	err := r.Err(cause)
	var pe *PurgeError
	if !errors.As(err, &pe) {
		t.Fatalf("Err() = %v; want a *PurgeError", err)
	}
	if diff := cmp.Diff([]string{"https://a/3", "https://a/4", "css"}, pe.NotPurged); diff != "" {
		t.Errorf("NotPurged mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(err, cause) {
		t.Errorf("PurgeError does not wrap its cause")
	}
	msg := err.Error()
	for _, want := range []string{"cloudflare", "zone1", "2 of 4 batches failed", "https://a/3", "https://a/4", "css", "400 bad URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	ok := &PurgeRecord{Batches: []PurgeBatch{{Status: PurgeCompleted}}}
	if err := ok.Err(nil); err != nil {
		t.Errorf("Err() of a completed record = %v; want nil", err)
	}
}

func TestPurgeErrorListsAtMostTenItems(t *testing.T) {
	var items []string
	for i := range 25 {
		items = append(items, fmt.Sprintf("/p%02d", i))
	}
	msg := (&PurgeError{Provider: "x", Target: "t", NotPurged: items, Failed: 1, Total: 1}).Error()
	if !strings.Contains(msg, "/p09") || strings.Contains(msg, "/p10") || !strings.Contains(msg, "and 15 more") {
		t.Errorf("error = %q; want the first 10 items and \"and 15 more\"", msg)
	}
}

func TestNotSupportedAndInvalid(t *testing.T) {
	err := NotSupported("cloudfront", "purge by host", "use paths")
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "cloudfront: purge by host") || !strings.Contains(err.Error(), "use paths") {
		t.Errorf("NotSupported = %v", err)
	}
	err = InvalidPurge("cloudflare", "/x y", "bad")
	if !errors.Is(err, ErrInvalidPurge) || !strings.Contains(err.Error(), `"/x y"`) {
		t.Errorf("InvalidPurge = %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const tok = "cf-token-123456"
	cfg := struct {
		Zone  string
		Token Secret
	}{"z", Secret(tok)}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "cfg", cfg, "token", cfg.Token)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprint(cfg.Token), "json": string(js), "slog": sb.String(),
	} {
		if strings.Contains(out, tok) {
			t.Errorf("%s output leaks the secret: %s", name, out)
		}
	}
	if cfg.Token.Reveal() != tok {
		t.Errorf("Reveal() = %q; want the token", cfg.Token.Reveal())
	}
}

func TestRequestCount(t *testing.T) {
	r := PurgeRequest{URLs: []string{"/a"}, Tags: []string{"t"}, Hosts: []string{"h"}}
	if r.Count() != 3 || r.Empty() {
		t.Errorf("Count = %d, Empty = %v; want 3, false", r.Count(), r.Empty())
	}
	if !(PurgeRequest{Soft: true}).Empty() {
		t.Errorf("a request naming nothing is not Empty")
	}
	if (PurgeRequest{Everything: true}).Empty() {
		t.Errorf("purge everything is Empty")
	}
}

func TestSendBatches(t *testing.T) {
	clock := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	boom := errors.New("400 bad item")
	rec := &PurgeRecord{Status: PurgePlanned}
	for range 5 {
		rec.Batches = append(rec.Batches, PurgeBatch{Kind: KindFiles, Items: []string{"x"}, Status: PurgePlanned})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent []int
	err := SendBatches(ctx, rec, now, func(_ context.Context, i int, b *PurgeBatch) error {
		sent = append(sent, i)
		switch i {
		case 0:
			return nil // completed
		case 1:
			b.Status = PurgeInProgress
			return nil
		case 2:
			return boom
		case 3:
			cancel() // the user interrupts: batch 4 is never sent
			b.Status = PurgeSkipped
			return context.Canceled
		}
		t.Errorf("batch %d sent after cancellation", i)
		return nil
	})
	want := []PurgeStatus{PurgeCompleted, PurgeInProgress, PurgeFailed, PurgeSkipped, PurgeSkipped}
	for i, b := range rec.Batches {
		if b.Status != want[i] {
			t.Errorf("batch %d = %s; want %s", i, b.Status, want[i])
		}
	}
	if len(sent) != 4 || rec.Status != PurgePartial || !errors.Is(err, boom) || rec.Batches[2].Error != boom.Error() {
		t.Errorf("sent %v, status %s, err %v; want 4 sent, partial, the first error", sent, rec.Status, err)
	}
	if rec.StartedAt.IsZero() || rec.DurationMS != 1000 {
		t.Errorf("started %v, duration %d ms; want set, 1000 ms", rec.StartedAt, rec.DurationMS)
	}
}

func TestSendBatchesN(t *testing.T) {
	now := time.Now
	rec := &PurgeRecord{Status: PurgePlanned}
	for i := range 20 {
		rec.Batches = append(rec.Batches, PurgeBatch{Kind: KindFiles, Items: []string{fmt.Sprint(i)}, Status: PurgePlanned})
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	release := make(chan struct{})
	go func() {
		// Hold the first sends until 4 are in flight together.
		for {
			mu.Lock()
			n := inFlight
			mu.Unlock()
			if n == 4 {
				close(release)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	err := SendBatchesN(context.Background(), rec, now, 4, func(_ context.Context, i int, b *PurgeBatch) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		if i == 7 || i == 13 {
			return fmt.Errorf("batch %d refused", i)
		}
		b.ID = "id-" + b.Items[0]
		return nil
	})
	if most != 4 {
		t.Errorf("at most %d batches in flight; want 4", most)
	}
	if err == nil || !strings.Contains(err.Error(), "batch 7 refused") || !strings.Contains(err.Error(), "2 of 20 batches failed") {
		t.Errorf("SendBatchesN = %v; want the lowest failed batch's error and 2 of 20 failed", err)
	}
	for i, b := range rec.Batches {
		failed := i == 7 || i == 13
		if (b.Status == PurgeFailed) != failed || (!failed && (b.Status != PurgeCompleted || b.ID != fmt.Sprint("id-", i))) {
			t.Errorf("batch %d = %s %q", i, b.Status, b.ID)
		}
	}
	if rec.Status != PurgePartial {
		t.Errorf("record status %s; want partial", rec.Status)
	}
}

func TestUnique(t *testing.T) {
	in := []string{"b", "a", "b", "c", "a"}
	if got := Unique(in); !slices.Equal(got, []string{"b", "a", "c"}) || !slices.Equal(in, []string{"b", "a", "b", "c", "a"}) {
		t.Errorf("Unique = %q (input now %q); want [b a c] and the input untouched", got, in)
	}
}

func TestServedHost(t *testing.T) {
	names := []string{"www.example.com", "example.com"}
	for _, tt := range []struct {
		hostport string
		want     string
		ok       bool
	}{
		{"www.example.com", "www.example.com", true},
		{"WWW.Example.com:443", "www.example.com", true},
		{"static.example.com", "static.example.com", false},
		{"[::1]:8080", "::1", false},
	} {
		host, ok := ServedHost(names, tt.hostport)
		if host != tt.want || ok != tt.ok {
			t.Errorf("ServedHost(%q) = %q, %v; want %q, %v", tt.hostport, host, ok, tt.want, tt.ok)
		}
	}
	if _, ok := ServedHost(nil, "any.example"); !ok {
		t.Error("no hostnames configured: every host is served")
	}
}
