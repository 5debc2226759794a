package store

import (
	"database/sql"
	"errors"
	"time"
)

// ConsoleSession is a browser signed in to the console. The store keeps a
// hash of the session cookie, never the cookie, so a copy of the database
// signs no one in.
type ConsoleSession struct {
	IDHash     string // hex SHA-256 of the cookie value
	CSRF       string // the session's CSRF token
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// ConsoleSession returns the session whose cookie hashes to idHash.
func (tx *Tx) ConsoleSession(idHash string) (ConsoleSession, error) {
	var (
		s             ConsoleSession
		created, seen int64
	)
	err := tx.q.QueryRowContext(tx.ctx, `SELECT id_hash, csrf, created_at, last_seen_at FROM console_sessions
		WHERE id_hash = ?`, idHash).Scan(&s.IDHash, &s.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	s.CreatedAt, s.LastSeenAt = fromNanos(created), fromNanos(seen)
	return s, err
}

// PutConsoleSession records a new session.
func (tx *Tx) PutConsoleSession(s ConsoleSession) error {
	return tx.exec(`INSERT INTO console_sessions (id_hash, csrf, created_at, last_seen_at) VALUES (?,?,?,?)`,
		s.IDHash, s.CSRF, toNanos(s.CreatedAt), toNanos(s.LastSeenAt))
}

// TouchConsoleSession records that a session was used at. It only
// updates, so it cannot bring back a session that was signed out meanwhile.
func (tx *Tx) TouchConsoleSession(idHash string, at time.Time) error {
	return tx.exec(`UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?`, toNanos(at), idHash)
}

// DeleteConsoleSession ends a session; ending one that does not exist is
// not an error.
func (tx *Tx) DeleteConsoleSession(idHash string) error {
	return tx.exec(`DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
}

// DeleteConsoleSessionsBefore ends the sessions last used before
// seenBefore or created before createdBefore: the expired ones, by the
// caller's idle timeout and absolute lifetime.
func (tx *Tx) DeleteConsoleSessionsBefore(seenBefore, createdBefore time.Time) error {
	return tx.exec(`DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?`,
		toNanos(seenBefore), toNanos(createdBefore))
}
