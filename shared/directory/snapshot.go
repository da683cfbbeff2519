package directory

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// An index snapshot is an Index written out ready to use (WriteTo), so that a search instance
// reads it (ReadIndex) instead of building it from the organisations: the ingest builds the
// index once per published version, and every instance that loads the version decodes it. What
// takes the time in NewIndex — sorting, encoding every organisation's JSON, splitting and
// folding the text into words, laying out the postings and the typo buckets — is done once.
//
// Decoding allocates little: the organisations' JSON encodings are one string, and the
// organisations' string fields are substrings of it wherever the JSON form of a value is the
// value itself (everything but the odd value with a quote, "&", "<", ">", a control character
// or invalid UTF-8, which are kept apart); the tokens are substrings of one string; lists are
// windows of one slice. The facet bitsets are filled in as the organisations are read.
//
// The layout, after a preamble (magic, indexFormat, the fingerprint), is a sequence of
// length-prefixed sections of unsigned varints and bytes:
//
//	head     organisations, list entries, and each list's column and slug table
//	json     every organisation's JSON encoding, in index order
//	extra    the string fields whose JSON form differs from their value
//	orgs     per organisation: its JSON length; per string field where its value is (an offset
//	         in its JSON, or next in extra) and its length; flags; per list its terms (by
//	         position in head's table; 0 for nil, else 1 + the count, then the positions)
//	tokens   every token, in order, concatenated
//	text     the token count; each token's length; each token's posting count; each posting's
//	         organisation, as the gap from the previous one in its list; each posting's fields
//	         byte (apart from the gaps, as runs of alike bytes compress better)
//	buckets  per token length up to maxTypoLen: the bucket's size, then its tokens in reversed
//	         order, as positions among the bucket's tokens in token order
//
// and a trailer. Everything is checked as it is read: a corrupt snapshot is an error, never a
// panic or an index that answers wrongly.
//
// The organisations (head to orgs) depend only on indexFormat. The rest depends also on this
// code's vocabularies, word splitting, folding and JSON encoding; the fingerprint identifies
// those. A snapshot written by code with another fingerprint (the vocabulary or the text rules
// changed, and the live version was written before the deploy) is read for its organisations
// and rebuilt with NewIndex: slower, never wrong. Change indexFormat whenever the layout or the
// meaning of a stored value changes (the posting field flags, say): a snapshot of another
// format is refused with ErrIndexFormat, and its reader must fall back to the organisations.
const indexFormat = 1

const (
	indexMagic   = "sectorhub directory index\n"
	indexTrailer = "end of index\n"
	// maxSection bounds a section's declared length, so that corrupt input cannot ask for an
	// absurd allocation. A directory of MaxRows organisations needs a small fraction of it.
	maxSection = 1 << 28
)

// ErrIndexFormat is returned by ReadIndex for data that is not an index snapshot of the format
// this code reads: one written by an older or newer release, or not a snapshot at all.
var ErrIndexFormat = errors.New("not an index snapshot of the format this code reads")

// Organisation flags in the orgs section.
const (
	flagLived     = 1 << iota // LivedExperience
	flagBoard                 // LivedExperienceBoard
	flagDuplicate             // an earlier organisation has this id; Get does not return this one
	flagAll       = flagLived | flagBoard | flagDuplicate
)

