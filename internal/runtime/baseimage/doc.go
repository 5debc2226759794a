// Package baseimage builds the base images of App Runner's managed runtimes
// (PYTHON_3, NODEJS_18, GO_1, ...) from Debian packages with mmdebstrap,
// imports them into a Docker Engine under content-addressed tags, and keeps
// them there (and in a registry, when one is given) for every later build.
package baseimage
