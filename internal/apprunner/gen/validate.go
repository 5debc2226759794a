package main

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// needsCheck reports whether values of a shape carry any constraint worth generated code.
func (g *generator) needsCheck(id string) bool {
	if v, ok := g.needs[id]; ok {
		return v
	}
	g.needs[id] = true // recursion guard: assume yes while computing
	s := g.m.shape(id)
	var v bool
	switch s.Type {
	case "string":
		v = s.Traits.has(traitLength) || g.pattern(id) != ""
	case "enum":
		v = true
	case "integer", "long":
		v = s.Traits.has(traitRange)
	case "list":
		v = s.Traits.has(traitLength) || g.needsCheck(s.Member.Target)
	case "map":
		v = s.Traits.has(traitLength) || g.needsCheck(s.Key.Target) || g.needsCheck(s.Value.Target)
	case "structure":
		for _, mb := range s.Members {
			if mb.Traits.has(traitRequired) || g.needsCheck(mb.Target) {
				v = true
			}
		}
	}
	g.needs[id] = v
	return v
}

// pattern returns the model's pattern of a string shape, or "" when it constrains nothing.
func (g *generator) pattern(id string) string {
	p := g.m.shape(id).Traits.str(traitPattern)
	if p == ".*" {
		return ""
	}
	return p
}

func checkFunc(id string) string { return "check" + local(id) }

func patVar(id string) string { return "pat" + local(id) }

func (g *generator) genValidateStructs(ids []string) ([]string, error) {
	var blocks []string
	for _, id := range ids {
		var b bytes.Buffer
		s := g.m.shape(id)
		name := local(id)
		fmt.Fprintf(&b, "// Validate checks v against the constraints of the model shape %s.\n", name)
		fmt.Fprintf(&b, "func (v *%s) Validate(path string) error {\n", name)
		if !g.needsCheck(id) {
			b.WriteString("\treturn nil\n}\n\n")
			blocks = append(blocks, b.String())
			continue
		}
		b.WriteString("\tif v == nil {\n\t\treturn nil\n\t}\n")
		for _, mb := range s.Members {
			for _, t := range []string{traitLength, traitPattern, traitRange} {
				if mb.Traits.has(t) {
					return nil, fmt.Errorf("%s.%s: member-level %s is not supported", name, mb.Name, t)
				}
			}
			g.genMemberCheck(&b, g.member(mb))
		}
		b.WriteString("\treturn nil\n}\n\n")
		blocks = append(blocks, b.String())
	}
	return blocks, nil
}

func (g *generator) genMemberCheck(b *bytes.Buffer, mi memberInfo) {
	p := fmt.Sprintf("joinPath(path, %q)", lowerFirst(mi.Name))
	field := "v." + mi.Name
	ret := "\t\treturn err\n\t}\n"
	if mi.Required {
		switch {
		case mi.GoType == "string" && !mi.Pointer:
			fmt.Fprintf(b, "\tif %s == \"\" {\n\t\treturn errMissing(%s)\n\t}\n", field, p)
		case mi.Pointer || mi.Kind == "list" || mi.Kind == "map":
			fmt.Fprintf(b, "\tif %s == nil {\n\t\treturn errMissing(%s)\n\t}\n", field, p)
		}
	}
	if !g.needsCheck(mi.Target) {
		return
	}
	switch mi.Kind {
	case "structure":
		fmt.Fprintf(b, "\tif err := %s.Validate(%s); err != nil {\n%s", field, p, ret)
	case "list", "map":
		fmt.Fprintf(b, "\tif err := %s(%s, %s); err != nil {\n%s", checkFunc(mi.Target), p, field, ret)
	default:
		switch {
		case mi.Pointer:
			fmt.Fprintf(b, "\tif %s != nil {\n\t\tif err := %s(%s, *%s); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n",
				field, checkFunc(mi.Target), p, field)
		case mi.Required:
			fmt.Fprintf(b, "\tif err := %s(%s, %s); err != nil {\n%s", checkFunc(mi.Target), p, field, ret)
		default: // @default without @required: the zero value means "not sent"
			zero := "0"
			if mi.GoType == "string" {
				zero = `""`
			}
			fmt.Fprintf(b, "\tif %s != %s {\n\t\tif err := %s(%s, %s); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n",
				field, zero, checkFunc(mi.Target), p, field)
		}
	}
}

