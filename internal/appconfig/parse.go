package appconfig

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads an apprunner.yaml strictly: unknown keys, wrong types,
// missing required keys, an unsupported version or runtime are errors (of
// type *Error) that name the line and the key, because the user can only
// fix what they can find.
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &Error{Msg: "file is empty"}
	}
	f := &File{}
	var build Build
	err := object(doc.Content[0], "", []string{"version", "runtime", "run"}, map[string]handler{
		"version": func(v *yaml.Node) (err error) { f.Version, err = version(v); return err },
		"runtime": func(v *yaml.Node) (err error) { f.Runtime, err = runtime(v); return err },
		"build": func(v *yaml.Node) error {
			f.Build = &build
			return parseBuild(v, &build)
		},
		"run": func(v *yaml.Node) error { return parseRun(v, &f.Run) },
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func parseBuild(n *yaml.Node, b *Build) error {
	return object(n, "build", []string{"commands"}, map[string]handler{
		"commands": func(v *yaml.Node) error {
			c := &b.Commands
			return object(v, "build.commands", []string{"build"}, map[string]handler{
				"pre-build":  func(v *yaml.Node) (err error) { c.PreBuild, err = strList(v, "build.commands.pre-build"); return err },
				"build":      func(v *yaml.Node) (err error) { c.Build, err = strList(v, "build.commands.build"); return err },
				"post-build": func(v *yaml.Node) (err error) { c.PostBuild, err = strList(v, "build.commands.post-build"); return err },
			})
		},
		"env": func(v *yaml.Node) (err error) { b.Env, err = envList(v, "build.env"); return err },
	})
}

func parseRun(n *yaml.Node, r *Run) error {
	return object(n, "run", []string{"command"}, map[string]handler{
		"runtime-version": func(v *yaml.Node) (err error) { r.RuntimeVersion, err = str(v, "run.runtime-version"); return err },
		"pre-run":         func(v *yaml.Node) (err error) { r.PreRun, err = strList(v, "run.pre-run"); return err },
		"command": func(v *yaml.Node) (err error) {
			r.Command, err = str(v, "run.command")
			if err == nil && strings.TrimSpace(r.Command) == "" {
				err = &Error{Line: v.Line, Msg: "run.command must not be empty"}
			}
			return err
		},
		"network": func(v *yaml.Node) error {
			return object(v, "run.network", nil, map[string]handler{
				"port": func(v *yaml.Node) (err error) { r.Network.Port, err = port(v, "run.network.port"); return err },
				"env":  func(v *yaml.Node) (err error) { r.Network.Env, err = str(v, "run.network.env"); return err },
			})
		},
		"env":     func(v *yaml.Node) (err error) { r.Env, err = envList(v, "run.env"); return err },
		"secrets": func(v *yaml.Node) (err error) { r.Secrets, err = secretList(v, "run.secrets"); return err },
	})
}

// handler decodes the value of one known key.
type handler func(v *yaml.Node) error

// object walks a mapping at path, dispatching each key to its handler. A
// key with a null value (`key:` and nothing else) counts as absent, the
// usual YAML reading of an empty entry.
func object(n *yaml.Node, path string, required []string, handlers map[string]handler) error {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return typeError(n, path, "a mapping")
	}
	seen := make(map[string]bool, len(n.Content)/2)
	nullAt := make(map[string]int) // line of keys present without a value
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return &Error{Line: k.Line, Msg: "keys must be strings" + where(path)}
		}
		h, ok := handlers[k.Value]
		if !ok {
			return &Error{Line: k.Line, Msg: fmt.Sprintf("unknown key %q%s", k.Value, where(path))}
		}
		if _, dup := seen[k.Value]; dup {
			return &Error{Line: k.Line, Msg: fmt.Sprintf("duplicate key %q%s", k.Value, where(path))}
		}
		seen[k.Value] = !isNull(v)
		if !seen[k.Value] {
			nullAt[k.Value] = k.Line
			continue
		}
		if err := h(v); err != nil {
			return err
		}
	}
	for _, key := range required {
		if line, ok := nullAt[key]; ok {
			return &Error{Line: line, Msg: fmt.Sprintf("key %q%s has no value", key, where(path))}
		}
		if !seen[key] {
			return &Error{Line: n.Line, Msg: fmt.Sprintf("missing required key %q%s", key, where(path))}
		}
	}
	return nil
}

