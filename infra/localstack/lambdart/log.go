package lambdart

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// lineLog serialises whole lines from many processes onto one writer, each
// prefixed with its source.
type lineLog struct {
	mu  sync.Mutex
	out io.Writer
}

func newLineLog(out io.Writer) *lineLog { return &lineLog{out: out} }

func (l *lineLog) printf(prefix, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.out, "%s | %s\n", prefix, line)
}

// writer returns an io.Writer for a process's output that emits complete
// lines with prefix.
func (l *lineLog) writer(prefix string) *prefixWriter {
	return &prefixWriter{log: l, prefix: prefix}
}

type prefixWriter struct {
	log    *lineLog
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.printf(w.prefix, "%s", bytes.TrimRight(w.buf[:i], "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64*1024 { // a very long line without newline: emit it anyway
		w.log.printf(w.prefix, "%s", w.buf)
		w.buf = nil
	}
	return len(p), nil
}

// flush emits a final unterminated line.
func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.log.printf(w.prefix, "%s", w.buf)
		w.buf = nil
	}
}
