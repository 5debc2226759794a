// Package appconfig parses apprunner.yaml, the App Runner configuration
// file (version 1.0) that a source-code service keeps in its repository.
package appconfig
