package control

import (
	"context"
	"fmt"
	"strings"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

func (f *fixture) createConnection(t *testing.T, name string, tags ...string) *ar.Connection {
	t.Helper()
	out, err := f.c.CreateConnection(context.Background(), &ar.CreateConnectionRequest{
		ConnectionName: name, ProviderType: ar.ProviderTypeGithub, Tags: tagList(tags...)})
	if err != nil {
		t.Fatalf("CreateConnection(%s): %v", name, err)
	}
	return out.Connection
}

func (f *fixture) connectionNames(t *testing.T, req ar.ListConnectionsRequest) []string {
	t.Helper()
	out, err := f.c.ListConnections(context.Background(), &req)
	if err != nil {
		t.Fatalf("ListConnections: %v", err)
	}
	var names []string
	for _, c := range out.ConnectionSummaryList {
		names = append(names, deref(c.ConnectionName))
	}
	return names
}

func TestConnections(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	gh := f.createConnection(t, "github-conn", "team", "web")
	if !strings.HasPrefix(deref(gh.ConnectionArn), "arn:aws:apprunner:us-east-1:123456789012:connection/github-conn/") ||
		deref(gh.Status) != ar.ConnectionStatusAvailable || deref(gh.ProviderType) != ar.ProviderTypeGithub || gh.CreatedAt == nil {
		t.Errorf("created = %+v, want an AVAILABLE GITHUB connection with its ARN and time", gh)
	}
	if got := f.tags(t, deref(gh.ConnectionArn)); got != "team=web" {
		t.Errorf("tags = %q, want team=web", got)
	}
	f.createConnection(t, "another")

	_, err := f.c.CreateConnection(ctx, &ar.CreateConnectionRequest{ConnectionName: "github-conn", ProviderType: ar.ProviderTypeGithub})
	wantAPIError(t, err, ar.CodeInvalidRequest, "github-conn")

	for _, tt := range []struct {
		name string
		req  ar.ListConnectionsRequest
		want string
	}{
		{"all", ar.ListConnectionsRequest{}, "another,github-conn"},
		{"by name", ar.ListConnectionsRequest{ConnectionName: ptrTo("github-conn")}, "github-conn"},
		{"unknown name", ar.ListConnectionsRequest{ConnectionName: ptrTo("nope")}, ""},
		{"first page", ar.ListConnectionsRequest{MaxResults: ptrTo[int64](1)}, "another"},
	} {
		if got := strings.Join(f.connectionNames(t, tt.req), ","); got != tt.want {
			t.Errorf("%s: names = %q, want %q", tt.name, got, tt.want)
		}
	}
	first, err := f.c.ListConnections(ctx, &ar.ListConnectionsRequest{MaxResults: ptrTo[int64](1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v, NextToken %v; want a token", err, first.NextToken)
	}
	second, err := f.c.ListConnections(ctx, &ar.ListConnectionsRequest{MaxResults: ptrTo[int64](1), NextToken: first.NextToken})
	if err != nil || len(second.ConnectionSummaryList) != 1 || deref(second.ConnectionSummaryList[0].ConnectionName) != "github-conn" || second.NextToken != nil {
		t.Errorf("second page = %+v, %v; want github-conn and no token", second, err)
	}

	del, err := f.c.DeleteConnection(ctx, &ar.DeleteConnectionRequest{ConnectionArn: deref(gh.ConnectionArn)})
	if err != nil || deref(del.Connection.Status) != ar.ConnectionStatusDeleted {
		t.Fatalf("DeleteConnection = %+v, %v; want DELETED", del, err)
	}
	if got := strings.Join(f.connectionNames(t, ar.ListConnectionsRequest{}), ","); got != "another" {
		t.Errorf("names after delete = %q, want another", got)
	}
	_, err = f.c.DeleteConnection(ctx, &ar.DeleteConnectionRequest{ConnectionArn: deref(gh.ConnectionArn)})
	wantAPIError(t, err, ar.CodeResourceNotFound)
	_, err = f.c.TagResource(ctx, &ar.TagResourceRequest{ResourceArn: deref(gh.ConnectionArn), Tags: tagList("k", "v")})
	wantAPIError(t, err, ar.CodeInvalidState, "DELETED")
	// The name is free again.
	if again := f.createConnection(t, "github-conn"); deref(again.ConnectionArn) == deref(gh.ConnectionArn) {
		t.Errorf("recreated connection reuses ARN %s", deref(gh.ConnectionArn))
	}
}

func TestConnectionQuota(t *testing.T) {
	f := newFixture(t, 10)
	for i := range maxConnections {
		f.createConnection(t, fmt.Sprintf("conn-%02d", i))
	}
	_, err := f.c.CreateConnection(context.Background(), &ar.CreateConnectionRequest{ConnectionName: "one-more", ProviderType: ar.ProviderTypeBitbucket})
	wantAPIError(t, err, ar.CodeServiceQuotaExceeded, fmt.Sprint(maxConnections))
}

func TestDeleteConnectionInUse(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	conn := f.createConnection(t, "private")
	req := codeRequest("uses-conn")
	req.SourceConfiguration.AuthenticationConfiguration = &ar.AuthenticationConfiguration{ConnectionArn: conn.ConnectionArn}
	svc := f.create(t, req).Service
	_, err := f.c.DeleteConnection(ctx, &ar.DeleteConnectionRequest{ConnectionArn: deref(conn.ConnectionArn)})
	wantAPIError(t, err, ar.CodeInvalidRequest, svc.ServiceArn)
	f.setStatus(t, svc.ServiceArn, ar.ServiceStatusDeleted)
	if _, err := f.c.DeleteConnection(ctx, &ar.DeleteConnectionRequest{ConnectionArn: deref(conn.ConnectionArn)}); err != nil {
		t.Errorf("DeleteConnection after the service was deleted: %v", err)
	}
}

func TestCreateServiceRefusesUnknownConnection(t *testing.T) {
	f := newFixture(t, 10)
	req := codeRequest("conn-missing")
	req.SourceConfiguration.AuthenticationConfiguration = &ar.AuthenticationConfiguration{
		ConnectionArn: ptrTo("arn:aws:apprunner:us-east-1:" + testAccount + ":connection/nope/0123456789abcdef0123456789abcdef")}
	_, err := f.c.CreateService(context.Background(), req)
	wantAPIError(t, err, ar.CodeInvalidRequest, "ConnectionArn", "not found")
}
