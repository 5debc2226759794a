package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/engine"
)

// ClusterReader reports the cluster the instances run on.
type ClusterReader interface {
	ClusterStatus(ctx context.Context) ([]engine.ClusterNode, error)
}

// ClusterPath is where Slipway serves the state of its cluster.
const ClusterPath = "/slipway/v1/cluster"

// ClusterHandler serves GET ClusterPath as JSON: the nodes, managers
// first, each with its instances and their health, SigV4-signed like the
// API. A daemon whose instances run on one machine answers 400.
func ClusterHandler(auth *Authenticator, cr ClusterReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Verify(r.Context(), r, nil); err != nil {
			writeError(w, toWireError(err))
			return
		}
		nodes, err := cr.ClusterStatus(r.Context())
		if errors.Is(err, engine.ErrNotCluster) {
			err = apprunner.InvalidRequest("this server runs instances on one machine, not on a cluster (slipway server --runtime swarm)")
		}
		if err != nil {
			writeError(w, toWireError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(nodes)
	})
}
