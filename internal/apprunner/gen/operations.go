package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

type paginated struct {
	InputToken  string `json:"inputToken"`
	OutputToken string `json:"outputToken"`
	Items       string `json:"items"`
	PageSize    string `json:"pageSize"`
}

func (g *generator) genOperations() ([]string, error) {
	var b bytes.Buffer
	var aliases bytes.Buffer
	b.WriteString("// Operations lists the operations of the App Runner API, sorted by name.\n")
	b.WriteString("var Operations = []Operation{\n")
	for _, id := range g.ids("operation") {
		op := g.m.shape(id)
		name := local(id)
		in, out := local(op.Input.Target), local(op.Output.Target)
		var errs []string
		for _, e := range op.Errors {
			errs = append(errs, strconv.Quote(local(e.Target)))
		}
		sort.Strings(errs)
		fmt.Fprintf(&b, "\t{\n\t\tName: %q,\n\t\tInput: %q,\n\t\tOutput: %q,\n", name, in, out)
		b.WriteString("\t\tErrors: []string{")
		for i, e := range errs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e)
		}
		b.WriteString("},\n")
		if raw, ok := op.Traits[traitPaginated]; ok {
			var p paginated
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("%s: paginated: %w", name, err)
			}
			if p.Items == "" {
				items, err := g.itemsMember(name, op.Output.Target)
				if err != nil {
					return nil, err
				}
				p.Items = items
			}
			fmt.Fprintf(&b, "\t\tPaginated: true,\n\t\tPagination: Pagination{InputToken: %q, OutputToken: %q, Items: %q, PageSize: %q},\n",
				p.InputToken, p.OutputToken, p.Items, p.PageSize)
		}
		b.WriteString("\t},\n")
		if in != name+"Input" {
			fmt.Fprintf(&aliases, "// %sInput is the input of %s, the model shape %s.\ntype %sInput = %s\n\n", name, name, in, name, in)
		}
		if out != name+"Output" {
			fmt.Fprintf(&aliases, "// %sOutput is the output of %s, the model shape %s.\ntype %sOutput = %s\n\n", name, name, out, name, out)
		}
	}
	b.WriteString("}\n\n")

	b.WriteString("// Errors lists the modeled error shapes of the App Runner API, sorted by name.\n")
	b.WriteString("var Errors = []ErrorShape{\n")
	for _, id := range g.ids("structure") {
		s := g.m.shape(id)
		if !s.Traits.has(traitError) {
			continue
		}
		status, err := strconv.Atoi(string(s.Traits[traitHTTPError]))
		if err != nil {
			return nil, fmt.Errorf("%s: httpError: %w", local(id), err)
		}
		fmt.Fprintf(&b, "\t{Name: %q, HTTPStatus: %d, Fault: %q},\n", local(id), status, s.Traits.str(traitError))
	}
	b.WriteString("}\n\n")
	return []string{b.String(), aliases.String()}, nil
}

// itemsMember finds the list member of a paginated operation's output.
func (g *generator) itemsMember(op, output string) (string, error) {
	if items, ok := paginationItems[op]; ok {
		return items, nil
	}
	var lists []string
	for _, mb := range g.m.shape(output).Members {
		if g.m.shape(mb.Target).Type == "list" {
			lists = append(lists, mb.Name)
		}
	}
	if len(lists) != 1 {
		return "", fmt.Errorf("%s: paginated output has list members %v; add it to paginationItems", op, lists)
	}
	return lists[0], nil
}