// WriteTo writes the index snapshot of ix to w (see ReadIndex) and returns the bytes written.
// The snapshot of a given index is always the same bytes.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	lists := Lists()

	var pre []byte
	pre = append(pre, indexMagic...)
	pre = binary.AppendUvarint(pre, indexFormat)
	fp := fingerprint()
	pre = append(pre, fp[:]...)
	cw.write(pre)

	// head: each list's slug table is the vocabulary's slugs, then any others the organisations
	// hold (NewIndex keeps them, though ParseCSV never produces them).
	tables := make([]map[string]int, len(lists))
	slugs := make([][]string, len(lists))
	entries := 0
	for l, list := range lists {
		tables[l] = make(map[string]int, len(list.Terms))
		for _, t := range list.Terms {
			tables[l][t.Slug] = len(slugs[l])
			slugs[l] = append(slugs[l], t.Slug)
		}
		for i := range ix.orgs {
			for _, s := range ix.orgs[i].terms(list) {
				entries++
				if _, ok := tables[l][s]; !ok {
					tables[l][s] = len(slugs[l])
					slugs[l] = append(slugs[l], s)
				}
			}
		}
	}
	var e []byte
	e = binary.AppendUvarint(e, uint64(len(ix.orgs)))
	e = binary.AppendUvarint(e, uint64(entries))
	e = binary.AppendUvarint(e, uint64(len(lists)))
	for l, list := range lists {
		e = appendStr(e, list.Column)
		e = binary.AppendUvarint(e, uint64(len(slugs[l])))
		for _, s := range slugs[l] {
			e = appendStr(e, s)
		}
	}
	cw.section(e)

	size := 0
	for _, j := range ix.json {
		size += len(j)
	}
	cw.write(binary.AppendUvarint(nil, uint64(size)))
	for _, j := range ix.json {
		cw.writeString(j)
	}

	// extra and orgs
	var extra []byte
	e = e[:0]
	var at [numStringFields]int
	for i := range ix.orgs {
		o := &ix.orgs[i]
		// The JSON is made again to learn where each value is in it; it is the same bytes.
		j := o.appendJSONAt(nil, &at)
		if string(j) != ix.json[i] {
			return cw.n, fmt.Errorf("index snapshot: organisation %s: JSON differs from the index's", o.ID)
		}
		e = binary.AppendUvarint(e, uint64(len(j)))
		for f, p := range o.stringFields() {
			v := *p
			if a := at[f]; a+len(v) <= len(j) && string(j[a:a+len(v)]) == v {
				e = binary.AppendUvarint(e, uint64(a+1))
			} else {
				e = binary.AppendUvarint(e, 0)
				extra = append(extra, v...)
			}
			e = binary.AppendUvarint(e, uint64(len(v)))
		}
		var flags byte
		if o.LivedExperience {
			flags |= flagLived
		}
		if o.LivedExperienceBoard {
			flags |= flagBoard
		}
		if ix.byID[o.ID] != i {
			flags |= flagDuplicate
		}
		e = append(e, flags)
		for l, list := range lists {
			terms := o.terms(list)
			if terms == nil {
				e = append(e, 0)
				continue
			}
			e = binary.AppendUvarint(e, uint64(len(terms))+1)
			for _, s := range terms {
				e = binary.AppendUvarint(e, uint64(tables[l][s]))
			}
		}
	}
	cw.section(extra)
	cw.section(e)

	// tokens, text
	size = 0
	for _, t := range ix.tokens {
		size += len(t)
	}
	cw.write(binary.AppendUvarint(nil, uint64(size)))
	for _, t := range ix.tokens {
		cw.writeString(t)
	}
	e = e[:0]
	e = binary.AppendUvarint(e, uint64(len(ix.tokens)))
	for _, t := range ix.tokens {
		e = binary.AppendUvarint(e, uint64(len(t)))
	}
	for t := range ix.tokens {
		e = binary.AppendUvarint(e, uint64(ix.starts[t+1]-ix.starts[t]))
	}
	for t := range ix.tokens {
		prev := int64(-1)
		for _, p := range ix.postings[ix.starts[t]:ix.starts[t+1]] {
			e = binary.AppendUvarint(e, uint64(int64(p.org)-prev-1))
			prev = int64(p.org)
		}
	}
	for _, p := range ix.postings {
		e = append(e, p.fields)
	}
	cw.section(e)

	// buckets
	e = e[:0]
	for l := range ix.buckets {
		b := &ix.buckets[l]
		e = binary.AppendUvarint(e, uint64(len(b.fwd)))
		for _, t := range b.revID {
			pos, _ := slices.BinarySearch(b.fwd, t)
			e = binary.AppendUvarint(e, uint64(pos))
		}
	}
	cw.section(e)
	cw.write([]byte(indexTrailer))
	return cw.n, cw.err
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// countingWriter writes to w, counting bytes and keeping the first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *countingWriter) writeString(s string) {
	if c.err != nil {
		return
	}
	n, err := io.WriteString(c.w, s)
	c.n += int64(n)
	c.err = err
}

// section writes b with its length first.
func (c *countingWriter) section(b []byte) {
	c.write(binary.AppendUvarint(nil, uint64(len(b))))
	c.write(b)
}

