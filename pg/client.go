// Package pg reads the replication state of the local PostgreSQL server into
// plain Go structs (Snapshot) for the collector and the Nagios checks. It
// selects SQL by server version (9.3 to 18), needs no more than pg_monitor on
// 10+, and keeps the connection password out of every string it returns.
package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ClientOptions configure a Client. Zero values take the defaults.
type ClientOptions struct {
	// ConnectTimeout bounds each connection attempt (default 5s). A shorter
	// connect_timeout in the DSN wins.
	ConnectTimeout time.Duration
	// QueryTimeout bounds each snapshot's queries (default 5s). It is set as
	// the session's statement_timeout and as a context deadline, so a query
	// stops on the server and the client stops waiting even when the
	// network hangs.
	QueryTimeout time.Duration
	// ApplicationName is shown in pg_stat_activity unless the DSN sets one
	// (default "pgha_exporter").
	ApplicationName string
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 5 * time.Second
	}
	if o.ApplicationName == "" {
		o.ApplicationName = "pgha_exporter"
	}
	return o
}

// Client owns one connection to PostgreSQL (not a pool: one scrape at a time
// needs one connection). It connects lazily, closes the connection after any
// error and connects again on the next call. It is safe for concurrent use;
// calls are serialised.
type Client struct {
	dsn  DSN
	opts ClientOptions

	sem     chan struct{} // a mutex that honours contexts
	conn    *pgx.Conn
	version int
	verStr  string
	privs   privileges
	trips   atomic.Int64 // write->read turns on the socket
}

// NewClient returns a client for dsn. It does not connect.
func NewClient(dsn DSN, opts ClientOptions) *Client {
	return &Client{dsn: dsn, opts: opts.withDefaults(), sem: make(chan struct{}, 1)}
}

// Close closes the connection, if any.
func (c *Client) Close(ctx context.Context) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.unlock()
	return seal(c.closeConn(ctx))
}

func (c *Client) lock(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) unlock() { <-c.sem }

func (c *Client) closeConn(ctx context.Context) error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close(ctx)
	c.conn = nil
	return err
}

// Snapshot reads the server's state. It costs one round trip (all statements
// go in one pipeline), plus the connection handshake and two queries (server
// version, privileges) when it has to (re)connect. When a reused connection
// turns out to be broken (the server restarted since the last call), it
// reconnects and retries once; SQL errors and timeouts are not retried. Every
// error it returns is free of the DSN's password.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	if err := c.lock(ctx); err != nil {
		return nil, fmt.Errorf("pg: waiting for the connection: %w", err)
	}
	defer c.unlock()

	reused := c.conn != nil && !c.conn.IsClosed()
	s, err := c.snapshot(ctx)
	if err != nil && reused && ctx.Err() == nil && brokenConnection(err) {
		s, err = c.snapshot(ctx)
	}
	return s, seal(err)
}

// brokenConnection tells a connection that died between two calls (network
// error, or the FATAL a restarting server left in the socket) from errors a
// retry would repeat: timeouts and ordinary SQL errors.
func brokenConnection(err error) bool {
	if pgconn.Timeout(err) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
	}
	return true
}

func (c *Client) snapshot(ctx context.Context) (*Snapshot, error) {
	if err := c.ensureConn(ctx); err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, c.opts.QueryTimeout)
	defer cancel()

	s := &Snapshot{VersionNum: c.version, Version: c.verStr}
	qs := queriesFor(c.version, c.privs)
	b := &pgx.Batch{}
	for _, q := range qs {
		b.Queue(q.sql)
	}
	start := c.trips.Load()
	err := c.runBatch(qctx, b, qs, s)
	s.Queries, s.RoundTrips = len(qs), int(c.trips.Load()-start)
	if err != nil {
		_ = c.closeConn(ctx)
		return nil, err
	}
	s.Derive()
	return s, nil
}

func (c *Client) runBatch(ctx context.Context, b *pgx.Batch, qs []query, s *Snapshot) (err error) {
	br := c.conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pg: query: %w", cerr)
		}
	}()
	for _, q := range qs {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("pg: query %s: %w", q.name, err)
		}
		if err := q.read(rows, s); err != nil {
			return fmt.Errorf("pg: query %s: %w", q.name, err)
		}
	}
	return nil
}

// ensureConn connects when there is no usable connection and reads the
// server version and the role's privileges once per connection.
func (c *Client) ensureConn(ctx context.Context) error {
	if c.conn != nil && !c.conn.IsClosed() {
		return nil
	}
	c.conn = nil
	cfg, err := c.connConfig()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		// pgx's "failed to connect to `user=... database=...`:" repeats the
		// target the message already names: keep its details only.
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && ce.Unwrap() != nil {
			return &sealedError{msg: OneLine(fmt.Sprintf("pg: connect to %s: %v", c.dsn.Redacted(), ce.Unwrap())), orig: err}
		}
		return fmt.Errorf("pg: connect to %s: %w", c.dsn.Redacted(), err)
	}
	qctx, qcancel := context.WithTimeout(ctx, c.opts.QueryTimeout)
	defer qcancel()
	var num int
	var ver string
	if err := conn.QueryRow(qctx, "SELECT current_setting('server_version_num')::int, current_setting('server_version')").Scan(&num, &ver); err != nil {
		_ = conn.Close(ctx)
		return fmt.Errorf("pg: reading server version: %w", err)
	}
	if num < minVersion {
		_ = conn.Close(ctx)
		return fmt.Errorf("pg: PostgreSQL %s is not supported (9.3 or newer needed)", ver)
	}
	rows, err := conn.Query(qctx, privilegesSQL(num))
	if err == nil {
		c.privs, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByNameLax[privileges])
	}
	if err != nil {
		_ = conn.Close(ctx)
		return fmt.Errorf("pg: reading privileges: %w", err)
	}
	c.conn, c.version, c.verStr = conn, num, ver
	return nil
}

// connConfig parses the DSN (again, so that a changed password file or
// environment is honoured) and adds the client's settings.
func (c *Client) connConfig() (*pgx.ConnConfig, error) {
	cfg, err := c.dsn.parse()
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > c.opts.ConnectTimeout {
		cfg.ConnectTimeout = c.opts.ConnectTimeout
	}
	// At least 1 ms: 0 would disable the server-side limit.
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(c.opts.QueryTimeout.Milliseconds(), 1), 10)
	cfg.RuntimeParams["extra_float_digits"] = "3" // exact float8 text before PostgreSQL 12
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = c.opts.ApplicationName
	}
	// Unnamed statements: one round trip per batch, nothing left prepared.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: nc, trips: &c.trips}, nil
	}
	return cfg, nil
}

// countingConn counts round trips: each switch from writing to reading is
// one request the client waits for.
type countingConn struct {
	net.Conn
	wrote atomic.Bool
	trips *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.wrote.Store(true)
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	if c.wrote.Swap(false) {
		c.trips.Add(1)
	}
	return c.Conn.Read(b)
}
