// Package swarm is the runtime backend that runs each instance as a Docker
// Swarm service of one task, placed by Swarm on any node of the cluster and
// reached at its node's address and a port of its own; builds are made on
// the manager's engine and pushed to a registry every node pulls from.
package swarm
