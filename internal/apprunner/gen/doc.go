// Command gen reads the App Runner Smithy JSON AST and writes the Go wire types,
// their validation and the operation table of package apprunner.
//
// The model is kept in the repository, in model/ (see model/README.md for
// where it comes from). Usage, from internal/apprunner (see the go:generate
// line in ../doc.go):
//
//	go run ./gen [-model gen/model/apprunner.smithy.json] [-out .]
package main
