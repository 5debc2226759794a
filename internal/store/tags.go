package store

// Tag is a resource tag.
type Tag struct{ Key, Value string }

// Tags returns a resource's tags ordered by key.
func (tx *Tx) Tags(arn string) ([]Tag, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutTag sets a tag, replacing the value of an existing key.
func (tx *Tx) PutTag(arn string, t Tag) error {
	return tx.exec(`INSERT INTO tags (arn, key, value) VALUES (?,?,?)
		ON CONFLICT(arn, key) DO UPDATE SET value=excluded.value`, arn, t.Key, t.Value)
}

// DeleteTag removes a tag; removing a missing key is not an error.
func (tx *Tx) DeleteTag(arn, key string) error {
	return tx.exec(`DELETE FROM tags WHERE arn = ? AND key = ?`, arn, key)
}
