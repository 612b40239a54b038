package providers

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
)

// StateDir is the folder, under a site's root, where cdnctl keeps its
// state when it lives with the site (the folder origin's default, and the
// legacy S3 location): stores never list it as objects and push never
// deletes or overwrites it with site files.
const StateDir = deploystate.Dir

// State file names, relative to the state's folder.
const (
	IndexName   = deploystate.IndexName   // the object index (ObjectIndex)
	HistoryName = deploystate.HistoryName // the deploy history (History)
	LockName    = deploystate.LockName    // the deploy lock
)

// Metadata is what a store keeps beside an object's body and serves as
// response headers (deploystate.Metadata).
type Metadata = deploystate.Metadata

// LocalFile is one object to be stored: its key in the store, its content
// hash and size, the headers it is served with, and how to read it.
type LocalFile struct {
	// Key is slash-separated, relative to the store's root, with no
	// leading slash ("css/app.3f9a1c0e2b.css").
	Key string `json:"key"`
	// Path is the file on disk the body comes from (for messages); it may
	// differ from Key when a precompressed body replaces the original.
	Path string `json:"path,omitempty"`
	// SHA256 is the lowercase hex SHA-256 of the body. Required.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Meta   Metadata
	// ModTime is the file's modification time, when it comes from a
	// file (zero otherwise). Change detection never uses it; push waits
	// for the clock to pass it before uploading (see Pusher.Apply).
	ModTime time.Time `json:"-"`
	// Fingerprinted is true when the key carries the content hash: the
	// object is immutable, uploaded first, and kept after it is no longer
	// referenced (see Retention).
	Fingerprinted bool `json:"fingerprinted"`
	// Open returns the body. It must be seekable so that stores can retry
	// and sign uploads.
	Open func() (io.ReadSeekCloser, error) `json:"-"`
	// MD5 returns the lowercase hex MD5 of the body. It is only called
	// when a remote object's hash is unknown and its ETag may be an MD5;
	// nil means compute it from Open.
	MD5 func() (string, error) `json:"-"`
}

// BodyMD5 returns the lowercase hex MD5 of f's body, computing it from
// Open when f.MD5 is nil.
func (f *LocalFile) BodyMD5() (string, error) {
	if f.MD5 != nil {
		return f.MD5()
	}
	if f.Open == nil {
		return "", fmt.Errorf("%s: no body to hash", f.Key)
	}
	return md5Of(f.Open)
}

func md5Of(open func() (io.ReadSeekCloser, error)) (string, error) {
	r, err := open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RemoteObject is an object as a store lists it.
type RemoteObject struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// ETag is the store's entity tag without quotes ("" if it has none).
	// On S3 it is the MD5 of the body for single-part uploads that are not
	// KMS-encrypted, and "<hex>-<parts>" for multipart ones.
	ETag string `json:"etag,omitempty"`
	// SHA256 is the body's hash as recorded by cdnctl when it wrote the
	// object; "" when unknown (written by another tool, or changed since).
	SHA256 string `json:"sha256,omitempty"`
	// Meta holds the object's headers when MetaKnown.
	Meta      Metadata `json:"meta"`
	MetaKnown bool     `json:"meta_known"`
	// MD5 is the body's lowercase hex MD5 when the store knows it other
	// than from the ETag: on S3, the "md5chksum" user metadata that rclone
	// (and cdnctl) write on multipart uploads, whose ETag is not an MD5.
	MD5 string `json:"md5,omitempty"`
	// LastModified is informational only: change detection never uses it.
	LastModified time.Time `json:"last_modified,omitzero"`
}

// bodyMD5 returns the body's MD5 as far as the store knows it: the ETag
// when it looks like a plain MD5 (a single-part upload), else MD5, else
// "".
func (o RemoteObject) bodyMD5() string {
	if e := strings.ToLower(strings.Trim(o.ETag, `"`)); IsMD5Hex(e) {
		return e
	}
	if m := strings.ToLower(o.MD5); IsMD5Hex(m) {
		return m
	}
	return ""
}

// IsMD5Hex reports whether s is 32 lowercase or uppercase hex digits.
func IsMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Lister lists every object under a store's root, except cdnctl's own
// state under StateDir. A store fills SHA256 and Meta from what it
// recorded itself (an index it can verify against the listing), so a
// no-change push needs no per-object request.
type Lister interface {
	List(ctx context.Context) ([]RemoteObject, error)
}

// Putter writes an object's body and metadata, verifying that the stored
// body has f.SHA256. It may be called concurrently.
type Putter interface {
	Put(ctx context.Context, f *LocalFile) error
}

// Deleter removes objects; keys that do not exist are not an error.
type Deleter interface {
	Delete(ctx context.Context, keys []string) error
}

// Committer persists what a store recorded about the objects written so
// far (its object index). Push calls it between upload groups and at the
// end; it is a no-op when nothing changed.
type Committer interface {
	Commit(ctx context.Context) error
}

// GroupCommitter is implemented by stores whose index is served as it is
// written (a folder the local origin serves headers from): push commits
// after every upload group, so each group is served with its headers
// before the next goes live. Other stores commit once, at the end (and
// when a push stops early).
type GroupCommitter interface {
	CommitEachGroup() bool
}

