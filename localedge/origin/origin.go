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
//
// It behaves as the static hosts do (Cloudflare Pages, Netlify): clean URLs
// with one trailing-slash policy (HTMLHandling: /about serves about.html,
// other spellings redirect to the canonical one), the nearest 404.html for
// a missing path or a single-page-application fallback (NotFoundHandling),
// and the site's _redirects and _headers files (package siterules), which
// are themselves never served.
package origin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siterules"
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

	// HTMLHandling is the clean-URL and trailing-slash policy; ""
	// means AutoTrailingSlash.
	HTMLHandling HTMLHandling
	// NotFound says what a path that names no file gets; "" means
	// NotFoundPage.
	NotFound NotFoundHandling
	// IgnoreRedirectsFile and IgnoreHeadersFile leave _redirects and
	// _headers unread (they are never served either way).
	IgnoreRedirectsFile, IgnoreHeadersFile bool
	// RedirectStatus is the status of the _redirects rules that give
	// none: 0 means siterules.DefaultStatus (302, Cloudflare Pages';
	// Netlify's is 301).
	RedirectStatus int
	// ForceRedirects applies every _redirects rule even where a file
	// answers the path, as Cloudflare Pages does; by default a rule
	// applies there only when marked "!" (Netlify's shadowing), so that
	// "/* /index.html 200" leaves the site's files alone.
	ForceRedirects bool
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
	rules        rulesSource

	htmlHandling     HTMLHandling
	notFoundHandling NotFoundHandling
	redirectStatus   int
	forceRedirects   bool
}

