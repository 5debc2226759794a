package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/slipwayhq/slipway/internal/failpoint"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write's premise no longer holds because
// another write got there first.
var ErrConflict = errors.New("conflicting write")

// Store is Slipway's state database.
type Store struct {
	db *sql.DB

	mu sync.Mutex
	// changed is closed and replaced after every committed write, so
	// watchers can wait for "something changed" without polling.
	changed chan struct{}
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
	arn        TEXT PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	status     TEXT NOT NULL,
	host       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER NOT NULL DEFAULT 0,
	config     TEXT NOT NULL,
	release    TEXT
);
CREATE INDEX IF NOT EXISTS services_name ON services(name);
CREATE TABLE IF NOT EXISTS operations (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,
	service_arn TEXT NOT NULL,
	type        TEXT NOT NULL,
	status      TEXT NOT NULL,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL,
	config      TEXT,
	reason      TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL DEFAULT 0,
	revision    TEXT NOT NULL DEFAULT '',
	trigger     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS operations_service ON operations(service_arn, seq);
CREATE TABLE IF NOT EXISTS instances (
	id           TEXT PRIMARY KEY,
	service_arn  TEXT NOT NULL,
	operation_id TEXT NOT NULL,
	role         TEXT NOT NULL,
	runtime      TEXT NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS autoscaling_configurations (
	arn             TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	revision        INTEGER NOT NULL,
	latest          INTEGER NOT NULL,
	status          TEXT NOT NULL,
	max_concurrency INTEGER NOT NULL,
	min_size        INTEGER NOT NULL,
	max_size        INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	deleted_at      INTEGER NOT NULL DEFAULT 0,
	is_default      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS autoscaling_name ON autoscaling_configurations(name, revision);
-- Rows written before statuses were sent in lower case, as App Runner does.
UPDATE autoscaling_configurations SET status = lower(status) WHERE status != lower(status);
CREATE TABLE IF NOT EXISTS tags (
	arn   TEXT NOT NULL,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS commit_decisions (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	service_arn  TEXT NOT NULL,
	commit_hash  TEXT NOT NULL,
	author       TEXT NOT NULL,
	message      TEXT NOT NULL,
	committed_at INTEGER NOT NULL,
	decided_at   INTEGER NOT NULL,
	decision     TEXT NOT NULL,
	reason       TEXT NOT NULL,
	operation_id TEXT NOT NULL,
	trigger      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commit_decisions_service ON commit_decisions(service_arn, seq);
CREATE TABLE IF NOT EXISTS scaling_events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	service_arn TEXT NOT NULL,
	at INTEGER NOT NULL,
	from_count INTEGER NOT NULL,
	to_count INTEGER NOT NULL,
	concurrency REAL NOT NULL,
	reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scaling_events_service ON scaling_events (service_arn, seq);
CREATE TABLE IF NOT EXISTS considered_heads (
	service_arn TEXT PRIMARY KEY,
	head        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS builds (
	key         TEXT PRIMARY KEY,
	service_arn TEXT NOT NULL,
	revision    TEXT NOT NULL,
	artifact    TEXT NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS connections (
	arn           TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	provider_type TEXT NOT NULL,
	status        TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_name ON connections(name);
CREATE TABLE IF NOT EXISTS observability_configurations (
	arn          TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	revision     INTEGER NOT NULL,
	latest       INTEGER NOT NULL,
	status       TEXT NOT NULL,
	trace_vendor TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	deleted_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS observability_name ON observability_configurations(name, revision);
CREATE TABLE IF NOT EXISTS vpc_connectors (
	arn             TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	revision        INTEGER NOT NULL,
	status          TEXT NOT NULL,
	subnets         TEXT NOT NULL,
	security_groups TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	deleted_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS vpc_connectors_name ON vpc_connectors(name, revision);
CREATE TABLE IF NOT EXISTS vpc_ingress_connections (
	arn             TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	service_arn     TEXT NOT NULL,
	status          TEXT NOT NULL,
	domain_name     TEXT NOT NULL,
	vpc_id          TEXT NOT NULL,
	vpc_endpoint_id TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	deleted_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS vpc_ingress_service ON vpc_ingress_connections(service_arn);
CREATE TABLE IF NOT EXISTS custom_domains (
	name        TEXT PRIMARY KEY,
	service_arn TEXT NOT NULL,
	www         INTEGER NOT NULL,
	status      TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	cert_status TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS custom_domains_service ON custom_domains(service_arn, created_at);
CREATE TABLE IF NOT EXISTS console_sessions (
	id_hash      TEXT PRIMARY KEY,
	csrf         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
`

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	// WAL with synchronous=NORMAL survives a crash of the process at any
	// point; _txlock=immediate takes the write lock at BEGIN so concurrent
	// writers queue instead of failing with SQLITE_BUSY mid-transaction.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// One connection: SQLite serializes writers anyway, and one connection
	// keeps reads consistent with the writes this process just made.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	return &Store{db: db, changed: make(chan struct{})}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Changed returns a channel that is closed at the next committed write.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Store) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Update runs fn in one write transaction; it commits if fn returns nil.
// fn must use only tx: calling the Store's own methods from fn deadlocks.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := s.update(ctx, fn); err != nil {
		return err
	}
	s.notify()
	return nil
}

// UpdateQuiet is Update for bookkeeping that no watcher shows or acts on
// (console sessions): it wakes no Changed watcher, so signing in or using
// the console does not make open pages and reconcilers look again.
func (s *Store) UpdateQuiet(ctx context.Context, fn func(tx *Tx) error) error {
	return s.update(ctx, fn)
}

func (s *Store) update(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{q: sqlTx, ctx: ctx}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	failpoint.Hit("store.before-commit")
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	failpoint.Hit("store.after-commit")
	return nil
}

// View runs fn with read access.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	return fn(&Tx{q: s.db, ctx: ctx})
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx reads and writes records. Inside Update it is one transaction.
type Tx struct {
	q   querier
	ctx context.Context
}

func (tx *Tx) exec(query string, args ...any) error {
	_, err := tx.q.ExecContext(tx.ctx, query, args...)
	return err
}
