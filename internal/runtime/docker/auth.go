package docker

import "context"

// RegistryAuth returns the engine's X-Registry-Auth value for ref's
// registry from the backend's keychain, or "" for anonymous access, for
// callers that ask the engine to pull elsewhere (Swarm services).
func (b *Backend) RegistryAuth(ctx context.Context, ref string) (string, error) {
	return b.registryAuth(ctx, ref)
}
