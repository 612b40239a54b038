package providers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
)

// Op is what a push does with one key.
type Op string

const (
	// OpUpload sends the body and metadata.
	OpUpload Op = "upload"
	// OpUpdate changes only the metadata (headers); the body stays.
	OpUpdate Op = "update"
	// OpKeep leaves an up-to-date object alone.
	OpKeep Op = "keep"
	// OpDelete removes an object no local file names.
	OpDelete Op = "delete"
	// OpRetain leaves such an object in place (retention, protection, or
	// the delete cap).
	OpRetain Op = "retain"
)

// Reason says why a change has its Op.
type Reason string

// Reasons for OpUpload.
const (
	ReasonNew            Reason = "new"             // no object at the key
	ReasonForce          Reason = "force"           // --force
	ReasonSizeChanged    Reason = "size-changed"    // sizes differ
	ReasonContentChanged Reason = "content-changed" // recorded SHA-256 differs
	ReasonETagChanged    Reason = "etag-changed"    // no recorded hash; the MD5 (ETag or md5chksum) differs
	ReasonUnverifiable   Reason = "unverifiable"    // no recorded hash, no MD5 (multipart ETag without md5chksum)
)

// Reasons for OpUpdate (the body is the same).
const (
	ReasonContentTypeChanged     Reason = "content-type-changed"
	ReasonCacheControlChanged    Reason = "cache-control-changed"
	ReasonContentEncodingChanged Reason = "content-encoding-changed"
	ReasonTagsChanged            Reason = "tags-changed"
	ReasonHeadersChanged         Reason = "headers-changed"
	// ReasonMetadataUnknown: the body matches by MD5 but the object was
	// not written by cdnctl, so its headers and hash are not known; the
	// update records them.
	ReasonMetadataUnknown Reason = "metadata-unknown"
)

// Reasons for OpKeep, OpDelete and OpRetain.
const (
	ReasonUnchanged  Reason = "unchanged"   // keep
	ReasonOrphan     Reason = "orphan"      // delete: not fingerprinted, no local file
	ReasonExpired    Reason = "expired"     // delete: fingerprinted, past retention
	ReasonRetention  Reason = "retention"   // retain: fingerprinted, within retention
	ReasonProtected  Reason = "protected"   // retain: under a protected prefix
	ReasonMaxDeletes Reason = "max-deletes" // retain: more deletes than allowed
)

// Group is an upload group. Groups are applied one after another, each
// only after the previous one completed, so that no visitor gets an entry
// point naming an asset that is not there yet.
type Group string

const (
	GroupAssets      Group = "assets"       // fingerprinted, immutable: first
	GroupOrdered     Group = "ordered"      // files matching Ordering.Order, in glob order
	GroupFiles       Group = "files"        // everything else
	GroupEntryPoints Group = "entry-points" // HTML, manifests: last
	GroupDeletes     Group = "deletes"      // deletions, after every upload
)

// DefaultEntryPoints returns the globs of files uploaded last: those that name
// other files. Angular's service worker manifest (ngsw.json) names every
// file it caches with its SHA-1: uploaded before them, a worker checking
// for updates would fail the new version.
func DefaultEntryPoints() []string {
	return []string{
		"*.html", "*.htm", "*.xhtml",
		"cdnctl-manifest.json", "manifest.json", "asset-manifest.json", "*.webmanifest",
		"sw.js", "service-worker.js", "ngsw.json", "sitemap*.xml",
	}
}

// DefaultMaxDeletes is the default cap on deletions per push.
const DefaultMaxDeletes = 256

// Ordering decides the upload group of each file: fingerprinted files
// first, then files matching Order (Order[0]'s before Order[1]'s…), then
// the rest, then EntryPoints.
type Ordering struct {
	Order       hashing.Globs
	EntryPoints hashing.Globs
}

