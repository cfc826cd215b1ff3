package memory

import (
	"sort"

	"github.com/usermgmt/usermgmt"
)

// maxChunk bounds a chunk of an emailIndex: an insert moves at most this
// many entries, and a seek is two binary searches.
const maxChunk = 256

// entry is one user in an emailIndex; the email is kept beside the pointer
// so that comparisons need not follow it.
type entry struct {
	email string
	u     *usermgmt.UserRecord
}

// emailIndex is a chunked sorted list of users ordered by email: a sorted
// slice of sorted chunks, none empty and none longer than maxChunk. An
// insert or a delete costs O(log n + maxChunk); a seek costs O(log n).
type emailIndex struct {
	chunks [][]entry
}

// chunkFor returns the index of the first chunk whose last email is at
// least email, or len(chunks) if there is none.
func (x *emailIndex) chunkFor(email string) int {
	return sort.Search(len(x.chunks), func(i int) bool {
		c := x.chunks[i]
		return c[len(c)-1].email >= email
	})
}

func (x *emailIndex) insert(e entry) {
	if len(x.chunks) == 0 {
		c := make([]entry, 1, maxChunk)
		c[0] = e
		x.chunks = append(x.chunks, c)
		return
	}
	ci := x.chunkFor(e.email)
	if ci == len(x.chunks) {
		ci--
	}
	c := x.chunks[ci]
	i := sort.Search(len(c), func(i int) bool { return c[i].email >= e.email })
	if len(c) < maxChunk {
		c = append(c, entry{})
		copy(c[i+1:], c[i:])
		c[i] = e
		x.chunks[ci] = c
		return
	}
	// Split a full chunk in two halves, then insert into the right one.
	half := maxChunk / 2
	right := make([]entry, maxChunk-half, maxChunk)
	copy(right, c[half:])
	clear(c[half:])
	left := c[:half]
	x.chunks = append(x.chunks, nil)
	copy(x.chunks[ci+2:], x.chunks[ci+1:])
	x.chunks[ci], x.chunks[ci+1] = left, right
	if i <= half {
		left = append(left, entry{})
		copy(left[i+1:], left[i:])
		left[i] = e
		x.chunks[ci] = left
	} else {
		i -= half
		right = append(right, entry{})
		copy(right[i+1:], right[i:])
		right[i] = e
		x.chunks[ci+1] = right
	}
}

// remove deletes the entry with email, if there is one.
func (x *emailIndex) remove(email string) {
	ci := x.chunkFor(email)
	if ci == len(x.chunks) {
		return
	}
	c := x.chunks[ci]
	i := sort.Search(len(c), func(i int) bool { return c[i].email >= email })
	if i == len(c) || c[i].email != email {
		return
	}
	copy(c[i:], c[i+1:])
	c[len(c)-1] = entry{}
	c = c[:len(c)-1]
	x.chunks[ci] = c
	switch {
	case len(c) == 0:
		x.chunks = append(x.chunks[:ci], x.chunks[ci+1:]...)
		x.chunks[:len(x.chunks)+1][len(x.chunks)] = nil
	case ci+1 < len(x.chunks) && len(c)+len(x.chunks[ci+1]) <= maxChunk/2:
		// Merge small neighbours so deletes cannot leave many tiny chunks.
		x.chunks[ci] = append(c, x.chunks[ci+1]...)
		x.chunks = append(x.chunks[:ci+1], x.chunks[ci+2:]...)
		x.chunks[:len(x.chunks)+1][len(x.chunks)] = nil
	}
}

// after calls yield with each entry whose email is greater than after (or
// every entry when after is ""), in order, until yield returns false.
func (x *emailIndex) after(after string, yield func(entry) bool) {
	ci, i := 0, 0
	if after != "" {
		ci = sort.Search(len(x.chunks), func(i int) bool {
			c := x.chunks[i]
			return c[len(c)-1].email > after
		})
		if ci < len(x.chunks) {
			c := x.chunks[ci]
			i = sort.Search(len(c), func(i int) bool { return c[i].email > after })
		}
	}
	for ; ci < len(x.chunks); ci, i = ci+1, 0 {
		for _, e := range x.chunks[ci][i:] {
			if !yield(e) {
				return
			}
		}
	}
}

// each calls visit with every entry's user, in email order or, when
// descending, in reverse.
func (x *emailIndex) each(descending bool, visit func(*usermgmt.UserRecord)) {
	if !descending {
		for _, c := range x.chunks {
			for _, e := range c {
				visit(e.u)
			}
		}
		return
	}
	for ci := len(x.chunks) - 1; ci >= 0; ci-- {
		c := x.chunks[ci]
		for i := len(c) - 1; i >= 0; i-- {
			visit(c[i].u)
		}
	}
}
