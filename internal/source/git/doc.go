// Package git keeps a local cache of remote git repositories, one bare
// mirror per URL, and answers questions about them by driving the git binary.
package git
