package baseimage

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSources(t *testing.T) {
	const bookwormRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_CODENAME=bookworm\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		name: "deb822, as Debian 12 installs it, beside a third-party repository",
		files: map[string]string{
			"etc/os-release": bookwormRelease,
			"etc/apt/sources.list.d/debian.sources": "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
				"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
			"etc/apt/sources.list.d/aaa-nodesource.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n",
			"etc/apt/sources.list.d/other.list.disabled":    "deb http://elsewhere.example/debian bookworm main\n",
		},
		want: []string{
			"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main",
			"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main",
			"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main",
		},
	}, {
		name: "one-line sources of a local mirror, for another release",
		files: map[string]string{
			"etc/os-release": "ID=debian\nVERSION_CODENAME=trixie\n",
			"etc/apt/sources.list": "# a comment\ndeb-src http://mirror.example/debian trixie main\n" +
				"deb [arch=amd64 signed-by=/etc/k.gpg] http://mirror.example/debian/ trixie main contrib\n" +
				"deb http://mirror.example/security trixie-security main\n",
		},
		want: []string{
			"deb [signed-by=/etc/k.gpg] http://mirror.example/debian bookworm main",
			"deb [signed-by=/etc/k.gpg] http://mirror.example/debian bookworm-updates main",
			"deb http://mirror.example/security bookworm-security main",
		},
	}, {
		name: "a mirror without a security archive",
		files: map[string]string{
			"etc/os-release":       bookwormRelease,
			"etc/apt/sources.list": "deb http://10.0.0.1/debian bookworm main\n",
		},
		want: []string{"deb http://10.0.0.1/debian bookworm main", "deb http://10.0.0.1/debian bookworm-updates main"},
	}, {
		name: "not Debian",
		files: map[string]string{
			"etc/os-release":       "ID=ubuntu\nVERSION_CODENAME=noble\n",
			"etc/apt/sources.list": "deb http://archive.ubuntu.com/ubuntu noble main\n",
		},
		want: []string{"deb http://deb.debian.org/debian bookworm main", "deb http://deb.debian.org/debian bookworm-updates main", "deb http://deb.debian.org/debian-security bookworm-security main"},
	}, {
		name:  "no apt configuration",
		files: map[string]string{"etc/os-release": bookwormRelease},
		want:  []string{"deb http://deb.debian.org/debian bookworm main", "deb http://deb.debian.org/debian bookworm-updates main", "deb http://deb.debian.org/debian-security bookworm-security main"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := Sources(root); !slices.Equal(got, tc.want) {
				t.Errorf("Sources =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
