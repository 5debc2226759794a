// Package autoscale decides how many instances a service wants from the
// concurrent requests it has seen, the way Knative's KPA does, as a pure
// function of that history and the time passed in.
package autoscale
