package geodns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// healthChecker polls each PoP's health endpoint and flips the router's
// health flags after Fall consecutive failures or Rise consecutive
// successes.
type healthChecker struct {
	cfg     HealthConfig
	router  *router
	logger  *slog.Logger
	metrics *metrics
}

// run checks every PoP that has a HealthURL until ctx is done.
func (h *healthChecker) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, p := range h.router.pops {
		if p.HealthURL == "" {
			continue
		}
		wg.Go(func() { h.loop(ctx, i) })
	}
	wg.Wait()
	h.cfg.Client.CloseIdleConnections()
}

func (h *healthChecker) loop(ctx context.Context, i int) {
	pop := h.router.pops[i]
	var fails, oks int
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		err := h.check(ctx, pop)
		if ctx.Err() != nil {
			return
		}
		healthy := h.router.healthy[i].Load()
		if err == nil {
			h.metrics.healthCheck(pop.Name, true)
			oks, fails = oks+1, 0
			if !healthy && oks >= h.cfg.Rise {
				h.metrics.setHealthy(pop.Name, true)
				h.router.healthy[i].Store(true)
				h.logger.Info("dns: PoP is up", "pop", pop.Name, "checks", oks)
			}
		} else {
			h.metrics.healthCheck(pop.Name, false)
			fails, oks = fails+1, 0
			if healthy && fails >= h.cfg.Fall {
				h.metrics.setHealthy(pop.Name, false)
				h.router.healthy[i].Store(false)
				h.logger.Warn("dns: PoP is down", "pop", pop.Name, "checks", fails, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check makes one request to the PoP's health endpoint.
func (h *healthChecker) check(ctx context.Context, pop PoP) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pop.HealthURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "cdnctl-geodns/1")
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health: %s: status %s", pop.HealthURL, resp.Status)
	}
	return nil
}

// defaultHealthClient is an HTTP client for health checks: no proxy (the
// PoPs are local; HTTP_PROXY must not reroute them), short idle
// connections, no redirects.
func defaultHealthClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
