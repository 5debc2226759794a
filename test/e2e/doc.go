// Package e2e tests Slipway end to end: it builds the real binary, starts
// it on free loopback ports and drives it with the real aws CLI, boto3 and
// aws-sdk-go-v2 against real git repositories.
package e2e
