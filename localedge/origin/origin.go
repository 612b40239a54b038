// Package origin serves a folder as a CDN origin: the directory origin
// store of contracts.md §5, or any build folder.
//
// A Handler answers GET and HEAD with a strong content-hash ETag,
// Last-Modified, conditional requests (304), ranges, the Content-Type of
// hashing.ContentType, and the Cache-Control, tags and extra headers that
// the folder's metadata index (.cdnctl/objects.json) or fingerprint manifest
// (cdnctl-manifest.json) give the file. Precompressed siblings
// ("app.css.br", ".zst", ".gz") are chosen by Accept-Encoding. Every path is
// resolved inside the folder with os.Root, so neither "..", encoded
// traversal nor a symlink can leave it, and the state folder .cdnctl/ is
// never served. Dotfiles (package dotfile: ".env", ".git/config", anything
// under a hidden folder but "/.well-known/") are answered 404 unless
// Options.AllowDotfiles names them, and so is a file's path with a
// trailing slash ("/index.html/"), as nginx and Apache answer.
package origin

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
)

// DefaultCacheControl is served for files that neither the metadata index
// nor the manifest describe.
const DefaultCacheControl = "public, max-age=60"

// Options configure a Handler. The zero value is ready to use.
type Options struct {
	// DefaultCacheControl is the Cache-Control of files without metadata;
	// "" means DefaultCacheControl.
	DefaultCacheControl string
	// ManifestName is the fingerprint manifest's path relative to the
	// folder; "" means hashing.DefaultManifestName.
	ManifestName string
	// Logger receives warnings about unreadable metadata and I/O errors;
	// nil discards them.
	Logger *slog.Logger
	// AllowDotfiles names the dotfiles served anyway (".htaccess",
	// "/.config/public/"); the others are not found.
	AllowDotfiles hashing.Globs
}

// Handler is an http.Handler serving one folder. Create it with New and
// Close it when done.
type Handler struct {
	root         *os.Root
	dir          string
	cacheControl string
	logger       *slog.Logger
	meta         metaSource
	etags        etagCache
	allowDot     hashing.Globs
}

