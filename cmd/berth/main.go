// Command berth is the one Berth binary: the platform server, the traffic
// gateway, the local Kubernetes control plane and the command-line client.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/admincmd"
	"berth.dev/berth/internal/cli/alertcmd"
	"berth.dev/berth/internal/cli/appcmd"
	"berth.dev/berth/internal/cli/applycmd"
	"berth.dev/berth/internal/cli/auditcmd"
	"berth.dev/berth/internal/cli/clustercmd"
	"berth.dev/berth/internal/cli/configcmd"
	"berth.dev/berth/internal/cli/contextcmd"
	"berth.dev/berth/internal/cli/deletecmd"
	"berth.dev/berth/internal/cli/describecmd"
	"berth.dev/berth/internal/cli/execcmd"
	"berth.dev/berth/internal/cli/floorcmd"
	"berth.dev/berth/internal/cli/gatewaycmd"
	"berth.dev/berth/internal/cli/getcmd"
	"berth.dev/berth/internal/cli/grantcmd"
	"berth.dev/berth/internal/cli/graycmd"
	"berth.dev/berth/internal/cli/logincmd"
	"berth.dev/berth/internal/cli/logscmd"
	"berth.dev/berth/internal/cli/metricscmd"
	"berth.dev/berth/internal/cli/netcmd"
	"berth.dev/berth/internal/cli/orgcmd"
	"berth.dev/berth/internal/cli/pipelinecmd"
	"berth.dev/berth/internal/cli/releasecmd"
	"berth.dev/berth/internal/cli/servercmd"
	"berth.dev/berth/internal/cli/sessioncmd"
	"berth.dev/berth/internal/cli/slocmd"
	"berth.dev/berth/internal/cli/storecmd"
	"berth.dev/berth/internal/cli/tokencmd"
	"berth.dev/berth/internal/cli/usercmd"
	"berth.dev/berth/internal/cli/versioncmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

// run builds the command tree and executes args. Everything the commands
// touch of the outside world is passed in here.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	env := cli.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv, OpenURL: cli.OpenBrowser}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Berth: a financial-grade application platform for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		appcmd.New(env),
		releasecmd.New(env),
		clustercmd.New(env),
		gatewaycmd.New(env),
		graycmd.New(env),
		orgcmd.New(env),
		servercmd.New(env),
		versioncmd.New(env),
		logincmd.New(env),
		contextcmd.New(env),
		getcmd.New(env),
		describecmd.New(env),
		deletecmd.New(env),
		applycmd.New(env),
		auditcmd.New(env),
		grantcmd.New(env),
		floorcmd.New(env),
		admincmd.New(env),
		tokencmd.New(env),
		usercmd.New(env),
		netcmd.New(env),
		execcmd.NewExec(env),
		execcmd.NewShell(env),
		logscmd.New(env),
		metricscmd.New(env),
		sessioncmd.New(env),
		configcmd.New(env),
		pipelinecmd.New(env),
		alertcmd.New(env),
		storecmd.New(env),
		slocmd.New(env),
	)
	return root.ExecuteContext(ctx)
}
