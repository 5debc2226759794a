package store

import (
	"database/sql"
	"encoding/json"
	"time"
)

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func nullJSON(v any, isNil bool) (sql.NullString, error) {
	if isNil {
		return sql.NullString{}, nil
	}
	s, err := toJSON(v)
	return sql.NullString{String: s, Valid: true}, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
