package auditcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// verifyChain asks the server to verify the chain and that it holds
// anchors; a broken chain is printed and returned as an error.
func verifyChain(ctx context.Context, env cli.Env, s *client.Session, anchors []audit.Anchor) (apitypes.VerifyReport, error) {
	var rep apitypes.VerifyReport
	var body any
	if len(anchors) > 0 {
		body = apitypes.VerifyRequest{Anchors: anchors}
	}
	if err := s.Client.Do(ctx, "POST", "/audit/verify", body, &rep); err != nil {
		return rep, err
	}
	if b := rep.Broken; b != nil {
		fmt.Fprintf(env.Stdout, "BROKEN: record %d %s: %s\n", b.Seq, b.Problem, b.Detail)
		return rep, fmt.Errorf("audit chain broken at record %d (%s)", b.Seq, b.Problem)
	}
	return rep, nil
}

func verify(env cli.Env) *cobra.Command {
	var anchorDir, publicKey string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit hash chain; fails naming the first altered, deleted or reordered record",
		Long: "Verify the audit hash chain; fails naming the first altered, deleted or reordered record.\n" +
			"With --anchors DIR and --public-key FILE it also proves that the chain still holds every\n" +
			"checkpoint `berth audit anchor` wrote to DIR, so a database rewritten since is found.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var anchors []audit.Anchor
			if anchorDir != "" || publicKey != "" {
				if anchorDir == "" || publicKey == "" {
					return fmt.Errorf("--anchors and --public-key go together")
				}
				pub, err := readPublicKey(publicKey)
				if err != nil {
					return err
				}
				if anchors, err = readAnchors(anchorDir, pub); err != nil {
					return err
				}
				if len(anchors) == 0 {
					return fmt.Errorf("--anchors %s: no checkpoints (*.json) found", anchorDir)
				}
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			rep, err := verifyChain(cmd.Context(), env, s, anchors)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "OK: %d records verified (seq %d to %d), head hash %s\n", rep.Checked, rep.From, rep.To, rep.HeadHash)
			if len(anchors) > 0 {
				fmt.Fprintf(env.Stdout, "OK: %d of %d anchors found in the chain (%d older ones pruned)\n", rep.Anchored, len(anchors), rep.Pruned)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&anchorDir, "anchors", "", "directory of checkpoints written by `berth audit anchor`")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "PEM file of the anchoring public key (from `berth audit keygen`)")
	return cmd
}
