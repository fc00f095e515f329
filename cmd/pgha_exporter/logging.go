package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// newLogger builds the one go-kit logger of the process, and a *slog.Logger
// bridged onto it for libraries that want slog (exporter-toolkit), so that
// every line has the same format and destination.
func newLogger(w io.Writer, lvl, format string) (log.Logger, *slog.Logger, error) {
	var l log.Logger
	switch format {
	case "logfmt":
		l = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		l = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, nil, fmt.Errorf("unknown log format %q (want logfmt or json)", format)
	}
	var allow level.Option
	var sl slog.Level
	switch lvl {
	case "debug":
		allow, sl = level.AllowDebug(), slog.LevelDebug
	case "info":
		allow, sl = level.AllowInfo(), slog.LevelInfo
	case "warn":
		allow, sl = level.AllowWarn(), slog.LevelWarn
	case "error":
		allow, sl = level.AllowError(), slog.LevelError
	default:
		return nil, nil, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", lvl)
	}
	l = log.With(l, "ts", log.DefaultTimestampUTC)
	l = level.NewFilter(l, allow)
	return l, slog.New(sloggokit.NewGoKitHandler(dropTime{l}, sl)), nil
}

// dropTime removes the "time" pair slog records carry: the go-kit logger
// already stamps every line with "ts".
type dropTime struct{ next log.Logger }

func (d dropTime) Log(keyvals ...any) error {
	out := make([]any, 0, len(keyvals))
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok && k == "time" {
			continue
		}
		out = append(out, keyvals[i], keyvals[i+1])
	}
	return d.next.Log(out...)
}

// maxLogValue bounds one value of a log line: no line grows with what a
// broken tool or client sent.
const maxLogValue = 2048

// logQueue is how many lines may wait for a slow log output before lines
// are dropped (and counted).
const logQueue = 1024

// newAsyncLogger is newLogger for the server: lines are queued and written
// by one goroutine, so that a slow stderr (a pipe read slowly) never blocks
// a scrape or a refresh; when the queue is full, lines are dropped and the
// number dropped is logged once the output drains. close flushes the queue.
func newAsyncLogger(w io.Writer, lvl, format string) (log.Logger, *slog.Logger, func(), error) {
	q := &asyncWriter{lines: make(chan []byte, logQueue), done: make(chan struct{})}
	l, _, err := newLogger(q, lvl, format)
	if err != nil {
		return nil, nil, nil, err
	}
	notice, _, _ := newLogger(w, "warn", format)
	go q.run(w, notice)
	l = truncating{l}
	return l, slog.New(sloggokit.NewGoKitHandler(dropTime{l}, slogLevel(lvl))), q.close, nil
}

func slogLevel(lvl string) slog.Level {
	switch lvl {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

type asyncWriter struct {
	lines   chan []byte
	done    chan struct{}
	dropped atomic.Uint64
	once    sync.Once
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	select {
	case a.lines <- bytes.Clone(p):
	default:
		a.dropped.Add(1)
	}
	return len(p), nil
}

func (a *asyncWriter) run(w io.Writer, notice log.Logger) {
	defer close(a.done)
	for line := range a.lines {
		if n := a.dropped.Swap(0); n > 0 {
			level.Warn(notice).Log("msg", "log lines dropped: the log output is too slow", "dropped", n)
		}
		_, _ = w.Write(line)
	}
}

func (a *asyncWriter) close() {
	a.once.Do(func() { close(a.lines) })
	<-a.done
}

// truncating cuts long values (error texts, strings) to maxLogValue bytes.
// It sits above the level filter, so it must pass level values through.
type truncating struct{ next log.Logger }

func (t truncating) Log(keyvals ...any) error {
	for i := 1; i < len(keyvals); i += 2 {
		var s string
		switch v := keyvals[i].(type) {
		case level.Value:
			// Left as it is: the level filter below recognises a line's
			// level by this type, and the string "debug" would pass it.
			continue
		case string:
			s = v
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		default:
			continue
		}
		if len(s) > maxLogValue {
			s = strings.ToValidUTF8(s[:maxLogValue], "") + fmt.Sprintf("... (%d bytes)", len(s))
		}
		keyvals[i] = s
	}
	return t.next.Log(keyvals...)
}
