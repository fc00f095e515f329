package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestForwardIntoNamespace creates its own network namespace, serves HTTP
// on its loopback (unreachable from the host), and fetches it through the
// forwarder listening on the host's loopback.
func TestForwardIntoNamespace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (ip netns)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	name := fmt.Sprintf("pgha-fwd-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	path := "/run/netns/" + name

	// A server inside the namespace.
	lnc := make(chan net.Listener, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			errc <- err
			return
		}
		lnc <- ln
	}()
	var inner net.Listener
	select {
	case inner = <-lnc:
	case err := <-errc:
		t.Fatal(err)
	}
	defer inner.Close()
	go func() {
		_ = http.Serve(inner, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "inside")
		}))
	}()
	target := inner.Addr().String()
	// From the host, the namespace's loopback port is not this one: a
	// direct request must not reach the server.
	if resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + target); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == "inside" {
			t.Fatal("the namespace's server answered on the host loopback: the test proves nothing")
		}
	}

	outer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	go serve(outer, path, target)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + outer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "inside" {
		t.Fatalf("got %q through the forwarder", b)
	}
}
