package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrNotFound is returned when a reference names no stored secret.
var ErrNotFound = errors.New("secret not found")

// Store reads secrets from a directory: one file per secret, named as the
// secret. App Runner references them by ARN:
//
//	arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]  → DIR/NAME
//	arn:aws:ssm:REGION:ACCOUNT:parameter/PATH/NAME              → DIR/PATH/NAME
//
// A bare name (not an ARN) is read as DIR/NAME too.
type Store struct {
	Dir string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

// Resolve returns the value a reference points to, without a trailing
// newline.
func (s Store) Resolve(ctx context.Context, ref string) (string, error) {
	name, err := nameOf(ref)
	if err != nil {
		return "", err
	}
	for _, cand := range candidates(ref, name) {
		b, err := os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(cand)))
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read secret %s: %w", cand, err)
		}
	}
	return "", fmt.Errorf("%w: put its value in %s", ErrNotFound, filepath.Join(s.Dir, filepath.FromSlash(name)))
}

// nameOf extracts the secret's name from a reference.
func nameOf(ref string) (string, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 7)
		if len(parts) < 6 {
			return "", fmt.Errorf("malformed secret ARN %q", ref)
		}
		switch parts[2] {
		case "secretsmanager":
			if len(parts) < 7 || parts[5] != "secret" {
				return "", fmt.Errorf("malformed Secrets Manager ARN %q", ref)
			}
			name = parts[6]
		case "ssm":
			p, ok := strings.CutPrefix(parts[5], "parameter/")
			if !ok {
				return "", fmt.Errorf("malformed SSM parameter ARN %q", ref)
			}
			name = p
		default:
			return "", fmt.Errorf("secret references must be Secrets Manager or SSM ARNs, got %q", ref)
		}
	}
	name = strings.Trim(name, "/")
	if name == "" || !validName.MatchString(name) || strings.Contains("/"+name+"/", "/../") {
		return "", fmt.Errorf("invalid secret name in %q", ref)
	}
	return name, nil
}

// candidates lists the file names to try: the name itself and, for
// Secrets Manager ARNs, the name without the 6-character suffix AWS adds.
func candidates(ref, name string) []string {
	out := []string{name}
	if strings.Contains(ref, ":secretsmanager:") {
		if i := strings.LastIndex(name, "-"); i > 0 && len(name)-i == 7 {
			out = append(out, name[:i])
		}
	}
	return out
}
