package console

import "github.com/slipwayhq/slipway/test/testenv"

// apiYAML builds slowly enough (a second) that the console shows the
// operation in progress before it ends.
const apiYAML = `version: 1.0
runtime: python3
build:
  commands:
    build:
      - echo "building api at $(pwd)"
      - sleep 1
run:
  command: python3 app.py
  network:
    port: 8000
  env:
    - name: APP_NAME
      value: api
`

// monorepo makes a repository with a service in services/api.
func monorepo(r *testenv.GitRepo) {
	r.Write("README.md", "a monorepo\n")
	r.Write("services/api/app.py", testenv.PyApp)
	r.Write("services/api/version.txt", "v1\n")
	r.Write("services/api/apprunner.yaml", apiYAML)
	r.Write("services/web/index.html", "not this service\n")
	r.Commit("first version")
}
