package autodeploy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/source/image"
	"github.com/slipwayhq/slipway/internal/store"
)

// ImageResolver resolves an image tag to a digest reference, and says
// which registry reference an identifier stands for (an ECR identifier is
// served by a registry Slipway maps it to).
type ImageResolver interface {
	Resolve(ctx context.Context, ref string, public bool) (string, error)
	Locate(ref string) (string, error)
}

// SetImages makes the watcher follow the tags of image services with
// automatic deployments on. Call it before Run.
func (w *Watcher) SetImages(r ImageResolver) { w.images = r }

// DecideImage decides about a digest newly found at a service's tag. It
// is a pure function.
func DecideImage(status, deployed, digest, tag string) Decision {
	switch status {
	case ar.ServiceStatusRunning, ar.ServiceStatusOperationInProgress:
	case ar.ServiceStatusPaused:
		return Decision{false, "skipped: the service is paused; images pushed while paused are not deployed"}
	default:
		return Decision{false, fmt.Sprintf("skipped: the service is %s", status)}
	}
	if digest == deployed {
		return Decision{false, "skipped: already deployed"}
	}
	return Decision{true, fmt.Sprintf("deploy: a new image was pushed to %s", tag)}
}

// imageServices lists image services with automatic deployments on.
func (w *Watcher) imageServices(ctx context.Context) ([]store.Service, error) {
	svcs, err := w.autoServices(ctx)
	var out []store.Service
	for _, s := range svcs {
		if s.Config.Source.ImageRepository != nil {
			out = append(out, s)
		}
	}
	return out, err
}

// pollImages resolves each followed tag once and decides for every service
// whose tag now names another digest.
func (w *Watcher) pollImages(ctx context.Context, only string, trigger string) {
	if w.images == nil {
		return
	}
	svcs, err := w.imageServices(ctx)
	if err != nil {
		w.log.Error("list image services", "err", err)
		return
	}
	digests := map[string]string{}
	for _, s := range svcs {
		if only != "" && s.ARN != only {
			continue
		}
		img := s.Config.Source.ImageRepository
		ref := img.ImageIdentifier
		d, ok := digests[ref]
		if !ok {
			d, err = w.images.Resolve(ctx, ref, img.ImageRepositoryType == ar.ImageRepositoryTypeEcrPublic)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("resolve image for automatic deployment", "image", ref, "err", err)
				}
				continue
			}
			digests[ref] = d
		}
		if err := w.decideImage(ctx, s, d, trigger); err != nil && ctx.Err() == nil {
			w.log.Error("automatic deployment decision", "service", s.Name, "err", err)
		}
	}
}

func (w *Watcher) decideImage(ctx context.Context, s store.Service, digest, trigger string) error {
	if s.Release == nil {
		return nil // its creation deploys the tag
	}
	prev := w.considered(ctx, s.ARN)
	if digest == prev {
		return nil
	}
	ref := s.Config.Source.ImageRepository.ImageIdentifier
	d := DecideImage(s.Status, s.Release.Revision, digest, ref)
	return w.record(ctx, s.Name, prev, store.CommitDecision{
		ServiceARN: s.ARN,
		Commit:     digest,
		Message:    "image pushed to " + ref,
		Trigger:    trigger,
	}, d)
}

// RegistryHandler serves a Docker registry's notifications (POST
// /webhooks/registry). The registry must send "Authorization: Bearer
// <webhook secret>" (a header in its notifications endpoint config);
// anything else gets 401 and changes nothing. A push to a followed tag
// makes Slipway resolve the tag itself and decide: the notification's
// digest is never trusted.
func RegistryHandler(secret []byte, w *Watcher, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), secret) != 1 {
			log.Warn("registry notification without the webhook secret", "remote", r.RemoteAddr)
			http.Error(rw, "missing or wrong Authorization: Bearer <webhook secret>", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
		if err != nil || len(body) > maxPayload {
			http.Error(rw, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		pushes, err := image.ParseNotification(body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		svcs, err := w.imageServices(r.Context())
		if err != nil {
			http.Error(rw, "internal error", http.StatusInternalServerError)
			return
		}
		matched := 0
		for _, s := range svcs {
			for _, p := range pushes {
				ref, err := w.images.Locate(s.Config.Source.ImageRepository.ImageIdentifier)
				if err == nil && p.Matches(ref) {
					w.TriggerImage(s.ARN)
					matched++
					break
				}
			}
		}
		writeJSON(rw, http.StatusOK, map[string]any{"matched": matched})
	})
}
