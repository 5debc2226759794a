package main

import (
	"io"
	"os"

	"github.com/slipwayhq/slipway/internal/applog"
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

// forTerminal returns applog.Printable when w is a terminal, and the
// identity otherwise: piped output keeps its bytes.
func forTerminal(w io.Writer) func(string) string {
	if isTerminal(w) {
		return applog.Printable
	}
	return func(s string) string { return s }
}
