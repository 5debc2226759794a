package apprunner

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ARNPartition and ARNService are the fixed first fields of every ARN Slipway issues.
const (
	ARNPartition = "aws"
	ARNService   = "apprunner"
)

// Resource types: the first path segment of an App Runner ARN's resource.
const (
	ResourceService                    = "service"
	ResourceAutoScalingConfiguration   = "autoscalingconfiguration"
	ResourceObservabilityConfiguration = "observabilityconfiguration"
	ResourceVpcConnector               = "vpcconnector"
	ResourceConnection                 = "connection"
	ResourceVpcIngressConnection       = "vpcingressconnection"
)

// ErrInvalidARN is returned (wrapped) by ParseARN.
var ErrInvalidARN = errors.New("invalid ARN")

// ARN is a parsed Amazon Resource Name: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string // e.g. "service/my-app/0123456789abcdef0123456789abcdef"
}

// ParseARN splits s into its fields. It checks the shape only, not that the resource exists.
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w: %q", ErrInvalidARN, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	if a.Partition == "" || a.Service == "" || a.Resource == "" {
		return ARN{}, fmt.Errorf("%w: %q", ErrInvalidARN, s)
	}
	return a, nil
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

func (a ARN) segments() []string { return strings.Split(a.Resource, "/") }

// ResourceType returns the resource's type, e.g. "service" or "autoscalingconfiguration".
func (a ARN) ResourceType() string { return a.segments()[0] }

// Name returns the resource's name: the segment after the type, or "" if there is none.
func (a ARN) Name() string {
	if seg := a.segments(); len(seg) >= 2 {
		return seg[1]
	}
	return ""
}

// ID returns the resource's id, the last segment, when the ARN has type/NAME/.../ID form.
func (a ARN) ID() string {
	if seg := a.segments(); len(seg) >= 3 {
		return seg[len(seg)-1]
	}
	return ""
}

// Revision returns the revision of a type/NAME/REV/ID resource (auto scaling, observability
// configuration, VPC connector).
func (a ARN) Revision() (int, bool) {
	seg := a.segments()
	if len(seg) != 4 {
		return 0, false
	}
	n, err := strconv.Atoi(seg[2])
	return n, err == nil
}

func build(region, account string, resource ...string) string {
	return ARN{Partition: ARNPartition, Service: ARNService, Region: region, Account: account,
		Resource: strings.Join(resource, "/")}.String()
}

// ServiceARN returns arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID.
func ServiceARN(region, account, name, id string) string {
	return build(region, account, ResourceService, name, id)
}

// AutoScalingConfigurationARN returns ...:autoscalingconfiguration/NAME/REVISION/ID.
func AutoScalingConfigurationARN(region, account, name string, revision int, id string) string {
	return build(region, account, ResourceAutoScalingConfiguration, name, strconv.Itoa(revision), id)
}

// ObservabilityConfigurationARN returns ...:observabilityconfiguration/NAME/REVISION/ID.
func ObservabilityConfigurationARN(region, account, name string, revision int, id string) string {
	return build(region, account, ResourceObservabilityConfiguration, name, strconv.Itoa(revision), id)
}

// VpcConnectorARN returns ...:vpcconnector/NAME/REVISION/ID.
func VpcConnectorARN(region, account, name string, revision int, id string) string {
	return build(region, account, ResourceVpcConnector, name, strconv.Itoa(revision), id)
}

// ConnectionARN returns ...:connection/NAME/ID.
func ConnectionARN(region, account, name, id string) string {
	return build(region, account, ResourceConnection, name, id)
}

// VpcIngressConnectionARN returns ...:vpcingressconnection/NAME/ID.
func VpcIngressConnectionARN(region, account, name, id string) string {
	return build(region, account, ResourceVpcIngressConnection, name, id)
}

// NewID returns a resource id: 32 lowercase hex characters, as App Runner uses.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// NewOperationID returns a random (version 4) UUID, the form of App Runner operation ids.
func NewOperationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IsARN reports whether s looks like an ARN rather than a name.
func IsARN(s string) bool { return strings.HasPrefix(s, "arn:") }
