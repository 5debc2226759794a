package logquery

import (
	"errors"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	const msg = `2024/05/06 ERROR [db] connection "main" lost: Out of memory`
	tests := []struct {
		pattern string
		want    bool
	}{
		{"", true},
		{"   ", true},
		{"ERROR", true},
		{"error", false}, // case-sensitive
		{"ERR", true},    // substring
		{"ERROR lost", true},
		{"ERROR found", false},
		{`"Out of memory"`, true},
		{`"out of memory"`, false},
		{`"memory Out"`, false},
		{`ERROR "connection \"main\""`, true},
		{"?WARN ?ERROR", true},
		{"?WARN ?INFO", false},
		{"ERROR -db", false},
		{"ERROR -cache", true},
		{`-"Out of memory"`, false},
		{"-WARN", true},
		{"lost ?WARN ?memory", true},
		{"lost ?WARN ?INFO", false},
		{`%ERROR \[d.\]%`, true},
		{`%^2024/05/06 ERROR%`, true},
		{`%^ERROR%`, false},
		{`%memory$%`, true},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v", tt.pattern, err)
			continue
		}
		if got := p.Match(msg); got != tt.want {
			t.Errorf("pattern %q on %q = %v, want %v", tt.pattern, msg, got, tt.want)
		}
	}
}

func TestPatternRejects(t *testing.T) {
	for _, pattern := range []string{
		`{ $.level = "error" }`,
		`[ip, user, ...]`,
		`"unterminated`,
		`ERROR -`,
		`? x`,
		`%[%`,
	} {
		_, err := ParsePattern(pattern)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidParameter {
			t.Errorf("ParsePattern(%q) = %v, want InvalidParameterException", pattern, err)
		}
	}
}
