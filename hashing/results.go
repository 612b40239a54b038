package hashing

import "bytes"

// manifestKeys returns the logical path each node is listed under: its
// path in the source, except that a file found already fingerprinted (a
// previous run's output) is listed under its name without the hash, so
// that fingerprinting an output again writes the same manifest.
func (b *builder) manifestKeys() map[*node]string {
	keys := make(map[*node]string, len(b.nodes))
	used := make(map[string]bool, len(b.nodes))
	for _, n := range b.nodes {
		used[n.logical] = true
	}
	for _, n := range b.nodes {
		keys[n] = n.logical
		if !n.selfNamed || n.out != n.logical {
			continue
		}
		if plain, _, ok := ParseFingerprint(n.logical); ok && !used[plain] {
			keys[n] = plain
			used[plain] = true
		}
	}
	return keys
}

// manifest describes the outputs.
func (b *builder) manifest() *Manifest {
	m := &Manifest{Version: ManifestVersion, Algorithm: "sha256", Files: make(map[string]Entry, len(b.nodes))}
	keys := b.manifestKeys()
	for _, n := range b.nodes {
		cc, ct, hdr, tags := headersFor(b.o.rules, n.logical, n.fingerprinted)
		m.Files[keys[n]] = Entry{
			Path:          n.out,
			Fingerprinted: n.fingerprinted,
			SHA256:        n.sha256,
			Integrity:     n.integrity,
			Size:          n.outSize,
			ContentType:   ct,
			CacheControl:  cc,
			Headers:       hdr,
			Tags:          tags,
			Encodings:     n.encodings,
		}
	}
	return m
}

func (b *builder) writeManifests(m *Manifest) error {
	files, err := b.manifestFiles(m)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := b.writeFile(f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

type namedData struct {
	name string
	data []byte
}

// manifestFiles encodes the manifest and the Vite manifest (if any).
func (b *builder) manifestFiles(m *Manifest) ([]namedData, error) {
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, err
	}
	files := []namedData{{b.o.manifest, buf.Bytes()}}
	if b.o.vite != "" {
		vite, err := b.viteManifest().encode()
		if err != nil {
			return nil, err
		}
		files = append(files, namedData{b.o.vite, vite})
	}
	return files, nil
}

func (b *builder) writeFile(name string, data []byte) error {
	return writeOutput(b.out, name, data)
}

func (b *builder) stats() Stats {
	var s Stats
	for _, n := range b.nodes {
		s.Files++
		if n.fingerprinted {
			s.Fingerprinted++
		}
		if n.entry || n.pinned != "" {
			s.Kept++
		}
		if n.rewritten {
			s.Rewritten++
		}
		if n.reused {
			s.Reused++
		}
		s.Bytes += n.outSize
		for enc, e := range n.encodings {
			if s.Encoded == nil {
				s.Encoded = make(map[string]EncodedStats)
			}
			es := s.Encoded[enc]
			es.Files++
			es.Bytes += e.Size
			s.Encoded[enc] = es
		}
	}
	return s
}
