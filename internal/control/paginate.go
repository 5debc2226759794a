package control

import (
	"encoding/base64"
	"strconv"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

// paginate returns the page of items that token and max select, never nil
// (list members the model requires must serialize as []), and the token of
// the next page (nil on the last page, which ends SDK paginators). Tokens
// are opaque offsets into a stable order.
func paginate[T any](items []T, token *string, max *int64) ([]T, *string, error) {
	start := 0
	if token != nil && *token != "" {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, nil, ar.InvalidRequest("NextToken is not valid; use a NextToken returned by the previous call")
		}
		start = n
	}
	end := len(items)
	if max != nil && start+int(*max) < end {
		end = start + int(*max)
	}
	var next *string
	if end < len(items) {
		next = ptr(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
	}
	if start == end {
		return []T{}, next, nil
	}
	return items[start:end], next, nil
}