// New opens dir as the origin's root. An invalid option, or a _redirects
// or _headers file that does not parse, is an error naming the line.
func New(dir string, opts Options) (*Handler, error) {
	htmlHandling, err := ParseHTMLHandling(string(opts.HTMLHandling))
	if err != nil {
		return nil, fmt.Errorf("origin: HTML handling %w", err)
	}
	notFound, err := ParseNotFoundHandling(string(opts.NotFound))
	if err != nil {
		return nil, fmt.Errorf("origin: not-found handling %w", err)
	}
	redirectStatus := opts.RedirectStatus
	switch redirectStatus {
	case 0:
		redirectStatus = siterules.DefaultStatus
	case 301, 302, 303, 307, 308:
	default:
		return nil, fmt.Errorf("origin: default redirect status %d: want 301, 302, 303, 307 or 308", redirectStatus)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	h := &Handler{
		root:             root,
		dir:              dir,
		cacheControl:     opts.DefaultCacheControl,
		logger:           opts.Logger,
		allowDot:         opts.AllowDotfiles,
		htmlHandling:     htmlHandling,
		notFoundHandling: notFound,
		redirectStatus:   redirectStatus,
		forceRedirects:   opts.ForceRedirects,
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
	h.rules = rulesSource{root: root, readRedirects: !opts.IgnoreRedirectsFile, readHeads: !opts.IgnoreHeadersFile, warn: h.logger.Warn}
	if err := h.rules.load(); err != nil {
		root.Close()
		return nil, fmt.Errorf("origin: %s: %w", dir, err)
	}
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
	req := &request{
		w: w, r: r, key: key, slash: namesFolder(r.URL.Path),
		host:  requestHost(r),
		md:    h.meta.get(),
		rules: h.rules.get(),
	}
	req.path = urlPath{key, req.slash || key == ""}.String()
	if req.rules.headers != nil {
		// _headers rules apply to every answer, just before its header
		// is written.
		req.w = &headerRulesWriter{ResponseWriter: w, rules: req.rules.headers, host: req.host, path: req.path}
	}
	if h.hidden(key) {
		h.notFound(req)
		return
	}
	if m, ok := req.rules.redirects.Match(req.host, req.path, r.URL.Query()); ok {
		// A rule applies when forced; otherwise only where no file
		// answers the path (Netlify's shadowing).
		if m.Rule.Force || h.forceRedirects || h.route(req.md, key, req.slash).kind == routeNotFound {
			h.applyRedirect(req, m)
			return
		}
	}
	switch rt := h.route(req.md, key, req.slash); rt.kind {
	case routeFile:
		h.serveFile(req, rt.key)
	case routeRedirect:
		redirect(req, escapePath(rt.location)+query(r), rt.status)
	default:
		h.notFound(req)
	}
}

// request is one request being answered.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	key   string // cleanKey of the path
	slash bool   // the path ends with "/"
	path  string // the cleaned path ("/" + key, with its slash)
	host  string // lower case, without port
	md    *metadata
	rules *siteRules
	// fellBack is set once notFound has chosen a fallback page, so that
	// a page that vanishes meanwhile ends in a plain 404, not a loop.
	fellBack bool
}

// hidden reports whether key is never served: the state folder, a dotfile
// the allow-list does not name, or a rules file.
func (h *Handler) hidden(key string) bool {
	return isStatePath(key) || dotfile.Denied(key, h.allowDot) || isRulesFile(key)
}

// route resolves a path with the folder as it is now.
func (h *Handler) route(md *metadata, key string, slash bool) route {
	return resolve(key, slash, h.htmlHandling, h.stat(md))
}

// stat returns what a key names in the folder, hidden keys being absent.
func (h *Handler) stat(md *metadata) func(string) entryKind {
	return func(k string) entryKind {
		if h.hidden(k) {
			return entryNone
		}
		name := k
		if name == "" {
			name = "."
		}
		fi, err := h.root.Stat(name)
		switch {
		case err != nil:
			return entryNone
		case fi.IsDir():
			return entryDir
		case fi.Mode().IsRegular() && !md.isState(fi):
			return entryFile
		}
		return entryNone
	}
}

// applyRedirect answers with a _redirects rule: a redirect, or for a 200
// rewrite the file its target names.
func (h *Handler) applyRedirect(req *request, m siterules.Match) {
	status := m.Rule.Status
	if status == 0 {
		status = h.redirectStatus
	}
	if status != http.StatusOK {
		redirect(req, m.Location(req.r.URL.RawQuery), status)
		return
	}
	target, ok := m.RewritePath()
	if !ok {
		h.notFound(req)
		return
	}
	key, bad := cleanKey(target)
	if bad != 0 || h.hidden(key) {
		// A target in the state folder, a dotfile or a rules file is not
		// served, whatever the rule says.
		h.notFound(req)
		return
	}
	k := resolveRewrite(key, namesFolder(target), h.htmlHandling, h.stat(req.md))
	if k == "" {
		h.notFound(req)
		return
	}
	h.serveFile(req, k)
}

// redirect answers with a redirect to location (a URL or an escaped path
// and query).
func redirect(req *request, location string, status int) {
	http.Redirect(req.w, req.r, location, status)
}

func query(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// escapePath escapes a decoded path for a Location.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// requestHost is the request's host, lower case, without port.
func requestHost(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// serveFile answers with the file key (a regular file that resolve
// found): its metadata, a precompressed sibling when the client accepts
// one, validators, conditional requests and ranges.
func (h *Handler) serveFile(req *request, key string) {
	w, r, md := req.w, req.r, req.md
	f, fi, err := h.open(md, key)
	if err != nil {
		h.serveOpenError(req, key, err)
		return
	}
	defer f.Close()
	if fi.IsDir() {
		h.notFound(req)
		return
	}

	meta := md.lookup(key, h.cacheControl)
	wh := w.Header()

	// Choose the representation: a precompressed sibling when the client
	// accepts it, else the file itself.
	served, servedFI, servedKey, coding := h.negotiate(req, key, meta, f, fi)
	if served != f {
		defer served.Close()
	}

	etag, err := h.etag(md, servedKey, served, servedFI, meta, servedKey == key)
	if err != nil {
		h.logger.Warn("origin: read failed", "path", servedKey, "err", err)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}

	setMetaHeaders(wh, meta, coding)
	wh.Set("Cache-Control", meta.cacheControl)
	wh.Set("ETag", `"`+etag+`"`)
	if coding != "" {
		// ServeContent leaves Content-Length out when Content-Encoding is
		// set (for middleware that compresses on the fly); these bytes are
		// already encoded, so their length is known.
		w = &encodedLengthWriter{ResponseWriter: w, size: servedFI.Size()}
	}
	http.ServeContent(w, r, "", servedFI.ModTime(), served)
}

// negotiate picks the representation of key to send: a precompressed
// sibling the client accepts (its file, stat, key and content coding), or
// the file itself (with the coding the index stores it in, if any).
func (h *Handler) negotiate(req *request, key string, meta headers, f *os.File, fi fs.FileInfo) (*os.File, fs.FileInfo, string, string) {
	if meta.contentEncoding != "" {
		return f, fi, key, meta.contentEncoding
	}
	available := h.siblings(req.md, key, meta)
	if len(available) == 0 {
		return f, fi, key, ""
	}
	req.w.Header().Add("Vary", "Accept-Encoding")
	c := negotiate(parseAcceptEncoding(req.r.Header.Values("Accept-Encoding")), codingsOf(available))
	if c == identity {
		return f, fi, key, ""
	}
	vf, vfi, err := h.open(req.md, available[c])
	if err != nil {
		return f, fi, key, ""
	}
	if !vfi.Mode().IsRegular() {
		vf.Close()
		return f, fi, key, ""
	}
	return vf, vfi, available[c], c
}

// setMetaHeaders sets what the metadata says of a file, for the file and
// for an error page made of it.
func setMetaHeaders(wh http.Header, meta headers, coding string) {
	for k, v := range meta.extra {
		if settable(k) {
			wh.Set(k, v)
		}
	}
	wh.Set("Content-Type", meta.contentType)
	wh.Set("X-Content-Type-Options", "nosniff")
	if coding != "" {
		wh.Set("Content-Encoding", coding)
	}
	if len(meta.tags) > 0 {
		wh.Set("Cache-Tag", strings.Join(meta.tags, ","))
		wh.Set("Surrogate-Key", strings.Join(meta.tags, " "))
	}
}

// notFound answers a path that names no file, as the NotFound option
// says.
func (h *Handler) notFound(req *request) {
	if req.fellBack {
		http.NotFound(req.w, req.r)
		return
	}
	req.fellBack = true
	switch h.notFoundHandling {
	case SinglePageApplication:
		stat := h.stat(req.md)
		for _, k := range []string{"200.html", "index.html"} {
			if stat(k) == entryFile {
				h.serveFile(req, k)
				return
			}
		}
	case NotFoundPage:
		if k := h.errorPage(req); k != "" {
			h.serveErrorPage(req, k, http.StatusNotFound)
			return
		}
	}
	http.NotFound(req.w, req.r)
}

// errorPage returns the nearest 404.html up the tree from the request's
// path ("" for none), skipping hidden folders.
func (h *Handler) errorPage(req *request) string {
	dir := req.key
	if !req.slash {
		dir = path.Dir(dir)
	}
	return nearestErrorPage(dir, h.stat(req.md))
}

// nearestErrorPage looks for 404.html in dir, then in each parent up to
// the root. It starts from the deepest part of dir that exists as a
// folder, so a path of many segments that name nothing costs no more
// stat calls than the folder's real depth allows.
func nearestErrorPage(dir string, stat func(string) entryKind) string {
	existing := ""
	if dir != "." && dir != "" {
		for seg := range strings.SplitSeq(dir, "/") {
			next := path.Join(existing, seg)
			if stat(next) != entryDir {
				break
			}
			existing = next
		}
	}
	for d := existing; ; d = path.Dir(d) {
		if d == "." {
			d = ""
		}
		if k := path.Join(d, "404.html"); stat(k) == entryFile {
			return k
		}
		if d == "" {
			return ""
		}
	}
}

// serveErrorPage answers status with the file key as its body: the file's
// type, tags and extra headers, a precompressed sibling when accepted, but
// no validators, ranges nor caching policy of its own, which describe the
// file at its own URL: an error answers conditional requests with the
// error (RFC 9110 §13.1), and a Last-Modified would make it heuristically
// fresh for a day in a shared cache (RFC 9111 §4.2.2). The edges cache it
// only as a _headers rule for the path allows.
func (h *Handler) serveErrorPage(req *request, key string, status int) {
	f, fi, err := h.open(req.md, key)
	if err != nil {
		http.NotFound(req.w, req.r)
		return
	}
	defer f.Close()
	meta := req.md.lookup(key, "")
	served, servedFI, _, coding := h.negotiate(req, key, meta, f, fi)
	if served != f {
		defer served.Close()
	}
	wh := req.w.Header()
	setMetaHeaders(wh, meta, coding)
	wh.Set("Content-Length", strconv.FormatInt(servedFI.Size(), 10))
	req.w.WriteHeader(status)
	if req.r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(req.w, io.NewSectionReader(served, 0, servedFI.Size())); err != nil {
		h.logger.Debug("origin: error page not sent", "path", key, "err", err)
	}
}

// headerRulesWriter applies the _headers rules to a response just before
// its header is written.
type headerRulesWriter struct {
	http.ResponseWriter
	rules      *siterules.Headers
	host, path string
	done       bool
}

func (w *headerRulesWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		w.rules.Apply(w.Header(), w.host, w.path)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerRulesWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for file bodies.
func (w *headerRulesWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return io.Copy(w.ResponseWriter, r)
}

func (w *headerRulesWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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

func (h *Handler) serveOpenError(req *request, key string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, errNotRegular):
		h.notFound(req)
	case errors.Is(err, fs.ErrPermission):
		http.Error(req.w, "403 forbidden", http.StatusForbidden)
	default:
		// Includes paths that escape the root through a symlink: to the
		// client they do not exist.
		h.logger.Debug("origin: open failed", "path", key, "err", err)
		h.notFound(req)
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
