package process

import (
	"os"
	"slices"
	"strings"
)

// buildEnvVars are the daemon variables a build inherits besides
// hostEnvVars: what toolchains need to find their caches, mirrors, proxies
// and certificates, so that a build behaves as it would in the operator's
// shell. The list is explicit, not a prefix match, so that a registry token
// kept beside a mirror setting (NPM_CONFIG__AUTH, BUNDLE_<HOST>) is not
// taken along by accident.
var buildEnvVars = []string{
	"LC_ALL", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
	// Proxies, in both spellings tools read.
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	// Certificates of a TLS-intercepting proxy or a private registry.
	"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
	// Go.
	"GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOENV", "GOFLAGS", "GOTOOLCHAIN",
	"GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE",
	// Node.js.
	"NPM_CONFIG_REGISTRY", "npm_config_registry", "NPM_CONFIG_CACHE", "npm_config_cache", "YARN_CACHE_FOLDER",
	// Python.
	"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CACHE_DIR", "PIP_CERT",
	// Java.
	"JAVA_HOME", "MAVEN_OPTS", "GRADLE_USER_HOME", "GRADLE_OPTS",
	// .NET.
	"DOTNET_ROOT", "DOTNET_CLI_HOME", "NUGET_PACKAGES", "DOTNET_CLI_TELEMETRY_OPTOUT", "DOTNET_NOLOGO",
	// PHP and Ruby.
	"COMPOSER_HOME", "COMPOSER_CACHE_DIR", "GEM_HOME", "GEM_PATH", "BUNDLE_PATH",
}

// neverInherited are prefixes of daemon variables that no build or instance
// inherits, whatever the lists above say: the daemon's own AWS credentials
// (the aws CLI and SDKs it answers read them) and Slipway's settings.
var neverInherited = []string{"AWS_", "SLIPWAY_"}

// inheritable reports whether the daemon variable name may be passed on.
func inheritable(name string, allowed ...[]string) bool {
	for _, p := range neverInherited {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, list := range allowed {
		if slices.Contains(list, name) {
			return true
		}
	}
	return false
}

// buildEnv is a build command's environment: the daemon variables environ
// holds that builds may inherit, then vars (the configuration's build
// variables), which win.
func buildEnv(environ []string, vars map[string]string) []string {
	var env []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && inheritable(name, hostEnvVars, buildEnvVars) {
			env = append(env, kv)
		}
	}
	return appendEnv(env, vars)
}

// hostBuildEnv is buildEnv of the daemon's own environment.
func hostBuildEnv(vars map[string]string) []string {
	return buildEnv(os.Environ(), vars)
}
