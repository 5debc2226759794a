package main

import (
	"bytes"
	"fmt"
)

// memberInfo is what the generator needs to know about one structure member.
type memberInfo struct {
	Name     string
	Target   string
	Kind     string // the target's shape type
	Required bool
	Default  bool
	GoType   string // without the pointer
	Pointer  bool
}

func (g *generator) member(mb member) memberInfo {
	t := g.m.shape(mb.Target)
	mi := memberInfo{
		Name:     mb.Name,
		Target:   mb.Target,
		Kind:     t.Type,
		Required: mb.Traits.has(traitRequired),
		Default:  mb.Traits.has(traitDefault),
	}
	plain := mi.Required || mi.Default
	switch t.Type {
	case "string", "enum":
		mi.GoType, mi.Pointer = "string", !plain
	case "integer", "long":
		mi.GoType, mi.Pointer = "int64", !plain
	case "boolean":
		mi.GoType, mi.Pointer = "bool", !plain
	case "timestamp":
		mi.GoType, mi.Pointer = "Time", !plain
	case "structure":
		mi.GoType, mi.Pointer = local(mb.Target), true
	case "list":
		mi.GoType = "[]" + g.elemType(t.Member.Target)
	case "map":
		if k, v := g.m.shape(t.Key.Target).Type, g.m.shape(t.Value.Target).Type; k != "string" || v != "string" {
			panic(fmt.Sprintf("map %s: only map[string]string is supported", mb.Target))
		}
		mi.GoType = "map[string]string"
	default:
		panic(fmt.Sprintf("member %s: unsupported target type %s", mb.Name, t.Type))
	}
	return mi
}

func (g *generator) elemType(id string) string {
	switch t := g.m.shape(id); t.Type {
	case "string", "enum":
		return "string"
	case "integer", "long":
		return "int64"
	case "boolean":
		return "bool"
	case "timestamp":
		return "Time"
	case "structure":
		return local(id)
	default:
		panic(fmt.Sprintf("list of %s (%s) unsupported", id, t.Type))
	}
}

func (g *generator) genStructs(ids []string) []string {
	var blocks []string
	for _, id := range ids {
		var b bytes.Buffer
		s := g.m.shape(id)
		name := local(id)
		lines := []string{fmt.Sprintf("%s is the model shape %s.", name, name)}
		if doc := firstSentence(s.Traits.str(traitDoc)); doc != "" {
			lines = append(lines, doc)
		}
		comment(&b, lines...)
		fmt.Fprintf(&b, "type %s struct {\n", name)
		for _, mb := range s.Members {
			mi := g.member(mb)
			typ := mi.GoType
			if mi.Pointer {
				typ = "*" + typ
			}
			tag := mi.Name
			if !mi.Required && !mi.Default {
				tag += ",omitempty"
			}
			fmt.Fprintf(&b, "\t%s %s `json:%q`\n", mi.Name, typ, tag)
		}
		b.WriteString("}\n\n")
		blocks = append(blocks, b.String())
	}
	return blocks
}

func (g *generator) enumValues(id string) []string {
	var vals []string
	for _, mb := range g.m.shape(id).Members {
		v := mb.Traits.str(traitEnumValue)
		if v == "" {
			v = mb.Name
		}
		vals = append(vals, v)
	}
	return vals
}

// enumConst names the constant of an enum member: ServiceStatus + CREATE_FAILED -> ServiceStatusCreateFailed.
func enumConst(enum, value string) string {
	name := enum
	up := true
	for _, r := range value {
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			up = true
		case up:
			name += string(toUpper(r))
			up = false
		default:
			name += string(toLower(r))
		}
	}
	return name
}

func toUpper(r rune) rune {
	if r >= 'a' && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}

func toLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r - 'A' + 'a'
	}
	return r
}

func (g *generator) genEnums() []string {
	var blocks []string
	for _, id := range g.ids("enum") {
		var b bytes.Buffer
		name := local(id)
		lines := []string{fmt.Sprintf("%s is the model enum %s; fields holding it are plain strings.", name, name)}
		if doc := firstSentence(g.m.shape(id).Traits.str(traitDoc)); doc != "" {
			lines = append(lines, doc)
		}
		comment(&b, lines...)
		fmt.Fprintf(&b, "type %s string\n\n", name)
		fmt.Fprintf(&b, "// Values of %s.\nconst (\n", name)
		vals := g.enumValues(id)
		for _, v := range vals {
			fmt.Fprintf(&b, "\t%s = %q\n", enumConst(name, v), v)
		}
		b.WriteString(")\n\n")
		fmt.Fprintf(&b, "// %sValues lists the values of %s in model order.\nvar %sValues = []string{", name, name, name)
		for i, v := range vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(enumConst(name, v))
		}
		b.WriteString("}\n\n")
		blocks = append(blocks, b.String())
	}
	return blocks
}
