package applog

import (
	"strings"
	"time"
)

// Streams an Entry can belong to.
const (
	Stdout = "stdout"
	Stderr = "stderr"
	// System lines are written by Slipway itself (instance started, exited).
	System = "system"
)

// Source of build output; instance output uses the instance ID.
const SourceBuild = "build"

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so that stored
// lines line up and sort as text; time.RFC3339Nano parses it.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Entry is one log line.
type Entry struct {
	Time time.Time
	// Source is "build" or an instance ID.
	Source string
	// Stream is "stdout", "stderr" or "system".
	Stream string
	Text   string
}

// String returns the stored form of e, without a newline. The format has no
// escaping, so fields are made to fit it: spaces in Source and Stream become
// "_", empty ones "-", and newlines in Text become spaces.
func (e Entry) String() string {
	var b strings.Builder
	b.Grow(len(timeLayout) + len(e.Source) + len(e.Stream) + len(e.Text) + 3)
	b.WriteString(e.Time.UTC().Format(timeLayout))
	b.WriteByte(' ')
	b.WriteString(field(e.Source))
	b.WriteByte(' ')
	b.WriteString(field(e.Stream))
	b.WriteByte(' ')
	b.WriteString(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(e.Text))
	return b.String()
}

func field(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, s)
}

// ParseLine parses one stored line (a trailing newline is allowed). It
// reports false for lines that are not in the format, which readers skip.
func ParseLine(line string) (Entry, bool) {
	line = strings.TrimSuffix(line, "\n")
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return Entry{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Entry{}, false
	}
	source, rest, ok := strings.Cut(rest, " ")
	if !ok || source == "" {
		return Entry{}, false
	}
	// The text may be empty, in which case the writer still put a space
	// after the stream; accept its absence too.
	stream, text, _ := strings.Cut(rest, " ")
	switch stream {
	case Stdout, Stderr, System:
	default:
		return Entry{}, false
	}
	return Entry{Time: t.UTC(), Source: source, Stream: stream, Text: text}, true
}
