package testreport

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Main is the command `go run ./scripts/testreport`: it reads `go test
// -json` from stdin and returns the exit status, 0 when the run passes, 1
// when it does not, 2 on a usage or allow-list error. Flags: -allowed FILE
// (the allow-list; none means no skip is allowed) and -strict (default:
// CI=true in the environment).
func Main(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowedFile := fs.String("allowed", "", "allow-list of tests that may skip (test name, then the reason)")
	strict := fs.Bool("strict", getenv("CI") == "true", "fail on any skip not on the allow-list (default: CI=true)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opt := Options{Strict: *strict, AllowListName: *allowedFile}
	if *allowedFile != "" {
		f, err := os.Open(*allowedFile)
		if err != nil {
			fmt.Fprintf(stderr, "testreport: %v\n", err)
			return 2
		}
		opt.Allowed, err = ParseAllowList(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "testreport: %s: %v\n", *allowedFile, err)
			return 2
		}
	}
	sum, err := Run(stdin, stdout, opt)
	if err != nil {
		fmt.Fprintf(stderr, "testreport: %v\n", err)
		return 1
	}
	if !sum.OK(opt.Strict) {
		return 1
	}
	return 0
}
