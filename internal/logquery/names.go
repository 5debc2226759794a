package logquery

import (
	"fmt"
	"strings"
)

// App Runner's log group names are /aws/apprunner/<service name>/<service
// id>/<kind>; the service kind holds the service's events and deployment
// logs, the application kind its instances' output.
const (
	groupPrefix     = "/aws/apprunner/"
	KindService     = "service"
	KindApplication = "application"
)

// App Runner's stream names: one stream of the service's events, one per
// deployment (Slipway: per operation) and one per instance.
const (
	EventsStream     = "events"
	deploymentPrefix = "deployment/"
	instancePrefix   = "instance/"
)

// GroupName is the name of a service's log group of kind.
func GroupName(service, serviceID, kind string) string {
	return groupPrefix + service + "/" + serviceID + "/" + kind
}

// DeploymentStream names an operation's stream in the service group.
func DeploymentStream(operationID string) string { return deploymentPrefix + operationID }

// InstanceStream names an instance's stream in the application group.
func InstanceStream(instanceID string) string { return instancePrefix + instanceID }

// groupID is what a log group name says.
type groupID struct{ service, serviceID, kind string }

// parseGroup reads a log group name, or a log group ARN (with or without
// the trailing ":*") as logGroupIdentifier allows.
func parseGroup(nameOrARN string) (groupID, bool) {
	name := nameOrARN
	if strings.HasPrefix(name, "arn:") {
		// arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]; names have no colons.
		f := strings.Split(strings.TrimSuffix(name, ":*"), ":")
		if len(f) != 7 || f[2] != "logs" || f[5] != "log-group" {
			return groupID{}, false
		}
		name = f[6]
	}
	rest, ok := strings.CutPrefix(name, groupPrefix)
	if !ok {
		return groupID{}, false
	}
	f := strings.Split(rest, "/")
	if len(f) != 3 || f[0] == "" || f[1] == "" || (f[2] != KindService && f[2] != KindApplication) {
		return groupID{}, false
	}
	return groupID{service: f[0], serviceID: f[1], kind: f[2]}, true
}

func groupARN(region, account, group string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, group)
}

func streamARN(region, account, group, stream string) string {
	return groupARN(region, account, group) + ":log-stream:" + stream
}