// ReadIndex reads an index snapshot of size bytes (what WriteTo returned) from r, to its end:
// the index is the one that was written, and searches exactly as that one does. size bounds
// what a corrupt snapshot can make ReadIndex allocate. rebuilt is true when the snapshot was
// written by code that splits text or names terms differently (see the fingerprint): its
// organisations were then read and indexed afresh with NewIndex. Data that is not a snapshot of
// this format is refused with an error wrapping ErrIndexFormat; corrupt data with another
// error.
func ReadIndex(r io.Reader, size int64) (ix *Index, rebuilt bool, err error) {
	br := bufio.NewReaderSize(r, 4<<10)
	magic := make([]byte, len(indexMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != indexMagic {
		return nil, false, fmt.Errorf("%w: no index header", ErrIndexFormat)
	}
	format, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, false, fmt.Errorf("%w: no format number", ErrIndexFormat)
	}
	if format != indexFormat {
		return nil, false, fmt.Errorf("%w: format %d; this code reads format %d", ErrIndexFormat, format, indexFormat)
	}
	var fp [sha256.Size]byte
	if _, err := io.ReadFull(br, fp[:]); err != nil {
		return nil, false, corrupt("preamble", err)
	}

	rd := &reader{r: br, left: size - int64(len(indexMagic)+len(binary.AppendUvarint(nil, format))+len(fp))}
	head := rd.bytes("head")
	js := rd.string("json")
	extra := rd.string("extra")
	orgsSec := rd.bytes("orgs")
	if rd.err != nil {
		return nil, false, rd.err
	}
	ix, err = decodeOrganisations(head, js, extra, orgsSec)
	if err != nil {
		return nil, false, err
	}
	if fp != fingerprint() {
		rd.skip("tokens")
		rd.skip("text")
		rd.skip("buckets")
		if err := rd.end(); err != nil {
			return nil, false, err
		}
		// NewIndex keeps the first of two organisations with one id in its input, which is the
		// index order here; ParseCSV never lets two share one.
		return NewIndex(ix.orgs), true, nil
	}
	tokens := rd.string("tokens")
	text := rd.bytes("text")
	buckets := rd.bytes("buckets")
	if err := rd.end(); err != nil {
		return nil, false, err
	}
	if err := ix.decodeText(tokens, text); err != nil {
		return nil, false, err
	}
	if err := ix.decodeBuckets(buckets); err != nil {
		return nil, false, err
	}
	return ix, false, nil
}

func corrupt(what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("corrupt index snapshot: %s: %w", what, err)
}

// reader reads the length-prefixed sections of a snapshot, keeping the first error.
type reader struct {
	r    *bufio.Reader
	left int64 // bytes of the snapshot not yet read
	err  error
}

func (rd *reader) length(what string) int {
	if rd.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(rd.r)
	if err != nil {
		rd.err = corrupt(what, err)
		return 0
	}
	rd.left -= int64(len(binary.AppendUvarint(nil, n)))
	if n > maxSection || n > uint64(max(rd.left, 0)) {
		rd.err = corrupt(what, fmt.Errorf("section of %d bytes with %d left", n, rd.left))
		return 0
	}
	rd.left -= int64(n)
	return int(n)
}

func (rd *reader) bytes(what string) []byte {
	n := rd.length(what)
	if rd.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rd.r, b); err != nil {
		rd.err = corrupt(what, err)
	}
	return b
}

// string reads a section into a string without copying it again.
func (rd *reader) string(what string) string {
	n := rd.length(what)
	if rd.err != nil {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n)
	if _, err := io.CopyN(&sb, rd.r, int64(n)); err != nil {
		rd.err = corrupt(what, err)
	}
	return sb.String()
}

func (rd *reader) skip(what string) {
	n := rd.length(what)
	if rd.err != nil {
		return
	}
	if _, err := io.CopyN(io.Discard, rd.r, int64(n)); err != nil {
		rd.err = corrupt(what, err)
	}
}

// end reads the trailer and the end of the input, which makes a compressed reader check its
// checksum.
func (rd *reader) end() error {
	if rd.err != nil {
		return rd.err
	}
	t := make([]byte, len(indexTrailer))
	if rd.left != int64(len(t)) {
		return corrupt("trailer", fmt.Errorf("%d bytes left for the trailer", rd.left))
	}
	if _, err := io.ReadFull(rd.r, t); err != nil {
		return corrupt("trailer", err)
	}
	if string(t) != indexTrailer {
		return corrupt("trailer", errors.New("wrong trailer"))
	}
	if n, err := io.Copy(io.Discard, rd.r); err != nil {
		return corrupt("end", err)
	} else if n > 0 {
		return corrupt("end", fmt.Errorf("%d bytes after the trailer", n))
	}
	return nil
}

// cursor reads unsigned varints from a section, keeping the first error.
type cursor struct {
	b    []byte
	what string
	err  error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = corrupt(c.what, fmt.Errorf(format, args...))
	}
}

