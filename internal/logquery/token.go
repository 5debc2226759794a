package logquery

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// position is a place in a stream's events: just before the event with
// this time (Unix nanoseconds) and ordinal. Positions by time rather than
// by index stay right when retention drops a stream's oldest events.
type position struct {
	t   int64
	ord int
}

func at(e Event) position    { return position{e.Time.UnixNano(), e.ord} }
func after(e Event) position { return position{e.Time.UnixNano(), e.ord + 1} }

func (p position) less(q position) bool {
	return p.t < q.t || (p.t == q.t && p.ord < q.ord)
}

// streamToken is a GetLogEvents token: "f/..." pages forward from its
// position, "b/..." backward, as CloudWatch's own tokens begin.
func streamToken(dir byte, p position) string {
	return fmt.Sprintf("%c/%d/%d", dir, p.t, p.ord)
}

func parseStreamToken(s string) (dir byte, p position, err error) {
	f := strings.Split(s, "/")
	if len(f) != 3 || (f[0] != "f" && f[0] != "b") {
		return 0, p, errBadToken
	}
	t, err1 := strconv.ParseInt(f[1], 10, 64)
	ord, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || ord < 0 {
		return 0, p, errBadToken
	}
	return f[0][0], position{t, ord}, nil
}

// keyToken encodes the sort key of the last item of a page: the next page
// starts after it.
func keyToken(t int64, ord int, name string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d/%d/%s", t, ord, name))
}

func parseKeyToken(s string) (t int64, ord int, name string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, "", errBadToken
	}
	f := strings.SplitN(string(b), "/", 3)
	if len(f) != 3 {
		return 0, 0, "", errBadToken
	}
	t, err1 := strconv.ParseInt(f[0], 10, 64)
	ord, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, "", errBadToken
	}
	return t, ord, f[2], nil
}
