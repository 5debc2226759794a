package applog

import (
	"fmt"
	"strings"
	"unicode"
)

// Printable escapes a log line's control characters (ESC, BEL, CR, C1
// codes; tabs stay) as \xNN or \u00NN, so that what an app or a repository
// wrote cannot drive the terminal or page it is shown on: retitle it, move
// the cursor, or hide what came before.
func Printable(s string) string {
	if strings.IndexFunc(s, needsEscape) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !needsEscape(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r != '\t' && unicode.IsControl(r)
}
