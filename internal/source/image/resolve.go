package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors returned (wrapped) by Resolve and Tags.
var (
	// ErrInvalidReference means the string is not an image reference.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrNotFound means the registry has no such repository, tag or digest.
	ErrNotFound = errors.New("image not found")
	// ErrUnauthorized means the registry refused the credentials (or their
	// absence).
	ErrUnauthorized = errors.New("registry access denied")
)

// Access says which credentials a registry request uses.
type Access int

const (
	// Private uses the host's docker credentials (~/.docker/config.json and
	// its credential helpers), falling back to anonymous access. It is App
	// Runner's ECR repository type.
	Private Access = iota
	// Public never sends credentials. It is App Runner's ECR_PUBLIC.
	Public
)

// Registry resolves references. The zero value is ready to use: it reads
// the host's docker config for Private access and uses go-containerregistry's
// default transport.
type Registry struct {
	// Keychain supplies Private credentials; nil means authn.DefaultKeychain.
	Keychain authn.Keychain
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
}

// Parse checks that ref is an image reference (host[:port]/repo[:tag],
// repo@sha256:..., or a Docker Hub short name) and parses it. Registries on
// loopback hosts are spoken to over plain HTTP.
func Parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidReference, ref, err)
	}
	if !IsLoopback(r.Context().RegistryStr()) {
		return r, nil
	}
	if r, err = name.ParseReference(ref, name.Insecure); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidReference, ref, err)
	}
	return r, nil
}

// IsLoopback reports whether a registry host (with an optional port) names
// this machine: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Resolve asks the registry which manifest ref names now and returns the
// reference pinned to it: "host/repo@sha256:...". A reference that already
// has a digest is checked to exist and returned in the same form.
func (r *Registry) Resolve(ctx context.Context, ref string, access Access) (string, error) {
	parsed, err := Parse(ref)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(parsed, r.options(ctx, access)...)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, classify(err))
	}
	return parsed.Context().Name() + "@" + desc.Digest.String(), nil
}

// Tags lists the tags of repo (a reference without tag or digest; one with
// either is accepted and they are ignored).
func (r *Registry) Tags(ctx context.Context, repo string, access Access) ([]string, error) {
	parsed, err := Parse(repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(parsed.Context(), r.options(ctx, access)...)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", parsed.Context().Name(), classify(err))
	}
	return tags, nil
}

// Resolve resolves ref with the zero Registry; see Registry.Resolve.
func Resolve(ctx context.Context, ref string, access Access) (string, error) {
	return new(Registry).Resolve(ctx, ref, access)
}

func (r *Registry) options(ctx context.Context, access Access) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx)}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	switch {
	case access == Public:
		opts = append(opts, remote.WithAuth(authn.Anonymous))
	case r.Keychain != nil:
		opts = append(opts, remote.WithAuthFromKeychain(r.Keychain))
	default:
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	return opts
}

// classify wraps registry errors with this package's sentinels.
func classify(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("%w: %w", ErrNotFound, err)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%w: %w", ErrUnauthorized, err)
			}
		}
	}
	return err
}