// DefaultOrdering returns the ordering with DefaultEntryPoints.
func DefaultOrdering() Ordering {
	gs, _ := hashing.CompileGlobs(DefaultEntryPoints())
	return Ordering{EntryPoints: gs}
}

// stage returns the group of f and its position in the upload sequence.
func (o Ordering) stage(f *LocalFile) (Group, int) {
	if f.Fingerprinted {
		return GroupAssets, 0
	}
	key := logicalKey(f)
	if o.EntryPoints.Match(key) {
		return GroupEntryPoints, 2 + len(o.Order)
	}
	if i := o.Order.Index(key); i >= 0 {
		return GroupOrdered, 1 + i
	}
	return GroupFiles, 1 + len(o.Order)
}

// LogicalKey is the key of the file f encodes when f is a precompressed
// sibling ("index.html.br" → "index.html"), else f.Key: the URL clients
// request it under.
func LogicalKey(f *LocalFile) string { return logicalKey(f) }

// logicalKey strips the suffix of a precompressed sibling ("index.html.br"
// → "index.html") so it travels with the file it encodes.
func logicalKey(f *LocalFile) string {
	switch f.Meta.ContentEncoding {
	case "br":
		return strings.TrimSuffix(f.Key, ".br")
	case "gzip":
		return strings.TrimSuffix(f.Key, ".gz")
	case "zstd":
		return strings.TrimSuffix(f.Key, ".zst")
	}
	return f.Key
}

// PlanOptions tune ComputePlan.
type PlanOptions struct {
	// Force uploads every file again.
	Force bool
	// MaxDeletes caps deletions: when a plan would delete more, it deletes
	// nothing and retains them with ReasonMaxDeletes. Negative means no
	// cap; 0 means never delete.
	MaxDeletes int
	// Protected key prefixes are never deleted (a shared bucket).
	Protected []string
	Retention Retention
	Ordering  Ordering
}

// DefaultPlanOptions returns the options push uses by default.
func DefaultPlanOptions() PlanOptions {
	return PlanOptions{MaxDeletes: DefaultMaxDeletes, Retention: DefaultRetention(), Ordering: DefaultOrdering()}
}

// PlanInput is everything ComputePlan decides on.
type PlanInput struct {
	Local  []*LocalFile
	Remote []RemoteObject
	// History is the store's deploy history (nil or empty for a first
	// deploy).
	History *History
	Now     time.Time
	Options PlanOptions
}

// Change is one step of a Plan.
type Change struct {
	Op     Op     `json:"op"`
	Key    string `json:"key"`
	Reason Reason `json:"reason"`
	// Detail gives specifics: which headers changed, how long an asset
	// has been unreferenced.
	Detail string `json:"detail,omitempty"`
	Group  Group  `json:"group"`
	// Stage orders groups: every change of a stage completes before the
	// next stage starts.
	Stage int `json:"-"`
	// Size is the local file's size (the remote object's for deletes and
	// retains).
	Size int64 `json:"size"`
	// File is the local file for uploads, updates and keeps.
	File *LocalFile `json:"-"`
}

// Summary counts a plan's changes.
type Summary struct {
	Files       int   `json:"files"` // local files
	Bytes       int64 `json:"bytes"` // their total size
	Upload      int   `json:"upload"`
	UploadBytes int64 `json:"upload_bytes"`
	Update      int   `json:"update"`
	Keep        int   `json:"keep"`
	Delete      int   `json:"delete"`
	DeleteBytes int64 `json:"delete_bytes"`
	Retain      int   `json:"retain"`
}

