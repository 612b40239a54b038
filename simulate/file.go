package simulate

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/simulate/workload"
)

// File is a simulation file: a synthetic workload, changes to the
// topology of `cdnctl serve`, the site's caching policy and the scenarios
// to compare (docs/simulate.md).
type File struct {
	// Workload is the synthetic workload (absent when logs are replayed).
	Workload *workload.Spec `yaml:"workload"`
	// Topology changes the topology taken from cdnctl.yaml's serve section.
	Topology TopologySpec `yaml:"topology"`
	// Policy is what every scenario starts from.
	Policy Variant `yaml:"policy"`
	// Scenarios are the variants compared side by side (none: the policy
	// alone).
	Scenarios []Variant `yaml:"scenarios"`
}

// TopologySpec is the topology part of a simulation file.
type TopologySpec struct {
	// PoPs replaces serve's PoPs when given.
	PoPs      []PoPSpec   `yaml:"pops"`
	Shield    *ShieldSpec `yaml:"shield"`
	Origin    *OriginSpec `yaml:"origin"`
	ClientRTT string      `yaml:"client_rtt"`
	Cache     *CacheSpec  `yaml:"cache"`
}

// PoPSpec is one PoP of a simulation file.
type PoPSpec struct {
	Name     string              `yaml:"name"`
	Regions  []string            `yaml:"regions"`
	Location *localedge.Location `yaml:"location"`
	// RTT is the round trip to the shield (or the origin without one).
	RTT time.Duration `yaml:"rtt"`
}

// ShieldSpec is the shield of a simulation file.
type ShieldSpec struct {
	Enabled  *bool               `yaml:"enabled"`
	Location *localedge.Location `yaml:"location"`
	// RTT is the round trip to the origin.
	RTT      time.Duration     `yaml:"rtt"`
	Capacity workload.ByteSize `yaml:"capacity"`
}

// OriginSpec is the origin of a simulation file.
type OriginSpec struct {
	Location *localedge.Location `yaml:"location"`
	// Time is how long the origin takes to answer.
	Time    time.Duration `yaml:"time"`
	Outages []Outage      `yaml:"outages"`
}

// CacheSpec is the caches' part of a simulation file.
type CacheSpec struct {
	Capacity       workload.ByteSize `yaml:"capacity"`
	MaxObjectSize  workload.ByteSize `yaml:"max_object_size"`
	Eviction       string            `yaml:"eviction"`
	SoftPurgeGrace *time.Duration    `yaml:"soft_purge_grace"`
	StaleIfError   *time.Duration    `yaml:"stale_if_error"`
}

// Variant changes a scenario: each field given replaces what the scenario
// had (TTL rules and versioned patterns replace the lists).
type Variant struct {
	Name string `yaml:"name"`
	// Shield turns the shield on or off.
	Shield *bool `yaml:"shield"`
	// PoPs keeps the first N PoPs running; the clients of the others go
	// to the nearest one that runs.
	PoPs            *int              `yaml:"pops"`
	CacheSize       workload.ByteSize `yaml:"cache_size"`
	ShieldCacheSize workload.ByteSize `yaml:"shield_cache_size"`
	Eviction        string            `yaml:"eviction"`
	// TTL sets the Cache-Control of paths by pattern (CDN cache rules).
	TTL                 []Rule            `yaml:"ttl"`
	DefaultCacheControl string            `yaml:"default_cache_control"`
	Versioned           []string          `yaml:"versioned"`
	Purge               string            `yaml:"purge"`
	PurgeDelay          *time.Duration    `yaml:"purge_delay"`
	OriginTime          *time.Duration    `yaml:"origin_time"`
	HopRTT              *time.Duration    `yaml:"hop_rtt"`
	MaxObjectSize       workload.ByteSize `yaml:"max_object_size"`
	StaleIfError        *time.Duration    `yaml:"stale_if_error"`
	SoftPurgeGrace      *time.Duration    `yaml:"soft_purge_grace"`
}

