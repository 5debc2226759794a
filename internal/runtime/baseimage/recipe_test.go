package baseimage

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRecipeFor(t *testing.T) {
	for _, tc := range []struct {
		rt, family string
		pkgs       []string
	}{
		{"PYTHON_3", "python", []string{"ca-certificates", "python3", "python3-pip", "python3-venv"}},
		{"PYTHON_311", "python", []string{"python3"}},
		{"NODEJS_12", "nodejs", []string{"nodejs", "npm"}},
		{"NODEJS_22", "nodejs", []string{"nodejs", "npm"}},
		{"GO_1", "go", []string{"golang-go"}},
		{"CORRETTO_11", "java", []string{"openjdk-17-jdk-headless"}},
		{"PHP_81", "php", []string{"php-cli"}},
		{"RUBY_31", "ruby", []string{"ruby"}},
	} {
		r, err := RecipeFor(tc.rt)
		if err != nil {
			t.Errorf("RecipeFor(%s): %v", tc.rt, err)
			continue
		}
		if r.Family != tc.family {
			t.Errorf("RecipeFor(%s).Family = %q, want %q", tc.rt, r.Family, tc.family)
		}
		for _, p := range tc.pkgs {
			if !slices.Contains(r.AllPackages(), p) {
				t.Errorf("RecipeFor(%s) packages %v lack %s", tc.rt, r.AllPackages(), p)
			}
		}
	}
	for _, rt := range []string{"DOTNET_6", "COBOL_1", "PYTHON", ""} {
		_, err := RecipeFor(rt)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "--runtime-image "+rt+"=REF") {
			t.Errorf("RecipeFor(%q) err = %v, want ErrUnsupported naming --runtime-image", rt, err)
		}
	}
}

func TestTag(t *testing.T) {
	tag := func(rt string) string {
		r, err := RecipeFor(rt)
		if err != nil {
			t.Fatal(err)
		}
		return r.Tag()
	}
	if !regexp.MustCompile(`^slipway/runtime-python:bookworm-[0-9a-f]{12}$`).MatchString(tag("PYTHON_3")) {
		t.Errorf("tag = %q, want slipway/runtime-python:bookworm-<12 hex>", tag("PYTHON_3"))
	}
	if tag("PYTHON_3") != tag("PYTHON_311") || tag("NODEJS_12") != tag("NODEJS_22") {
		t.Errorf("runtimes of one family get different images: %s %s, %s %s", tag("PYTHON_3"), tag("PYTHON_311"), tag("NODEJS_12"), tag("NODEJS_22"))
	}
	if tag("PYTHON_3") == tag("NODEJS_18") {
		t.Errorf("python and nodejs share the tag %s", tag("PYTHON_3"))
	}
	r, _ := RecipeFor("PYTHON_3")
	r2 := r
	r2.Packages = append(slices.Clone(r.Packages), "python3-dev")
	if r.Tag() == r2.Tag() {
		t.Errorf("another package list keeps the tag %s", r.Tag())
	}
}

func TestMismatch(t *testing.T) {
	for _, tc := range []struct {
		rt, version string
		want        string // "" for none, else a part of the warning
	}{
		{"PYTHON_3", "", ""},
		{"PYTHON_311", "", ""},
		{"PYTHON_311", "3.11.9", ""},
		{"PYTHON_3", "3.8.16", "asks for Python 3.8, Slipway's Debian bookworm base image has Python 3.11"},
		{"NODEJS_18", "", ""},
		{"NODEJS_18", "18.20.1", "runtime-version 18.20.1) asks for Node.js 18.20, Slipway's Debian bookworm base image has Node.js 18;"},
		{"NODEJS_12", "", "runtime NODEJS_12 asks for Node.js 12, Slipway's Debian bookworm base image has Node.js 18; the build and instances use it (--runtime-image NODEJS_12=REF"},
		{"NODEJS_22", "", "asks for Node.js 22"},
		{"GO_1", "", ""},
		{"CORRETTO_11", "", "asks for Java 11, Slipway's Debian bookworm base image has Java 17"},
		{"CORRETTO_8", "1.8.0_392", "asks for Java 8"},
		{"RUBY_31", "", ""},
		{"PHP_81", "", "asks for PHP 8.1"},
	} {
		r, err := RecipeFor(tc.rt)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Mismatch(tc.rt, tc.version)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("Mismatch(%s, %q) = %q, want %q", tc.rt, tc.version, got, tc.want)
		}
	}
}

func TestArgs(t *testing.T) {
	r, _ := RecipeFor("NODEJS_18")
	got := strings.Join(Args(r, "/tmp/x/rootfs.tar"), " ")
	for _, want := range []string{"--variant=minbase", "--include=ca-certificates,nodejs,npm", "bookworm /tmp/x/rootfs.tar"} {
		if !strings.Contains(got, want) {
			t.Errorf("mmdebstrap args %q lack %q", got, want)
		}
	}
}
