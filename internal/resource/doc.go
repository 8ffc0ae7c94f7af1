// Package resource holds the conventions every Berth resource shares: the
// error sentinels and types the API maps to status codes, validation with
// field paths, resource quantities ("500m", "4Gi"), durations written as Go
// duration strings ("90s"), list pagination with opaque continue tokens and
// the status conditions controllers report (Ready).
//
// It is a leaf package: domain packages (tenancy, apps, identity, audit)
// import it, it imports nothing of Berth's.
package resource
