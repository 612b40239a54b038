package hashing

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// order sets up the dependency counts. A cycle through JavaScript files
// (ES modules may import each other) is broken by pinning its scripts:
// they keep their names, so the files naming them need not wait for them.
// Any other reference cycle is an error.
func (b *builder) order() error {
	for {
		cycle := b.findCycle()
		if cycle == nil {
			break
		}
		chain := make([]string, len(cycle))
		for i, n := range cycle {
			chain[i] = n.logical
		}
		var scripts []*node
		for _, n := range cycle[:len(cycle)-1] {
			if n.kind == kindJS && !n.fixedName() {
				scripts = append(scripts, n)
			}
		}
		if len(scripts) == 0 {
			for i := range chain {
				chain[i] = displayPath(b.env.label, chain[i])
			}
			return fmt.Errorf("reference cycle: %s (a file's hash depends on the names of the files it references, so they cannot reference each other; keep one of them under its name with a keep glob)", strings.Join(chain, " → "))
		}
		reason := "in a JavaScript import cycle: " + strings.Join(chain, " → ")
		for _, n := range scripts {
			n.pin(reason)
		}
		for _, n := range b.nodes {
			n.setDeps()
		}
	}
	for _, n := range b.nodes {
		n.pending.Store(int32(len(n.deps)))
		for _, d := range n.deps {
			d.dependents = append(d.dependents, n)
		}
	}
	return nil
}

// findCycle returns a cycle of dependencies (its first node repeated at
// the end), or nil when there is none.
func (b *builder) findCycle() []*node {
	// Kahn's algorithm, to find what is left in cycles; nodes by their
	// index in b.nodes, the dependents of each in one array.
	left := make([]int, len(b.nodes))
	first := make([]int32, len(b.nodes)+1) // dependents of i: all[first[i]:first[i+1]]
	for _, n := range b.nodes {
		left[n.idx] = len(n.deps)
		for _, d := range n.deps {
			first[d.idx+1]++
		}
	}
	for i := range b.nodes {
		first[i+1] += first[i]
	}
	all := make([]int32, first[len(b.nodes)])
	fill := slices.Clone(first[:len(b.nodes)])
	var queue []int32
	for _, n := range b.nodes {
		for _, d := range n.deps {
			all[fill[d.idx]] = int32(n.idx)
			fill[d.idx]++
		}
		if len(n.deps) == 0 {
			queue = append(queue, int32(n.idx))
		}
	}
	done := 0
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		done++
		for _, d := range all[first[i]:first[i+1]] {
			left[d]--
			if left[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if done == len(b.nodes) {
		return nil
	}
	// Walk from the first node still waiting until a node repeats.
	var start *node
	for _, n := range b.nodes {
		if left[n.idx] > 0 {
			start = n
			break
		}
	}
	var chain []*node
	seenAt := map[*node]int{}
	for n := start; ; {
		if i, ok := seenAt[n]; ok {
			return append(chain[i:], n)
		}
		seenAt[n] = len(chain)
		chain = append(chain, n)
		var next *node
		for _, d := range n.deps {
			if left[d.idx] > 0 {
				next = d
				break
			}
		}
		n = next
	}
}

// runGraph processes every node once all the nodes it depends on are done.
func (b *builder) runGraph(ctx context.Context) error {
	if len(b.nodes) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	ready := make(chan *node, len(b.nodes))
	var remaining atomic.Int64
	remaining.Store(int64(len(b.nodes)))
	for _, n := range interleaveFolders(b.nodes) {
		if len(n.deps) == 0 {
			ready <- n
		}
	}
	for range b.o.workers {
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case n, ok := <-ready:
					if !ok {
						return nil
					}
					if err := b.process(ctx, n); err != nil {
						return err
					}
					b.progress.done(n.size)
					for _, d := range n.dependents {
						if d.pending.Add(-1) == 0 {
							ready <- d
						}
					}
					if remaining.Add(-1) == 0 {
						close(ready)
					}
				}
			}
		})
	}
	return g.Wait()
}

// claim registers an output name; two files wanting the same name is an
// error naming both.
func (b *builder) claim(name, logical string) error {
	b.claimMu.Lock()
	defer b.claimMu.Unlock()
	if prev, ok := b.claims[name]; ok && prev != logical {
		a, c := prev, logical
		if c < a && !strings.HasPrefix(a, "the ") {
			a, c = c, a
		}
		if strings.HasPrefix(a, "the ") {
			return fmt.Errorf("%s would be written as %s, the path of %s", displayPath(b.env.label, c), name, a)
		}
		return fmt.Errorf("%s and %s would both be written as %s; rename one of them", displayPath(b.env.label, a), displayPath(b.env.label, c), name)
	}
	b.claims[name] = logical
	return nil
}

// interleaveFolders returns the nodes in an order that takes one file of
// each folder in turn (the folders in their order, the files of each in
// theirs), so that the workers, which take files in that order, create
// their outputs in different folders: creating a file locks its folder,
// and on ext4 the inode allocation it waits for can take a fraction of a
// millisecond (a file system without a journal skips every inode freed
// in the last hours), so workers writing into one folder would take
// turns.
func interleaveFolders(nodes []*node) []*node {
	var (
		order  []string
		groups = map[string][]*node{}
	)
	for _, n := range nodes {
		dir := path.Dir(n.logical)
		if _, ok := groups[dir]; !ok {
			order = append(order, dir)
		}
		groups[dir] = append(groups[dir], n)
	}
	if len(order) == 1 {
		return nodes
	}
	out := make([]*node, 0, len(nodes))
	for len(order) > 0 {
		left := order[:0]
		for _, dir := range order {
			g := groups[dir]
			out = append(out, g[0])
			if len(g) > 1 {
				groups[dir] = g[1:]
				left = append(left, dir)
			}
		}
		order = left
	}
	return out
}

// inParallel calls f(i) for every i in [0, n), split in consecutive
// ranges among at most workers goroutines, and waits for them.
func inParallel(n, workers int, f func(i int)) {
	workers = max(workers, 1)
	per := max((n+workers-1)/workers, 1)
	var wg sync.WaitGroup
	for from := 0; from < n; from += per {
		wg.Go(func() {
			for i := from; i < min(from+per, n); i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}
