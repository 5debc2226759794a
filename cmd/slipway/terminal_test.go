package main

import (
	"bytes"
	"testing"
)

func TestForTerminalKeepsPipedBytes(t *testing.T) {
	if got := forTerminal(&bytes.Buffer{})("\x1b[31mred"); got != "\x1b[31mred" {
		t.Errorf("forTerminal(buffer) changed %q", got)
	}
}
