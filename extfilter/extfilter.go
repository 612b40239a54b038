// Package extfilter tells quickly whether text may hold a file name with
// one of a set of extensions, before a costlier scan looks at every token
// of it: a name with an extension, written as is, holds "." and the
// extension.
package extfilter

import (
	"bytes"
	"strings"
)

// Set is a set of file name extensions. The zero value is empty.
type Set struct {
	exts  [][]byte
	first [256]bool // the first bytes of exts
}

// Add adds the extension of the file name name (what follows its last
// "."; case matters) and reports whether it has one.
func (s *Set) Add(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return false
	}
	s.AddExt(name[i+1:])
	return true
}

// AddExt adds the extension ext (without its ".", not empty).
func (s *Set) AddExt(ext string) {
	for _, e := range s.exts {
		if string(e) == ext {
			return
		}
	}
	s.exts = append(s.exts, []byte(ext))
	s.first[ext[0]] = true
}

// Len returns the number of extensions in the set.
func (s *Set) Len() int { return len(s.exts) }

// Holds reports whether text holds a "." followed by one of the
// extensions. When it does not, no name with one of them is written in
// text as is.
func (s *Set) Holds(text []byte) bool {
	for i := bytes.IndexByte(text, '.'); i >= 0; {
		rest := text[i+1:]
		if len(rest) > 0 && s.first[rest[0]] {
			for _, e := range s.exts {
				if bytes.HasPrefix(rest, e) {
					return true
				}
			}
		}
		j := bytes.IndexByte(rest, '.')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
