package apprunner

import "testing"

func TestParseCPU(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"256", 256, true}, {"0.25 vCPU", 256, true}, {"0.5 vCPU", 512, true}, {"1 vCPU", 1024, true},
		{"1024", 1024, true}, {"2 vCPU", 2048, true}, {"4096", 4096, true},
		{"3 vCPU", 0, false}, {"1vCPU", 0, false}, {"", 0, false}, {"2560", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseCPU(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseCPU(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"2 GB", 2048, true}, {"2048", 2048, true}, {"0.5 GB", 512, true}, {"12 GB", 12288, true},
		{"10240", 10240, true}, {"5 GB", 0, false}, {"2GB", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestValidInstancePair(t *testing.T) {
	tests := []struct {
		cpu, mem string
		want     string // "" = allowed
	}{
		{"0.25 vCPU", "0.5 GB", ""},
		{"256", "1024", ""},
		{"0.5 vCPU", "1 GB", ""},
		{"1 vCPU", "2 GB", ""},
		{"1024", "4096", ""},
		{"2 vCPU", "6 GB", ""},
		{"4 vCPU", "12 GB", ""},
		{"", "", ""},       // defaults
		{"1 vCPU", "", ""}, // default memory 2 GB
		{"", "3 GB", ""},   // default cpu 1 vCPU
		{"0.5 vCPU", "2 GB", `InstanceConfiguration.Memory "2 GB" is not supported with InstanceConfiguration.Cpu "0.5 vCPU" (0.5 vCPU): allowed Memory is 1 GB`},
		{"4096", "4096", `InstanceConfiguration.Memory "4096" is not supported with InstanceConfiguration.Cpu "4096" (4 vCPU): allowed Memory is 8 GB, 10 GB, 12 GB`},
		{"1 vCPU", "1 GB", `InstanceConfiguration.Memory "1 GB" is not supported with InstanceConfiguration.Cpu "1 vCPU" (1 vCPU): allowed Memory is 2 GB, 3 GB, 4 GB`},
		{"3 vCPU", "2 GB", `invalid Cpu "3 vCPU": want one of 256, 512, 1024, 2048, 4096 or 0.25, 0.5, 1, 2, 4 vCPU`},
	}
	for _, tt := range tests {
		err := ValidInstancePair(tt.cpu, tt.mem)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ValidInstancePair(%q, %q) = %q, want %q", tt.cpu, tt.mem, got, tt.want)
		}
	}
}
