package autodeploy

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		wantDeploy bool
		wantReason string
	}{
		{"change under dir", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/api/app.py", "README.md"}}, true, "deploy: 1 of 2 paths changed under services/api (services/api/app.py)"},
		{"change elsewhere", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/web/app.py", "services/web/x", "README.md"}}, false, "skipped: 3 paths changed, none under services/api"},
		{"segment match only", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/api2/x", "services/apix"}}, false, "skipped: 2 paths changed, none under services/api"},
		{"root counts every commit", Input{Status: "RUNNING", SourceDir: "", Deployed: "a", Head: "b",
			Changed: []string{"docs/x.md"}}, true, "deploy: every commit counts"},
		{"root counts an empty commit", Input{Status: "RUNNING", SourceDir: "", Deployed: "a", Head: "b"}, true, "deploy: every commit counts"},
		{"empty commit under dir", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b"}, false, "skipped: no paths changed"},
		{"deleted last file", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/api/only.txt"}}, true, "deploy: 1 of 1 path changed under services/api"},
		{"rename out of dir counts", Input{Status: "RUNNING", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/api/x", "services/web/x"}}, true, "deploy: 1 of 2 paths changed"},
		{"paused", Input{Status: "PAUSED", SourceDir: "services/api", Deployed: "a", Head: "b",
			Changed: []string{"services/api/x"}}, false, "skipped: the service is paused"},
		{"create failed", Input{Status: "CREATE_FAILED", Head: "b"}, false, "skipped: the service is CREATE_FAILED"},
		{"busy still decides", Input{Status: "OPERATION_IN_PROGRESS", SourceDir: "api", Deployed: "a", Head: "b",
			Changed: []string{"api/x"}}, true, "deploy: 1 of 1 path changed under api"},
		{"already deployed", Input{Status: "RUNNING", SourceDir: "api", Deployed: "b", Head: "b"}, false, "skipped: already deployed"},
		{"force push", Input{Status: "RUNNING", SourceDir: "api", Deployed: "a", Head: "c", ForcePush: true,
			Changed: []string{"api/x"}}, true, "(force push: compared with the deployed commit)"},
		{"many examples", Input{Status: "RUNNING", SourceDir: "api", Deployed: "a", Head: "b",
			Changed: []string{"api/1", "api/2", "api/3", "api/4"}}, true, "(api/1, api/2, api/3, …)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.in)
			if got.Deploy != tt.wantDeploy || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Decide = %+v, want deploy=%v with reason containing %q", got, tt.wantDeploy, tt.wantReason)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		dir, path string
		want      bool
	}{
		{"services/api", "services/api/x", true},
		{"/services/api/", "services/api/x", true},
		{"services/api", "services/api", true},
		{"services/api", "services/api2/x", false},
		{"services/api", "services/ap", false},
		{"services/api", "other/services/api/x", false},
		{"", "anything", true},
	}
	for _, tt := range tests {
		if got := Under(tt.dir, tt.path); got != tt.want {
			t.Errorf("Under(%q, %q) = %v, want %v", tt.dir, tt.path, got, tt.want)
		}
	}
}

func TestDecideImage(t *testing.T) {
	tests := []struct {
		status, deployed, digest string
		wantDeploy               bool
		wantReason               string
	}{
		{"RUNNING", "r@sha256:a", "r@sha256:b", true, "deploy: a new image was pushed to r:latest"},
		{"OPERATION_IN_PROGRESS", "r@sha256:a", "r@sha256:b", true, "deploy:"},
		{"RUNNING", "r@sha256:a", "r@sha256:a", false, "skipped: already deployed"},
		{"PAUSED", "r@sha256:a", "r@sha256:b", false, "skipped: the service is paused"},
		{"CREATE_FAILED", "", "r@sha256:b", false, "skipped: the service is CREATE_FAILED"},
	}
	for _, tt := range tests {
		got := DecideImage(tt.status, tt.deployed, tt.digest, "r:latest")
		if got.Deploy != tt.wantDeploy || !strings.Contains(got.Reason, tt.wantReason) {
			t.Errorf("DecideImage(%s, %s, %s) = %+v, want deploy=%v with %q", tt.status, tt.deployed, tt.digest, got, tt.wantDeploy, tt.wantReason)
		}
	}
}
