package apprunner

import (
	"path"
	"strings"
)

// CleanSourceDirectory turns a CodeRepository.SourceDirectory into a clean,
// relative, slash-separated path: "" for the repository root. Leading and
// trailing slashes are allowed, as App Runner allows them; a path that
// leaves the repository is an InvalidRequestException.
func CleanSourceDirectory(dir string) (string, error) {
	for _, seg := range strings.Split(dir, "/") {
		if seg == ".." {
			return "", InvalidRequest("SourceDirectory %q must stay inside the repository", dir)
		}
	}
	return strings.Trim(path.Clean("/"+dir), "/"), nil
}
