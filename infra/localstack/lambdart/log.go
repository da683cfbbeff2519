package lambdart

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// LineLog serialises whole lines from many processes onto one writer, each
// prefixed with its source ("source | text"). The local stack writes its own
// lines through one too, so its log and the functions' read alike.
type LineLog struct {
	mu  sync.Mutex
	out io.Writer
}

// NewLineLog returns a LineLog writing to out.
func NewLineLog(out io.Writer) *LineLog { return &LineLog{out: out} }

// Printf writes one line, prefixed with source.
func (l *LineLog) Printf(source, format string, args ...any) {
	line := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.out, "%s | %s\n", source, line)
}

// writer returns an io.Writer for a process's output that emits complete
// lines with prefix.
func (l *LineLog) writer(prefix string) *prefixWriter {
	return &prefixWriter{log: l, prefix: prefix}
}

type prefixWriter struct {
	log    *LineLog
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
		w.log.Printf(w.prefix, "%s", bytes.TrimRight(w.buf[:i], "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64*1024 { // a very long line without newline: emit it anyway
		w.log.Printf(w.prefix, "%s", w.buf)
		w.buf = nil
	}
	return len(p), nil
}

// flush emits a final unterminated line.
func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.log.Printf(w.prefix, "%s", w.buf)
		w.buf = nil
	}
}
