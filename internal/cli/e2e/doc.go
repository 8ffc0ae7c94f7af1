// Package e2e holds the end-to-end test of a new user's first session: the
// real server on a loopback listener over SQLite, driven through the CLI's
// commands exactly as `berth` runs them.
package e2e
