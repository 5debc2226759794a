package console

import "github.com/slipwayhq/slipway/test/testenv"

// pyApp is a small Python web app. It answers "<name> <version>" and reads
// its port from $PORT as App Runner apps do; version "broken" exits at once.
const pyApp = `import http.server, os, sys
here = os.path.dirname(os.path.abspath(__file__))
version = open(os.path.join(here, "version.txt")).read().strip()
if version == "broken":
    print("version is broken, exiting", flush=True)
    sys.exit(3)
name = os.environ.get("APP_NAME", "app")
print(f"{name} {version} listening on {os.environ['PORT']}", flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = f"{name} {version}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`

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
	r.Write("services/api/app.py", pyApp)
	r.Write("services/api/version.txt", "v1\n")
	r.Write("services/api/apprunner.yaml", apiYAML)
	r.Write("services/web/index.html", "not this service\n")
	r.Commit("first version")
}
