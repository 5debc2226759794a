package main

// patternOverride replaces a model @pattern the server cannot or should not enforce as written.
type patternOverride struct {
	// Check names a func(string) bool in package apprunner used instead of a regexp.
	Check string
	// Regexp replaces the model's pattern when Check is empty.
	Regexp string
	// ModelDisplay quotes the model's pattern in messages even though Regexp replaces it.
	ModelDisplay bool
	// Display is a Go expression for the pattern quoted in error messages; empty means the
	// model's pattern.
	Display string
}

// patternOverrides is keyed by local shape name. A model pattern that Go's regexp cannot
// compile and that has no entry here fails generation.
var patternOverrides = map[string]patternOverride{
	// "^256|512|...|(0.25|...) vCPU$" anchors only the first and last alternative and leaves
	// "." unescaped; validCPU checks the whole string against the allowed set.
	"Cpu": {Check: "validCPU"},
	// Same defect as Cpu.
	"Memory": {Check: "validMemory"},
	// "^(?!aws:).+$" needs a lookahead, which RE2 lacks; @length covers the ".+" part.
	"TagKey": {Check: "validTagKey"},
	// The model accepts only ECR references; Slipway runs images from any OCI registry.
	"ImageIdentifier": {Check: "validImageIdentifier", Display: "imageReferencePattern"},
	// Go's regexp caps repeat counts at 1000; the {1,1011} tail becomes "+", and @length
	// (1..1011) still bounds the whole ARN.
	"AppRunnerResourceArn": {
		Regexp:       `^arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-)+$`,
		ModelDisplay: true,
	},
	// The model reuses the UUID pattern with @length 32..32, which nothing can satisfy; App
	// Runner service ids are 32 lowercase hex characters.
	"ServiceId": {Regexp: `^[0-9a-f]{32}$`},
}

// paginationItems names the items member of paginated operations whose output has more
// than one list member; otherwise the single list member is used.
var paginationItems = map[string]string{
	"DescribeCustomDomains": "CustomDomains",
}
