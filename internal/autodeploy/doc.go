// Package autodeploy watches the branches services deploy from (polling and
// push webhooks) and decides, commit by commit, whether a service deploys:
// only when the commit changes files under its source directory.
package autodeploy
