package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// list returns the items of a list output member.
func list(out map[string]any, member string) []map[string]any {
	raw, _ := out[member].([]any)
	var items []map[string]any
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok {
			items = append(items, m)
		}
	}
	return items
}

// strs collects one string member of each item.
func strs(items []map[string]any, member string) string {
	var out []string
	for _, it := range items {
		out = append(out, str(it, member))
	}
	return strings.Join(out, ",")
}

func tagsOf(s *testenv.Server, arn string) string {
	var kv []string
	for _, t := range list(s.MustAWS("list-tags-for-resource", "--resource-arn", arn), "Tags") {
		kv = append(kv, str(t, "Key")+"="+str(t, "Value"))
	}
	return strings.Join(kv, ",")
}

// TestResources drives connections, observability configurations, VPC
// connectors and VPC ingress connections through the aws CLI, with a
// service that uses them.
func TestResources(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	const tags = `[{"Key":"team","Value":"web"}]`

	// Connections: AVAILABLE at once, listed, filtered, paginated, deleted.
	conn := s.MustAWS("create-connection", "--connection-name", "github-conn", "--provider-type", "GITHUB", "--tags", tags)
	connARN := str(conn, "Connection", "ConnectionArn")
	if st := str(conn, "Connection", "Status"); st != "AVAILABLE" || !strings.Contains(connARN, ":connection/github-conn/") {
		t.Fatalf("connection = %v, want AVAILABLE with a connection ARN", conn)
	}
	s.MustAWS("create-connection", "--connection-name", "bitbucket-conn", "--provider-type", "BITBUCKET")
	s.AWSFails("InvalidRequestException", "create-connection", "--connection-name", "github-conn", "--provider-type", "GITHUB")
	if got := strs(list(s.MustAWS("list-connections"), "ConnectionSummaryList"), "ConnectionName"); got != "bitbucket-conn,github-conn" {
		t.Errorf("connections = %q", got)
	}
	if got := strs(list(s.MustAWS("list-connections", "--connection-name", "github-conn"), "ConnectionSummaryList"), "ConnectionArn"); got != connARN {
		t.Errorf("connections named github-conn = %q, want %s", got, connARN)
	}
	page := s.MustAWS("list-connections", "--max-results", "1", "--no-paginate")
	if len(list(page, "ConnectionSummaryList")) != 1 || str(page, "NextToken") == "" {
		t.Errorf("first page of connections = %v, want 1 and a NextToken", page)
	}
	if got := tagsOf(s, connARN); got != "team=web" {
		t.Errorf("connection tags = %q", got)
	}

	// Observability configurations: revisions, partial ARNs, LatestOnly.
	obs1 := s.MustAWS("create-observability-configuration", "--observability-configuration-name", "tracing",
		"--trace-configuration", "Vendor=AWSXRAY", "--tags", tags)
	obs2 := s.MustAWS("create-observability-configuration", "--observability-configuration-name", "tracing")
	obs1ARN := str(obs1, "ObservabilityConfiguration", "ObservabilityConfigurationArn")
	obs2ARN := str(obs2, "ObservabilityConfiguration", "ObservabilityConfigurationArn")
	if !strings.Contains(obs2ARN, ":observabilityconfiguration/tracing/2/") || obs2["ObservabilityConfiguration"].(map[string]any)["Latest"] != true {
		t.Fatalf("second revision = %v", obs2)
	}
	s.AWSFails("InvalidRequestException", "create-observability-configuration", "--observability-configuration-name", "DefaultConfiguration")
	partial := obs1ARN[:strings.Index(obs1ARN, "/tracing/")] + "/tracing"
	if got := str(s.MustAWS("describe-observability-configuration", "--observability-configuration-arn", partial),
		"ObservabilityConfiguration", "ObservabilityConfigurationArn"); got != obs2ARN {
		t.Errorf("describe %s = %s, want the latest revision %s", partial, got, obs2ARN)
	}
	d := s.MustAWS("describe-observability-configuration", "--observability-configuration-arn", partial+"/1")
	if str(d, "ObservabilityConfiguration", "TraceConfiguration", "Vendor") != "AWSXRAY" {
		t.Errorf("revision 1 = %v, want AWSXRAY tracing", d)
	}
	if got := len(list(s.MustAWS("list-observability-configurations", "--observability-configuration-name", "tracing"),
		"ObservabilityConfigurationSummaryList")); got != 2 {
		t.Errorf("listed %d revisions, want 2", got)
	}
	if got := strs(list(s.MustAWS("list-observability-configurations", "--latest-only"), "ObservabilityConfigurationSummaryList"),
		"ObservabilityConfigurationArn"); got != obs2ARN {
		t.Errorf("latest only = %q, want %s", got, obs2ARN)
	}
	s.AWSFails("ResourceNotFoundException", "describe-observability-configuration", "--observability-configuration-arn", partial+"/9")

	// VPC connectors.
	vpc := s.MustAWS("create-vpc-connector", "--vpc-connector-name", "egress", "--subnets", "subnet-1", "subnet-2",
		"--security-groups", "sg-1", "--tags", tags)
	vpcARN := str(vpc, "VpcConnector", "VpcConnectorArn")
	if str(vpc, "VpcConnector", "Status") != "ACTIVE" || !strings.Contains(vpcARN, ":vpcconnector/egress/1/") {
		t.Fatalf("VPC connector = %v", vpc)
	}
	s.AWSFails("InvalidRequestException", "create-vpc-connector", "--vpc-connector-name", "egress", "--subnets", "subnet-3")
	if got := str(s.MustAWS("describe-vpc-connector", "--vpc-connector-arn", vpcARN), "VpcConnector", "VpcConnectorName"); got != "egress" {
		t.Errorf("describe VPC connector name = %q", got)
	}
	if got := strs(list(s.MustAWS("list-vpc-connectors"), "VpcConnectors"), "VpcConnectorArn"); got != vpcARN {
		t.Errorf("VPC connectors = %q, want %s", got, vpcARN)
	}

	// A service that uses both: unknown ones are refused, real ones deploy.
	create := func(name, obsARN, vpcARN string) []string {
		return []string{"create-service", "--service-name", name, "--source-configuration", mustJSON(t, apiSource(repo)),
			"--observability-configuration", mustJSON(t, map[string]any{"ObservabilityEnabled": true, "ObservabilityConfigurationArn": obsARN}),
			"--network-configuration", mustJSON(t, map[string]any{"EgressConfiguration": map[string]any{"EgressType": "VPC", "VpcConnectorArn": vpcARN}})}
	}
	s.AWSFails("InvalidRequestException", create("bad-obs", partial+"/9", vpcARN)...)
	s.AWSFails("InvalidRequestException", create("bad-vpc", obs1ARN, strings.Replace(vpcARN, "/egress/", "/nope/", 1))...)
	svc := s.MustAWS(create("private-api", obs1ARN, vpcARN)...)
	svcARN := str(svc, "Service", "ServiceArn")
	s.WaitStatus(svcARN, "RUNNING", 60*time.Second)
	msg := s.AWSFails("InvalidRequestException", "delete-observability-configuration", "--observability-configuration-arn", obs1ARN)
	if !strings.Contains(msg, svcARN) {
		t.Errorf("in-use refusal does not name the service: %s", msg)
	}
	s.AWSFails("InvalidRequestException", "delete-vpc-connector", "--vpc-connector-arn", vpcARN)
	// An unused revision can go.
	del := s.MustAWS("delete-observability-configuration", "--observability-configuration-arn", obs2ARN)
	if str(del, "ObservabilityConfiguration", "Status") != "INACTIVE" {
		t.Errorf("deleted revision = %v, want INACTIVE", del)
	}

	// VPC ingress connections.
	vic := s.MustAWS("create-vpc-ingress-connection", "--service-arn", svcARN, "--vpc-ingress-connection-name", "private-api-vpce",
		"--ingress-vpc-configuration", "VpcId=vpc-1,VpcEndpointId=vpce-1", "--tags", tags)
	vicARN := str(vic, "VpcIngressConnection", "VpcIngressConnectionArn")
	if str(vic, "VpcIngressConnection", "Status") != "AVAILABLE" || str(vic, "VpcIngressConnection", "DomainName") == "" ||
		!strings.Contains(vicARN, ":vpcingressconnection/private-api-vpce/") {
		t.Fatalf("VPC ingress connection = %v", vic)
	}
	s.AWSFails("InvalidRequestException", "create-vpc-ingress-connection", "--service-arn", strings.Replace(svcARN, "/private-api/", "/nope/", 1),
		"--vpc-ingress-connection-name", "nope-vpce", "--ingress-vpc-configuration", "VpcId=vpc-1,VpcEndpointId=vpce-1")
	if got := strs(list(s.MustAWS("list-vpc-ingress-connections", "--filter", "ServiceArn="+svcARN), "VpcIngressConnectionSummaryList"),
		"VpcIngressConnectionArn"); got != vicARN {
		t.Errorf("VPC ingress connections of the service = %q, want %s", got, vicARN)
	}
	if got := list(s.MustAWS("list-vpc-ingress-connections", "--filter", "VpcEndpointId=vpce-other"), "VpcIngressConnectionSummaryList"); len(got) != 0 {
		t.Errorf("VPC ingress connections of another endpoint = %v, want none", got)
	}
	s.MustAWS("update-vpc-ingress-connection", "--vpc-ingress-connection-arn", vicARN, "--ingress-vpc-configuration", "VpcId=vpc-2,VpcEndpointId=vpce-2")
	if got := str(s.MustAWS("describe-vpc-ingress-connection", "--vpc-ingress-connection-arn", vicARN),
		"VpcIngressConnection", "IngressVpcConfiguration", "VpcEndpointId"); got != "vpce-2" {
		t.Errorf("endpoint after update = %q, want vpce-2", got)
	}
	s.AWSFails("InvalidStateException", "delete-service", "--service-arn", svcARN)

	// Tags on every kind.
	for _, arn := range []string{connARN, obs1ARN, vpcARN, vicARN} {
		if got := tagsOf(s, arn); got != "team=web" {
			t.Errorf("%s: tags = %q, want team=web", arn, got)
		}
		s.MustAWS("tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod")
		s.MustAWS("untag-resource", "--resource-arn", arn, "--tag-keys", "team")
		if got := tagsOf(s, arn); got != "env=prod" {
			t.Errorf("%s: tags after tag/untag = %q, want env=prod", arn, got)
		}
	}

	// Tear down in order: the ingress connection, the service, then what it used.
	if st := str(s.MustAWS("delete-vpc-ingress-connection", "--vpc-ingress-connection-arn", vicARN), "VpcIngressConnection", "Status"); st != "DELETED" {
		t.Errorf("deleted VPC ingress connection status = %q", st)
	}
	s.AWSFails("InvalidStateException", "update-vpc-ingress-connection", "--vpc-ingress-connection-arn", vicARN,
		"--ingress-vpc-configuration", "VpcId=vpc-3,VpcEndpointId=vpce-3")
	s.MustAWS("delete-service", "--service-arn", svcARN)
	s.WaitStatus(svcARN, "DELETED", 30*time.Second)
	s.MustAWS("delete-observability-configuration", "--observability-configuration-arn", obs1ARN)
	if st := str(s.MustAWS("delete-vpc-connector", "--vpc-connector-arn", vpcARN), "VpcConnector", "Status"); st != "INACTIVE" {
		t.Errorf("deleted VPC connector status = %q", st)
	}
	s.AWSFails("ResourceNotFoundException", "delete-vpc-connector", "--vpc-connector-arn", vpcARN)
	if st := str(s.MustAWS("delete-connection", "--connection-arn", connARN), "Connection", "Status"); st != "DELETED" {
		t.Errorf("deleted connection status = %q", st)
	}
	s.AWSFails("ResourceNotFoundException", "delete-connection", "--connection-arn", connARN)
	if got := len(list(s.MustAWS("list-observability-configurations"), "ObservabilityConfigurationSummaryList")); got != 0 {
		t.Errorf("listed %d observability configurations after deleting them all", got)
	}
	if got := len(list(s.MustAWS("list-vpc-connectors"), "VpcConnectors")); got != 0 {
		t.Errorf("listed %d VPC connectors after deleting them all", got)
	}
}
