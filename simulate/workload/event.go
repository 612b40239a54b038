// Package workload reads the requests a simulated CDN replays: access logs
// as people have them (nginx and Apache combined, CloudFront standard logs,
// Cloudflare Logpush HTTP requests, a generic CSV), gzip or plain, streamed
// line by line, and synthetic workloads made from a small spec (object
// count and sizes, Zipf popularity, request rate over time, client
// regions, content types with their Cache-Control, content changes).
//
// Both are a Source: events in time order, requests and content changes,
// that package simulate replays through the caches.
package workload

import (
	"errors"
	"io"
	"net/netip"
)

// Kind tells what an Event is.
type Kind uint8

// Kinds of events.
const (
	// Request is a client request.
	Request Kind = iota
	// Change is a content change at the origin: the objects named get a
	// new version from Time on.
	Change
)

// Event is one request of a workload, or one content change.
type Event struct {
	Kind Kind
	// Time is when the event happens, in Unix nanoseconds.
	Time int64

	// Method is the request method ("GET", "HEAD", "POST", …).
	Method string
	// Host is the requested host; Path the path and query as requested.
	Host string
	Path string
	// Object numbers the requested URL (host and path) within its source,
	// so the simulator can remember what it derived from it without
	// hashing strings; 0 when the source does not number them.
	Object uint64
	// Client is the client's address when known (logs).
	Client netip.Addr
	// Region is the client's region, an index into the source's Regions,
	// or -1 when unknown.
	Region int
	// Encoding is the client's Accept-Encoding, an index into the
	// source's Encodings (0 when it has none).
	Encoding int
	// Status is the status the origin answers (logs: what was logged; 0:
	// 200).
	Status int
	// Size is the response body's size in bytes: the object's size.
	Size int64
	// CacheControl is the origin's Cache-Control for the response, when
	// the source knows it ("" otherwise: the simulation's rules decide).
	CacheControl string
	// Vary is the origin's Vary for the response, when the source knows it.
	Vary string
	// Type is the content type's index in the source's Types, or -1.
	Type int
	// Observed is what the logged CDN reported for this request, when the
	// log says: "hit", "miss" or "" (not logged, or neither).
	Observed string

	// Changed lists the paths (of Host) that change, for a Change.
	Changed []string
	// ChangedType is a content type all of whose objects change (-1:
	// none), for a Change.
	ChangedType int
}

// Source is a workload: events in time order (a few out of order by
// little are tolerated by the simulator, which treats them as arriving
// at the latest time seen).
type Source interface {
	// Read fills evs with the next events and returns how many it read:
	// at the end, 0 and io.EOF. Strings in the events stay valid after
	// the next Read.
	Read(evs []Event) (int, error)
	// Info describes the workload.
	Info() Info
}

// Info describes a workload.
type Info struct {
	// Name says where the events come from ("access.log.gz", "synthetic").
	Name string
	// Regions are the client regions events refer to by index.
	Regions []Region
	// Encodings are the Accept-Encoding values events refer to by index
	// (empty: every client sends EncodingDefault).
	Encodings []string
	// Types are the content types events refer to by index.
	Types []string
	// Duration is the time the workload spans, when known in advance.
	Duration int64
}

// EncodingDefault is what clients send when a workload says nothing:
// what current browsers accept.
const EncodingDefault = "gzip, deflate, br, zstd"

// Region is a group of clients, served by the PoP nearest to them.
type Region struct {
	Name  string  `yaml:"name" json:"name"`
	Share float64 `yaml:"share" json:"share"`
	// PoP names the PoP that serves the region ("": the PoP at the same
	// position in the topology).
	PoP string `yaml:"pop" json:"pop,omitempty"`
}

// ReadAll reads a source to its end (for tests and small workloads).
func ReadAll(src Source) ([]Event, error) {
	var all []Event
	buf := make([]Event, 256)
	for {
		n, err := src.Read(buf)
		for _, e := range buf[:n] {
			e.Changed = append([]string(nil), e.Changed...)
			all = append(all, e)
		}
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

// Events is a Source over events held in memory, for tests and for
// workloads built by hand.
type Events struct {
	List []Event
	Meta Info
	next int
}

// Read implements Source.
func (s *Events) Read(evs []Event) (int, error) {
	if s.next >= len(s.List) {
		return 0, io.EOF
	}
	n := copy(evs, s.List[s.next:])
	s.next += n
	return n, nil
}

// Info implements Source.
func (s *Events) Info() Info { return s.Meta }
