package sescapture

import (
	"bytes"
	"compress/flate"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxMessages is how many messages an Outbox keeps unless Options say otherwise: room
// for a whole dispatch (a bulletin to every subscriber) with some to spare.
const DefaultMaxMessages = 60000

// Options configure an Outbox. The zero value keeps DefaultMaxMessages and sets no sending
// limits, so that tests may send as fast as they like; the local stack sets SES's limits.
type Options struct {
	// MaxSendRate is how many recipients the endpoint accepts in any one second (a sliding
	// window, as SES counts), refusing more with SES's throttling error; no limit when 0.
	MaxSendRate int
	// Max24HourSend is how many recipients it accepts in any 24 hours, refusing more with
	// SES's daily quota error; no limit when 0.
	Max24HourSend int
	// MaxMessages is how many messages it keeps, dropping the oldest; DefaultMaxMessages
	// when 0.
	MaxMessages int
	// Now is the clock the limits and the received times go by; time.Now when nil.
	Now func() time.Time
	// ConfigurationSets, when not nil, are the configuration sets that exist: a send naming
	// another is refused with SES's ConfigurationSetDoesNotExist error. When nil, any name
	// is accepted.
	ConfigurationSets []string
	// OnSent, if set, is called with every message the endpoint accepts, after it is kept and
	// before the sender gets its answer (so that what it starts is under way when the send
	// returns). It must not modify the message and should return quickly.
	OnSent func(Message)
}

// Outbox captures the messages sent to its SES endpoint. It is safe for concurrent use.
// Raw messages are kept compressed in blocks of blockSize, so that a whole dispatch fits in
// memory; compressing many similar messages together costs less and shrinks them more than
// compressing each alone.
type Outbox struct {
	opts Options // its limits are guarded by mu

	mu      sync.Mutex
	msgs    []stored          // oldest first
	bySeq   map[string]uint64 // sequence numbers by message ID, of the kept messages
	nextSeq uint64
	open    int    // how many of the newest messages are not yet in a block
	second  window // recipients accepted in the last second
	day     window // recipients accepted in the last 24 hours, in one-second buckets
}

// blockSize is how many messages are compressed together.
const blockSize = 64

// stored is a kept message. Once sealed into a block its Raw is nil and its raw form is
// block's data[off:off+n].
type stored struct {
	seq uint64
	Message
	block  *block
	off, n int
}

// block is the raw forms of blockSize consecutive messages, concatenated and compressed.
type block struct{ z []byte }

// rawReader returns the raw forms of stored messages, decompressing each block once.
type rawReader map[*block][]byte

func (rr rawReader) raw(s *stored) []byte {
	if s.block == nil {
		return s.Raw
	}
	data, ok := rr[s.block]
	if !ok {
		data = inflate(s.block.z)
		rr[s.block] = data
	}
	return data[s.off : s.off+s.n : s.off+s.n]
}

// New returns an empty Outbox with the zero Options: no sending limits.
func New() *Outbox {
	return NewWithOptions(Options{})
}

// NewWithOptions returns an empty Outbox configured by opts.
func NewWithOptions(opts Options) *Outbox {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = DefaultMaxMessages
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Outbox{
		opts:   opts,
		bySeq:  map[string]uint64{},
		second: window{span: time.Second},
		day:    window{span: 24 * time.Hour, bucket: time.Second},
	}
}

func (o *Outbox) now() time.Time { return o.opts.Now() }

// SetLimits changes the sending limits, as Options.MaxSendRate and Options.Max24HourSend
// describe them. What was accepted before still counts against them.
func (o *Outbox) SetLimits(maxSendRate, max24HourSend int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opts.MaxSendRate, o.opts.Max24HourSend = maxSendRate, max24HourSend
}

// Messages returns the captured messages, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	kept := slices.Clone(o.msgs)
	o.mu.Unlock()
	out := make([]Message, len(kept))
	rr := rawReader{}
	for i := range kept {
		out[len(kept)-1-i] = kept[i].expand(rr)
	}
	return out
}

// Message returns the captured message with the given ID.
func (o *Outbox) Message(id string) (Message, bool) {
	o.mu.Lock()
	i, ok := o.indexLocked(id)
	var s stored
	if ok {
		s = o.msgs[i]
	}
	o.mu.Unlock()
	if !ok {
		return Message{}, false
	}
	return s.expand(rawReader{}), true
}

// indexLocked returns the position in o.msgs of the message with the given ID.
func (o *Outbox) indexLocked(id string) (int, bool) {
	seq, ok := o.bySeq[id]
	if !ok || len(o.msgs) == 0 {
		return 0, false
	}
	return int(seq - o.msgs[0].seq), true
}

// expand returns the message with its raw form and a copy of its destinations.
func (s *stored) expand(rr rawReader) Message {
	m := s.Message
	m.Destinations = slices.Clone(m.Destinations)
	m.Raw = rr.raw(s)
	return m
}

