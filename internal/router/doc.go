// Package router is the data plane: an HTTP reverse proxy that serves each
// service at its own host name and spreads requests over its healthy instances.
package router
