package image

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

func TestMain(m *testing.M) {
	// Never ask a cloud metadata service for credentials.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// emptyKeychain has no credentials for anything, so that tests do not
// depend on the host's docker config.
type emptyKeychain struct{}

func (emptyKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.Anonymous, nil
}

func TestResolve(t *testing.T) {
	reg := dockerenv.Registry(t)
	repo := reg + "/slipway-test/resolve-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	d1 := dockerenv.Push(t, repo+":v1", dockerenv.AppImage(t, "APP_VERSION=1"))
	d2 := dockerenv.Push(t, repo+":v2", dockerenv.AppImage(t, "APP_VERSION=2"))
	if d1 == d2 {
		t.Fatalf("two different images got one digest %s", d1)
	}
	localhostRepo := strings.Replace(repo, "127.0.0.1", "localhost", 1)
	r := &Registry{Keychain: emptyKeychain{}}

	tests := []struct {
		name    string
		ref     string
		access  Access
		want    string
		wantErr error
	}{
		{"tag", repo + ":v1", Private, repo + "@" + d1, nil},
		{"other tag", repo + ":v2", Private, repo + "@" + d2, nil},
		{"anonymous", repo + ":v2", Public, repo + "@" + d2, nil},
		{"digest stays", repo + "@" + d1, Private, repo + "@" + d1, nil},
		{"localhost is loopback too", localhostRepo + ":v1", Private, localhostRepo + "@" + d1, nil},
		{"missing tag", repo + ":nope", Private, "", ErrNotFound},
		{"missing repository", reg + "/slipway-test/never-pushed:v1", Private, "", ErrNotFound},
		{"missing digest", repo + "@sha256:" + strings.Repeat("0", 64), Private, "", ErrNotFound},
		{"not a reference", "UPPER/case:tag", Private, "", ErrInvalidReference},
		{"empty", "", Private, "", ErrInvalidReference},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(t.Context(), tt.ref, tt.access)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) = %q, %v; want error %v", tt.ref, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		})
	}

	// A new push to the tag resolves to the new digest: what polling sees.
	d3 := dockerenv.Push(t, repo+":v1", dockerenv.AppImage(t, "APP_VERSION=3"))
	if got, err := r.Resolve(t.Context(), repo+":v1", Private); err != nil || got != repo+"@"+d3 {
		t.Fatalf("after push, Resolve = %q, %v; want %q", got, err, repo+"@"+d3)
	}

	tags, err := r.Tags(t.Context(), repo, Private)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if want := []string{"v1", "v2"}; !slices.Equal(tags, want) {
		t.Fatalf("Tags = %q, want %q", tags, want)
	}
}

func TestResolveDefaultKeychain(t *testing.T) {
	// The package-level Resolve reads the host's docker config; point it at
	// an empty one so the host's credentials cannot matter.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := dockerenv.Registry(t)
	ref := reg + "/slipway-test/default-keychain:latest"
	d := dockerenv.Push(t, ref, dockerenv.AppImage(t))
	got, err := Resolve(t.Context(), ref, Private)
	if want := reg + "/slipway-test/default-keychain@" + d; err != nil || got != want {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, want)
	}
}

