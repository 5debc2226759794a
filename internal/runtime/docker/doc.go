// Package docker is the runtime backend that builds images from Dockerfiles
// (or managed runtimes on base images), pulls images from registries, and runs
// each instance as a container on the host network, through the Docker
// Engine API; containers outlive the daemon and are re-adopted by label.
package docker
