package geodns

import (
	"net/netip"
)

// prefixTrie maps network prefixes to values with longest-prefix-match
// lookups: a binary trie per address family, one level per bit, so a
// lookup costs at most 32 (IPv4) or 128 (IPv6) steps whatever the number of
// networks. It is built once and then only read, so it needs no locking.
type prefixTrie[V any] struct {
	v4, v6 *trieNode[V]
}

type trieNode[V any] struct {
	child [2]*trieNode[V]
	set   bool // a prefix ends here
	val   V
	bits  int // length of the prefix ending here
}

// insert sets the value of p (masked to its length). A second insert of
// the same prefix replaces the value.
func (t *prefixTrie[V]) insert(p netip.Prefix, v V) {
	p = p.Masked()
	addr := p.Addr()
	root := &t.v4
	if addr.Is6() {
		root = &t.v6
	}
	if *root == nil {
		*root = &trieNode[V]{}
	}
	n := *root
	key := addrKey(addr)
	for i := 0; i < p.Bits(); i++ {
		b := keyBit(&key, i)
		if n.child[b] == nil {
			n.child[b] = &trieNode[V]{}
		}
		n = n.child[b]
	}
	n.set, n.val, n.bits = true, v, p.Bits()
}

// match is the result of a lookup.
type match[V any] struct {
	// path holds the values of every prefix containing the address, most
	// specific first.
	path []trieHit[V]
	// scope is the shortest prefix length of the address for which the
	// whole answer is the same: what RFC 7871 §7.2.1 calls the SCOPE
	// PREFIX-LENGTH. It never exceeds the bits looked up.
	scope int
}

type trieHit[V any] struct {
	prefix netip.Prefix
	val    V
}

// lookup finds the prefixes containing the first bits of addr (bits < 0:
// the whole address). IPv4-mapped IPv6 addresses are looked up as IPv4.
// buf is reused for the result's path to avoid an allocation per query.
func (t *prefixTrie[V]) lookup(addr netip.Addr, bits int, buf []trieHit[V]) match[V] {
	addr = addr.Unmap()
	n := t.v4
	if addr.Is6() {
		n = t.v6
	}
	if bits < 0 || bits > addr.BitLen() {
		bits = addr.BitLen()
	}
	m := match[V]{path: buf[:0]}
	if n == nil {
		return m
	}
	if n.set {
		m.path = append(m.path, trieHit[V]{netip.PrefixFrom(addr, 0).Masked(), n.val})
	}
	key := addrKey(addr)
	depth := 0
	for ; depth < bits; depth++ {
		c := n.child[keyBit(&key, depth)]
		if c == nil {
			break
		}
		n = c
		if n.set {
			m.path = append(m.path, trieHit[V]{netip.PrefixFrom(addr, n.bits).Masked(), n.val})
		}
	}
	// Every address sharing the first depth bits takes the same path,
	// unless the node has children: then one more bit is needed to stay
	// off the other branch (and the path stopped because our bit's child
	// is missing).
	m.scope = depth
	if depth < bits && (n.child[0] != nil || n.child[1] != nil) {
		m.scope = depth + 1
	}
	// Most specific first.
	for i, j := 0, len(m.path)-1; i < j; i, j = i+1, j-1 {
		m.path[i], m.path[j] = m.path[j], m.path[i]
	}
	return m
}

// addrKey returns the bytes of addr, left-aligned (IPv4 in the first 4).
func addrKey(addr netip.Addr) [16]byte {
	if addr.Is4() {
		var k [16]byte
		a := addr.As4()
		copy(k[:], a[:])
		return k
	}
	return addr.As16()
}

// keyBit returns bit i (0 = most significant) of k.
func keyBit(k *[16]byte, i int) int {
	return int(k[i>>3]>>(7-uint(i&7))) & 1
}
