package console

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/applog"
)

// ansiHTML renders a log line for a page: its text escaped, styled runs
// as spans with ansiSegments' classes.
func ansiHTML(s string) template.HTML {
	segs := ansiSegments(s)
	if segs == nil {
		return template.HTML(html.EscapeString(applog.Printable(s)))
	}
	var b strings.Builder
	for _, g := range segs {
		if g.Class == "" {
			b.WriteString(html.EscapeString(g.Text))
			continue
		}
		fmt.Fprintf(&b, `<span class="%s">%s</span>`, g.Class, html.EscapeString(g.Text))
	}
	return template.HTML(b.String())
}

// isControl reports whether byte (as a rune) r is a control character the
// ANSI parser shows as \xNN: the C0 codes but tab, and DEL.
func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// segment is a run of a log line's text with the ANSI style it was
// written in, as CSS classes: ansi-fg-N (the 16 colours), ansi-b (bold),
// ansi-u (underline).
type segment struct {
	Text  string `json:"t"`
	Class string `json:"c,omitempty"`
}

// ansiSegments splits a log line into styled runs, so that the console
// shows coloured build output in colour instead of "[32m". Only SGR
// (colour and weight) is kept; every other escape sequence (cursor moves,
// window titles) is dropped, and other control characters are shown as
// \xNN. It returns nil for a line without escape sequences.
func ansiSegments(s string) []segment {
	if !strings.ContainsRune(s, 0x1b) {
		return nil
	}
	var (
		out   []segment
		cur   strings.Builder
		fg    = -1
		bold  bool
		under bool
	)
	class := func() string {
		var c []string
		if fg >= 0 {
			c = append(c, "ansi-fg-"+strconv.Itoa(fg))
		}
		if bold {
			c = append(c, "ansi-b")
		}
		if under {
			c = append(c, "ansi-u")
		}
		return strings.Join(c, " ")
	}
	emit := func() {
		if cur.Len() > 0 {
			out = append(out, segment{Text: cur.String(), Class: class()})
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			// CSI: parameters and intermediates, then a final byte.
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				emit()
				for _, p := range strings.Split(s[i+2:j], ";") {
					n, err := strconv.Atoi(p)
					if p == "" {
						n, err = 0, nil
					}
					switch {
					case err != nil:
					case n == 0:
						fg, bold, under = -1, false, false
					case n == 1:
						bold = true
					case n == 22:
						bold = false
					case n == 4:
						under = true
					case n == 24:
						under = false
					case n >= 30 && n <= 37:
						fg = n - 30
					case n == 39:
						fg = -1
					case n >= 90 && n <= 97:
						fg = n - 90 + 8
					}
				}
			}
			i = j
		case c == 0x1b && i+1 < len(s) && s[i+1] == ']':
			// OSC: up to BEL or ST (ESC \).
			j := i + 2
			for j < len(s) && s[j] != 0x07 && !(s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\') {
				j++
			}
			if j < len(s) && s[j] == 0x1b {
				j++
			}
			i = j
		case c == 0x1b:
			i++ // a two-byte escape: drop both
		case isControl(rune(c)):
			fmt.Fprintf(&cur, `\x%02x`, c)
		default:
			cur.WriteByte(c)
		}
	}
	emit()
	return out
}
