package hashing

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// order sets up the dependency counts and fails on a reference cycle.
func (b *builder) order() error {
	for _, n := range b.nodes {
		n.pending.Store(int32(len(n.deps)))
		for _, d := range n.deps {
			d.dependents = append(d.dependents, n)
		}
	}
	// Kahn's algorithm, to find what is left in cycles.
	left := make(map[*node]int, len(b.nodes))
	var queue []*node
	for _, n := range b.nodes {
		left[n] = len(n.deps)
		if len(n.deps) == 0 {
			queue = append(queue, n)
		}
	}
	done := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		done++
		for _, d := range n.dependents {
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
		if left[n] > 0 {
			start = n
			break
		}
	}
	var chain []string
	seenAt := map[*node]int{}
	for n := start; ; {
		if i, ok := seenAt[n]; ok {
			chain = append(chain[i:], n.logical)
			break
		}
		seenAt[n] = len(chain)
		chain = append(chain, n.logical)
		var next *node
		for _, d := range n.deps {
			if left[d] > 0 {
				next = d
				break
			}
		}
		n = next
	}
	for i := range chain {
		chain[i] = displayPath(b.env.label, chain[i])
	}
	return fmt.Errorf("reference cycle: %s (a file's hash depends on the names of the files it references, so they cannot reference each other; keep one of them under its name with a keep glob)", strings.Join(chain, " → "))
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
	for _, n := range b.nodes {
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
