// Command nsforward makes addresses that exist only inside a network
// namespace reachable from the host: it listens on host addresses and, for
// every connection, dials the target from inside the namespace. `make demo`
// runs it so that a browser on the host opens the lab's Prometheus and
// exporters; `make demo-down` stops it.
//
// Usage: nsforward -netns pgmon LISTEN=TARGET [LISTEN=TARGET ...]
//
//	nsforward -netns pgmon 127.0.0.1:19090=10.77.0.20:9090
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	netns := flag.String("netns", "", "network namespace name (/run/netns/NAME) or path of the targets")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s -netns NAME LISTEN=TARGET ...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *netns == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	path := *netns
	if !strings.Contains(path, "/") {
		path = "/run/netns/" + path
	}
	var wg sync.WaitGroup
	for _, pair := range flag.Args() {
		listen, target, ok := strings.Cut(pair, "=")
		if !ok {
			log.Fatalf("%q: want LISTEN=TARGET", pair)
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("forwarding %s to %s in %s", ln.Addr(), target, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(ln, path, target)
		}()
	}
	wg.Wait()
}

// serve accepts until the listener fails.
func serve(ln net.Listener, nsPath, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Print(err)
			return
		}
		go func() {
			defer c.Close()
			up, err := dialIn(nsPath, target)
			if err != nil {
				log.Printf("%s: %v", target, err)
				return
			}
			defer up.Close()
			pipe(c, up)
		}()
	}
}

// dialIn connects to target from inside the namespace at nsPath. The
// socket belongs to the namespace of the thread that creates it, so the
// dial runs on a locked thread moved into the namespace; that thread is
// never unlocked, and the runtime discards it when the goroutine ends.
func dialIn(nsPath, target string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{nil, fmt.Errorf("setns %s: %w", nsPath, err)}
			return
		}
		c, err := net.DialTimeout("tcp", target, 5*time.Second)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// pipe copies both ways until either side ends.
func pipe(a, b net.Conn) {
	errc := make(chan error, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		errc <- err
	}
	go cp(a, b)
	go cp(b, a)
	for i := 0; i < 2; i++ {
		if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
			return
		}
	}
}