func (c *cursor) uvarint() uint64 {
	if len(c.b) > 0 && c.b[0] < 0x80 {
		v := c.b[0]
		c.b = c.b[1:]
		return uint64(v)
	}
	v, k := binary.Uvarint(c.b)
	if k <= 0 {
		c.fail("truncated number")
		c.b = nil
		return 0
	}
	c.b = c.b[k:]
	return v
}

// int reads a number that must be at most limit.
func (c *cursor) int(limit int) int {
	v := c.uvarint()
	if v > uint64(limit) {
		c.fail("%d is more than %d", v, limit)
		return 0
	}
	return int(v)
}

func (c *cursor) byte() byte {
	if len(c.b) == 0 {
		c.fail("truncated")
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) str(limit int) string {
	n := c.int(limit)
	if n > len(c.b) {
		c.fail("truncated string")
		return ""
	}
	s := string(c.b[:n])
	c.b = c.b[n:]
	return s
}

// done returns the cursor's error, or an error if bytes are left over.
func (c *cursor) done() error {
	if c.err == nil && len(c.b) > 0 {
		c.fail("%d bytes left over", len(c.b))
	}
	return c.err
}

// listTerm is one entry of a snapshot's slug table: the slug, and its term number in this
// code's vocabulary (-1 if it has none).
type listTerm struct {
	slug string
	term int
}

// decodeOrganisations returns an index with its organisations, their JSON, the id map and the
// facet bitsets; the text index is left empty.
func decodeOrganisations(head []byte, js, extra string, orgsSec []byte) (*Index, error) {
	c := &cursor{b: head, what: "head"}
	// Every organisation takes a few bytes of the orgs section, every list entry one at least.
	n := c.int(len(orgsSec))
	entries := c.int(len(orgsSec))
	lists := Lists()
	nl := c.int(64)
	if c.err == nil && nl != len(lists) {
		return nil, corrupt("head", fmt.Errorf("%d lists; this code has %d", nl, len(lists)))
	}
	var tables [numLists][]listTerm
	var which [numLists]int // which[k]: the list of this code that the snapshot's k-th list is
	for k := 0; k < nl && c.err == nil; k++ {
		column := c.str(256)
		which[k] = slices.IndexFunc(lists, func(l List) bool { return l.Column == column })
		if which[k] < 0 {
			return nil, corrupt("head", fmt.Errorf("unknown list %q", column))
		}
		m := c.int(len(head))
		table := make([]listTerm, m)
		for t := range table {
			s := c.str(256)
			table[t] = listTerm{slug: s, term: lists[which[k]].index(s)}
			if t := table[t].term; t >= 0 {
				table[t].slug = lists[which[k]].Terms[t].Slug // share the vocabulary's string
			}
		}
		tables[k] = table
	}
	if err := c.done(); err != nil {
		return nil, err
	}

	ix := &Index{
		json:  make([]string, n),
		byID:  make(map[string]int, n),
		lived: newBitset(n),
		all:   newBitset(n),
	}
	if n > 0 { // nil otherwise, as NewIndex leaves it
		ix.orgs = make([]Organisation, n)
	}
	for l, list := range lists {
		ix.terms[l] = make([]bitset, len(list.Terms))
		ix.count[l] = make([]int, len(list.Terms))
		for t := range list.Terms {
			ix.terms[l][t] = newBitset(n)
		}
	}
	slugs := make([]string, entries)
	c = &cursor{b: orgsSec, what: "orgs"}
	base, xpos, used := 0, 0, 0
	for i := 0; i < n && c.err == nil; i++ {
		o := &ix.orgs[i]
		size := c.int(len(js) - base)
		j := js[base : base+size]
		ix.json[i] = j
		base += size
		for _, p := range o.stringFields() {
			ref := c.int(size)
			k := c.uvarint()
			switch {
			case ref == 0 && k <= uint64(len(extra)-xpos):
				*p = extra[xpos : xpos+int(k)]
				xpos += int(k)
			case ref > 0 && k <= uint64(size-ref+1):
				*p = j[ref-1 : ref-1+int(k)]
			default:
				c.fail("organisation %d: a field of %d bytes out of bounds", i, k)
			}
		}
		flags := c.byte()
		if flags&^flagAll != 0 {
			c.fail("organisation %d: unknown flags %#x", i, flags)
		}
		o.LivedExperience = flags&flagLived != 0
		o.LivedExperienceBoard = flags&flagBoard != 0
		ix.all.set(uint32(i))
		if o.LivedExperience {
			ix.lived.set(uint32(i))
		}
		if flags&flagDuplicate == 0 {
			ix.byID[o.ID] = i
		}
		for k := 0; k < nl; k++ {
			m := c.int(entries - used + 1)
			if m == 0 {
				continue
			}
			terms := slugs[used : used+m-1 : used+m-1]
			used += m - 1
			table, l := tables[k], which[k]
			for e := range terms {
				t := c.int(len(table) - 1)
				if c.err != nil {
					break
				}
				terms[e] = table[t].slug
				if tt := table[t].term; tt >= 0 {
					ix.terms[l][tt].set(uint32(i))
				}
			}
			*termsField(o, lists[l]) = terms
		}
	}
	if err := c.done(); err != nil {
		return nil, err
	}
	if base != len(js) || xpos != len(extra) || used != entries {
		return nil, corrupt("orgs", errors.New("sections and organisations disagree"))
	}
	for l := range lists {
		for t, b := range ix.terms[l] {
			ix.count[l][t] = b.count()
		}
	}
	return ix, nil
}

// termsField returns the field of o that holds its slugs of list l.
func termsField(o *Organisation, l List) *[]string {
	switch l.Column {
	case Areas.Column:
		return &o.AreasOfWork
	case ClientGroups.Column:
		return &o.ClientGroups
	case Regions.Column:
		return &o.Regions
	}
	return &o.Settings
}

// decodeText reads the inverted index: the tokens and their postings.
func (ix *Index) decodeText(tokens string, text []byte) error {
	c := &cursor{b: text, what: "text"}
	nt := c.int(len(tokens))
	ix.tokens = make([]string, nt)
	pos := 0
	for t := range ix.tokens {
		k := c.int(len(tokens) - pos)
		if k == 0 {
			c.fail("empty token")
		}
		if c.err != nil {
			return c.err
		}
		ix.tokens[t] = tokens[pos : pos+k]
		pos += k
		if t > 0 && ix.tokens[t-1] >= ix.tokens[t] {
			c.fail("tokens out of order")
		}
	}
	if pos != len(tokens) {
		c.fail("token lengths disagree with the tokens")
	}
	ix.starts = make([]uint32, nt+1)
	total := 0
	for t := range nt {
		// A posting takes two bytes at least.
		total += c.int(len(text) / 2)
		if total > len(text)/2 {
			c.fail("more postings than bytes")
		}
		if c.err != nil {
			return c.err
		}
		ix.starts[t+1] = uint32(total)
	}
	ix.postings = make([]posting, total)
	// The fields bytes end the section; the gaps, at least a byte each, come before them.
	if len(c.b) < 2*total {
		return corrupt("text", io.ErrUnexpectedEOF)
	}
	b, fields := c.b[:len(c.b)-total], c.b[len(c.b)-total:]
	k := 0
	n := uint64(len(ix.orgs))
	for t := range nt {
		org := uint64(0) // the next organisation number a posting may have
		for p := ix.starts[t]; p < ix.starts[t+1]; p++ {
			if k >= len(b) {
				return corrupt("text", io.ErrUnexpectedEOF)
			}
			var gap uint64
			if x := b[k]; x < 0x80 {
				gap = uint64(x)
				k++
			} else {
				v, m := binary.Uvarint(b[k:])
				if m <= 0 {
					return corrupt("text", errors.New("truncated number"))
				}
				gap = v
				k += m
			}
			if gap >= n-org {
				return corrupt("text", fmt.Errorf("posting out of range in the postings of %q", ix.tokens[t]))
			}
			org += gap
			f := fields[p]
			if f == 0 || int(f) >= len(fieldWeight) {
				return corrupt("text", fmt.Errorf("fields %#x in the postings of %q", f, ix.tokens[t]))
			}
			ix.postings[p] = posting{org: uint32(org), fields: f}
			org++
		}
	}
	c.b = b[k:]
	return c.done()
}

// decodeBuckets reads the typo buckets. Each bucket's tokens in token order follow from the
// tokens; the snapshot holds their order by reversed spelling, which would take a sort.
func (ix *Index) decodeBuckets(sec []byte) error {
	c := &cursor{b: sec, what: "buckets"}
	ix.buckets = make([]bucket, maxTypoLen+1)
	size := 0
	for t, tok := range ix.tokens {
		if inBucket(tok) {
			b := &ix.buckets[len(tok)]
			b.fwd = append(b.fwd, uint32(t))
			size += len(tok)
		}
	}
	// Every reversed token is a substring of one string.
	buf := make([]byte, 0, size)
	for l := range ix.buckets {
		b := &ix.buckets[l]
		if m := c.int(len(sec)); m != len(b.fwd) {
			c.fail("bucket %d has %d tokens; the tokens make %d", l, m, len(b.fwd))
		}
		if c.err != nil {
			return c.err
		}
		if len(b.fwd) > 0 { // nil otherwise, as NewIndex leaves it
			b.revID = make([]uint32, len(b.fwd))
		}
		for i := range b.revID {
			b.revID[i] = b.fwd[c.int(len(b.fwd)-1)]
			tok := ix.tokens[b.revID[i]]
			for k := len(tok) - 1; k >= 0; k-- {
				buf = append(buf, tok[k])
			}
		}
	}
	if err := c.done(); err != nil {
		return err
	}
	all := string(buf)
	pos := 0
	for l := range ix.buckets {
		b := &ix.buckets[l]
		b.rev = make([]string, len(b.revID))
		for i := range b.rev {
			b.rev[i] = all[pos : pos+l]
			pos += l
			// Strictly increasing: the positions were each bucket token once, in order.
			if i > 0 && b.rev[i-1] >= b.rev[i] {
				return corrupt("buckets", fmt.Errorf("bucket %d out of order", l))
			}
		}
	}
	return nil
}

// inBucket reports whether a token is kept for typo lookup.
func inBucket(tok string) bool {
	return len(tok) >= minTypoLen-1 && len(tok) <= maxTypoLen && isASCII(tok)
}

// fingerprint identifies what an index's text data depends on besides the organisations: the
// format, the vocabularies, the typo limits, how text is split into words and folded (by the
// words of a probe text that has every kind of character the rules tell apart), and the JSON
// encoding (by the encoding of a probe organisation).
var fingerprint = sync.OnceValue(func() [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "format %d, typos %d to %d\n", indexFormat, minTypoLen, maxTypoLen)
	for _, l := range Lists() {
		fmt.Fprintf(h, "list %q %q\n", l.Column, l.Param)
		for _, t := range l.Terms {
			fmt.Fprintf(h, "%q %q\n", t.Slug, t.Label)
		}
	}
	text := probeText()
	words(text, nil, func(w, stem []byte) {
		fmt.Fprintf(h, "%q %q %t\n", w, stem, stem == nil)
	})
	o := Organisation{ID: "probe", Name: text, Summary: "s", AreasOfWork: []string{"a"}, LivedExperience: true, Phone: "1", Postcode: "P"}
	h.Write(o.appendJSON(nil))
	return [sha256.Size]byte(h.Sum(nil))
})

