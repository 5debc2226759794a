package runtime

import (
	"slices"
	"strconv"
	"strings"
)

// The process backend (the host's toolchains) and the Debian base images
// both warn when a managed runtime's language version differs from the
// one it asks for; these are the rules they share.

// WantedVersion is the language version a runtime asks for: apprunner.yaml's
// runtime-version when given, else the runtime's number (NODEJS_18 is 18;
// with minorInName, PYTHON_311 is 3.11). asked describes the request for a
// warning.
func WantedVersion(rt, runtimeVersion string, minorInName bool) (asked string, want []int) {
	_, num, _ := strings.Cut(rt, "_")
	asked = "runtime " + rt
	if runtimeVersion != "" {
		return asked + " (runtime-version " + runtimeVersion + ")", VersionNumbers(runtimeVersion)
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return asked, nil
	}
	if minorInName && len(num) > 1 {
		major, _ := strconv.Atoi(num[:1])
		minor, _ := strconv.Atoi(num[1:])
		return asked, []int{major, minor}
	}
	return asked, []int{n}
}

// CompareVersions reports whether have is the version want asks for: the
// same major, and minor where want names one; patch levels never count.
// With majorOnly (Java, whose second number is an update level) only the
// major counts, and 1.8 is 8. It returns the part of want it compared.
func CompareVersions(want, have []int, majorOnly bool) (compared []int, ok bool) {
	n := min(len(want), 2)
	if majorOnly {
		want, have = javaMajor(want), javaMajor(have)
		n = min(len(want), 1)
	}
	want = want[:n]
	return want, len(have) >= n && slices.Equal(have[:n], want)
}

// javaMajor maps Java's old numbering (1.8) to its major (8).
func javaMajor(v []int) []int {
	if len(v) > 1 && v[0] == 1 {
		return v[1:]
	}
	return v
}

// VersionNumbers splits "v18.19.0" or "1.8.0_292" into [18 19 0] or
// [1 8 0], stopping where a part is no longer a number.
func VersionNumbers(v string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(strings.TrimPrefix(v, "v"), func(r rune) bool { return r == '.' }) {
		digits := f
		if i := strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = f[:i]
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			break
		}
		out = append(out, n)
		if len(digits) < len(f) {
			break // "0_292", "2p20": what follows is no longer a version
		}
	}
	return out
}

// JoinVersion writes [18 19] as "18.19".
func JoinVersion(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}
