package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
)

// NewRuntimeRegistry holds the metrics of the exporter's own process that
// every scrape reads anew: pgha_exporter_build_info, the Go runtime's
// (client_golang's Go collector) and the process's (ProcessCollector).
func NewRuntimeRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("pgha_exporter"), collectors.NewGoCollector(), NewProcessCollector())
	return reg
}

// ProcessCollector exports the process_* metrics of client_golang's process
// collector (same names, help, types and values) for the exporter itself,
// at a fraction of the cost on every scrape. client_golang's collector reads
// and parses five files on each scrape (/proc/self/stat, /proc/stat for the
// boot time, /proc/self/limits, the fd directory and the network
// namespace's netstat), about 2/3 of a whole scrape's CPU at 32 nodes / 500
// resources. Here the start time is read once (it cannot change), CPU time
// and limits come from getrusage/getrlimit, memory from the short
// /proc/self/statm and the fd count from one getdents.
//
// client_golang's process_network_receive_bytes_total and
// process_network_transmit_bytes_total are not exported: they are the IP
// totals of the whole network namespace (the node's, not the exporter's),
// and reading them (/proc/self/net/netstat, summed over every CPU by the
// kernel) cost more than all the other process metrics together.
type ProcessCollector struct {
	proc string // "/proc"

	cpu, openFDs, maxFDs, vsize, maxVsize, rss, start *prometheus.Desc

	startTime float64
	startErr  error

	mu  sync.Mutex
	buf []byte
}

// NewProcessCollector reads the process's start time once; the other
// metrics are read on every Collect.
func NewProcessCollector() *ProcessCollector {
	return newProcessCollector("/proc")
}

func newProcessCollector(proc string) *ProcessCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	c := &ProcessCollector{
		proc:     proc,
		cpu:      d("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
		openFDs:  d("process_open_fds", "Number of open file descriptors."),
		maxFDs:   d("process_max_fds", "Maximum number of open file descriptors."),
		vsize:    d("process_virtual_memory_bytes", "Virtual memory size in bytes."),
		maxVsize: d("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes."),
		rss:      d("process_resident_memory_bytes", "Resident memory size in bytes."),
		start:    d("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
		buf:      make([]byte, 8192),
	}
	c.startTime, c.startErr = c.readStartTime()
	return c
}

// userHZ is the unit of the clock ticks in /proc (USER_HZ, 100 on every
// Linux architecture the exporter is built for; client_golang assumes it too).
const userHZ = 100

// Describe sends the descriptors of every metric Collect can send.
func (c *ProcessCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.openFDs, c.maxFDs, c.vsize, c.maxVsize, c.rss, c.start} {
		ch <- d
	}
}

// Collect reads the metrics now. A value that cannot be read is reported as
// an invalid metric naming the error (the scrape logs it and serves the
// rest), as client_golang's collector does.
func (c *ProcessCollector) Collect(ch chan<- prometheus.Metric) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, cpu.Seconds())
	} else {
		ch <- prometheus.NewInvalidMetric(c.cpu, fmt.Errorf("getrusage: %w", err))
	}
	if c.startErr == nil {
		ch <- prometheus.MustNewConstMetric(c.start, prometheus.GaugeValue, c.startTime)
	} else {
		ch <- prometheus.NewInvalidMetric(c.start, c.startErr)
	}
	for _, l := range []struct {
		res  int
		desc *prometheus.Desc
	}{{syscall.RLIMIT_NOFILE, c.maxFDs}, {syscall.RLIMIT_AS, c.maxVsize}} {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(l.res, &lim); err == nil {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(lim.Cur))
		} else {
			ch <- prometheus.NewInvalidMetric(l.desc, fmt.Errorf("getrlimit: %w", err))
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if vsize, rss, err := c.readStatm(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.vsize, prometheus.GaugeValue, vsize)
		ch <- prometheus.MustNewConstMetric(c.rss, prometheus.GaugeValue, rss)
	} else {
		ch <- prometheus.NewInvalidMetric(c.rss, err)
	}
	if n, err := c.countFDs(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.openFDs, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(c.openFDs, err)
	}
}

// readFile reads a whole /proc file into c.buf (grown as needed) and
// returns the bytes read; c.mu is held.
func (c *ProcessCollector) readFile(name string) ([]byte, error) {
	f, err := os.Open(c.proc + "/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		if n == len(c.buf) {
			if len(c.buf) >= 1<<20 {
				return nil, fmt.Errorf("%s: larger than 1 MB", f.Name())
			}
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		m, err := f.Read(c.buf[n:])
		n += m
		if err != nil || m == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return c.buf[:n], nil
		}
	}
}

// readStatm returns the virtual and resident sizes in bytes from
// /proc/self/statm ("size resident shared text lib data dt", in pages).
func (c *ProcessCollector) readStatm() (vsize, rss float64, err error) {
	b, err := c.readFile("self/statm")
	if err != nil {
		return 0, 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("statm: %d fields", len(f))
	}
	size, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	res, err2 := strconv.ParseUint(string(f[1]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("statm: %w", err)
	}
	page := float64(os.Getpagesize())
	return float64(size) * page, float64(res) * page, nil
}

// countFDs counts the entries of /proc/self/fd, the directory's own fd
// included (as client_golang counts).
func (c *ProcessCollector) countFDs() (int, error) {
	dir := c.proc + "/self/fd"
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dir, err)
	}
	defer syscall.Close(fd)
	count := 0
	for {
		n, err := syscall.Getdents(fd, c.buf)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", dir, err)
		}
		if n <= 0 {
			return count, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for off := 0; off+19 < n; {
			reclen := int(c.buf[off+16]) | int(c.buf[off+17])<<8
			if reclen == 0 {
				break
			}
			name := c.buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if !(len(name) == 1 && name[0] == '.') && !(len(name) == 2 && name[0] == '.' && name[1] == '.') {
				count++
			}
			off += reclen
		}
	}
}

// readStartTime is the process's start in seconds since the epoch: its
// start in clock ticks after boot (/proc/self/stat, field 22) plus the boot
// time (/proc/stat btime).
func (c *ProcessCollector) readStartTime() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.readFile("self/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	const startField = 22 - 3 // fields 3.. follow the name
	if len(f) <= startField {
		return 0, fmt.Errorf("stat: %d fields", len(f)+2)
	}
	ticks, err := strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat starttime: %w", err)
	}
	b, err = c.readFile("stat")
	if err != nil {
		return 0, err
	}
	for len(b) > 0 {
		line := b
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			line, b = b[:j], b[j+1:]
		} else {
			b = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			boot, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("stat btime: %w", err)
			}
			return float64(boot) + float64(ticks)/userHZ, nil
		}
	}
	return 0, errors.New("stat: no btime line")
}
