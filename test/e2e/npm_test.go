package e2e

import (
	"strings"
	"testing"
	"time"
)

// Two Node apps as App Runner's users write them, with their dependencies
// installed from the npm registry at build time: an Express app with a
// root apprunner.yaml (network.port 3000, network.env APP_PORT), and a
// Hono API in TypeScript in a monorepo subfolder that listens on 3000
// hard-coded. They deploy unmodified and serve.

const expressYAML = `version: 1.0
runtime: nodejs18
build:
  commands:
    build:
      - npm install --no-audit --no-fund
run:
  command: node index.js
  network:
    port: 3000
    env: APP_PORT
`

const expressIndex = `const express = require('express')
const app = express()
const port = process.env.APP_PORT || 3000

app.get('/', (req, res) => {
  res.send('Hello World from Express!')
})

app.listen(port, () => {
  console.log(` + "`Example app listening on port ${port}`" + `)
})
`

const expressPackage = `{
  "name": "express-sample",
  "version": "1.0.0",
  "main": "index.js",
  "dependencies": { "express": "^4.21.0" }
}
`

const honoYAML = `version: 1.0
runtime: nodejs18
build:
  commands:
    build:
      - npm install --no-audit --no-fund
      - npx tsc
run:
  command: node dist/index.js
  network:
    port: 3000
`

const honoIndex = `import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('/', (c) => c.text('Hello Hono!'))
app.get('/api/health', (c) => c.json({ status: 'ok' }))

serve({ fetch: app.fetch, port: 3000 }, (info) => {
  console.log(` + "`Server is running on http://localhost:${info.port}`" + `)
})
`

const honoPackage = `{
  "name": "hono-api",
  "type": "module",
  "dependencies": { "@hono/node-server": "^1.13.0", "hono": "^4.6.0" },
  "devDependencies": { "typescript": "^5.6.0", "@types/node": "^20.0.0" }
}
`

const honoTSConfig = `{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "outDir": "dist", "skipLibCheck": true
  },
  "include": ["src"]
}
`

func TestNpmApps(t *testing.T) {
	s := startServer(t)
	express := newGitRepo(t)
	express.Write("apprunner.yaml", expressYAML)
	express.Write("index.js", expressIndex)
	express.Write("package.json", expressPackage)
	express.Commit("express sample")

	mono := newGitRepo(t)
	mono.Write("README.md", "monorepo\n")
	mono.Write("services/hono-api/apprunner.yaml", honoYAML)
	mono.Write("services/hono-api/src/index.ts", honoIndex)
	mono.Write("services/hono-api/package.json", honoPackage)
	mono.Write("services/hono-api/tsconfig.json", honoTSConfig)
	mono.Commit("hono api")

	source := func(dir, sub string) string {
		return mustJSON(t, map[string]any{
			"CodeRepository": map[string]any{
				"RepositoryUrl":     dir,
				"SourceCodeVersion": map[string]any{"Type": "BRANCH", "Value": "main"},
				"SourceDirectory":   sub,
				"CodeConfiguration": map[string]any{"ConfigurationSource": "REPOSITORY"},
			},
			"AutoDeploymentsEnabled": false,
		})
	}
	for _, tc := range []struct{ name, source, path, want string }{
		{"express-sample", source(express.Dir, "/"), "/", "Hello World from Express!"},
		{"hono-api", source(mono.Dir, "services/hono-api"), "/api/health", `{"status":"ok"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := s.MustAWS("create-service", "--service-name", tc.name, "--source-configuration", tc.source)
			arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
			if st := s.WaitOperation(arn, out["OperationId"].(string), 240*time.Second); st != "SUCCEEDED" {
				t.Fatalf("%s ended %s\n%s", tc.name, st, s.Logs(tc.name, out["OperationId"].(string)))
			}
			code, body, err := s.Get(url, tc.path)
			if err != nil || code != 200 || strings.TrimSpace(body) != tc.want {
				t.Fatalf("GET %s: %d %q %v, want %q", tc.path, code, body, err, tc.want)
			}
		})
	}
}
