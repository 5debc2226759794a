// Command gen reads the App Runner Smithy JSON AST and writes the Go wire types,
// their validation and the operation table of package apprunner.
//
// Usage (see the go:generate line in ../doc.go):
//
//	go run ./gen -model ../../../shared/apprunner-api/apprunner.smithy.json [-out .]
package main