// probeText returns every rune the text rules might treat specially, alone, inside a word and
// after an apostrophe in a word.
func probeText() string {
	var b bytes.Buffer
	add := func(r rune) {
		fmt.Fprintf(&b, "%c x%cy a'%cb %c'c ", r, r, r, r)
	}
	for _, rg := range [][2]rune{
		{0x20, 0x7e},       // ASCII
		{0xa0, 0x2ff},      // Latin-1, Latin Extended A and B, IPA, modifiers (ʼ)
		{0x300, 0x36f},     // combining marks
		{0x370, 0x3ff},     // Greek
		{0x400, 0x45f},     // Cyrillic
		{0x600, 0x61f},     // Arabic marks and signs (U+061C)
		{0x660, 0x669},     // Arabic-Indic digits
		{0x1e00, 0x1eff},   // Latin Extended Additional
		{0x2000, 0x206f},   // spaces, zero-width and bidirectional characters, dashes, quotes
		{0x2160, 0x216f},   // Roman numerals
		{0x3000, 0x3003},   // CJK space and punctuation
		{0x3164, 0x3164},   // Hangul filler
		{0x4e00, 0x4e0f},   // CJK ideographs
		{0xfb00, 0xfb06},   // ligatures
		{0xfe00, 0xfe0f},   // variation selectors
		{0xfeff, 0xfeff},   // byte order mark
		{0xff01, 0xff5e},   // full-width forms
		{0x1f3f3, 0x1f3f3}, // flag
		{0x1f468, 0x1f469}, // emoji people
		{0xe0000, 0xe007f}, // tags
	} {
		for r := rg[0]; r <= rg[1]; r++ {
			add(r)
		}
	}
	b.WriteString("women's ’s 'quoted' 1990s don’t ")
	return b.String()
}
