package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

const namespace = "com.amazonaws.apprunner#"

// Smithy trait ids used by the generator.
const (
	traitRequired  = "smithy.api#required"
	traitDefault   = "smithy.api#default"
	traitLength    = "smithy.api#length"
	traitPattern   = "smithy.api#pattern"
	traitRange     = "smithy.api#range"
	traitSensitive = "smithy.api#sensitive"
	traitDoc       = "smithy.api#documentation"
	traitEnumValue = "smithy.api#enumValue"
	traitPaginated = "smithy.api#paginated"
	traitError     = "smithy.api#error"
	traitHTTPError = "smithy.api#httpError"
)

type model struct {
	Shapes map[string]*shape `json:"shapes"`
}

type traits map[string]json.RawMessage

func (t traits) has(id string) bool { _, ok := t[id]; return ok }

func (t traits) str(id string) string {
	var s string
	if raw, ok := t[id]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

type ref struct {
	Target string `json:"target"`
	Traits traits `json:"traits"`
}

type member struct {
	Name string
	ref
}

// members keeps the model's member order, which fixes field and validation order.
type members []member

func (ms *members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var r ref
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		*ms = append(*ms, member{Name: name, ref: r})
	}
	return nil
}

type shape struct {
	Type       string  `json:"type"`
	Members    members `json:"members"`
	Member     *ref    `json:"member"`
	Key        *ref    `json:"key"`
	Value      *ref    `json:"value"`
	Input      *ref    `json:"input"`
	Output     *ref    `json:"output"`
	Errors     []ref   `json:"errors"`
	Operations []ref   `json:"operations"`
	Traits     traits  `json:"traits"`
}

func loadModel(path string) (*model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &m, nil
}

// local strips the namespace from a shape id; prelude shapes keep their smithy.api# prefix.
func local(id string) string { return strings.TrimPrefix(id, namespace) }

func (m *model) shape(id string) *shape {
	s, ok := m.Shapes[id]
	if !ok {
		panic(fmt.Sprintf("unknown shape %s", id))
	}
	return s
}

type bounds struct {
	Min *int64 `json:"min"`
	Max *int64 `json:"max"`
}

// constraint returns a trait from the member if present, else from the target shape.
func (m *model) constraint(mt traits, target, id string) json.RawMessage {
	if raw, ok := mt[id]; ok {
		return raw
	}
	if s, ok := m.Shapes[target]; ok {
		return s.Traits[id]
	}
	return nil
}

func decodeBounds(raw json.RawMessage) *bounds {
	if raw == nil {
		return nil
	}
	var b bounds
	if err := json.Unmarshal(raw, &b); err != nil {
		panic(err)
	}
	return &b
}
