package main

import (
	"fmt"
	"io"
	"log/slog"

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