// MetadataUpdater replaces an object's metadata without sending its body
// again (S3 CopyObject onto itself). Stores that cannot do this are sent
// the whole object with Put.
type MetadataUpdater interface {
	UpdateMetadata(ctx context.Context, f *LocalFile) error
}

// Stater fetches one object's recorded hash and metadata (S3 HeadObject).
// Push uses it only for objects the listing could not describe, such as
// those uploaded by another tool.
type Stater interface {
	Stat(ctx context.Context, key string) (RemoteObject, error)
}

// FileChecker is implemented by stores that cannot hold some files'
// metadata as given (S3: a non-ASCII header value). Push checks every
// file before it plans, so a dry run reports the problem and a push fails
// before it changes anything.
type FileChecker interface {
	CheckFile(f *LocalFile) error
}

// TimeGranularity is implemented by stores whose objects' modification
// times are kept to the second (S3's LastModified): push then waits, at
// most a second, until the clock has passed the newest local file's
// modification time before uploading, so that no object looks older than
// its file to tools that compare times (`aws s3 sync`).
type TimeGranularity interface {
	TimeGranularity() time.Duration
}

// StateStore reads and writes cdnctl's own small files: the deploy state
// (docs/deploy.md#state). Names are relative to the state's folder
// ("history.json", "deploys/ID.json"); where that folder is — beside the
// site, under another prefix, in another bucket — is the store's
// business.
type StateStore interface {
	// ReadState returns an error wrapping ErrStateNotFound when name does
	// not exist.
	ReadState(ctx context.Context, name string) ([]byte, error)
	WriteState(ctx context.Context, name string, data []byte) error
	DeleteState(ctx context.Context, name string) error
}

// StateVersions writes state files only if nobody else did meanwhile:
// the deploy lock is created and taken over with them, and the history is
// rewritten with them, so two deploys can neither both hold the lock nor
// lose each other's record. On S3 they are conditional requests
// (If-None-Match: * and If-Match on the ETag); on a folder, an exclusive
// link and a compare-and-rename.
type StateVersions interface {
	// ReadStateVersion returns a file and its version, an opaque string
	// that changes with every write (an ETag, a hash); an error wrapping
	// ErrStateNotFound when it does not exist.
	ReadStateVersion(ctx context.Context, name string) (data []byte, version string, err error)
	// WriteStateIf writes name only if its version is still version, or,
	// with version "", only if it does not exist; otherwise it changes
	// nothing and returns an error wrapping ErrStateConflict. It returns
	// the new version.
	WriteStateIf(ctx context.Context, name string, data []byte, version string) (string, error)
	// DeleteStateIf deletes name only if its version is still version
	// (ErrStateConflict otherwise); a file already gone is not an error.
	DeleteStateIf(ctx context.Context, name, version string) error
}

// State is a store's deploy state: its files, conditional writes, a
// listing (to move it) and where it is.
type State interface {
	StateStore
	StateVersions
	// ListState returns the names of every state file, sorted.
	ListState(ctx context.Context) ([]string, error)
	// StateLocation says where the state is.
	StateLocation() StateLocation
}

// StateLocation says where a store keeps its state and who can read it.
type StateLocation struct {
	// URL names it: "s3://bucket/cdnctl-state/www",
	// "file:///srv/origin/.cdnctl".
	URL string `json:"url"`
	// Key is the state folder's key in the bucket or folder where the
	// site's objects are ("cdnctl-state/www"; ".cdnctl" beside a site at
	// the root), so that a CDN's origin path tells whether the CDN can
	// serve it; "" when the state is in another bucket or folder.
	Key string `json:"key,omitempty"`
	// InSite says the state lies under the site's own prefix: whatever
	// serves the site serves it too, unless it refuses /.cdnctl/.
	InSite bool `json:"in_site"`
	// HiddenByOrigin says the origin that serves the site never serves
	// it (cdnctl's folder origin refuses /.cdnctl/).
	HiddenByOrigin bool `json:"hidden_by_origin,omitempty"`
}

// FormerStates is implemented by stores whose state may still be where an
// earlier configuration or version kept it (the .cdnctl/ folder under an
// S3 site, the default location before origin.state was set):
// MigrateState moves it from there.
type FormerStates interface {
	FormerStates() []State
}

// ErrStateNotFound is wrapped by ReadState when the file does not exist.
var ErrStateNotFound = errors.New("state file not found")

// ErrStateConflict is wrapped by conditional writes when the file changed
// (or appeared) since it was read.
var ErrStateConflict = errors.New("state file changed by someone else")

// Store is what push needs from an origin store. MetadataUpdater and
// Stater are optional and found by type assertion.
type Store interface {
	Lister
	Putter
	Deleter
	Committer
	State
}

// ValidateKey checks that key can name an object: slash-separated,
// relative, with no empty, "." or ".." segment, and outside StateDir.
func ValidateKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("key %q: must be relative (no leading slash)", key)
	}
	if strings.ContainsRune(key, '\\') || strings.ContainsRune(key, 0) {
		return fmt.Errorf("key %q: contains a backslash or NUL", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("key %q: empty path segment", key)
		case ".", "..":
			return fmt.Errorf("key %q: %q segment", key, seg)
		}
	}
	if key == StateDir || strings.HasPrefix(key, StateDir+"/") {
		return fmt.Errorf("key %q: %s/ is reserved for cdnctl's state", key, StateDir)
	}
	return nil
}