func (g *generator) genValidateShapes() ([]string, error) {
	var vars bytes.Buffer
	var blocks []string
	var ids []string
	for _, typ := range []string{"enum", "integer", "list", "long", "map", "string"} {
		ids = append(ids, g.ids(typ)...)
	}
	sortByLocal(ids)
	for _, id := range ids {
		if !g.needsCheck(id) {
			continue
		}
		var body bytes.Buffer
		s := g.m.shape(id)
		name := local(id)
		fmt.Fprintf(&body, "// %s checks a value of the model shape %s.\n", checkFunc(id), name)
		switch s.Type {
		case "string":
			if err := g.genStringCheck(&body, &vars, id); err != nil {
				return nil, err
			}
		case "enum":
			fmt.Fprintf(&body, "func %s(path, v string) error {\n", checkFunc(id))
			fmt.Fprintf(&body, "\tif !slices.Contains(%sValues, v) {\n\t\treturn errEnum(path, v, %sValues)\n\t}\n", name, name)
			body.WriteString("\treturn nil\n}\n\n")
		case "integer", "long":
			fmt.Fprintf(&body, "func %s(path string, v int64) error {\n", checkFunc(id))
			r := decodeBounds(s.Traits[traitRange])
			if r.Min != nil {
				fmt.Fprintf(&body, "\tif v < %d {\n\t\treturn errRangeMin(path, v, %d)\n\t}\n", *r.Min, *r.Min)
			}
			if r.Max != nil {
				fmt.Fprintf(&body, "\tif v > %d {\n\t\treturn errRangeMax(path, v, %d)\n\t}\n", *r.Max, *r.Max)
			}
			body.WriteString("\treturn nil\n}\n\n")
		case "list":
			elem := s.Member.Target
			fmt.Fprintf(&body, "func %s(path string, v []%s) error {\n", checkFunc(id), g.elemType(elem))
			g.genCountCheck(&body, s)
			if g.needsCheck(elem) {
				body.WriteString("\tfor i := range v {\n")
				if g.m.shape(elem).Type == "structure" {
					body.WriteString("\t\tif err := v[i].Validate(elemPath(path, i)); err != nil {\n")
				} else {
					fmt.Fprintf(&body, "\t\tif err := %s(elemPath(path, i), v[i]); err != nil {\n", checkFunc(elem))
				}
				body.WriteString("\t\t\treturn err\n\t\t}\n\t}\n")
			}
			body.WriteString("\treturn nil\n}\n\n")
		case "map":
			fmt.Fprintf(&body, "func %s(path string, v map[string]string) error {\n", checkFunc(id))
			g.genCountCheck(&body, s)
			body.WriteString("\tfor _, k := range slices.Sorted(maps.Keys(v)) {\n")
			if g.needsCheck(s.Key.Target) {
				fmt.Fprintf(&body, "\t\tif err := %s(path+\".key\", k); err != nil {\n\t\t\treturn err\n\t\t}\n", checkFunc(s.Key.Target))
			}
			if g.needsCheck(s.Value.Target) {
				fmt.Fprintf(&body, "\t\tif err := %s(path+\".value\", v[k]); err != nil {\n\t\t\treturn err\n\t\t}\n", checkFunc(s.Value.Target))
			}
			body.WriteString("\t}\n\treturn nil\n}\n\n")
		}
		blocks = append(blocks, body.String())
	}
	if vars.Len() > 0 {
		blocks = append([]string{"// Patterns of the model, compiled once.\nvar (\n" + vars.String() + ")\n\n"}, blocks...)
	}
	return blocks, nil
}

func (g *generator) genCountCheck(b *bytes.Buffer, s *shape) {
	l := decodeBounds(s.Traits[traitLength])
	if l == nil {
		return
	}
	if l.Min != nil {
		fmt.Fprintf(b, "\tif len(v) < %d {\n\t\treturn errCountMin(path, %d)\n\t}\n", *l.Min, *l.Min)
	}
	if l.Max != nil {
		fmt.Fprintf(b, "\tif len(v) > %d {\n\t\treturn errCountMax(path, %d)\n\t}\n", *l.Max, *l.Max)
	}
}

func (g *generator) genStringCheck(b, vars *bytes.Buffer, id string) error {
	s := g.m.shape(id)
	name := local(id)
	sensitive := s.Traits.has(traitSensitive)
	fmt.Fprintf(b, "func %s(path, v string) error {\n", checkFunc(id))
	if l := decodeBounds(s.Traits[traitLength]); l != nil {
		hasMin := l.Min != nil && *l.Min > 0
		if hasMin || l.Max != nil {
			b.WriteString("\tn := int64(utf8.RuneCountInString(v))\n")
		}
		if hasMin {
			fmt.Fprintf(b, "\tif n < %d {\n\t\treturn errLengthMin(path, v, %t, %d)\n\t}\n", *l.Min, sensitive, *l.Min)
		}
		if l.Max != nil {
			fmt.Fprintf(b, "\tif n > %d {\n\t\treturn errLengthMax(path, v, %t, %d)\n\t}\n", *l.Max, sensitive, *l.Max)
		}
	}
	if p := g.pattern(id); p != "" {
		display := goQuote(p)
		ov, overridden := patternOverrides[name]
		if ov.Display != "" {
			display = ov.Display
		}
		switch {
		case ov.Check != "":
			fmt.Fprintf(b, "\tif !%s(v) {\n\t\treturn errPattern(path, v, %t, %s)\n\t}\n", ov.Check, sensitive, display)
		default:
			re := p
			if overridden {
				re = ov.Regexp
				if !ov.ModelDisplay {
					display = goQuote(re)
				}
			}
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("shape %s: pattern %q does not compile in Go and has no override: %w", name, re, err)
			}
			fmt.Fprintf(vars, "\t%s = regexp.MustCompile(%s)\n", patVar(id), goQuote(re))
			fmt.Fprintf(b, "\tif !%s.MatchString(v) {\n\t\treturn errPattern(path, v, %t, %s)\n\t}\n", patVar(id), sensitive, display)
		}
	}
	b.WriteString("\treturn nil\n}\n\n")
	return nil
}

// goQuote prefers a raw string literal, which keeps regexps readable.
func goQuote(s string) string {
	if !strings.Contains(s, "`") && !strings.ContainsAny(s, "\n\r") {
		return "`" + s + "`"
	}
	return fmt.Sprintf("%q", s)
}

func sortByLocal(ids []string) {
	sort.Slice(ids, func(i, j int) bool { return local(ids[i]) < local(ids[j]) })
}
