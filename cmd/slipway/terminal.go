package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printable escapes control characters (ESC, BEL, CR, C1 codes; tabs
// stay) as \xNN or \u00NN, so that a log line or a commit message from a
// repository cannot drive the terminal it is printed on: retitle it, move
// the cursor, or hide what came before.
func printable(s string) string {
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

// forTerminal returns printable when w is a terminal, and the identity
// otherwise: piped output keeps its bytes.
func forTerminal(w io.Writer) func(string) string {
	if isTerminal(w) {
		return printable
	}
	return func(s string) string { return s }
}
