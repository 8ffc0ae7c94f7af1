// Command testreport reads `go test -json` on stdin and prints what `make
// test` shows: failures in full, skips with their reasons, and a last line
// "N passed, N failed, N skipped". See internal/testreport.
package main

import (
	"os"

	"berth.dev/berth/internal/testreport"
)

func main() {
	os.Exit(testreport.Main(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
