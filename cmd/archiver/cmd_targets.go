package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// targetsCommand lists the targets and lets an operator correct them: a
// target with events can be retired (no longer walked) but never deleted;
// one that never archived anything (a mistyped region) can be removed.
func (a *app) targetsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "targets [list|retire|unretire|remove] [--format table|json]",
		Short: "list targets (account, region, source, events, last success); retire, unretire or remove one",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := oneOf("format", format, "table", "json"); err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			list, err := st.TargetSummaries(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.stdout, targetsJSON(list))
			}
			a.printTargets(list)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	list := &cobra.Command{Use: "list", Short: "the same as targets", Args: noArgs, RunE: cmd.RunE}
	list.Flags().AddFlagSet(cmd.Flags())
	cmd.AddCommand(list,
		a.targetChangeCommand("retire", "stop walking a target; its events stay (unretire walks it again)",
			func(c *cobra.Command, st *store.Store, k store.TargetKey) error {
				return st.RetireTarget(c.Context(), k, true)
			}),
		a.targetChangeCommand("unretire", "walk a retired target again",
			func(c *cobra.Command, st *store.Store, k store.TargetKey) error {
				return st.RetireTarget(c.Context(), k, false)
			}),
		a.targetChangeCommand("remove", "delete a target that never archived an event (a mistyped region), as the owner",
			removeTarget))
	return cmd
}

// targetChangeCommand is one of retire, unretire and remove: the target is
// named by --account, --region and --source.
func (a *app) targetChangeCommand(name, short string, change func(*cobra.Command, *store.Store, store.TargetKey) error) *cobra.Command {
	var k store.TargetKey
	var src string
	cmd := &cobra.Command{
		Use:   name + " --region R [--account A] [--source S]",
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if k.Region == "" {
				return usagef("targets %s: --region is required (archiver targets lists them)", name)
			}
			k.Source = model.SourceID(src)
			if _, err := model.RulesFor(k.Source); err != nil {
				return usagef("targets %s: --source: %v", name, err)
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := change(cmd, st, k); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", k, map[string]string{"retire": "retired", "unretire": "walked again",
				"remove": "removed"}[name])
			return nil
		},
	}
	cmd.Flags().StringVar(&k.Account, "account", "", "the target's account (as archiver targets shows it)")
	cmd.Flags().StringVar(&k.Region, "region", "", "the target's region")
	cmd.Flags().StringVar(&src, "source", string(model.SourceSendFileResults), "the target's source")
	return cmd
}

func removeTarget(cmd *cobra.Command, st *store.Store, k store.TargetKey) error {
	err := st.RemoveTarget(cmd.Context(), k)
	switch {
	case errors.Is(err, store.ErrTargetHasEvents):
		return fmt.Errorf("%s has archived events, which are never deleted: `archiver targets retire` stops walking it", k)
	case errors.Is(err, store.ErrPermission):
		return fmt.Errorf("removing %s needs the archive's owner (the writer may not delete targets): run it as the owner", k)
	}
	if err == nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "archiver: if the region is still configured, the next cycle creates the target again; fix the configuration too")
	}
	return err
}

// targetJSON is one target in `targets --format json`.
type targetJSON struct {
	Account     string     `json:"account"`
	Region      string     `json:"region"`
	Source      string     `json:"source"`
	Events      int64      `json:"events"`
	Runs        int64      `json:"runs"`
	LastSuccess *time.Time `json:"last_success"`
	RetiredAt   *time.Time `json:"retired_at"`
}

func targetsJSON(list []store.TargetSummary) []targetJSON {
	out := make([]targetJSON, 0, len(list))
	for _, t := range list {
		out = append(out, targetJSON{Account: t.Account, Region: t.Region, Source: string(t.Source), Events: t.Events,
			Runs: t.Runs, LastSuccess: utcPtr(t.LastSuccess), RetiredAt: utcPtr(t.RetiredAt)})
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *app) printTargets(list []store.TargetSummary) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tREGION\tSOURCE\tEVENTS\tRUNS\tLAST SUCCESS\tSTATE")
	for _, t := range list {
		last, state := "-", "active"
		if t.LastSuccess != nil {
			last = t.LastSuccess.UTC().Format(time.RFC3339)
		}
		if t.RetiredAt != nil {
			state = "retired " + t.RetiredAt.UTC().Format(time.RFC3339)
		}
		account := t.Account
		if account == "" {
			account = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", account, t.Region, t.Source, t.Events, t.Runs, last, state)
	}
	_ = tw.Flush()
}
