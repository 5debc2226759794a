package image

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// NotificationMediaType is the Content-Type of the notifications a Docker
// distribution registry (Debian's docker-registry) posts to its endpoints.
const NotificationMediaType = "application/vnd.docker.distribution.events.v1+json"

// Push is a manifest pushed to a tag, as a registry notification reports it.
type Push struct {
	// Host is the registry host the pusher addressed ("127.0.0.1:5000"),
	// empty when the registry did not say.
	Host       string
	Repository string
	Tag        string
	Digest     string
}

// envelope is the notification body; only the fields Slipway uses.
type envelope struct {
	Events []struct {
		Action string `json:"action"`
		Target struct {
			MediaType  string `json:"mediaType"`
			Digest     string `json:"digest"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
	} `json:"events"`
}

// ParseNotification returns the tag pushes in a registry notification body.
// Pulls, deletes and blob uploads are left out, as are manifests pushed by
// digest only.
func ParseNotification(body []byte) ([]Push, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("registry notification: %w", err)
	}
	var out []Push
	for _, e := range env.Events {
		t := e.Target
		if e.Action != "push" || t.Tag == "" || t.Repository == "" || !strings.Contains(t.MediaType, "manifest") && !strings.Contains(t.MediaType, "index") {
			continue
		}
		out = append(out, Push{Host: e.Request.Host, Repository: t.Repository, Tag: t.Tag, Digest: t.Digest})
	}
	return out, nil
}

// Matches reports whether p is a push to the tag that ref (an image
// identifier as a service stores it) follows. A reference pinned to a digest
// follows no tag. Loopback hosts match each other when their ports do, since
// a registry on this machine is reached under several names; a push whose
// host is unknown matches on repository and tag alone.
func (p Push) Matches(ref string) bool {
	r, err := Parse(ref)
	if err != nil {
		return false
	}
	tag, ok := r.(interface{ TagStr() string })
	if !ok || strings.Contains(ref, "@") {
		return false
	}
	repo := r.Context()
	if repo.RepositoryStr() != p.Repository || tag.TagStr() != p.Tag {
		return false
	}
	return p.Host == "" || sameHost(repo.RegistryStr(), p.Host)
}

func sameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	if !IsLoopback(a) || !IsLoopback(b) {
		return false
	}
	return port(a) == port(b)
}

func port(host string) string {
	_, p, err := net.SplitHostPort(host)
	if err != nil {
		return ""
	}
	return p
}
