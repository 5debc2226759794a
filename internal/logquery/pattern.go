package logquery

import (
	"regexp"
	"strings"
)

// Pattern is a CloudWatch Logs filter pattern for unstructured events:
// terms that must all appear, "?terms" of which one must appear, "-terms"
// that must not appear, each a word or a quoted phrase, matched as
// case-sensitive substrings; or one %regular expression%.
type Pattern struct {
	all, any, none []string
	re             *regexp.Regexp
}

// ParsePattern parses a filter pattern; the empty pattern matches every
// event. JSON ({ $.x = 1 }) and space-delimited ([a, b]) patterns are
// refused, since Slipway's events are plain lines.
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	var p Pattern
	switch {
	case s == "":
		return p, nil
	case s[0] == '{' || s[0] == '[':
		return p, invalid("Slipway matches terms, quoted phrases, ?terms, -terms and %%regular expressions%%; " +
			"JSON and space-delimited filter patterns are not supported.")
	case len(s) >= 2 && s[0] == '%' && s[len(s)-1] == '%':
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return p, invalid("Invalid regular expression in filter pattern: %v", err)
		}
		p.re = re
		return p, nil
	}
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if s[i] == '?' || s[i] == '-' {
			kind = s[i]
			i++
		}
		var term string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if s[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
			}
			if !closed {
				return Pattern{}, invalid("Invalid filter pattern: unterminated quoted phrase in %q", s)
			}
			term = b.String()
		} else {
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			term, i = s[i:j], j
		}
		if term == "" {
			return Pattern{}, invalid("Invalid filter pattern: empty term in %q", s)
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

// Match reports whether msg matches p.
func (p Pattern) Match(msg string) bool {
	if p.re != nil {
		return p.re.MatchString(msg)
	}
	for _, t := range p.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
