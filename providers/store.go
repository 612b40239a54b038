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

// StateStore reads and writes cdnctl's own small files under StateDir
// (name is relative to it: "history.json", "deploys/ID.json").
type StateStore interface {
	// ReadState returns an error wrapping ErrStateNotFound when name does
	// not exist.
	ReadState(ctx context.Context, name string) ([]byte, error)
	WriteState(ctx context.Context, name string, data []byte) error
	DeleteState(ctx context.Context, name string) error
}

// ErrStateNotFound is wrapped by ReadState when the file does not exist.
var ErrStateNotFound = errors.New("state file not found")

// Store is what push needs from an origin store. MetadataUpdater and
// Stater are optional and found by type assertion.
type Store interface {
	Lister
	Putter
	Deleter
	Committer
	StateStore
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
