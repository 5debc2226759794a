package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/client"
)

// Builds pushed to the cluster registry would stay there for good: when a
// build is removed, its manifest is deleted from the registry too, and the
// registry's garbage collection (`registry garbage-collect`, offline)
// reclaims the layers no manifest holds. The registry must allow deletes
// (storage.delete.enabled); one that does not is said so once, in the log.

// deleteManifest deletes ref (by digest) from the cluster registry. A
// manifest already gone is no error.
func (b *Backend) deleteManifest(ctx context.Context, ref string) error {
	var opts []name.Option
	if b.registryInsecure(ctx) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return err
	}
	kc := b.cfg.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	err = remote.Delete(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc))
	var te *transport.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return nil
	case errors.As(err, &te) && te.StatusCode == http.StatusMethodNotAllowed:
		b.deleteRefused.Do(func() {
			b.log.Warn("the cluster registry refuses deletes, so removed builds stay in it; set storage.delete.enabled: true in its configuration",
				"registry", b.cfg.Registry)
		})
		return nil
	}
	return fmt.Errorf("delete %s from the cluster registry: %w", ref, err)
}

// registryInsecure reports whether the manager's engine speaks plain HTTP
// to the cluster registry (its insecure-registries), as Slipway must too.
func (b *Backend) registryInsecure(ctx context.Context) bool {
	info, err := b.cli.Info(ctx, client.InfoOptions{})
	if err != nil || info.Info.RegistryConfig == nil {
		return false
	}
	rc := info.Info.RegistryConfig
	if ic, ok := rc.IndexConfigs[b.cfg.Registry]; ok {
		return !ic.Secure
	}
	host, _, err := net.SplitHostPort(b.cfg.Registry)
	if err != nil {
		host = b.cfg.Registry
	}
	addrs := []netip.Addr{}
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, a)
	} else if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host); err == nil {
		addrs = ips
	}
	for _, a := range addrs {
		for _, p := range rc.InsecureRegistryCIDRs {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
	}
	return false
}
