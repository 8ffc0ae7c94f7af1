// Package configcmd implements `berth config`: the config center's items
// of an environment — list, get, set (publish, propose, or gray to a
// cohort), delete, history, diff, rollback, approve, reject, promote and
// abort a gray revision. See docs/config-center.md.
package configcmd

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// maxFile bounds a content file read by set --file.
const maxFile = apitypes.ConfigMaxContent + 1

type target struct {
	kind.Environment
	group string
}

// base opens the session and returns the environment's configs path.
func (t *target) base(getenv func(string) string) (*client.Session, string, error) {
	s, env, err := t.Open(getenv)
	return s, env + "/configs", err
}

// item is the path of data ID id in the target's group.
func (t *target) item(base, id string) string {
	return base + "/" + url.PathEscape(t.group) + "/" + url.PathEscape(id)
}

// New returns the `config` command.
func New(env cli.Env) *cobra.Command {
	t := &target{}
	cmd := &cobra.Command{Use: "config", Short: "Application configuration, versioned and pushed live to Nacos clients (the config center)"}
	t.Flags(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVarP(&t.group, "group", "g", apitypes.ConfigDefaultGroup, "the Nacos group")
	cmd.AddCommand(listCmd(env, t), getCmd(env, t), setCmd(env, t), deleteCmd(env, t), historyCmd(env, t), diffCmd(env, t),
		rollbackCmd(env, t), decideCmd(env, t, "approve"), decideCmd(env, t, "reject"), grayCmd(env, t, "promote"), grayCmd(env, t, "abort"))
	return cmd
}

func listCmd(env cli.Env, t *target) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the environment's items (without content)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var l apitypes.List[apitypes.ConfigItemView]
			if err := s.Client.Do(cmd.Context(), "GET", base+"?limit=1000", nil, &l); err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GROUP\tDATA ID\tTYPE\tREVISION\tSECRET\tPROPOSAL\tGRAY\tUPDATED BY")
			for _, it := range l.Items {
				gray := "-"
				if it.Gray != nil {
					gray = strconv.FormatInt(it.Gray.Revision, 10)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%v\t%d\t%s\t%s\n", it.Group, it.DataID, it.Type, it.Revision, it.Secret, it.Proposal, gray, it.UpdatedBy)
			}
			return w.Flush()
		}}
}

func getCmd(env cli.Env, t *target) *cobra.Command {
	return &cobra.Command{Use: "get DATA-ID", Short: "Print an item's current content", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var it apitypes.ConfigItemView
			if err := s.Client.Do(cmd.Context(), "GET", t.item(base, args[0]), nil, &it); err != nil {
				return err
			}
			if it.Redacted {
				return fmt.Errorf("%s is secret: reading its content needs config:read-secret", args[0])
			}
			_, err = io.WriteString(env.Stdout, it.Content)
			return err
		}}
}

func setCmd(env cli.Env, t *target) *cobra.Command {
	var req apitypes.ConfigPublishRequest
	var file, typ, desc string
	var g grayFlags
	cmd := &cobra.Command{Use: "set DATA-ID (--file F | --content C)", Short: "Publish a new revision (proposed where approvals are required; --gray-*: to a cohort first)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			content, err := readContent(env, cmd, file, req.Content)
			if err != nil {
				return err
			}
			req.Content, req.Type = content, apitypes.ConfigType(typ)
			if cmd.Flags().Changed("description") {
				req.Description = &desc
			}
			if req.Cohort, err = g.cohort(); err != nil {
				return err
			}
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var r apitypes.ConfigRevisionView
			if err := s.Client.Do(cmd.Context(), "PUT", t.item(base, args[0]), req, &r); err != nil {
				return err
			}
			printRevision(env.Stdout, r)
			return nil
		}}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "read the content from this file (- for standard input)")
	f.StringVar(&req.Content, "content", "", "the content")
	f.StringVar(&typ, "type", "", "text, yaml, properties or json (default: the item's, text for a new one)")
	f.StringVar(&desc, "description", "", "the item's description")
	f.StringSliceVar(&req.Tags, "tag", nil, "a tag (repeatable)")
	f.BoolVar(&req.Secret, "secret", false, "seal the content at rest and keep it out of lists (an item once secret stays so)")
	f.StringVarP(&req.Comment, "message", "m", "", "what changes and why")
	f.StringVar(&req.Ticket, "ticket", "", "the change ticket")
	f.StringVar(&req.CasMD5, "if-md5", "", "publish only if the current content has this MD5")
	g.add(f)
	return cmd
}

func readContent(env cli.Env, cmd *cobra.Command, file, content string) (string, error) {
	switch {
	case file != "" && cmd.Flags().Changed("content"):
		return "", errors.New("give --file or --content, not both")
	case file == "" && !cmd.Flags().Changed("content"):
		return "", errors.New("give the content with --file or --content")
	case file == "":
		return content, nil
	}
	var r io.Reader = env.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxFile))
	if err != nil {
		return "", err
	}
	if len(b) >= maxFile {
		return "", fmt.Errorf("%s: content is larger than %d bytes", file, apitypes.ConfigMaxContent)
	}
	return string(b), nil
}

// grayFlags are the --gray-* flags that publish to a cohort first.
type grayFlags struct {
	ips, labels, versions, regions, branches, tellers []string
}

func (g *grayFlags) add(f *pflag.FlagSet) {
	f.StringSliceVar(&g.ips, "gray-ip", nil, "publish to clients at this address first (repeatable)")
	f.StringSliceVar(&g.labels, "gray-label", nil, "publish to clients with this KEY=VALUE connection label first (repeatable; all must match)")
	f.StringSliceVar(&g.versions, "gray-version", nil, "publish to the pods of this APP:VERSION first (repeatable)")
	f.StringSliceVar(&g.regions, "gray-region", nil, "publish to clients serving this region (code or name) first (repeatable)")
	f.StringSliceVar(&g.branches, "gray-branch", nil, "publish to clients serving this branch (code or name) first (repeatable)")
	f.StringSliceVar(&g.tellers, "gray-teller", nil, "publish to clients serving this teller (code or name) first (repeatable)")
}

