package hashing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
)

// This file handles the manifest of Angular's service worker, ngsw.json.
//
// ngsw-worker.js fetches ngsw.json (by that name, next to itself) and
// caches the files its "assetGroups" list by URL ("urls"). Its
// "hashTable" maps the URL of each of those files to the SHA-1 of its
// bytes: the worker checks every file it fetches against it (the hex
// SHA-1 of the response body) and, on a mismatch, fetches it again with
// a cache-busting query; a second mismatch is a critical error that fails
// the installation of that version of the app, so the worker never
// serves it (and an existing one degrades to the network).
//
// A fingerprinted site must keep ngsw.json true. Its URLs (the group
// "urls", the hashTable keys and "index") are references fingerprint
// rewrites like any other, so the files they name may be renamed; they
// are late references (see ref.late), filled in once every file is
// written. Then each hashTable value of a file whose bytes fingerprint
// changed (an index.html naming a renamed icon, a web app manifest whose
// icons were renamed) is replaced by the SHA-1 of the bytes written,
// which is what the worker computes. The values of files written as they
// are stay as the generator wrote them. ngsw.json itself keeps its name
// (the worker asks for it by name) and is served revalidated.

// ngswKind says whether a JSON document is an Angular service worker
// manifest: an object with "configVersion" and "hashTable" members.
func isNgswManifest(strs []jsonString) bool {
	var version, table bool
	for _, s := range strs {
		if s.key && len(s.path) == 0 {
			switch s.val {
			case "configVersion":
				version = true
			case "hashTable":
				table = true
			}
		}
	}
	return version && table
}

// errNotNgsw: a file named ngsw.json is something else.
var errNotNgsw = errors.New("not an Angular service worker manifest")

// ngswEntry is one member of an ngsw.json hashTable.
type ngswEntry struct {
	key   jsonString // the URL
	value jsonString // its SHA-1, hex
}

// ngswParse returns the URL references of an Angular service worker
// manifest served at doc (every "urls" entry of an asset group, every
// hashTable key and "index", all late) and its hashTable.
func ngswParse(src []byte, doc *url.URL) ([]ref, []ngswEntry, error) {
	strs, err := jsonTokens(src, true)
	if err != nil {
		return nil, nil, err
	}
	if !isNgswManifest(strs) {
		return nil, nil, errNotNgsw
	}
	var (
		refs    []ref
		entries []ngswEntry
	)
	for i, s := range strs {
		var r ref
		switch {
		case !s.key && len(s.path) == 1 && s.path[0] == "index":
			r = jsonRef(src, s, doc, refLink)
		case !s.key && len(s.path) == 4 && s.path[0] == "assetGroups" && s.path[2] == "urls":
			r = jsonRef(src, s, doc, refResource)
		case s.key && len(s.path) == 1 && s.path[0] == "hashTable":
			if i+1 >= len(strs) || strs[i+1].key || len(strs[i+1].path) != 2 {
				return nil, nil, fmt.Errorf("hashTable: the value of %q is not a string", s.val)
			}
			entries = append(entries, ngswEntry{key: s, value: strs[i+1]})
			r = jsonRef(src, s, doc, refResource)
		default:
			continue
		}
		r.late = true
		refs = append(refs, r)
	}
	return refs, entries, nil
}

// reasonNgsw is why ngsw.json keeps its name.
const reasonNgsw = "the manifest of Angular's service worker, which ngsw-worker.js fetches by this name (its URLs and hashes are rewritten to match the output)"

// NgswReport says what a run did to an Angular service worker manifest.
type NgswReport struct {
	// Path is the manifest's logical path (ngsw.json).
	Path string `json:"path"`
	// Listed counts the files its hashTable lists.
	Listed int `json:"listed"`
	// Renamed counts those whose URL it now names by their new names.
	Renamed int `json:"renamed"`
	// Rehashed counts those whose hash it now gives for the bytes
	// fingerprint wrote (their references were rewritten).
	Rehashed int `json:"rehashed"`
}

