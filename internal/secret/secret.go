package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrNotFound is returned when a reference names no stored secret.
var ErrNotFound = errors.New("secret not found")

// ErrNoKey is returned when a reference names a JSON key its secret's
// value does not have, or the value is no JSON object.
var ErrNoKey = errors.New("secret has no such JSON key")

// ErrVersion is returned for a reference to a version of a secret other
// than the current one: Slipway keeps one value per secret.
var ErrVersion = errors.New("only the current version of a secret can be read")

// currentStage is Secrets Manager's staging label of a secret's current
// version, the one a reference without a version reads.
const currentStage = "AWSCURRENT"

// Store reads secrets from a directory: one file per secret, named as the
// secret. App Runner references them by ARN:
//
//	arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]  → DIR/NAME
//	arn:aws:ssm:REGION:ACCOUNT:parameter/PATH/NAME              → DIR/PATH/NAME
//
// A Secrets Manager ARN may go on with a JSON key, a version stage and a
// version ID, as App Runner (and ECS) document:
// ...:secret:NAME-AbCdEf:JSON-KEY:VERSION-STAGE:VERSION-ID, each part
// optional but for its colon (...:username::). The file then holds the
// secret's JSON object and the reference reads that key. A bare name (not
// an ARN) is read as DIR/NAME too.
type Store struct {
	Dir string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

// reference is a parsed secret reference.
type reference struct {
	name string
	// secretsManager: the name may end in the 6-character suffix AWS adds.
	secretsManager bool
	jsonKey        string
}

// Resolve returns the value a reference points to, without a trailing
// newline. Errors name the reference and the file, never the value.
func (s Store) Resolve(ctx context.Context, ref string) (string, error) {
	r, err := parse(ref)
	if err != nil {
		return "", err
	}
	for _, cand := range r.candidates() {
		b, err := os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(cand)))
		if err == nil {
			if r.jsonKey != "" {
				return jsonValue(b, r.jsonKey, cand)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read secret %s: %w", cand, err)
		}
	}
	return "", fmt.Errorf("%w: put its value in %s", ErrNotFound, filepath.Join(s.Dir, filepath.FromSlash(r.name)))
}

// parse splits a reference into the secret's name and what to read of it.
func parse(ref string) (reference, error) {
	r := reference{name: ref}
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.Split(ref, ":")
		if len(parts) < 6 {
			return r, fmt.Errorf("malformed secret ARN %q", ref)
		}
		switch parts[2] {
		case "secretsmanager":
			if len(parts) < 7 || len(parts) > 10 || parts[5] != "secret" {
				return r, fmt.Errorf("malformed Secrets Manager ARN %q: want arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON-KEY:VERSION-STAGE:VERSION-ID]", ref)
			}
			r.name, r.secretsManager = parts[6], true
			field := func(i int) string {
				if i < len(parts) {
					return parts[i]
				}
				return ""
			}
			var stage, id string
			r.jsonKey, stage, id = field(7), field(8), field(9)
			if id != "" || (stage != "" && stage != currentStage) {
				return r, fmt.Errorf("%w: %q asks for version stage %q, version ID %q; Slipway keeps one value per secret, read as %s",
					ErrVersion, ref, stage, id, currentStage)
			}
		case "ssm":
			p, ok := strings.CutPrefix(strings.Join(parts[5:], ":"), "parameter/")
			if !ok {
				return r, fmt.Errorf("malformed SSM parameter ARN %q", ref)
			}
			r.name = p
		default:
			return r, fmt.Errorf("secret references must be Secrets Manager or SSM ARNs, got %q", ref)
		}
	}
	r.name = strings.Trim(r.name, "/")
	for _, cand := range r.candidates() {
		if !validSecretName(cand) {
			return r, fmt.Errorf("invalid secret name in %q", ref)
		}
	}
	return r, nil
}

// validSecretName reports whether name can be a file under the store's
// directory: no empty or dot-dot path element. Every candidate is
// checked, since stripping a suffix can make one ("..-abcdef" is "..").
func validSecretName(name string) bool {
	if name == "" || !validName.MatchString(name) {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}

// candidates lists the file names to try: the name itself and, for
// Secrets Manager ARNs, the name without the 6-character suffix AWS adds.
func (r reference) candidates() []string {
	out := []string{r.name}
	if r.secretsManager {
		if i := strings.LastIndex(r.name, "-"); i > 0 && len(r.name)-i == 7 {
			out = append(out, r.name[:i])
		}
	}
	return out
}

// jsonValue reads key of the JSON object b, the secret in file. A string
// is returned as it is, anything else (a number, an object) as its JSON
// text, as ECS does. The JSON decoder's own errors are not passed on:
// they quote the value.
func jsonValue(b []byte, key, file string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return "", fmt.Errorf("%w: the reference reads JSON key %q, but %s does not hold a JSON object", ErrNoKey, key, file)
	}
	raw, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("%w: %s has no key %q", ErrNoKey, file, key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return string(raw), nil
	}
	return out.String(), nil
}
