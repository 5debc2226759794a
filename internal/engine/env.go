package engine

import (
	"context"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// appRunnerEnv is the environment App Runner itself gives every instance,
// under the configuration's variables and secrets. App Runner documents
// only PORT (reserved: a configuration can't set it), which the backend
// sets because it knows the instance's port. AWS_REGION and
// AWS_DEFAULT_REGION are what instances on App Runner observably have (it
// runs them on Fargate): SDKs take the region from them, so an app that
// calls AWS needs no region of its own; here they say the region Slipway
// answers as.
//
// Left out on purpose, though Fargate sets them too: AWS_EXECUTION_ENV
// (apps read it to decide they run inside AWS and must fetch credentials
// and config there) and the ECS credential and metadata endpoints
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, ECS_CONTAINER_METADATA_URI*),
// which Slipway does not serve.
func appRunnerEnv(region string) map[string]string {
	if region == "" {
		return map[string]string{}
	}
	return map[string]string{"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
}

// artifactExists asks a's backend whether a can still be started. A backend
// that cannot say is taken to keep its artifacts as directories at Path.
func (e *Engine) artifactExists(ctx context.Context, a runtime.Artifact) (bool, error) {
	b, err := e.backendFor(a.Backend)
	if err != nil {
		return false, err
	}
	if c, ok := b.(runtime.ArtifactChecker); ok {
		return c.ArtifactExists(ctx, a)
	}
	return exists(a.Path), nil
}
