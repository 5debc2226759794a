package console

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScreenshotsLeaveDocsAlone checks that a test run writes the
// tracked screenshots only when asked to.
func TestScreenshotsLeaveDocsAlone(t *testing.T) {
	docs := filepath.Join(repoRoot, "docs", "console")
	for _, c := range []struct {
		env      string
		wantDocs bool
	}{
		{"", false},
		{"0", false},
		{"yes", false},
		{"1", true},
	} {
		t.Setenv(updateScreenshots, c.env)
		dir := screenshotDir()
		inDocs := dir == docs || strings.HasPrefix(dir, repoRoot+string(filepath.Separator))
		if inDocs != c.wantDocs || (c.wantDocs && dir != docs) {
			t.Errorf("%s=%q: screenshots go to %s; want docs/console %v", updateScreenshots, c.env, dir, c.wantDocs)
		}
	}
}
