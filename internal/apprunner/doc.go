// Package apprunner holds the wire types of the AWS App Runner API (generated from its Smithy
// model), their validation, ARNs and the instance sizes App Runner accepts.
package apprunner

//go:generate go run ./gen -model gen/model/apprunner.smithy.json
