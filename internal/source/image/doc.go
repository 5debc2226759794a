// Package image talks to OCI registries for image sources: it resolves a
// tag to the digest that a deployment runs, lists tags, and reads the push
// notifications a registry sends, so that a new digest can be deployed.
package image
