package autodeploy

import (
	"fmt"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

// Input is everything a decision looks at.
type Input struct {
	// Status is the service's status.
	Status string
	// SourceDir is the service's clean source directory; "" is the root.
	SourceDir string
	// Deployed is the commit the service runs ("" if none).
	Deployed string
	// Head is the branch head to decide about.
	Head string
	// Changed lists the paths that changed from the previous head (or, after
	// a force push, from the deployed commit) to Head; a rename counts for
	// its old and its new path.
	Changed []string
	// ForcePush is set when the previous head is not an ancestor of Head.
	ForcePush bool
}

// Decision says whether to deploy and why, in words a person reads in the
// decision log.
type Decision struct {
	Deploy bool
	Reason string
}

// maxExamples bounds how many matching paths a reason names.
const maxExamples = 3

// Decide applies App Runner's rule: a commit deploys a service only if it
// changes at least one file under the service's source directory; at the
// repository root every commit counts. It is a pure function.
func Decide(in Input) Decision {
	switch in.Status {
	case ar.ServiceStatusRunning, ar.ServiceStatusOperationInProgress:
	case ar.ServiceStatusPaused:
		return Decision{false, "skipped: the service is paused; commits made while paused are not deployed"}
	default:
		return Decision{false, fmt.Sprintf("skipped: the service is %s", in.Status)}
	}
	if in.Head == in.Deployed {
		return Decision{false, "skipped: already deployed"}
	}
	how := ""
	if in.ForcePush {
		how = " (force push: compared with the deployed commit)"
	}
	if in.SourceDir == "" {
		return Decision{true, "deploy: every commit counts when the source directory is the repository root" + how}
	}
	var under []string
	for _, p := range in.Changed {
		if Under(in.SourceDir, p) {
			under = append(under, p)
		}
	}
	switch {
	case len(in.Changed) == 0:
		return Decision{false, fmt.Sprintf("skipped: no paths changed%s", how)}
	case len(under) == 0:
		return Decision{false, fmt.Sprintf("skipped: %s changed, none under %s%s", paths(len(in.Changed)), in.SourceDir, how)}
	}
	ex := under[:min(len(under), maxExamples)]
	more := ""
	if len(under) > len(ex) {
		more = ", …"
	}
	return Decision{true, fmt.Sprintf("deploy: %d of %s changed under %s (%s%s)%s",
		len(under), paths(len(in.Changed)), in.SourceDir, strings.Join(ex, ", "), more, how)}
}

// Under reports whether path is dir or inside it, matching whole path
// segments: services/api does not contain services/api2/x. Leading and
// trailing slashes are ignored.
func Under(dir, path string) bool {
	dir, path = strings.Trim(dir, "/"), strings.Trim(path, "/")
	if dir == "" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

func paths(n int) string {
	if n == 1 {
		return "1 path"
	}
	return fmt.Sprintf("%d paths", n)
}
