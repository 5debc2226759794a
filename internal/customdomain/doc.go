// Package customdomain takes custom domains from associated to served: it
// routes them to their service, obtains their certificates, moves them
// through App Runner's statuses, and removes them when disassociated.
package customdomain
