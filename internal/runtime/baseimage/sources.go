package baseimage

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Debian's own mirrors, used when the host's apt sources name none.
const (
	defaultMirror   = "http://deb.debian.org/debian"
	defaultSecurity = "http://deb.debian.org/debian-security"
)

// aptSource is one deb line of the host's apt configuration.
type aptSource struct {
	uri, suite, signedBy string
}

// Sources returns the sources.list lines mmdebstrap fetches Suite from:
// the mirrors of the Debian archive and of its security archive that the
// apt configuration under root ("/" for the host) uses, so that base images
// come from wherever this machine gets its own packages (a local mirror, a
// proxy), for Suite's main, -updates and -security. A host that is not
// Debian, or names no Debian mirror, gets deb.debian.org. Nothing under
// root is changed.
func Sources(root string) []string {
	mirror, security := hostMirrors(root)
	lines := []string{
		debLine(mirror, Suite),
		debLine(mirror, Suite+"-updates"),
	}
	if security.uri != "" {
		lines = append(lines, debLine(security, Suite+"-security"))
	}
	return lines
}

func debLine(s aptSource, suite string) string {
	opts := ""
	if s.signedBy != "" && !strings.ContainsAny(s.signedBy, " \n") {
		opts = "[signed-by=" + s.signedBy + "] "
	}
	return "deb " + opts + s.uri + " " + suite + " main"
}

// hostMirrors finds the Debian archive and security mirrors in root's apt
// sources: entries for the host's own release (codename, codename-updates,
// codename-security), which tells them apart from third-party repositories
// whatever their URLs.
func hostMirrors(root string) (mirror, security aptSource) {
	id, codename := osRelease(root)
	if id != "debian" || codename == "" {
		return aptSource{uri: defaultMirror}, aptSource{uri: defaultSecurity}
	}
	for _, s := range aptSources(root) {
		switch s.suite {
		case codename, codename + "-updates":
			if mirror.uri == "" {
				mirror = s
			}
		case codename + "-security", codename + "/updates":
			if security.uri == "" {
				security = s
			}
		}
	}
	if mirror.uri == "" {
		return aptSource{uri: defaultMirror}, aptSource{uri: defaultSecurity}
	}
	return mirror, security
}

// osRelease reads ID and VERSION_CODENAME from root's os-release.
func osRelease(root string) (id, codename string) {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				id = v
			case "VERSION_CODENAME":
				codename = v
			}
		}
		return id, codename
	}
	return "", ""
}

// aptSources reads the deb (not deb-src) entries of root's
// etc/apt/sources.list and sources.list.d/*.list (one-line style) and
// sources.list.d/*.sources (deb822 style), in the order apt reads them.
func aptSources(root string) []aptSource {
	dir := filepath.Join(root, "etc/apt")
	out := oneLineSources(filepath.Join(dir, "sources.list"))
	names, _ := filepath.Glob(filepath.Join(dir, "sources.list.d", "*"))
	sort.Strings(names)
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".list"):
			out = append(out, oneLineSources(n)...)
		case strings.HasSuffix(n, ".sources"):
			out = append(out, deb822Sources(n)...)
		}
	}
	return out
}

func oneLineSources(path string) []aptSource {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []aptSource
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		signedBy := ""
		if strings.HasPrefix(fields[0], "[") {
			// Options: [arch=amd64 signed-by=/path], maybe spread over fields.
			var opts []string
			for len(fields) > 0 {
				f := fields[0]
				fields = fields[1:]
				opts = append(opts, strings.Trim(f, "[]"))
				if strings.HasSuffix(f, "]") {
					break
				}
			}
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "signed-by="); ok {
					signedBy = v
				}
			}
		}
		if len(fields) < 2 {
			continue
		}
		out = append(out, aptSource{uri: strings.TrimSuffix(fields[0], "/"), suite: fields[1], signedBy: signedBy})
	}
	return out
}

func deb822Sources(path string) []aptSource {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []aptSource
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		last := ""
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if (line[0] == ' ' || line[0] == '\t') && last != "" {
				fields[last] += "\n" + strings.TrimSpace(line) // a continuation
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
		if !contains(fields["types"], "deb") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		signedBy := fields["signed-by"]
		if strings.Contains(signedBy, "\n") || strings.Contains(signedBy, "BEGIN PGP") {
			signedBy = "" // an inline key, which a one-line source cannot carry
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			for _, suite := range strings.Fields(fields["suites"]) {
				out = append(out, aptSource{uri: strings.TrimSuffix(uri, "/"), suite: suite, signedBy: signedBy})
			}
		}
	}
	return out
}

func contains(list, word string) bool {
	for _, f := range strings.Fields(list) {
		if f == word {
			return true
		}
	}
	return false
}
