package lambdart

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// output carries one process's stdout and stderr (one pipe, as Lambda has one log stream) to
// the log. The pool keeps the pipe's write end as well, so that it can put a mark behind
// everything the process has written so far and wait for the reader to reach it: a process
// writes its log lines before it posts its response, so once the mark written after the
// response arrived is read, every line of the invocation has been printed, and the END and
// REPORT lines come after them, as in CloudWatch.
type output struct {
	log  *prefixWriter
	r, w *os.File
	mark []byte // the mark's constant part; a mark is mark + 16 hex digits (its sequence number)
	done chan struct{}

	mu      sync.Mutex
	next    uint64        // the last sequence number written
	reached uint64        // the last sequence number read
	changed chan struct{} // closed and replaced when reached grows
	closed  bool          // w is closed
}

// markDigits is the length of a mark's sequence number.
const markDigits = 16

func newOutput(log *prefixWriter) (*output, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &output{
		log:     log,
		r:       r,
		w:       w,
		mark:    []byte("\x00lambdart-mark-" + randomHex(16) + "-"),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}, nil
}

// read copies the pipe to the log until every writer has closed it (or close forces it),
// taking the marks out.
func (o *output) read() {
	defer close(o.done)
	buf := make([]byte, 32*1024)
	var pending []byte
	for {
		n, err := o.r.Read(buf)
		pending = o.scan(append(pending, buf[:n]...))
		if err != nil {
			break
		}
	}
	if len(pending) > 0 {
		_, _ = o.log.Write(pending)
	}
	o.log.flush()
}

// scan writes data to the log up to the end or to the start of a mark not yet complete, and
// returns what it kept back.
func (o *output) scan(data []byte) []byte {
	for {
		i := bytes.Index(data, o.mark)
		if i < 0 {
			break
		}
		_, _ = o.log.Write(data[:i])
		end := i + len(o.mark) + markDigits
		if end > len(data) {
			return bytes.Clone(data[i:])
		}
		if seq, err := strconv.ParseUint(string(data[i+len(o.mark):end]), 16, 64); err == nil {
			o.reach(seq)
		}
		data = data[end:]
	}
	keep := partialPrefix(data, o.mark)
	_, _ = o.log.Write(data[:len(data)-keep])
	return bytes.Clone(data[len(data)-keep:])
}

// partialPrefix returns the length of the longest suffix of data that is a proper prefix of
// mark: the start of a mark whose rest is still in the pipe.
func partialPrefix(data, mark []byte) int {
	for k := min(len(data), len(mark)-1); k > 0; k-- {
		if bytes.HasPrefix(mark, data[len(data)-k:]) {
			return k
		}
	}
	return 0
}

func (o *output) reach(seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if seq > o.reached {
		o.reached = seq
		close(o.changed)
		o.changed = make(chan struct{})
	}
}

// sync waits until everything the process wrote before the call has been logged, or the
// pipe is closed, or limit has passed (a reader held up by a blocked log).
func (o *output) sync(limit time.Duration) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return
	}
	o.next++
	seq := o.next
	mark := fmt.Appendf(bytes.Clone(o.mark), "%0*x", markDigits, seq)
	o.mu.Unlock()
	// A write of at most PIPE_BUF bytes is atomic: the mark is never split by the process's
	// own writes. It blocks while the pipe is full, which the reader resolves.
	if _, err := o.w.Write(mark); err != nil {
		<-o.done
		return
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		o.mu.Lock()
		reached, changed := o.reached >= seq, o.changed
		o.mu.Unlock()
		if reached {
			return
		}
		select {
		case <-changed:
		case <-o.done:
			return
		case <-timer.C:
			return
		}
	}
}

// close is called once the process has exited: it closes the pool's write end and waits for
// the reader to drain the pipe, or for grace if another process (a child the function
// started) still holds the pipe open.
func (o *output) close(grace time.Duration) {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	_ = o.w.Close()
	select {
	case <-o.done:
	case <-time.After(grace):
		_ = o.r.Close()
		<-o.done
	}
	_ = o.r.Close()
}
