package console

import (
	"reflect"
	"testing"
)

func TestANSISegments(t *testing.T) {
	tests := []struct {
		in   string
		want []segment
	}{
		{"plain", nil},
		{"\x1b[32mok\x1b[0m done", []segment{{"ok", "ansi-fg-2"}, {" done", ""}}},
		{"\x1b[1;91mFAIL\x1b[22m x\x1b[m", []segment{{"FAIL", "ansi-fg-9 ansi-b"}, {" x", "ansi-fg-9"}}},
		{"\x1b]0;pwned\x07title\x1b[2J\x1b[Hcleared", []segment{{"titlecleared", ""}}},
		{"\x1b]8;;http://x\x1b\\link", []segment{{"link", ""}}},
		{"a\x1b[4mu\x1b[24m\rb\x07", []segment{{"a", ""}, {"u", "ansi-u"}, {`\x0db\x07`, ""}}},
		{"cut \x1b[3", []segment{{"cut ", ""}}},
	}
	for _, tt := range tests {
		if got := ansiSegments(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ansiSegments(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestANSIHTML(t *testing.T) {
	for in, want := range map[string]string{
		"<b>\x1b[31mred</b>\x1b[0m": `&lt;b&gt;<span class="ansi-fg-1">red&lt;/b&gt;</span>`,
		"bell\x07 & <i>":            `bell\x07 &amp; &lt;i&gt;`,
	} {
		if got := string(ansiHTML(in)); got != want {
			t.Errorf("ansiHTML(%q) = %q, want %q", in, got, want)
		}
	}
}
