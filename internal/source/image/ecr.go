package image

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoECRRegistry means an identifier names Slipway's own ECR but no
// registry was configured to stand for it.
var ErrNoECRRegistry = errors.New("no registry stands for this ECR")

// ECR maps App Runner's ECR image identifiers to the registries that stand
// for them here. Terraform checks image identifiers against ECR's shapes on
// the client side, so a Terraform user can only name
// "<account>.dkr.ecr.<region>.amazonaws.com/app:v1" or
// "public.ecr.aws/<alias>/app:v1"; the service keeps the identifier as
// given, and every registry request goes to the registry it maps to.
type ECR struct {
	// Account and Region are Slipway's own: only their ECR is mapped, so
	// other accounts' identifiers still reach AWS (with the host's docker
	// credential helpers) where the network allows.
	Account, Region string
	// Registry ("host[:port]", optionally with a path prefix) holds the
	// repositories of Account's ECR; empty maps none.
	Registry string
	// PublicRegistry mirrors ECR Public (public.ecr.aws); empty leaves
	// public.ecr.aws as it is.
	PublicRegistry string
}

var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(.+)$`)

// Locate returns the reference a registry request for ref uses: ref
// itself, or the mapped registry's name for it.
func (m ECR) Locate(ref string) (string, error) {
	if rest, ok := strings.CutPrefix(ref, "public.ecr.aws/"); ok {
		if m.PublicRegistry == "" {
			return ref, nil
		}
		return strings.TrimSuffix(m.PublicRegistry, "/") + "/" + rest, nil
	}
	g := ecrHost.FindStringSubmatch(ref)
	if g == nil || g[1] != m.Account || g[2] != m.Region {
		return ref, nil
	}
	if m.Registry == "" {
		return "", fmt.Errorf("%w: %s is in Slipway's own ECR (account %s, %s); start the daemon with --ecr-registry HOST:PORT, the registry that holds its repositories",
			ErrNoECRRegistry, ref, m.Account, m.Region)
	}
	return strings.TrimSuffix(m.Registry, "/") + "/" + g[3], nil
}
