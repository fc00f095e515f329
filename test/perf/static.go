//go:build ignore

// static serves one recorded /metrics body from memory, plain or gzip: the
// limit a scrape of the exporter is compared with (test/perf/scrape.sh).
//
//	go run static.go ADDR BODY.txt BODY.gz
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	plain, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	gz, err := os.ReadFile(os.Args[3])
	if err != nil {
		panic(err)
	}
	panic(http.ListenAndServe(os.Args[1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz)
			return
		}
		_, _ = w.Write(plain)
	})))
}
