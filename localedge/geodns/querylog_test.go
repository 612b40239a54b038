package geodns

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// floodRandomNames sends n queries for distinct random subdomains over
// one UDP socket, as a random-subdomain attack does, and returns how many
// responses came back (a second of silence ends it).
func floodRandomNames(t *testing.T, addr string, n int) int {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make(chan int)
	go func() {
		k := 0
		buf := make([]byte, 65535)
		for {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := conn.Read(buf); err != nil {
				got <- k
				return
			}
			k++
		}
	}()
	for i := range n {
		b, err := query(fmt.Sprintf("r%08x.cdn.test.", i*2654435761), dns.TypeA).Pack()
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(b)
		if i%200 == 199 {
			time.Sleep(time.Millisecond) // let the socket buffers drain
		}
	}
	return <-got
}

// queryLogCounts parses a JSON query log: the "dns query" lines and the
// sum of the summaries' not_logged.
func queryLogCounts(t *testing.T, log string) (logged, notLogged int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var rec struct {
			Msg       string
			Level     string
			NotLogged int `json:"not_logged"`
			MaxPerSec int `json:"max_per_second"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("query log line %q: %v", sc.Text(), err)
		}
		switch rec.Msg {
		case "dns query":
			logged++
		case "dns query log: queries over the rate not logged":
			if rec.Level != "WARN" || rec.NotLogged <= 0 || rec.MaxPerSec != 20 {
				t.Errorf("summary %s", sc.Text())
			}
			notLogged += rec.NotLogged
		default:
			t.Errorf("unexpected line %s", sc.Text())
		}
	}
	return logged, notLogged
}

// TestQueryLogRate is the flood of the issue over real UDP: distinct
// random names as fast as one socket sends them. The query log writes at
// most its rate (the clock is stopped, so exactly the burst of 20) and
// says, periodically, how many queries it left out: logged + left out =
// queries answered.
func TestQueryLogRate(t *testing.T) {
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.QueryLog = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg.QueryLogRate = 20
	cfg.QueryLogSummaryEvery = 50 * time.Millisecond
	cfg.Registerer = reg
	stopped := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return stopped }
	_, addr := startServer(t, cfg)

	const n = 3000
	if got := floodRandomNames(t, addr, n); got < n/2 {
		t.Fatalf("%d responses to %d queries", got, n)
	}
	answered := func() int {
		return int(metricValue(t, reg, "cdnctl_dns_queries_total", map[string]string{"proto": "udp", "rcode": "NXDOMAIN"}))
	}
	eventually(t, "summaries counting every query", func() bool {
		logged, notLogged := queryLogCounts(t, logs.String())
		return logged+notLogged == answered()
	})
	logged, notLogged := queryLogCounts(t, logs.String())
	if logged != 20 {
		t.Errorf("%d queries logged with the clock stopped; want the burst, 20", logged)
	}
	if notLogged < n/2-20 {
		t.Errorf("%d queries left out of %d answered", notLogged, answered())
	}
	if got := metricValue(t, reg, "cdnctl_dns_query_log_dropped_total", nil); int(got) != notLogged {
		t.Errorf("cdnctl_dns_query_log_dropped_total = %v; want %d", got, notLogged)
	}
	if size := len(logs.String()); size > 20*400+4000 {
		t.Errorf("%d bytes of query log for %d queries", size, answered())
	}
	t.Logf("%d queries answered: %d logged, %d left out, %d bytes of log", answered(), logged, notLogged, len(logs.String()))
}

// TestQueryLogUnlimited: a negative rate logs every query; the zero rate
// means the default.
func TestQueryLogUnlimited(t *testing.T) {
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.QueryLog = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg.QueryLogRate = -1
	cfg.Registerer = reg
	_, addr := startServer(t, cfg)
	const n = 300
	floodRandomNames(t, addr, n)
	answered := int(metricValue(t, reg, "cdnctl_dns_queries_total", map[string]string{"proto": "udp", "rcode": "NXDOMAIN"}))
	eventually(t, "every query logged", func() bool {
		logged, _ := queryLogCounts(t, logs.String())
		return logged == answered
	})
	if answered < n/2 {
		t.Errorf("%d of %d queries answered", answered, n)
	}

	cfg = DefaultConfig()
	cfg.QueryLog = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.qlog.limit == nil || s.qlog.limit.Limit() != DefaultQueryLogRate || s.qlog.limit.Burst() != DefaultQueryLogRate {
		t.Errorf("query log rate 0: limiter %+v; want the default, %d per second", s.qlog.limit, DefaultQueryLogRate)
	}
}
