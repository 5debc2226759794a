package control

import (
	"context"
	"sort"
	"strings"
	"testing"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

func tagList(kv ...string) []ar.Tag {
	var out []ar.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ar.Tag{Key: ptrTo(kv[i]), Value: ptrTo(kv[i+1])})
	}
	return out
}

func (f *fixture) tags(t *testing.T, arn string) string {
	t.Helper()
	out, err := f.c.ListTagsForResource(context.Background(), &ar.ListTagsForResourceRequest{ResourceArn: arn})
	if err != nil {
		t.Fatalf("ListTagsForResource(%s): %v", arn, err)
	}
	var kv []string
	for _, tg := range out.Tags {
		kv = append(kv, deref(tg.Key)+"="+deref(tg.Value))
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func TestTags(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	req := codeRequest("my-app")
	req.Tags = tagList("team", "web")
	svc := f.create(t, req).Service
	asc := f.createASC(t, "high", 1)
	ascARN := deref(asc.AutoScalingConfigurationArn)

	if got := f.tags(t, svc.ServiceArn); got != "team=web" {
		t.Errorf("tags from CreateService = %q, want team=web", got)
	}
	if got := f.tags(t, ascARN); got != "" {
		t.Errorf("tags of a new configuration = %q, want none", got)
	}

	for _, arn := range []string{svc.ServiceArn, ascARN} {
		if _, err := f.c.TagResource(ctx, &ar.TagResourceRequest{ResourceArn: arn, Tags: tagList("env", "prod", "team", "api")}); err != nil {
			t.Fatalf("TagResource(%s): %v", arn, err)
		}
	}
	if got := f.tags(t, svc.ServiceArn); got != "env=prod,team=api" {
		t.Errorf("service tags = %q, want env=prod,team=api", got)
	}
	if got := f.tags(t, ascARN); got != "env=prod,team=api" {
		t.Errorf("configuration tags = %q, want env=prod,team=api", got)
	}
	if _, err := f.c.UntagResource(ctx, &ar.UntagResourceRequest{ResourceArn: svc.ServiceArn, TagKeys: []string{"team", "missing"}}); err != nil {
		t.Fatal(err)
	}
	if got := f.tags(t, svc.ServiceArn); got != "env=prod" {
		t.Errorf("service tags after untag = %q, want env=prod", got)
	}

	if _, err := f.c.UntagResource(ctx, &ar.UntagResourceRequest{ResourceArn: svc.ServiceArn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.c.ListTagsForResource(ctx, &ar.ListTagsForResourceRequest{ResourceArn: svc.ServiceArn})
	if err != nil || out.Tags == nil || len(out.Tags) != 0 {
		t.Errorf("ListTagsForResource with no tags = %#v, %v; want an empty list", out, err)
	}
}

func TestTagsUnknownResource(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	deleted := f.create(t, codeRequest("gone")).Service
	f.setStatus(t, deleted.ServiceArn, ar.ServiceStatusDeleted)
	inactive := f.createASC(t, "old", 1)
	if _, err := f.c.DeleteAutoScalingConfiguration(ctx, &ar.DeleteAutoScalingConfigurationRequest{
		AutoScalingConfigurationArn: deref(inactive.AutoScalingConfigurationArn)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arn, code string
	}{
		{"unknown service", "arn:aws:apprunner:us-east-1:123456789012:service/nope/0123456789abcdef0123456789abcdef", ar.CodeResourceNotFound},
		{"deleted service", deleted.ServiceArn, ar.CodeResourceNotFound},
		{"unknown configuration", ascPrefix + "nope/1/0123", ar.CodeResourceNotFound},
		{"inactive configuration", deref(inactive.AutoScalingConfigurationArn), ar.CodeInvalidState},
		{"other resource type", "arn:aws:apprunner:us-east-1:123456789012:vpcconnector/v/1/0123", ar.CodeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.TagResource(ctx, &ar.TagResourceRequest{ResourceArn: tt.arn, Tags: tagList("k", "v")})
			wantAPIError(t, err, tt.code)
			_, err = f.c.UntagResource(ctx, &ar.UntagResourceRequest{ResourceArn: tt.arn, TagKeys: []string{"k"}})
			wantAPIError(t, err, tt.code)
			_, err = f.c.ListTagsForResource(ctx, &ar.ListTagsForResourceRequest{ResourceArn: tt.arn})
			wantAPIError(t, err, tt.code)
		})
	}
}