// Plan is what a push will do, in order: uploads and updates group by
// group, then deletions. Keeps and retains are listed too (they explain
// why something is not touched).
type Plan struct {
	Changes []Change `json:"changes"`
	Summary Summary  `json:"summary"`
	// Record says whether applying the plan records a new deploy in the
	// history (false for a push that changes nothing).
	Record bool `json:"record"`
	// Seq is the deploy's number when Record is true.
	Seq           int      `json:"seq,omitempty"`
	ContentDigest string   `json:"content_digest"`
	Warnings      []string `json:"warnings,omitempty"`

	// History is the store's history as it will be after applying the
	// plan (without the new deploy record, which Apply adds).
	History *History `json:"-"`
	// HistoryChanged says whether History differs from what was read.
	HistoryChanged bool `json:"-"`
	// HistoryVersion is the version of the history file the plan was
	// computed from ("": none): Apply rewrites only that version.
	HistoryVersion string `json:"-"`
}

// Pending reports whether the plan changes anything in the store.
func (p *Plan) Pending() bool {
	return p.Summary.Upload+p.Summary.Update+p.Summary.Delete > 0
}

// ComputePlan decides, for every local file and remote object, what a push
// does and why. It reads local bodies only to compute an MD5 when a remote
// object's hash is unknown and its ETag may be one; otherwise it is a pure
// function of its input.
func ComputePlan(in PlanInput) (*Plan, error) {
	opts := in.Options
	hist := in.History
	if hist == nil {
		hist = NewHistory()
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}

	local := make(map[string]*LocalFile, len(in.Local))
	for _, f := range in.Local {
		if err := ValidateKey(f.Key); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		if prev, dup := local[f.Key]; dup {
			return nil, fmt.Errorf("plan: two files for key %q (%s and %s)", f.Key, prev.Path, f.Path)
		}
		if len(f.SHA256) != 64 {
			return nil, fmt.Errorf("plan: %s: missing SHA-256", f.Key)
		}
		local[f.Key] = f
	}
	remote := make(map[string]RemoteObject, len(in.Remote))
	for _, o := range in.Remote {
		remote[o.Key] = o
	}

	p := &Plan{ContentDigest: ContentDigest(in.Local)}
	for _, f := range in.Local {
		c, err := planFile(f, remote, opts)
		if err != nil {
			return nil, err
		}
		c.Group, c.Stage = opts.Ordering.stage(f)
		p.Changes = append(p.Changes, c)
	}

	// Orphans: remote objects no local file names.
	seq := hist.NextSeq()
	var orphans []RemoteObject
	for _, o := range in.Remote {
		if _, ok := local[o.Key]; !ok {
			orphans = append(orphans, o)
		}
	}
	var deletes []int                  // indexes into p.Changes
	orphanAssets := map[string]Asset{} // fingerprinted orphans' records
	for _, o := range orphans {
		c := Change{Key: o.Key, Size: o.Size, Group: GroupDeletes, Stage: 3 + len(opts.Ordering.Order)}
		switch {
		case hasAnyPrefix(o.Key, opts.Protected):
			c.Op, c.Reason = OpRetain, ReasonProtected
		case !remoteFingerprinted(o, hist):
			c.Op, c.Reason = OpDelete, ReasonOrphan
			if dotfile.Hidden(o.Key) {
				// Uploaded by hand, by another tool or an older cdnctl:
				// no longer published.
				c.Detail = "a dotfile: uploaded only when origin.allow_dotfiles (--allow-dotfile) names it"
			}
		default:
			a, known := hist.Assets[o.Key]
			if !known {
				// Never seen by a deploy: start its clock now, as if the
				// previous deploy had referenced it.
				a = Asset{LastDeploy: seq - 1}
			}
			if a.UnreferencedSince.IsZero() {
				a.UnreferencedSince = now
			}
			// Deploys that replaced the entry points since (complete
			// ones; interrupted attempts do not age assets), and this one.
			unrefDeploys := 1 + hist.CompletedAfter(a.LastDeploy)
			unrefFor := now.Sub(a.UnreferencedSince)
			r := opts.Retention
			if unrefDeploys >= r.Deploys && unrefFor >= r.Age {
				c.Op, c.Reason = OpDelete, ReasonExpired
			} else {
				c.Op, c.Reason = OpRetain, ReasonRetention
			}
			orphanAssets[o.Key] = a
			c.Detail = fmt.Sprintf("unreferenced for %d of %d deploys, %s of %s",
				unrefDeploys, r.Deploys, unrefFor.Truncate(time.Second), r.Age)
		}
		if c.Op == OpDelete {
			deletes = append(deletes, len(p.Changes))
		}
		p.Changes = append(p.Changes, c)
	}
	if opts.MaxDeletes >= 0 && len(deletes) > opts.MaxDeletes {
		for _, i := range deletes {
			c := &p.Changes[i]
			c.Detail = fmt.Sprintf("would be deleted (%s), but %d deletions exceed the limit of %d", c.Reason, len(deletes), opts.MaxDeletes)
			c.Op, c.Reason = OpRetain, ReasonMaxDeletes
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("skipping %d deletions: more than the limit of %d (raise --max-deletes, or -1 for no limit)", len(deletes), opts.MaxDeletes))
	}

	slices.SortStableFunc(p.Changes, func(a, b Change) int {
		if c := cmp.Compare(a.Stage, b.Stage); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	for _, c := range p.Changes {
		p.Summary.add(c)
	}
	for _, f := range in.Local {
		p.Summary.Files++
		p.Summary.Bytes += f.Size
	}

	last := hist.Last()
	p.Record = p.Pending() || last == nil || last.ContentDigest != p.ContentDigest || !last.Complete()
	refSeq := seq
	if p.Record {
		p.Seq = seq
	} else {
		refSeq = last.Seq
	}
	p.History, p.HistoryChanged = nextHistory(hist, in.Local, p.Changes, orphanAssets, refSeq)
	return p, nil
}

// planFile decides the change for one local file.
func planFile(f *LocalFile, remote map[string]RemoteObject, opts PlanOptions) (Change, error) {
	c := Change{Key: f.Key, Size: f.Size, File: f}
	o, exists := remote[f.Key]
	switch {
	case !exists:
		c.Op, c.Reason = OpUpload, ReasonNew
		return c, nil
	case opts.Force:
		c.Op, c.Reason = OpUpload, ReasonForce
		return c, nil
	case o.Size != f.Size:
		c.Op, c.Reason = OpUpload, ReasonSizeChanged
		c.Detail = fmt.Sprintf("%d → %d bytes", o.Size, f.Size)
		return c, nil
	}
	if o.SHA256 != "" {
		if !strings.EqualFold(o.SHA256, f.SHA256) {
			c.Op, c.Reason = OpUpload, ReasonContentChanged
			c.Detail = fmt.Sprintf("sha256 %.12s… → %.12s…", o.SHA256, f.SHA256)
			return c, nil
		}
	} else {
		// Not written by cdnctl (or changed since): fall back to the MD5
		// the store knows (a single-part ETag, or rclone's md5chksum).
		c.Op, c.Reason = OpUpdate, ReasonMetadataUnknown
		c.Detail = "body matches by MD5; recording hash and headers"
		if known := o.bodyMD5(); known != "" {
			sum, err := f.BodyMD5()
			if err != nil {
				return c, fmt.Errorf("plan: %s: md5: %w", f.Key, err)
			}
			if sum != known {
				c.Op, c.Reason = OpUpload, ReasonETagChanged
				c.Detail = fmt.Sprintf("md5 %.12s… → %.12s…", known, sum)
				return c, nil
			}
		} else {
			// A multipart ETag without md5chksum (aws s3 cp): compare it
			// with the local file's for the usual part sizes. A match
			// proves the same bytes; no match proves nothing (another part
			// size), so the body is sent again.
			part, err := matchMultipartETag(f, o.ETag)
			if err != nil {
				return c, fmt.Errorf("plan: %s: multipart etag: %w", f.Key, err)
			}
			if part == 0 {
				c.Op, c.Reason = OpUpload, ReasonUnverifiable
				switch _, parts, ok := parseMultipartETag(o.ETag); {
				case ok:
					c.Detail = fmt.Sprintf("no recorded hash; multipart ETag %q (%d parts) without md5chksum metadata matches none of the usual part sizes", o.ETag, parts)
				case o.ETag != "":
					c.Detail = fmt.Sprintf("no recorded hash; ETag %q is not an MD5 and there is no md5chksum metadata", o.ETag)
				default:
					c.Detail = "no recorded hash and no ETag"
				}
				return c, nil
			}
			c.Detail = fmt.Sprintf("body matches the multipart ETag (%d MiB parts); recording hash and headers", part>>20)
		}
		// Same body, but cdnctl has no record of it: an update records
		// the hash (and headers) so the next push needs no MD5.
		if o.MetaKnown {
			if d := o.Meta.Diff(f.Meta); len(d) > 0 {
				c.Reason = metadataReason(d[0])
				c.Detail = strings.Join(d, "; ")
			}
		}
		return c, nil
	}
	if !o.MetaKnown {
		c.Op, c.Reason = OpUpdate, ReasonMetadataUnknown
		c.Detail = "headers not recorded"
		return c, nil
	}
	if d := o.Meta.Diff(f.Meta); len(d) > 0 {
		c.Op = OpUpdate
		c.Reason = metadataReason(d[0])
		c.Detail = strings.Join(d, "; ")
		return c, nil
	}
	c.Op, c.Reason = OpKeep, ReasonUnchanged
	return c, nil
}

func metadataReason(diff string) Reason {
	field, _, _ := strings.Cut(diff, ":")
	switch field {
	case "content-type":
		return ReasonContentTypeChanged
	case "cache-control":
		return ReasonCacheControlChanged
	case "content-encoding":
		return ReasonContentEncodingChanged
	case "tags":
		return ReasonTagsChanged
	default:
		return ReasonHeadersChanged
	}
}

func (s *Summary) add(c Change) {
	switch c.Op {
	case OpUpload:
		s.Upload++
		s.UploadBytes += c.Size
	case OpUpdate:
		s.Update++
	case OpKeep:
		s.Keep++
	case OpDelete:
		s.Delete++
		s.DeleteBytes += c.Size
	case OpRetain:
		s.Retain++
	}
}

func hasAnyPrefix(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(key, strings.TrimPrefix(p, "/")) {
			return true
		}
	}
	return false
}

// remoteFingerprinted reports whether an orphan is an immutable asset that
// retention applies to: history knows it as one, its Cache-Control says
// immutable, or its name carries a hash.
func remoteFingerprinted(o RemoteObject, h *History) bool {
	if _, ok := h.Assets[o.Key]; ok {
		return true
	}
	if o.MetaKnown && strings.Contains(strings.ToLower(o.Meta.CacheControl), "immutable") {
		return true
	}
	return fingerprintedName(o.Key)
}

// nextHistory returns the history after the plan: referenced fingerprinted
// files marked as referenced by deploy refSeq, retained assets with their
// clocks, deleted or vanished ones dropped.
func nextHistory(h *History, local []*LocalFile, changes []Change, retained map[string]Asset, refSeq int) (*History, bool) {
	next := h.Clone()
	next.Assets = make(map[string]Asset, len(h.Assets))
	for _, f := range local {
		if f.Fingerprinted {
			next.Assets[f.Key] = Asset{LastDeploy: refSeq}
		}
	}
	for _, c := range changes {
		if a, ok := retained[c.Key]; ok && c.Op == OpRetain {
			next.Assets[c.Key] = a
		}
	}
	changed := len(next.Assets) != len(h.Assets)
	if !changed {
		for k, a := range next.Assets {
			if old, ok := h.Assets[k]; !ok || old.LastDeploy != a.LastDeploy || !old.UnreferencedSince.Equal(a.UnreferencedSince) {
				changed = true
				break
			}
		}
	}
	return next, changed
}
