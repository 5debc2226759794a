package appconfig

import (
	"errors"
	"testing"
)

// FuzzParse feeds apprunner.yaml files to Parse: it never panics, every
// failure is an *Error (so the deployment log can say where), and a file
// it accepts has a plan with a known runtime and a port.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		full,
		minimal,
		"version: 1.0\nruntime: nodejs18\nrun:\n  command: node index.js\n  network:\n    port: 3000\n",
		"version: 1.0\nruntime: python3\nrun:\n  comand: python3 app.py\n",
		"version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    - name: A\n      value: &a [1]\n    - name: B\n      value: *a\n",
		"version: 2.0\n",
		"{version: 1.0, runtime: go1, run: {command: ./app}}",
		"- a\n- b\n",
		"version: 1.0\nruntime: python3\nrun:\n  command: x\n  network:\n    port: 99999\n",
		"\t",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %T %v: want an *Error wrapping ErrInvalid", err, err)
			}
			return
		}
		p := file.Plan()
		if p.Runtime == "" || p.Port < 1 || p.Port > 65535 {
			t.Fatalf("accepted file has plan %+v: want a runtime and a port", p)
		}
	})
}
