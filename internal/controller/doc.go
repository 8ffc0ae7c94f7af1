// Package controller holds Berth's reconcilers: level-based loops that make
// the clusters match the desired state recorded in the database.
package controller
