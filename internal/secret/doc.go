// Package secret resolves the secret references of App Runner
// configurations (Secrets Manager and SSM Parameter Store ARNs) from a
// local secrets directory.
package secret
