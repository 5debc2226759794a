package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// getVia sends GET / for host to addr (a router listener).
func getVia(t *testing.T, addr, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Host = host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s via %s: %v", host, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPrivateService checks IsPubliclyAccessible false as App Runner means
// it: the service is never served by the public router, and is served on
// the private listener under its VPC ingress connection's domain only.
// Made public again, it leaves the private listener.
func TestPrivateService(t *testing.T) {
	private := freeAddr(t)
	s := startServer(t, "--private-listen", private)
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	out := s.MustAWS("create-service", "--service-name", "hidden", "--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "hidden"},
	})), "--health-check-configuration", mustJSON(t, fastHealth),
		"--network-configuration", `{"IngressConfiguration":{"IsPubliclyAccessible":false}}`)
	arn, host := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)

	if code, body := getVia(t, s.Router, host); code != http.StatusNotFound {
		t.Errorf("private service on the public router: %d %q, want 404", code, body)
	}
	vic := s.MustAWS("create-vpc-ingress-connection", "--service-arn", arn, "--vpc-ingress-connection-name", "hidden-vpce",
		"--ingress-vpc-configuration", "VpcId=vpc-1,VpcEndpointId=vpce-1")
	domain := str(vic, "VpcIngressConnection", "DomainName")
	waitFor(t, "the private listener to serve the ingress domain", 15*time.Second, func() bool {
		code, body := getVia(t, private, domain)
		return code == http.StatusOK && strings.Contains(body, "hidden v1")
	})
	for _, tc := range []struct{ addr, host, where string }{
		{private, host, "its own name on the private listener"},
		{s.Router, domain, "its ingress domain on the public router"},
		{s.Router, host, "its own name on the public router"},
	} {
		if code, _ := getVia(t, tc.addr, tc.host); code != http.StatusNotFound {
			t.Errorf("private service by %s: %d, want 404", tc.where, code)
		}
	}

	// Public again: the public router serves it, the private listener not.
	up := s.MustAWS("update-service", "--service-arn", arn, "--network-configuration", `{"IngressConfiguration":{"IsPubliclyAccessible":true}}`)
	s.WaitOperation(arn, str(up, "OperationId"), 60*time.Second)
	expectBody(t, s, host, "hidden v1")
	if code, _ := getVia(t, private, domain); code != http.StatusNotFound {
		t.Errorf("a public service answered %d on the private listener, want 404", code)
	}
}
