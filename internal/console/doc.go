// Package console is Slipway's web console: server-rendered pages over the
// same control plane and store as the API, with live updates by server-sent
// events and sessions signed in with the API's access key.
package console