func (g *grayFlags) cohort() (*apitypes.ConfigCohort, error) {
	if len(g.ips)+len(g.labels)+len(g.versions)+len(g.regions)+len(g.branches)+len(g.tellers) == 0 {
		return nil, nil
	}
	c := &apitypes.ConfigCohort{IPs: g.ips, Regions: g.regions, Branches: g.branches, Tellers: g.tellers}
	for _, kv := range g.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--gray-label %q: want KEY=VALUE", kv)
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	for _, av := range g.versions {
		app, v, ok := strings.Cut(av, ":")
		if !ok || app == "" || v == "" {
			return nil, fmt.Errorf("--gray-version %q: want APP:VERSION", av)
		}
		c.Versions = append(c.Versions, apitypes.ConfigAppVersion{App: app, Version: v})
	}
	return c, nil
}

func deleteCmd(env cli.Env, t *target) *cobra.Command {
	var comment, ticket string
	cmd := &cobra.Command{Use: "delete DATA-ID", Short: "Delete an item, keeping its history (proposed where approvals are required)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return change(cmd, env, t, "DELETE", args[0], client.Query("comment", comment, "ticket", ticket), nil)
		}}
	cmd.Flags().StringVarP(&comment, "message", "m", "", "why")
	cmd.Flags().StringVar(&ticket, "ticket", "", "the change ticket")
	return cmd
}

// change sends a change of item id and prints the revision it made.
func change(cmd *cobra.Command, env cli.Env, t *target, method, id, suffix string, body any) error {
	s, base, err := t.base(env.Getenv)
	if err != nil {
		return err
	}
	var r apitypes.ConfigRevisionView
	if err := s.Client.Do(cmd.Context(), method, t.item(base, id)+suffix, body, &r); err != nil {
		return err
	}
	printRevision(env.Stdout, r)
	return nil
}

func printRevision(w io.Writer, r apitypes.ConfigRevisionView) {
	fmt.Fprintf(w, "%s/%s revision %d: %s %s", r.Group, r.DataID, r.Number, r.Op, r.State)
	if r.State == apitypes.ConfigProposed {
		fmt.Fprint(w, " (awaits approval: berth config approve)")
	}
	fmt.Fprintln(w)
}

func historyCmd(env cli.Env, t *target) *cobra.Command {
	var limit int
	cmd := &cobra.Command{Use: "history DATA-ID", Short: "List an item's revisions, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var l apitypes.List[apitypes.ConfigRevisionView]
			if err := s.Client.Do(cmd.Context(), "GET", t.item(base, args[0])+"/revisions"+client.Query("limit", strconv.Itoa(limit)), nil, &l); err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REVISION\tOP\tSTATE\tAUTHOR\tTIME\tTICKET\tCOMMENT")
			for _, r := range l.Items {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Op, r.State, r.Author, r.Time.Format("2006-01-02 15:04:05"), r.Ticket, r.Comment)
			}
			return w.Flush()
		}}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many revisions")
	return cmd
}

func diffCmd(env cli.Env, t *target) *cobra.Command {
	return &cobra.Command{Use: "diff DATA-ID FROM TO", Short: "Show the lines that turn revision FROM into revision TO", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var d apitypes.ConfigDiff
			if err := s.Client.Do(cmd.Context(), "GET", t.item(base, args[0])+"/diff"+client.Query("from", args[1], "to", args[2]), nil, &d); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "--- revision %d\n+++ revision %d\n", d.From, d.To)
			for _, l := range d.Lines {
				fmt.Fprintf(env.Stdout, "%s%s\n", l.Op, l.Text)
			}
			return nil
		}}
}

func rollbackCmd(env cli.Env, t *target) *cobra.Command {
	var req apitypes.ConfigRollbackRequest
	cmd := &cobra.Command{Use: "rollback DATA-ID REVISION", Short: "Publish an older revision's content again, as a new revision", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("REVISION %q: want a number", args[1])
			}
			req.To = n
			return change(cmd, env, t, "POST", args[0], "/rollback", req)
		}}
	cmd.Flags().StringVarP(&req.Comment, "message", "m", "", "why")
	cmd.Flags().StringVar(&req.Ticket, "ticket", "", "the change ticket")
	return cmd
}

func decideCmd(env cli.Env, t *target, verb string) *cobra.Command {
	var reason string
	short := "Approve a proposed revision (never one's own)"
	if verb == "reject" {
		short = "Reject a proposed revision"
	}
	cmd := &cobra.Command{Use: verb + " DATA-ID REVISION", Short: short, Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[1], 10, 64); err != nil {
				return fmt.Errorf("REVISION %q: want a number", args[1])
			}
			var body any
			if verb == "reject" {
				body = apitypes.ConfigRejectRequest{Reason: reason}
			}
			return change(cmd, env, t, "POST", args[0], "/revisions/"+args[1]+"/"+verb, body)
		}}
	if verb == "reject" {
		cmd.Flags().StringVarP(&reason, "message", "m", "", "why")
	}
	return cmd
}

func grayCmd(env cli.Env, t *target, verb string) *cobra.Command {
	short := "Make the gray revision current for every client"
	if verb == "abort" {
		short = "Stop serving the gray revision"
	}
	return &cobra.Command{Use: verb + " DATA-ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return change(cmd, env, t, "POST", args[0], "/gray/"+verb, nil)
		}}
}
