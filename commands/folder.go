package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkFolder is the one answer of deploy, push, fingerprint and verify to
// a site folder that is not there: "DIR: no such folder" (with the
// nearest folder's name when one looks like a typo of it) or "DIR: not a
// folder", exit 2 without the usage hint.
func checkFolder(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg := fmt.Sprintf("%s: no such folder", dir)
		if near := nearFolder(dir); near != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", near)
		}
		return &UsageError{Err: errors.New(msg), NoHint: true}
	case err != nil:
		return &UsageError{Err: fmt.Errorf("%s: %w", dir, errors.Unwrap(err)), NoHint: true}
	case !st.IsDir():
		return &UsageError{Err: fmt.Errorf("%s: not a folder", dir), NoHint: true}
	}
	return nil
}

// nearFolder returns the folder beside dir whose name is within two edits
// of dir's ("publc" → "public"), or "".
func nearFolder(dir string) string {
	parent, base := filepath.Split(filepath.Clean(dir))
	ents, err := os.ReadDir(orDot(parent))
	if err != nil {
		return ""
	}
	best, bestD := "", 3
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if d := editDistance(strings.ToLower(base), strings.ToLower(e.Name())); d < bestD {
			best, bestD = e.Name(), d
		}
	}
	if best == "" {
		return ""
	}
	return filepath.Join(parent, best)
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