func (r NgswReport) String() string {
	return fmt.Sprintf("%s (Angular service worker): %d cached files listed; %d renamed and %d rewritten files given their new URLs and SHA-1 hashes, which ngsw-worker.js checks",
		r.Path, r.Listed, r.Renamed, r.Rehashed)
}

// markNgsw pins the Angular service worker manifests and asks for the
// SHA-1 of every file they list (see writeBytes).
func (b *builder) markNgsw() {
	for _, n := range b.nodes {
		if n.kind != kindNgsw || len(n.links) == 0 {
			continue
		}
		n.pin(reasonNgsw)
		for _, l := range n.links {
			l.target.wantSHA1 = true
		}
	}
}

// ngswReports says what the build did to each Angular service worker
// manifest, once every file is named and written.
func (b *builder) ngswReports() ([]NgswReport, error) {
	var out []NgswReport
	for _, n := range b.nodes {
		if n.kind != kindNgsw || len(n.links) == 0 {
			continue
		}
		data, err := fs.ReadFile(b.src, n.logical)
		if err != nil {
			return nil, b.fileError(n, err)
		}
		_, entries, err := ngswParse(data, b.site.docURL(n.logical))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", displayPath(b.env.label, n.logical), err)
		}
		r := NgswReport{Path: n.logical, Listed: len(entries)}
		for _, e := range entries {
			target, res := b.site.resolve(b.site.docURL(n.logical), e.key.val)
			if res != resFound {
				continue
			}
			t := b.byPath[target]
			if t.out != target {
				r.Renamed++
			}
			if t.rewritten {
				r.Rehashed++
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// finishNgsw writes the Angular service worker manifests, once every
// other file is written.
func (b *builder) finishNgsw(ctx context.Context) error {
	for _, n := range b.nodes {
		if n.kind != kindNgsw || !n.hasLate {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := fs.ReadFile(b.src, n.logical)
		if err != nil {
			return b.fileError(n, err)
		}
		refs, entries, err := ngswParse(data, b.site.docURL(n.logical))
		if err != nil {
			return fmt.Errorf("%s: %w", displayPath(b.env.label, n.logical), err)
		}
		content, _, _ := b.rewrite(n, data, refs, nil, true)
		values := entries
		if !bytes.Equal(content, data) {
			// The URLs were rewritten: find the values again in the new
			// text (same members, same order).
			refs2, entries2, err := ngswParse(content, b.site.docURL(n.logical))
			if err != nil || len(entries2) != len(entries) || len(refs2) != len(refs) {
				return fmt.Errorf("%s: rewriting its URLs made it unreadable (%v)", displayPath(b.env.label, n.logical), err)
			}
			values = entries2
		}
		var edits []edit
		for i, e := range entries {
			target, res := b.site.resolve(b.site.docURL(n.logical), e.key.val)
			if res != resFound {
				continue // reported as missing
			}
			t := b.byPath[target]
			if !t.rewritten {
				continue // the generator's bytes and hash
			}
			if t.sha1 == "" {
				return fmt.Errorf("%s: no SHA-1 of %s, which it lists (hashTable entry %d)", displayPath(b.env.label, n.logical), t.logical, i+1)
			}
			if v := values[i].value; v.val != t.sha1 {
				edits = append(edits, edit{v.start, v.end, quoteJSON(t.sha1)})
			}
		}
		content = applyEdits(content, edits)
		n.rewritten = !bytes.Equal(content, data)
		n.reused = false
		if err := b.writeBytes(n, content); err != nil {
			return err
		}
	}
	return nil
}

// ngswName reports whether a logical path is named like an Angular
// service worker manifest.
func ngswName(logical string) bool {
	return logical == "ngsw.json" || strings.HasSuffix(logical, "/ngsw.json")
}
