// Package api serves the App Runner API over AWS JSON 1.0: it verifies SigV4
// signatures, decodes and validates requests, dispatches them to the control
// plane and maps errors to AWS error responses.
package api