// Apply returns base changed by v.
func (v Variant) Apply(base Scenario) Scenario {
	s := base
	s.Topology.PoPs = append([]PoP(nil), base.Topology.PoPs...)
	if base.Topology.Shield != nil {
		sh := *base.Topology.Shield
		s.Topology.Shield = &sh
	}
	if v.Name != "" {
		s.Name = v.Name
	}
	if v.Shield != nil {
		switch {
		case !*v.Shield:
			s.Topology.Shield = nil
		case s.Topology.Shield == nil:
			s.Topology.Shield = &Shield{}
		}
	}
	if v.PoPs != nil {
		s.Topology.Active = *v.PoPs
	}
	if v.CacheSize > 0 {
		s.Topology.Cache.Capacity = int64(v.CacheSize)
	}
	if v.ShieldCacheSize > 0 && s.Topology.Shield != nil {
		s.Topology.Shield.Capacity = int64(v.ShieldCacheSize)
	}
	if v.Eviction != "" {
		s.Topology.Cache.Eviction = v.Eviction
	}
	if v.TTL != nil {
		s.Rules = v.TTL
	}
	if v.DefaultCacheControl != "" {
		s.DefaultCacheControl = v.DefaultCacheControl
	}
	if v.Versioned != nil {
		s.Versioned = v.Versioned
	}
	if v.Purge != "" {
		s.Purge = v.Purge
	}
	if v.PurgeDelay != nil {
		s.PurgeDelay = *v.PurgeDelay
	}
	if v.OriginTime != nil {
		s.Topology.Origin.ServiceTime = *v.OriginTime
	}
	if v.HopRTT != nil {
		d := *v.HopRTT
		s.Topology.HopRTT = &d
	}
	if v.MaxObjectSize > 0 {
		s.Topology.Cache.MaxObjectSize = int64(v.MaxObjectSize)
	}
	if v.StaleIfError != nil {
		s.Topology.Cache.StaleIfError = *v.StaleIfError
	}
	if v.SoftPurgeGrace != nil {
		s.Topology.Cache.SoftPurgeGrace = *v.SoftPurgeGrace
	}
	return s
}

// ApplyTopology changes a topology as a simulation file's topology
// section says.
func (ts TopologySpec) ApplyTopology(t *Topology) error {
	if ts.PoPs != nil {
		t.PoPs = nil
		for _, p := range ts.PoPs {
			t.PoPs = append(t.PoPs, PoP{Name: p.Name, Regions: p.Regions, Location: p.Location, UpstreamRTT: p.RTT})
		}
	}
	if s := ts.Shield; s != nil {
		if s.Enabled != nil && !*s.Enabled {
			t.Shield = nil
		} else {
			if t.Shield == nil {
				t.Shield = &Shield{}
			}
			if s.Location != nil {
				t.Shield.Location = s.Location
			}
			if s.RTT != 0 {
				t.Shield.OriginRTT = s.RTT
			}
			if s.Capacity > 0 {
				t.Shield.Capacity = int64(s.Capacity)
			}
		}
	}
	if o := ts.Origin; o != nil {
		if o.Location != nil {
			t.Origin.Location = o.Location
		}
		if o.Time != 0 {
			t.Origin.ServiceTime = o.Time
		}
		t.Origin.Outages = append(t.Origin.Outages, o.Outages...)
	}
	if ts.ClientRTT != "" {
		r, err := ParseRTTRange(ts.ClientRTT)
		if err != nil {
			return fmt.Errorf("topology.client_rtt: %w", err)
		}
		t.ClientRTT = r
	}
	if c := ts.Cache; c != nil {
		if c.Capacity > 0 {
			t.Cache.Capacity = int64(c.Capacity)
		}
		if c.MaxObjectSize > 0 {
			t.Cache.MaxObjectSize = int64(c.MaxObjectSize)
		}
		if c.Eviction != "" {
			t.Cache.Eviction = c.Eviction
		}
		if c.SoftPurgeGrace != nil {
			t.Cache.SoftPurgeGrace = *c.SoftPurgeGrace
		}
		if c.StaleIfError != nil {
			t.Cache.StaleIfError = *c.StaleIfError
		}
	}
	return nil
}

// ParseRTTRange reads a round trip or a range of them: "15ms",
// "10ms-20ms".
func ParseRTTRange(s string) (RTTRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return RTTRange{}, fmt.Errorf("%q: want a duration such as 15ms or a range such as 10ms-20ms", s)
	}
	b := a
	if isRange {
		if b, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil || b < a {
			return RTTRange{}, fmt.Errorf("%q: want a range such as 10ms-20ms", s)
		}
	}
	return RTTRange{a, b}, nil
}

// LoadFile reads a simulation file strictly: an unknown key or a value of
// the wrong type is an error naming the file, line and key.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	var f File
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField()); err != nil {
		return nil, decodeError(path, err)
	}
	if f.Workload != nil {
		if err := f.Workload.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	for i, v := range f.Scenarios {
		if v.Name == "" {
			return nil, fmt.Errorf("%s: scenarios[%d]: want a name", path, i)
		}
	}
	return &f, nil
}

// decodeError rewrites a YAML error as "FILE:LINE:COL: message".
func decodeError(path string, err error) error {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		return fmt.Errorf("%s:%d:%d: %s", path, tk.Position.Line, tk.Position.Column, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", path, err)
}
