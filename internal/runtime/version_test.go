package runtime

import (
	"slices"
	"testing"
)

func TestVersionNumbers(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"v20.20.2", []int{20, 20, 2}},
		{"1.8.0_412", []int{1, 8, 0}},
		{"3.1.2p20", []int{3, 1, 2}},
		{"21", []int{21}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := VersionNumbers(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("VersionNumbers(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