func version(n *yaml.Node) (string, error) {
	v, err := str(n, "version")
	if err != nil {
		return "", err
	}
	// The file format has exactly one version. YAML reads `version: 1.0`
	// as a float, so accept any spelling of the number one.
	if f, ferr := strconv.ParseFloat(v, 64); v != "1.0" && (ferr != nil || f != 1) {
		return "", &Error{Line: n.Line, Msg: fmt.Sprintf("version must be 1.0, got %q", v)}
	}
	return "1.0", nil
}

func runtime(n *yaml.Node) (string, error) {
	v, err := str(n, "runtime")
	if err != nil {
		return "", err
	}
	if _, ok := runtimes[v]; !ok {
		return "", &Error{Line: n.Line, Msg: fmt.Sprintf("unknown runtime %q (supported: %s)", v, strings.Join(RuntimeNames(), ", "))}
	}
	return v, nil
}

func port(n *yaml.Node, path string) (int, error) {
	v, err := str(n, path)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(v)
	if err != nil {
		return 0, &Error{Line: n.Line, Msg: fmt.Sprintf("%s must be an integer, got %q", path, v)}
	}
	if p < 1 || p > 65535 {
		return 0, &Error{Line: n.Line, Msg: fmt.Sprintf("%s must be between 1 and 65535, got %d", path, p)}
	}
	return p, nil
}

// str reads a scalar. Numbers and booleans are taken as written, so
// `runtime-version: 3.10` stays "3.10" rather than becoming 3.1.
func str(n *yaml.Node, path string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return "", typeError(n, path, "a string")
	}
	return n.Value, nil
}

func strList(n *yaml.Node, path string) ([]string, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, typeError(n, path, "a list of strings")
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		s, err := str(item, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func envList(n *yaml.Node, path string) ([]EnvVar, error) {
	var out []EnvVar
	err := list(n, path, "name", func(item *yaml.Node, itemPath string) (string, error) {
		var e EnvVar
		err := object(item, itemPath, []string{"name", "value"}, map[string]handler{
			"name":  func(v *yaml.Node) (err error) { e.Name, err = envName(v, itemPath+".name"); return err },
			"value": func(v *yaml.Node) (err error) { e.Value, err = str(v, itemPath+".value"); return err },
		})
		out = append(out, e)
		return e.Name, err
	})
	return out, err
}

func secretList(n *yaml.Node, path string) ([]Secret, error) {
	var out []Secret
	err := list(n, path, "name", func(item *yaml.Node, itemPath string) (string, error) {
		var s Secret
		err := object(item, itemPath, []string{"name", "value-from"}, map[string]handler{
			"name":       func(v *yaml.Node) (err error) { s.Name, err = envName(v, itemPath+".name"); return err },
			"value-from": func(v *yaml.Node) (err error) { s.ValueFrom, err = str(v, itemPath+".value-from"); return err },
		})
		out = append(out, s)
		return s.Name, err
	})
	return out, err
}

// list walks a sequence of named entries, rejecting repeated names: the
// second would silently override the first in the environment.
func list(n *yaml.Node, path, what string, item func(n *yaml.Node, path string) (name string, err error)) error {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return typeError(n, path, "a list")
	}
	seen := make(map[string]bool, len(n.Content))
	for i, it := range n.Content {
		name, err := item(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return err
		}
		if seen[name] {
			return &Error{Line: deref(it).Line, Msg: fmt.Sprintf("duplicate %s %q in %s", what, name, path)}
		}
		seen[name] = true
	}
	return nil
}

func envName(n *yaml.Node, path string) (string, error) {
	v, err := str(n, path)
	if err != nil {
		return "", err
	}
	if v == "" || strings.ContainsAny(v, "=\x00") {
		return "", &Error{Line: n.Line, Msg: fmt.Sprintf("%s is not a valid variable name: %q", path, v)}
	}
	return v, nil
}

func typeError(n *yaml.Node, path, want string) error {
	return &Error{Line: n.Line, Msg: fmt.Sprintf("%s must be %s, got %s", nameOf(path), want, describe(n))}
}

// nameOf names the document root, which has an empty path.
func nameOf(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into an *Error.
func syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, ok := strings.Cut(rest, ": ")
		if line, cerr := strconv.Atoi(num); ok && cerr == nil {
			return &Error{Line: line, Msg: text}
		}
	}
	return &Error{Msg: msg}
}

var _ error = (*Error)(nil)
