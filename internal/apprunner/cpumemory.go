package apprunner

import (
	"fmt"
	"strings"
)

// Instance size defaults App Runner applies when InstanceConfiguration omits them.
const (
	DefaultCPU    = "1024" // 1 vCPU
	DefaultMemory = "2048" // 2 GB
)

// cpuUnits maps every accepted Cpu spelling to CPU units (1024 = 1 vCPU).
var cpuUnits = map[string]int{
	"256": 256, "512": 512, "1024": 1024, "2048": 2048, "4096": 4096,
	"0.25 vCPU": 256, "0.5 vCPU": 512, "1 vCPU": 1024, "2 vCPU": 2048, "4 vCPU": 4096,
}

// memoryMiB maps every accepted Memory spelling to MiB.
var memoryMiB = map[string]int{
	"512": 512, "1024": 1024, "2048": 2048, "3072": 3072, "4096": 4096,
	"6144": 6144, "8192": 8192, "10240": 10240, "12288": 12288,
	"0.5 GB": 512, "1 GB": 1024, "2 GB": 2048, "3 GB": 3072, "4 GB": 4096,
	"6 GB": 6144, "8 GB": 8192, "10 GB": 10240, "12 GB": 12288,
}

// allowedMemory lists, per CPU units, the memory sizes (MiB) App Runner pairs with it.
var allowedMemory = map[int][]int{
	256:  {512, 1024},
	512:  {1024},
	1024: {2048, 3072, 4096},
	2048: {4096, 6144},
	4096: {8192, 10240, 12288},
}

// ParseCPU converts a Cpu value ("1 vCPU" or "1024") to CPU units, where 1024 is one vCPU.
func ParseCPU(s string) (int, error) {
	if n, ok := cpuUnits[s]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("invalid Cpu %q: want one of 256, 512, 1024, 2048, 4096 or 0.25, 0.5, 1, 2, 4 vCPU", s)
}

// ParseMemory converts a Memory value ("2 GB" or "2048") to MiB.
func ParseMemory(s string) (int, error) {
	if n, ok := memoryMiB[s]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("invalid Memory %q: want one of 512, 1024, 2048, 3072, 4096, 6144, 8192, 10240, 12288 or 0.5, 1, 2, 3, 4, 6, 8, 10, 12 GB", s)
}

// ValidInstancePair checks that App Runner offers the Cpu/Memory combination. An empty value
// stands for its default (DefaultCPU, DefaultMemory).
func ValidInstancePair(cpu, mem string) error {
	if cpu == "" {
		cpu = DefaultCPU
	}
	if mem == "" {
		mem = DefaultMemory
	}
	c, err := ParseCPU(cpu)
	if err != nil {
		return err
	}
	m, err := ParseMemory(mem)
	if err != nil {
		return err
	}
	allowed := allowedMemory[c]
	for _, a := range allowed {
		if a == m {
			return nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = formatGB(a)
	}
	return fmt.Errorf("InstanceConfiguration.Memory %q is not supported with InstanceConfiguration.Cpu %q (%s): allowed Memory is %s",
		mem, cpu, formatVCPU(c), strings.Join(names, ", "))
}

func formatVCPU(units int) string {
	return fmt.Sprintf("%g vCPU", float64(units)/1024)
}

func formatGB(mib int) string {
	return fmt.Sprintf("%g GB", float64(mib)/1024)
}
