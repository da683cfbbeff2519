package directory

import (
	"iter"
	"math/bits"
)

// bitset is a set of organisation numbers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i uint32)   { b[i>>6] |= 1 << (i & 63) }
func (b bitset) unset(i uint32) { b[i>>6] &^= 1 << (i & 63) }

// and sets b to x ∩ y and returns b.
func (b bitset) and(x, y bitset) bitset {
	for i := range b {
		b[i] = x[i] & y[i]
	}
	return b
}

// or adds x to b.
func (b bitset) or(x bitset) {
	for i := range b {
		b[i] |= x[i]
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// countAnd returns the size of b ∩ x.
func (b bitset) countAnd(x bitset) int {
	n := 0
	for i, w := range b {
		n += bits.OnesCount64(w & x[i])
	}
	return n
}

// from yields the members of b in increasing order, skipping the first skip of them.
func (b bitset) from(skip int) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for i, w := range b {
			if skip > 0 {
				if c := bits.OnesCount64(w); c <= skip {
					skip -= c
					continue
				}
				for ; skip > 0; skip-- {
					w &= w - 1
				}
			}
			for ; w != 0; w &= w - 1 {
				if !yield(uint32(i<<6 | bits.TrailingZeros64(w))) {
					return
				}
			}
		}
	}
}