// New opens dir as the origin's root.
func New(dir string, opts Options) (*Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	h := &Handler{
		root:         root,
		dir:          dir,
		cacheControl: opts.DefaultCacheControl,
		logger:       opts.Logger,
		allowDot:     opts.AllowDotfiles,
	}
	if h.cacheControl == "" {
		h.cacheControl = DefaultCacheControl
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	manifest := opts.ManifestName
	if manifest == "" {
		manifest = hashing.DefaultManifestName
	}
	h.meta = metaSource{root: root, manifestName: path.Clean(manifest), warn: h.logger.Warn}
	return h, nil
}

// Dir returns the folder being served.
func (h *Handler) Dir() string { return h.dir }

// Close releases the folder.
func (h *Handler) Close() error { return h.root.Close() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, status := cleanKey(r.URL.Path)
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if isStatePath(key) || dotfile.Denied(key, h.allowDot) {
		http.NotFound(w, r)
		return
	}
	md := h.meta.get()

	f, fi, err := h.open(md, key)
	if err == nil && !fi.IsDir() && namesFolder(r.URL.Path) {
		// "/index.html/" names a folder that does not exist (nginx and
		// Apache: 404), not the file: one file, one URL.
		f.Close()
		http.NotFound(w, r)
		return
	}
	if err == nil && fi.IsDir() {
		f.Close()
		// Directories are served by their index.html, at their
		// slash-terminated URL.
		if !strings.HasSuffix(r.URL.Path, "/") {
			target := "/" + key + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		key = path.Join(key, "index.html")
		f, fi, err = h.open(md, key)
	}
	if err != nil {
		h.serveOpenError(w, r, key, err)
		return
	}
	defer f.Close()
	if fi.IsDir() {
		http.NotFound(w, r)
		return
	}

	meta := md.lookup(key, h.cacheControl)
	wh := w.Header()

	// Choose the representation: a precompressed sibling when the client
	// accepts it, else the file itself.
	served, servedFI, servedKey, coding := f, fi, key, ""
	if meta.contentEncoding == "" {
		available := h.siblings(md, key, meta)
		if len(available) > 0 {
			wh.Add("Vary", "Accept-Encoding")
			c := negotiate(parseAcceptEncoding(r.Header.Values("Accept-Encoding")), codingsOf(available))
			if c != identity {
				vf, vfi, err := h.open(md, available[c])
				if err == nil && vfi.Mode().IsRegular() {
					defer vf.Close()
					served, servedFI, servedKey, coding = vf, vfi, available[c], c
				} else if err == nil {
					vf.Close()
				}
			}
		}
	} else {
		coding = meta.contentEncoding
	}

	etag, err := h.etag(md, servedKey, served, servedFI, meta, servedKey == key)
	if err != nil {
		h.logger.Warn("origin: read failed", "path", servedKey, "err", err)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}

	for k, v := range meta.extra {
		if settable(k) {
			wh.Set(k, v)
		}
	}
	wh.Set("Content-Type", meta.contentType)
	wh.Set("Cache-Control", meta.cacheControl)
	wh.Set("ETag", `"`+etag+`"`)
	wh.Set("X-Content-Type-Options", "nosniff")
	if coding != "" {
		wh.Set("Content-Encoding", coding)
	}
	if len(meta.tags) > 0 {
		wh.Set("Cache-Tag", strings.Join(meta.tags, ","))
		wh.Set("Surrogate-Key", strings.Join(meta.tags, " "))
	}
	if coding != "" {
		// ServeContent leaves Content-Length out when Content-Encoding is
		// set (for middleware that compresses on the fly); these bytes are
		// already encoded, so their length is known.
		w = &encodedLengthWriter{ResponseWriter: w, size: servedFI.Size()}
	}
	http.ServeContent(w, r, "", servedFI.ModTime(), served)
}

// encodedLengthWriter adds the Content-Length of a full 200 response.
type encodedLengthWriter struct {
	http.ResponseWriter
	size int64
}

func (w *encodedLengthWriter) WriteHeader(code int) {
	if code == http.StatusOK && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.FormatInt(w.size, 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *encodedLengthWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// etag returns the hex SHA-256 of the served file: the metadata's when it
// describes this exact file (same size), else computed and cached.
func (h *Handler) etag(md *metadata, key string, f *os.File, fi fs.FileInfo, base headers, isBase bool) (string, error) {
	m := base
	if !isBase {
		m = md.lookup(key, "")
	}
	if m.sha256 != "" && m.size == fi.Size() {
		return m.sha256, nil
	}
	return h.etags.sum(key, f, fi)
}

// siblings returns the precompressed variants of key that exist, by content
// coding. The manifest's list wins; without one, the folder is probed for
// key.br, key.zst and key.gz.
func (h *Handler) siblings(md *metadata, key string, meta headers) map[string]string {
	var out map[string]string
	for _, sc := range siblingCodings {
		var k string
		if meta.codings != nil {
			k = meta.codings[sc.coding]
		} else {
			k = key + sc.suffix
		}
		if k == "" || isStatePath(k) || dotfile.Denied(k, h.allowDot) {
			continue
		}
		fi, err := h.root.Stat(k)
		if err != nil || !fi.Mode().IsRegular() || md.isState(fi) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(siblingCodings))
		}
		out[sc.coding] = k
	}
	return out
}

func codingsOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	return out
}

// open opens key inside the root. Files of the state folder reached through
// another name (a symlink or hard link) are reported as not existing.
func (h *Handler) open(md *metadata, key string) (*os.File, fs.FileInfo, error) {
	name := key
	if name == "" {
		name = "."
	}
	f, err := h.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNotRegular
	}
	if md.isState(fi) {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

func (h *Handler) serveOpenError(w http.ResponseWriter, r *http.Request, key string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, errNotRegular):
		http.NotFound(w, r)
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "403 forbidden", http.StatusForbidden)
	default:
		// Includes paths that escape the root through a symlink: to the
		// client they do not exist.
		h.logger.Debug("origin: open failed", "path", key, "err", err)
		http.NotFound(w, r)
	}
}

// cleanKey turns a request path into a key relative to the root ("" for
// the root itself), or returns the status to answer: 400 for a path that is
// not absolute, contains "..", a backslash or a NUL byte (however encoded:
// r.URL.Path is already decoded).
func cleanKey(p string) (string, int) {
	if !strings.HasPrefix(p, "/") {
		return "", http.StatusBadRequest
	}
	if strings.ContainsAny(p, "\\\x00") {
		return "", http.StatusBadRequest
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return "", http.StatusBadRequest
		}
	}
	c := path.Clean(p)
	return strings.TrimPrefix(c, "/"), 0
}

// namesFolder reports whether a request path can only name a folder: it
// ends with "/" (or "/.", which path.Clean also removes).
func namesFolder(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
}

// isStatePath reports whether key lies in the state folder (compared
// without case, for case-insensitive file systems).
func isStatePath(key string) bool {
	first, _, _ := strings.Cut(key, "/")
	return strings.EqualFold(first, StateDir)
}

// settable reports whether a header from the metadata may be set: the ones
// that describe the bytes on the wire are the handler's.
func settable(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding",
		"Connection", "Etag", "Last-Modified", "Accept-Ranges", "Vary", "Date",
		"Keep-Alive", "Trailer", "Upgrade":
		return false
	}
	return true
}
