// Package api serves the AWS APIs Slipway speaks on its one listener: App
// Runner over AWS JSON 1.0, and beside it the CloudWatch Logs and STS
// operations that the tools of App Runner's users call. It verifies SigV4
// signatures, decodes and validates requests, dispatches them and maps
// errors to AWS error responses.
package api