func TestResolveDenied(t *testing.T) {
	// A registry that refuses everyone, as a private one does without
	// credentials.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := &Registry{Keychain: emptyKeychain{}}
	for _, access := range []Access{Private, Public} {
		if _, err := r.Resolve(t.Context(), host+"/private/app:latest", access); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Resolve with access %d: err = %v, want ErrUnauthorized", access, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "localhost:5000": true, "LOCALHOST:1": true,
		"127.0.0.1": true, "127.0.0.1:5000": true, "127.1.2.3:80": true,
		"[::1]:5000": true, "::1": true,
		"example.com": false, "example.com:5000": false, "10.0.0.1:5000": false,
		"public.ecr.aws": false, "localhost.example.com": false,
	}
	for host, want := range tests {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseNotification(t *testing.T) {
	// Events as Debian's docker-registry (distribution 2.8) sends them: a
	// blob push, a manifest push by tag, a pull, a manifest push by digest.
	body := `{"events":[
	  {"id":"1","timestamp":"2024-05-06T07:08:09Z","action":"push",
	   "target":{"mediaType":"application/octet-stream","digest":"sha256:aa","repository":"team/app"},
	   "request":{"host":"127.0.0.1:5000"}},
	  {"id":"2","timestamp":"2024-05-06T07:08:09Z","action":"push",
	   "target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:bb","repository":"team/app","tag":"latest"},
	   "request":{"host":"127.0.0.1:5000"}},
	  {"id":"3","timestamp":"2024-05-06T07:08:09Z","action":"pull",
	   "target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:bb","repository":"team/app","tag":"latest"}},
	  {"id":"4","timestamp":"2024-05-06T07:08:09Z","action":"push",
	   "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","repository":"team/app"}},
	  {"id":"5","timestamp":"2024-05-06T07:08:09Z","action":"push",
	   "target":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:dd","repository":"team/multi","tag":"v2"}}
	]}`
	got, err := ParseNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []Push{
		{Host: "127.0.0.1:5000", Repository: "team/app", Tag: "latest", Digest: "sha256:bb"},
		{Repository: "team/multi", Tag: "v2", Digest: "sha256:dd"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseNotification =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := ParseNotification([]byte("{not json")); err == nil {
		t.Fatal("ParseNotification of garbage: no error")
	}
}

func TestPushMatches(t *testing.T) {
	p := Push{Host: "127.0.0.1:5000", Repository: "team/app", Tag: "latest", Digest: "sha256:bb"}
	tests := []struct {
		name string
		push Push
		ref  string
		want bool
	}{
		{"same", p, "127.0.0.1:5000/team/app:latest", true},
		{"implicit latest", p, "127.0.0.1:5000/team/app", true},
		{"localhost alias", p, "localhost:5000/team/app:latest", true},
		{"other port", p, "localhost:5001/team/app:latest", false},
		{"other tag", p, "127.0.0.1:5000/team/app:v1", false},
		{"other repository", p, "127.0.0.1:5000/team/api:latest", false},
		{"other host", p, "registry.example.com/team/app:latest", false},
		{"pinned digest follows no tag", p, "127.0.0.1:5000/team/app@sha256:" + strings.Repeat("b", 64), false},
		{"tag and digest follows no tag", p, "127.0.0.1:5000/team/app:latest@sha256:" + strings.Repeat("b", 64), false},
		{"unknown host", Push{Repository: "team/app", Tag: "latest"}, "registry.example.com/team/app:latest", true},
		{"docker hub library", Push{Host: "index.docker.io", Repository: "library/nginx", Tag: "1"}, "index.docker.io/nginx:1", true},
		{"bad reference", p, "::", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.push.Matches(tt.ref); got != tt.want {
				t.Fatalf("%+v.Matches(%q) = %v, want %v", tt.push, tt.ref, got, tt.want)
			}
		})
	}
}

// TestRegistryNotification pushes to a real registry configured to notify
// Slipway, and reads the push from the notification it sends.
func TestRegistryNotification(t *testing.T) {
	got := make(chan []Push, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, NotificationMediaType) {
			t.Errorf("notification Content-Type = %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		pushes, err := ParseNotification(b)
		if err != nil {
			t.Errorf("ParseNotification: %v\n%s", err, b)
		}
		got <- pushes
	}))
	defer srv.Close()
	reg := dockerenv.StartRegistry(t, srv.URL+"/webhooks/registry")
	ref := reg + "/team/app:latest"
	d := dockerenv.Push(t, ref, dockerenv.AppImage(t))

	timeout := time.After(20 * time.Second)
	for {
		select {
		case pushes := <-got:
			for _, p := range pushes {
				if p.Digest == d && p.Matches(ref) {
					return
				}
			}
		case <-timeout:
			t.Fatalf("no notification of the push of %s (%s)", ref, d)
		}
	}
}
