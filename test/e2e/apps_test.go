package e2e

import (
	"encoding/json"
	"testing"

	"github.com/slipwayhq/slipway/test/testenv"
)

const apiYAML = `version: 1.0
runtime: python3
build:
  commands:
    build:
      - echo "building api at $(pwd)"
run:
  command: python3 app.py
  network:
    port: 8000
  env:
    - name: APP_NAME
      value: api
    - name: GREETING
      value: from-yaml
`

// monorepo makes a repository with two services: services/api configured
// by its apprunner.yaml, and services/web configured through the API.
func monorepo(t *testing.T) *testenv.GitRepo {
	r := newGitRepo(t)
	r.Write("README.md", "a monorepo\n")
	r.Write("services/api/app.py", testenv.PyApp)
	r.Write("services/api/version.txt", "v1\n")
	r.Write("services/api/apprunner.yaml", apiYAML)
	r.Write("services/web/app.py", testenv.PyApp)
	r.Write("services/web/version.txt", "v1\n")
	r.Commit("first version")
	return r
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fastHealth checks often, so that failing deploys fail fast in tests.
var fastHealth = map[string]any{"Protocol": "HTTP", "Path": "/", "Interval": 1, "Timeout": 1, "HealthyThreshold": 1, "UnhealthyThreshold": 2}

func apiSource(repo *testenv.GitRepo) map[string]any {
	return map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     "file://" + repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   "services/api",
			"CodeConfiguration": map[string]any{"ConfigurationSource": "REPOSITORY"},
		},
		"AutoDeploymentsEnabled": false,
	}
}

func webSource(repo *testenv.GitRepo) map[string]any {
	return map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"SourceDirectory":   "/services/web/",
			"CodeConfiguration": map[string]any{
				"ConfigurationSource": "API",
				"CodeConfigurationValues": map[string]any{
					"Runtime":                     "PYTHON_3",
					"BuildCommand":                "python3 -c 'print(\"building web\")'",
					"StartCommand":                "python3 app.py",
					"Port":                        "8000",
					"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "web"},
					"RuntimeEnvironmentSecrets":   map[string]any{"GREETING": "arn:aws:secretsmanager:us-east-1:000000000000:secret:greeting-AbCdEf"},
				},
			},
		},
		"AutoDeploymentsEnabled": false,
	}
}

// valuesSource is a source configuration of repo's main branch, configured
// through the API with values (CodeConfigurationValues), without automatic
// deployments.
func valuesSource(repo *testenv.GitRepo, values map[string]any) map[string]any {
	return map[string]any{
		"CodeRepository": map[string]any{
			"RepositoryUrl":     repo.Dir,
			"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
			"CodeConfiguration": map[string]any{
				"ConfigurationSource":     "API",
				"CodeConfigurationValues": values,
			},
		},
		"AutoDeploymentsEnabled": false,
	}
}
