package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// botoScript drives Slipway with boto3: services, paginators, auto scaling
// configurations, tags and modeled errors.
const botoScript = `
import json, os, sys, time
import boto3
from botocore.exceptions import ClientError

repo = sys.argv[1]
c = boto3.client("apprunner")

def source(name):
    return {
        "CodeRepository": {
            "RepositoryUrl": repo,
            "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
            "SourceDirectory": "services/web",
            "CodeConfiguration": {"ConfigurationSource": "API", "CodeConfigurationValues": {
                "Runtime": "PYTHON_311", "StartCommand": "python3 app.py",
                "RuntimeEnvironmentVariables": {"APP_NAME": name}}},
        },
        "AutoDeploymentsEnabled": False,
    }

asc = c.create_auto_scaling_configuration(AutoScalingConfigurationName="two-min", MinSize=2, MaxSize=4)["AutoScalingConfiguration"]
assert asc["AutoScalingConfigurationRevision"] == 1 and asc["Latest"] and asc["Status"] == "active", asc
asc2 = c.create_auto_scaling_configuration(AutoScalingConfigurationName="two-min", MinSize=2, MaxSize=5)["AutoScalingConfiguration"]
assert asc2["AutoScalingConfigurationRevision"] == 2, asc2
names = [a["AutoScalingConfigurationName"] + ":" + str(a["AutoScalingConfigurationRevision"])
         for a in c.list_auto_scaling_configurations(LatestOnly=True)["AutoScalingConfigurationSummaryList"]]
assert names == ["DefaultConfiguration:1", "two-min:2"], names

arns = []
for i in range(3):
    kw = {"AutoScalingConfigurationArn": asc2["AutoScalingConfigurationArn"]} if i == 0 else {}
    s = c.create_service(ServiceName=f"boto-{i}", SourceConfiguration=source(f"boto{i}"),
                         Tags=[{"Key": "team", "Value": "edge"}], **kw)["Service"]
    arns.append(s["ServiceArn"])
    assert s["AutoScalingConfigurationSummary"]["AutoScalingConfigurationName"] == ("two-min" if i == 0 else "DefaultConfiguration")

pages = list(c.get_paginator("list_services").paginate(PaginationConfig={"PageSize": 1})) if c.can_paginate("list_services") else None
if pages is None:
    pages, token = [], None
    while True:
        kw = {"MaxResults": 1}
        if token: kw["NextToken"] = token
        p = c.list_services(**kw); pages.append(p); token = p.get("NextToken")
        if not token: break
assert [p["ServiceSummaryList"][0]["ServiceName"] for p in pages] == ["boto-0", "boto-1", "boto-2"], pages

deadline = time.time() + 90
while time.time() < deadline:
    st = [c.describe_service(ServiceArn=a)["Service"]["Status"] for a in arns]
    if all(x == "RUNNING" for x in st): break
    time.sleep(0.2)
assert all(x == "RUNNING" for x in st), st

users = c.list_services_for_auto_scaling_configuration(AutoScalingConfigurationArn=asc2["AutoScalingConfigurationArn"])["ServiceArnList"]
assert users == [arns[0]], users
try:
    c.delete_auto_scaling_configuration(AutoScalingConfigurationArn=asc2["AutoScalingConfigurationArn"])
    raise SystemExit("deleting a used configuration succeeded")
except ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidRequestException", e.response

c.tag_resource(ResourceArn=arns[1], Tags=[{"Key": "env", "Value": "test"}])
c.untag_resource(ResourceArn=arns[1], TagKeys=["team"])
tags = c.list_tags_for_resource(ResourceArn=arns[1])["Tags"]
assert tags == [{"Key": "env", "Value": "test"}], tags

try:
    c.describe_service(ServiceArn=arns[0] + "0")
    raise SystemExit("describing an unknown service succeeded")
except c.exceptions.ResourceNotFoundException:
    pass
try:
    c.tag_resource(ResourceArn=arns[1], Tags=[{"Key": "aws:reserved", "Value": "x"}])
    raise SystemExit("an aws: tag key was accepted")
except c.exceptions.InvalidRequestException:
    pass

ops = c.list_operations(ServiceArn=arns[0], MaxResults=1)["OperationSummaryList"]
assert ops[0]["Type"] == "CREATE_SERVICE" and ops[0]["Status"] == "SUCCEEDED", ops
print(json.dumps({"instances_asc": 2, "ok": True}))
`

// TestBoto3 drives the API with boto3.
func TestBoto3(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	script := filepath.Join(t.TempDir(), "boto.py")
	if err := os.WriteFile(script, []byte(botoScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, "file://"+repo.Dir)
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"ok": true`) {
		t.Fatalf("boto3 script: %v\n%s", err, out)
	}
	// The service with MinSize 2 runs two instances behind the router.
	pids := map[string]bool{}
	url := ""
	for _, o := range s.MustAWS("list-services")["ServiceSummaryList"].([]any) {
		if m := o.(map[string]any); m["ServiceName"] == "boto-0" {
			url = m["ServiceUrl"].(string)
		}
	}
	for range 20 {
		pids[servedPID(t, s, url)] = true
	}
	if len(pids) != 2 {
		t.Errorf("MinSize 2 service answered from %d instance(s), want 2 (round robin)", len(pids))
	}
}

// TestGoSDK drives the API with aws-sdk-go-v2.
func TestGoSDK(t *testing.T) {
	s := startServer(t)
	id, secret := s.Credentials()
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	client := apprunner.New(apprunner.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://" + s.API),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for i := range 5 {
		_, err := client.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{
			AutoScalingConfigurationName: aws.String("cfg-" + string(rune('a'+i))),
			MaxConcurrency:               aws.Int32(50),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := apprunner.NewListAutoScalingConfigurationsPaginator(client, &apprunner.ListAutoScalingConfigurationsInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range page.AutoScalingConfigurationSummaryList {
			names = append(names, aws.ToString(a.AutoScalingConfigurationName))
			if a.CreatedAt == nil || a.CreatedAt.IsZero() {
				t.Errorf("%s has no CreatedAt", aws.ToString(a.AutoScalingConfigurationName))
			}
		}
	}
	if got := strings.Join(names, ","); got != "DefaultConfiguration,cfg-a,cfg-b,cfg-c,cfg-d,cfg-e" || pages != 3 {
		t.Errorf("paginated names = %s in %d pages, want 6 names in 3 pages", got, pages)
	}

	d, err := client.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{
		AutoScalingConfigurationArn: aws.String("arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/cfg-a"),
	})
	if err != nil {
		t.Fatalf("describe by partial ARN: %v", err)
	}
	if aws.ToInt32(d.AutoScalingConfiguration.MaxConcurrency) != 50 || aws.ToInt32(d.AutoScalingConfiguration.MinSize) != 1 {
		t.Errorf("cfg-a = %+v, want MaxConcurrency 50 and default MinSize 1", d.AutoScalingConfiguration)
	}

	_, err = client.DescribeService(ctx, &apprunner.DescribeServiceInput{
		ServiceArn: aws.String("arn:aws:apprunner:us-east-1:000000000000:service/x/0123456789abcdef0123456789abcdef"),
	})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeService of an unknown service: %v, want ResourceNotFoundException", err)
	}
	_, err = client.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:         aws.String("x!"),
		SourceConfiguration: &types.SourceConfiguration{},
	})
	var ir *types.InvalidRequestException
	if !errors.As(err, &ir) || !strings.Contains(aws.ToString(ir.Message), "serviceName") {
		t.Fatalf("CreateService with a bad name: %v, want InvalidRequestException naming serviceName", err)
	}
}
