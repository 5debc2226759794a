// Package engine carries out the operations the control plane records and
// keeps every service's instances in the state the store says they should
// be in: it deploys (blue/green, with health checks and rollback), pauses,
// resumes and deletes services, re-adopts instances after a restart and
// replaces instances that die.
package engine