// add keeps m unless it would exceed the sending rate or the 24-hour quota, which it answers
// with SES's errors, then tells Options.OnSent. Each recipient counts against both, as in SES,
// except the mailbox simulator's, which SES does not count.
func (o *Outbox) add(m Message) *apiError {
	if err := o.keep(m); err != nil {
		return err
	}
	if o.opts.OnSent != nil {
		o.opts.OnSent(m)
	}
	return nil
}

func (o *Outbox) keep(m Message) *apiError {
	n := 0
	for _, d := range m.Destinations {
		if _, simulated := Simulated(d); !simulated {
			n++
		}
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	// A message with more recipients than the rate still goes when the second is quiet;
	// otherwise it could never be sent.
	if inSecond := o.second.count(now); o.opts.MaxSendRate > 0 && inSecond > 0 && inSecond+n > o.opts.MaxSendRate {
		return throttled("Maximum sending rate exceeded.")
	}
	if o.opts.Max24HourSend > 0 && o.day.count(now)+n > o.opts.Max24HourSend {
		return throttled("Daily message quota exceeded.")
	}
	o.second.record(now, n)
	o.day.record(now, n)
	if len(o.msgs) >= o.opts.MaxMessages {
		delete(o.bySeq, o.msgs[0].ID)
		o.msgs[0] = stored{} // let the dropped message go before append reallocates
		o.msgs = o.msgs[1:]
	}
	o.bySeq[m.ID] = o.nextSeq
	o.msgs = append(o.msgs, stored{seq: o.nextSeq, Message: m})
	o.nextSeq++
	o.open++
	if o.open == blockSize {
		o.sealLocked(o.msgs[len(o.msgs)-blockSize:])
		o.open = 0
	}
	return nil
}

// sealLocked compresses the raw forms of msgs into one block.
func (o *Outbox) sealLocked(msgs []stored) {
	var data bytes.Buffer
	for i := range msgs {
		msgs[i].off, msgs[i].n = data.Len(), len(msgs[i].Raw)
		data.Write(msgs[i].Raw)
	}
	b := &block{z: deflate(data.Bytes())}
	for i := range msgs {
		msgs[i].block, msgs[i].Raw = b, nil
	}
}

// throttled is the error SES answers a send above the account's limits with.
func throttled(message string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "Sender", code: "Throttling", message: message}
}

// sendQuota answers GetSendQuota: the limits (-1 for none, as SES reports an unlimited
// 24-hour quota) and the recipients accepted in the last 24 hours.
func (o *Outbox) sendQuota() *sendQuotaResult {
	limit := func(n int) string {
		if n <= 0 {
			return "-1.0"
		}
		return strconv.Itoa(n) + ".0"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return &sendQuotaResult{
		XMLName:         xml.Name{Local: "GetSendQuotaResult"},
		Max24HourSend:   limit(o.opts.Max24HourSend),
		MaxSendRate:     limit(o.opts.MaxSendRate),
		SentLast24Hours: strconv.Itoa(o.day.count(o.now())) + ".0",
	}
}

// window counts what was recorded in the span before now. With a bucket, records in the
// same bucket share one entry (so a day of sends takes at most 86,400 entries) and leave
// the window together, up to one bucket late.
type window struct {
	span    time.Duration
	bucket  time.Duration
	entries []windowEntry // oldest first
	sum     int
}

type windowEntry struct {
	at time.Time
	n  int
}

func (w *window) expire(now time.Time) {
	i := 0
	for i < len(w.entries) && now.Sub(w.entries[i].at) >= w.span {
		w.sum -= w.entries[i].n
		i++
	}
	if i > 0 {
		w.entries = slices.Delete(w.entries, 0, i)
	}
}

func (w *window) count(now time.Time) int {
	w.expire(now)
	return w.sum
}

func (w *window) record(now time.Time, n int) {
	at := now
	if w.bucket > 0 {
		at = now.Truncate(w.bucket)
		if last := len(w.entries) - 1; last >= 0 && w.entries[last].at.Equal(at) {
			w.entries[last].n += n
			w.sum += n
			return
		}
	}
	w.entries = append(w.entries, windowEntry{at: at, n: n})
	w.sum += n
}

var (
	deflaters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed) // fails only for a bad level
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

// deflate compresses raw messages for keeping; inflate undoes it.
func deflate(raw []byte) []byte {
	var b bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&b)
	_, _ = w.Write(raw) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return slices.Clip(b.Bytes())
}

func inflate(z []byte) []byte {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	_ = r.(flate.Resetter).Reset(bytes.NewReader(z), nil)
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil // cannot happen: z came from deflate
	}
	return raw
}

// hasRecipient reports whether address is one of m's destinations, ignoring case.
func (m *Message) hasRecipient(address string) bool {
	return slices.ContainsFunc(m.Destinations, func(d string) bool { return strings.EqualFold(d, address) })
}
