package process

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
)

func TestVersionMismatch(t *testing.T) {
	const use = "; the build and instances use the host's"
	tests := []struct {
		rt, runtimeVersion, cmd, output string
		want                            string
	}{
		{"NODEJS_12", "", "node", "v20.20.2\n", "warning: runtime NODEJS_12 asks for Node.js 12, the host's node is v20.20.2" + use},
		{"NODEJS_20", "", "node", "v20.20.2\n", ""},
		{"NODEJS_18", "18.19.0", "node", "v20.20.2\n", "warning: runtime NODEJS_18 (runtime-version 18.19.0) asks for Node.js 18.19, the host's node is v20.20.2" + use},
		{"NODEJS_18", "18.19.0", "node", "v18.19.1\n", ""}, // patch levels don't count
		{"NODEJS_18", "18", "node", "v18.20.4\n", ""},
		{"PYTHON_311", "", "python3", "Python 3.9.2\n", "warning: runtime PYTHON_311 asks for Python 3.11, the host's python3 is 3.9.2" + use},
		{"PYTHON_311", "", "python3", "Python 3.11.2\n", ""},
		{"PYTHON_3", "", "python3", "Python 3.13.5\n", ""},
		{"PYTHON_3", "", "python3", "Python 2.7.18\n", "warning: runtime PYTHON_3 asks for Python 3, the host's python3 is 2.7.18" + use},
		{"PYTHON_3", "3.8.16", "python3", "Python 3.11.2\n", "warning: runtime PYTHON_3 (runtime-version 3.8.16) asks for Python 3.8, the host's python3 is 3.11.2" + use},
		{"GO_1", "", "go", "go version go1.24.4 linux/amd64\n", ""},
		{"GO_1", "1.18.10", "go", "go version go1.24.4 linux/amd64\n", "warning: runtime GO_1 (runtime-version 1.18.10) asks for Go 1.18, the host's go is 1.24.4" + use},
		{"CORRETTO_11", "", "java", "openjdk version \"17.0.2\" 2022-01-18\nOpenJDK Runtime Environment\n", "warning: runtime CORRETTO_11 asks for Java 11, the host's java is 17.0.2" + use},
		{"CORRETTO_11", "11.0.21.9.1", "java", "Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version \"11.0.24\" 2024-07-16\n", ""},
		{"CORRETTO_8", "", "java", "openjdk version \"1.8.0_412\"\n", ""},
		{"CORRETTO_8", "", "java", "openjdk version \"21\" 2023-09-19\n", "warning: runtime CORRETTO_8 asks for Java 8, the host's java is 21" + use},
		{"DOTNET_6", "", "dotnet", "8.0.100\n", "warning: runtime DOTNET_6 asks for .NET 6, the host's dotnet is 8.0.100" + use},
		{"PHP_81", "", "php", "PHP 8.1.2-1ubuntu2.18 (cli) (built: Jun 14 2024)\n", ""},
		{"PHP_81", "", "php", "PHP 8.2.7 (cli)\n", "warning: runtime PHP_81 asks for PHP 8.1, the host's php is 8.2.7" + use},
		{"RUBY_31", "", "ruby", "ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux]\n", ""},
		{"RUBY_31", "", "ruby", "ruby 3.3.8 (2025-04-09 revision b200bad6cd) +PRISM [x86_64-linux]\n", "warning: runtime RUBY_31 asks for Ruby 3.1, the host's ruby is 3.3.8" + use},
		// What cannot be told is not a mismatch.
		{"COBOL_1", "", "cobc", "cobc (GnuCOBOL) 3.1.2\n", ""},
		{"NODEJS_12", "", "node", "no version here\n", ""},
		{"", "", "", "", ""},
	}
	for _, tt := range tests {
		if got := versionMismatch(tt.rt, tt.runtimeVersion, tt.cmd, tt.output); got != tt.want {
			t.Errorf("versionMismatch(%s, %q, %s, %q) =\n  %q\nwant\n  %q", tt.rt, tt.runtimeVersion, tt.cmd, tt.output, got, tt.want)
		}
	}
}

// TestToolchainMismatch runs a stand-in toolchain, as a build would.
func TestToolchainMismatch(t *testing.T) {
	dir := t.TempDir()
	node := filepath.Join(dir, "node")
	if err := os.WriteFile(node, []byte("#!/bin/sh\n[ \"$1\" = --version ] && echo v20.20.2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken-node")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := New(Config{Dir: t.TempDir(), Toolchains: map[string]string{"NODEJS_12": node, "NODEJS_20": node, "NODEJS_18": broken}}, nil)
	t.Cleanup(func() { b.Close() })
	tests := []struct {
		spec runtime.BuildSpec
		want string // a substring; "" means no warning
	}{
		{runtime.BuildSpec{Runtime: "NODEJS_12"}, "warning: runtime NODEJS_12 asks for Node.js 12, the host's " + node + " is v20.20.2"},
		{runtime.BuildSpec{Runtime: "NODEJS_20"}, ""},
		{runtime.BuildSpec{Runtime: "NODEJS_18"}, "could not tell the version of the host's " + broken},
		{runtime.BuildSpec{}, ""},
	}
	for _, tt := range tests {
		got := b.ToolchainMismatch(t.Context(), tt.spec)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("ToolchainMismatch(%s) = %q, want %q", tt.spec.Runtime, got, tt.want)
		}
	}
}
